// The instance keys that shape the server itself, as NixOS's services.postgresql declares
// them: settings (PostgreSQL's configuration), initial_script (or initial_sql),
// databases, extensions.
// Parsed and checked here for config.cpp; applied at start by images/declare.* and the
// host image's command line. Host image only: a booted image runs its own PostgreSQL.
//
// Two boundaries. Settings pgnspawn sets itself are refused for every instance. An
// instance created over D-Bus is asked for by someone who is not root, so it may not
// name a path the daemon or the server would read, nor a setting that runs a program or
// loads a library (see created_setting_problem).
#pragma once

#include "core/config.hpp"

#include <toml++/toml.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace pgnspawn {

/// The instance keys parsed here, for config.cpp's list of known keys.
inline constexpr std::array<const char*, 5> kServerKeys = {"settings", "initial_script", "initial_sql", "databases",
                                                           "extensions"};

/// Why `name` is not a PostgreSQL setting name (an identifier, or a dotted one for an
/// extension's setting such as pg_stat_statements.track), or nullopt.
std::optional<std::string> setting_name_problem(std::string_view name);
/// Why no instance may set `name`, because pgnspawn sets it itself, or nullopt.
std::optional<std::string> owned_setting_problem(std::string_view name);
/// Why an instance created over D-Bus may not set `name`, or nullopt.
std::optional<std::string> created_setting_problem(std::string_view name);

/// Parses the four keys of instance table `t` into `c` and returns `c`; throws ConfigError
/// ("SOURCE:LINE:COLUMN: what is wrong"). `created`: the instance was created over D-Bus.
InstanceConfig& parse_server_keys(const toml::table& t, InstanceConfig& c, bool created, const std::string& source);
/// The same, created or not as c.origin says (set before the parser checks anything).
inline InstanceConfig& parse_server_keys(const toml::table& t, InstanceConfig& c, const std::string& source) {
    return parse_server_keys(t, c, c.origin == InstanceOrigin::Created, source);
}

}  // namespace pgnspawn
