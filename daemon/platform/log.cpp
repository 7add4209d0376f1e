#include "platform/log.hpp"

#include <systemd/sd-journal.h>

#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace pgnspawn {

namespace {
/// True when stderr is connected to the journal (JOURNAL_STREAM matches it).
bool journal_available() {
    static const bool available = [] {
        const char* js = std::getenv("JOURNAL_STREAM");
        if (!js)
            return false;
        struct stat st {};
        if (fstat(STDERR_FILENO, &st) < 0)
            return false;
        unsigned long dev = 0, ino = 0;
        if (std::sscanf(js, "%lu:%lu", &dev, &ino) != 2)
            return false;
        return st.st_dev == dev && st.st_ino == ino;
    }();
    return available;
}
}  // namespace

bool debug_logging() {
    static const bool enabled = [] {
        const char* level = std::getenv("PGNSPAWN_LOG_LEVEL");
        return level && std::string(level) == "debug";
    }();
    return enabled;
}

void log_at(int priority, std::string_view message, std::string_view instance, std::string_view unit) {
    if (!journal_available()) {
        std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
        return;
    }
    const std::string msg(message), inst(instance), un(unit);
    // Fields are passed as "%s" arguments: a message may contain '%'.
    // OBJECT_SYSTEMD_UNIT= from a root sender (_UID=0) is what `journalctl -u UNIT` matches
    // besides the unit's own lines (UNIT= counts only from PID 1), so that
    // `pgnspawnctl logs NAME` shows the daemon's lines about the instance among PostgreSQL's.
    if (!inst.empty() && !un.empty())
        sd_journal_send("MESSAGE=%s", msg.c_str(), "PRIORITY=%i", priority, "PGNSPAWN_INSTANCE=%s", inst.c_str(),
                        "OBJECT_SYSTEMD_UNIT=%s", un.c_str(), "SYSLOG_IDENTIFIER=pgnspawnd", nullptr);
    else if (!inst.empty())
        sd_journal_send("MESSAGE=%s", msg.c_str(), "PRIORITY=%i", priority, "PGNSPAWN_INSTANCE=%s", inst.c_str(),
                        "SYSLOG_IDENTIFIER=pgnspawnd", nullptr);
    else
        sd_journal_send("MESSAGE=%s", msg.c_str(), "PRIORITY=%i", priority, "SYSLOG_IDENTIFIER=pgnspawnd", nullptr);
}

}  // namespace pgnspawn
