#include "core/created_ops.hpp"

#include "core/created.hpp"
#include "core/errors.hpp"
#include "core/names.hpp"
#include "platform/log.hpp"

#include <fmt/format.h>

namespace pgnspawn {

void require_created(const InstanceConfig& config) {
    if (config.origin != InstanceOrigin::Created)
        throw DomainError(error_name::NotSupported,
                          fmt::format("instance {} is declared in the configuration file; only created instances "
                                      "can be destroyed (remove it from the file instead)",
                                      config.name));
}

const Instance& CreatedInstances::create(const std::string& name, toml::table keys, std::uint32_t uid) {
    if (auto problem = instance_name_problem(name))
        throw DomainError(error_name::InvalidArgs, *problem);
    manager_.require_configuration();
    const auto taken = manager_.configs();
    for (const auto& c : taken)
        if (c.name == name)
            throw DomainError(error_name::InstanceExists,
                              fmt::format("an instance named {} already exists{}", name,
                                          c.origin == InstanceOrigin::Created
                                              ? fmt::format(" (created by uid {})", c.created_by.value_or(0))
                                              : " (in the configuration file)"));
    const auto& limits = manager_.created_limits();
    const std::string source = fmt::format("CreateInstance(\"{}\")", name);
    // The settings first, with a stand-in port and password: bad input is named as such
    // whatever the quota and the ports.
    const toml::node* port = keys.get("port");
    const bool pick = !port || port->value<int64_t>() == 0;
    toml::table probe = keys;
    if (pick)
        probe.insert_or_assign("port", static_cast<int64_t>(limits.port_min));
    if (!probe.contains("password"))
        probe.insert("password", "stand-in");
    parse_settings(name, probe, uid, source);

    check_quota(uid, limits, taken);
    if (pick) {
        auto picked = pick_port(limits, taken, port_is_free_);
        if (!picked)
            throw DomainError(error_name::PortUnavailable,
                              fmt::format("no port of the range for created instances, {}-{}, is free", limits.port_min,
                                          limits.port_max));
        keys.insert_or_assign("port", static_cast<int64_t>(*picked));
    } else {
        check_port(static_cast<std::uint16_t>(*port->value<int64_t>()), limits, taken, port_is_free_);
    }
    if (!keys.contains("password"))
        keys.insert("password", generate_password());
    const InstanceConfig config = parse_settings(name, keys, uid, source);
    store_.save(name, keys, uid);
    log_info(fmt::format("Created instance {} for uid {} on port {}.", name, uid, config.port), name, unit_name(name));
    return manager_.add_created(config);
}

InstanceConfig CreatedInstances::parse_settings(const std::string& name, const toml::table& keys, std::uint32_t uid,
                                                const std::string& source) const {
    try {
        return parse_created_instance(name, keys, uid, source, env_);
    } catch (const ConfigError& e) {
        throw DomainError(error_name::InvalidSetting, e.what());
    }
}

void CreatedInstances::destroy(const std::string& name, Instance::Done done) {
    Instance& instance = manager_.lookup(name);
    require_created(instance.config());
    // The stop answers from inside the instance's own callback: the rest waits for the loop.
    instance.stop([this, name, done](const std::string& error) {
        if (!error.empty())
            return done(error);
        loop_.post([this, name, done] { finish_destroy(name, done); }, lifetime_.token(), name);
    });
}

void CreatedInstances::finish_destroy(const std::string& name, Instance::Done done) {
    Instance* instance = nullptr;
    try {
        instance = &manager_.lookup(name);
    } catch (const DomainError&) {
        return done("");  // destroyed meanwhile by a concurrent call
    }
    if (instance->state() != State::Stopped && instance->state() != State::Failed)
        return done(fmt::format("instance {} was started again while it was being destroyed", name));
    const InstanceConfig config = instance->config();
    try {
        // The file first: once it is gone, nothing brings the instance back, even after a crash.
        store_.remove(name);
        std::filesystem::remove_all(config.state_directory);
        if (!config.runtime_directory.empty())
            std::filesystem::remove_all(config.runtime_directory);
    } catch (const std::exception& e) {
        log_error(fmt::format("Failed to destroy instance {}: {}", name, e.what()), name, unit_name(name));
        return done(e.what());
    }
    log_info(fmt::format("Destroyed instance {} (created by uid {}).", name, config.created_by.value_or(0)), name,
             unit_name(name));
    manager_.remove_created(name);
    done("");
}

}  // namespace pgnspawn
