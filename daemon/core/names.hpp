// Instance names and everything derived from them (unit, machine, object path).
// A name is validated before anything is derived from it, so no path is ever built
// from untrusted input.
#pragma once

#include "bus_names.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace pgnspawn {

inline constexpr std::size_t kMaxInstanceNameLength = 48;
inline constexpr const char* kManagerObjectPath = bus::kManagerPath;
inline constexpr const char* kInstanceObjectPrefix = bus::kInstancePathPrefix;

/// Why a name is not a valid instance name, or nullopt when it is valid.
/// Valid: 1..48 characters of [A-Za-z0-9-], starting with a letter or digit.
std::optional<std::string> instance_name_problem(std::string_view name);

inline bool is_valid_instance_name(std::string_view name) { return !instance_name_problem(name); }

/// Why a name is not a valid snapshot name, or nullopt: the same rules as instance names.
std::optional<std::string> snapshot_name_problem(std::string_view name);

/// "/org/pgnspawn1/instance/<name>" escaped as sd_bus_path_encode() does.
std::string instance_object_path(std::string_view valid_name);

/// "pgnspawn-<name>.service": the transient unit that runs the container.
std::string unit_name(std::string_view valid_name);

/// "pgnspawn-<name>": the name registered with systemd-machined.
std::string machine_name(std::string_view valid_name);

/// Printable, bounded rendering of untrusted input for error messages and logs.
std::string quote_untrusted(std::string_view s);

}  // namespace pgnspawn
