#include "client/duration.hpp"

#include "client/errors.hpp"

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <cstdint>

namespace pgnspawn::client {

std::chrono::milliseconds parse_duration(std::string_view text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    double factor = 0;
    if (unit.empty() || unit == "s")
        factor = 1000;
    else if (unit == "ms")
        factor = 1;
    else if (unit == "m" || unit == "min")
        factor = 60'000;
    else if (unit == "h")
        factor = 3'600'000;
    // from_chars also reads "nan" and "inf"; neither is a duration.
    if (ec != std::errc() || factor == 0 || !std::isfinite(value) || value < 0 || value * factor > 1e12)
        throw UsageError(fmt::format("invalid duration '{}' (examples: 30s, 500ms, 2m)", text));
    return std::chrono::milliseconds(static_cast<std::int64_t>(value * factor));
}

}  // namespace pgnspawn::client
