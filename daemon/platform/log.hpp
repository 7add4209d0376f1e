// Structured logging to the journal, systemd style: MESSAGE= plus PGNSPAWN_INSTANCE= and
// OBJECT_SYSTEMD_UNIT= (the instance's unit, so `journalctl -u` of that unit shows the
// line). Falls back to stderr when not run under systemd. Never pass a password here.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace pgnspawn {

void log_at(int priority, std::string_view message, std::string_view instance = {}, std::string_view unit = {});

/// Debug lines are written only when the daemon runs with PGNSPAWN_LOG_LEVEL=debug (the
/// steps of each start, for bench/trace.sh); otherwise they cost nothing but the check.
bool debug_logging();
inline void log_debug(std::string_view m, std::string_view instance = {}, std::string_view unit = {}) {
    if (debug_logging())
        log_at(7, m, instance, unit);
}
inline void log_info(std::string_view m, std::string_view instance = {}, std::string_view unit = {}) {
    log_at(6, m, instance, unit);
}
inline void log_warning(std::string_view m, std::string_view instance = {}, std::string_view unit = {}) {
    log_at(4, m, instance, unit);
}
inline void log_error(std::string_view m, std::string_view instance = {}, std::string_view unit = {}) {
    log_at(3, m, instance, unit);
}

}  // namespace pgnspawn
