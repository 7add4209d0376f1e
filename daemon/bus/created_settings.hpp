// CreateInstance's a{sv} as the table the configuration file's parser reads: s, b,
// q/u/i/x, as, a{sv} and a{ss} become TOML strings, booleans, integers, arrays and
// tables; the parser then decides whether each key takes what it got.
#pragma once

#include <sdbus-c++/sdbus-c++.h>
#include <toml++/toml.h>

#include <map>
#include <string>

namespace pgnspawn {

/// Throws DomainError InvalidSetting naming the key (e.g. "settings.x") for a D-Bus type
/// no key takes.
toml::table settings_to_toml(const std::map<std::string, sdbus::Variant>& settings);

}  // namespace pgnspawn
