// Durations on the command line (--timeout).
#pragma once

#include <chrono>
#include <string_view>

namespace pgnspawn::client {

/// "30s", "500ms", "2m" (or "2min"), "1h", or a bare number of seconds; fractions
/// allowed. Anything else, a negative or non-finite value, or more than 10^12 ms is a
/// UsageError naming the text.
std::chrono::milliseconds parse_duration(std::string_view text);

}  // namespace pgnspawn::client
