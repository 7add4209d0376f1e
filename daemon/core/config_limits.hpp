// Bounds on what reaches the TOML parser. toml++ builds tables recursively, so one
// dotted key of 60,000 parts overflows the stack; a configuration file needs neither
// that nor more than a mebibyte. The scan that enforces this is a loop with a few
// counters, so it cannot overflow anything itself.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pgnspawn {

inline constexpr std::size_t kMaxConfigBytes = 1024 * 1024;
/// Parts of one dotted key ("instances.db.port" has 3), in a table header or a key/value.
inline constexpr std::size_t kMaxKeyParts = 32;
/// Arrays and inline tables inside each other (a table header counts as one).
inline constexpr std::size_t kMaxNesting = 32;
/// A password_file is read only if it is a regular file of at most this size (plus a
/// line end), so that /dev/zero or a huge file cannot hang a reload.
inline constexpr std::size_t kMaxPasswordFileBytes = 4096;

/// Throws ConfigError ("SOURCE:LINE:COLUMN: what", or "SOURCE: what" for the size) when
/// `text` is over any of the bounds above. Dots and brackets inside strings and comments
/// do not count.
void check_config_limits(std::string_view text, const std::string& source_name);

}  // namespace pgnspawn
