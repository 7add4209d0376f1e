#include "core/created.hpp"

#include "core/names.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pgnspawn {

namespace {

[[noreturn]] void fail_at(const std::string& source, const toml::source_region& where, const std::string& what) {
    if (where.begin.line == 0)  // a table built in memory (CreateInstance) has no position
        throw ConfigError(fmt::format("{}: {}", source, what));
    throw ConfigError(fmt::format("{}:{}:{}: {}", source, where.begin.line, where.begin.column, what));
}

}  // namespace

CreatedLimits parse_created_limits(const toml::node& node, const std::string& source_name) {
    const auto* table = node.as_table();
    if (!table)
        fail_at(source_name, node.source(), "\"created\" must be a table ([created])");
    CreatedLimits limits;
    for (const auto& [key, value] : *table) {
        const auto number = value.value<int64_t>();
        if (key.str() == "port_min" || key.str() == "port_max") {
            if (!value.is_integer() || *number < 1 || *number > 65535)
                fail_at(source_name, value.source(),
                        fmt::format("\"{}\" must be a port between 1 and 65535", key.str()));
            (key.str() == "port_min" ? limits.port_min : limits.port_max) = static_cast<std::uint16_t>(*number);
        } else if (key.str() == "quota") {
            if (!value.is_integer() || *number < 0 || *number > 10000)
                fail_at(source_name, value.source(), "\"quota\" must be an integer between 0 and 10000");
            limits.quota = static_cast<std::uint32_t>(*number);
        } else {
            fail_at(source_name, key.source(),
                    fmt::format("unknown key {} in [created] (known keys: port_min, port_max, quota)",
                                quote_untrusted(key.str())));
        }
    }
    if (limits.port_min > limits.port_max)
        fail_at(source_name, node.source(),
                fmt::format("[created] port_min ({}) is above port_max ({})", limits.port_min, limits.port_max));
    return limits;
}

InstanceConfig parse_created_root(const toml::table& root, const std::string& name, std::uint32_t created_by,
                                  const std::string& source_name, const ConfigEnvironment& env) {
    const auto* keys = root["instances"][name].as_table();
    if (!keys || root.size() != 1 || root["instances"].as_table()->size() != 1)
        throw ConfigError(fmt::format("{}: not a created instance (it needs only [instances.{}])", source_name, name));
    for (const auto& [key, value] : *keys) {
        if (std::find(kKeysRefusedForCreated.begin(), kKeysRefusedForCreated.end(), key.str()) !=
            kKeysRefusedForCreated.end())
            fail_at(source_name, key.source(),
                    fmt::format("\"{}\" is not allowed for a created instance: it may not name a path, an image or "
                                "an address; ask the administrator to declare the instance in the configuration "
                                "file instead",
                                key.str()));
        if (key.str() == "image" && value.value<std::string>() != "host")
            fail_at(source_name, value.source(), "a created instance can only have image = \"host\"");
    }
    Config parsed;
    try {
        parsed = parse_config_table(root, source_name, env, InstanceOrigin::Created);
    } catch (const ConfigError& e) {
        // A table built in memory has no positions: "SOURCE:0:0: what" reads "SOURCE: what".
        const std::string prefix = source_name + ":0:0: ";
        const std::string what = e.what();
        if (what.rfind(prefix, 0) == 0)
            throw ConfigError(source_name + ": " + what.substr(prefix.size()));
        throw;
    }
    InstanceConfig c = parsed.instances.at(0);
    c.created_by = created_by;
    return c;
}

InstanceConfig parse_created_instance(const std::string& name, const toml::table& keys, std::uint32_t created_by,
                                      const std::string& source_name, const ConfigEnvironment& env) {
    return parse_created_root(toml::table{{"instances", toml::table{{name, keys}}}}, name, created_by, source_name,
                              env);
}

}  // namespace pgnspawn
