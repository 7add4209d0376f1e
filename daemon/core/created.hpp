// Instances created over D-Bus (CreateInstance) rather than declared in the file: the
// same keys and the same parser, minus everything a user who is not root could aim at
// someone else's files. The daemon persists them as STATE/instances.d/NAME.toml.
#pragma once

#include "core/config.hpp"

#include <toml++/toml.h>

#include <array>
#include <cstdint>
#include <string>

namespace pgnspawn {

/// Keys a created instance may not have: they name paths the daemon would read or bind,
/// or an image (only image = "host" is allowed), or settings that only booted images or
/// other hosts' clients need.
inline constexpr std::array kKeysRefusedForCreated = {"directory", "toplevel",  "password_file",
                                                      "network",   "host_port", "listen_address"};

/// The parser of the configuration file, run over an already parsed document; every
/// instance in it gets `origin` before any of its checks runs.
Config parse_config_table(const toml::table& root, const std::string& source_name, const ConfigEnvironment& env,
                          InstanceOrigin origin);

/// The file's [created] table (port_min, port_max, quota); throws ConfigError naming
/// SOURCE:LINE:COLUMN.
CreatedLimits parse_created_limits(const toml::node& node, const std::string& source_name);

/// One created instance from the keys of its table: refuses the keys above and image
/// values other than "host" (ConfigError naming the key), then runs the file's parser with
/// origin = Created. The caller fills in port and password beforehand.
InstanceConfig parse_created_instance(const std::string& name, const toml::table& keys, std::uint32_t created_by,
                                      const std::string& source_name, const ConfigEnvironment& env);

/// The same over a whole document that holds only [instances.NAME] (a created instance's
/// file, whose errors then name their line and column).
InstanceConfig parse_created_root(const toml::table& root, const std::string& name, std::uint32_t created_by,
                                  const std::string& source_name, const ConfigEnvironment& env);

}  // namespace pgnspawn
