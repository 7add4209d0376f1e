// CreateInstance and DestroyInstance as the domain sees them: what is checked, in which
// order, and what is written, removed and announced. The D-Bus face only converts.
#pragma once

#include "core/created_store.hpp"
#include "core/manager.hpp"
#include "platform/event_loop.hpp"

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <string>

namespace pgnspawn {

/// Throws DomainError NotSupported for an instance of the configuration file.
void require_created(const InstanceConfig& config);

class CreatedInstances {
public:
    using PortIsFree = std::function<bool(std::uint16_t)>;
    CreatedInstances(Manager& manager, CreatedStore store, ConfigEnvironment env, EventLoop& loop,
                     PortIsFree port_is_free = port_is_free_on_host)
        : manager_(manager), store_(std::move(store)), env_(std::move(env)), loop_(loop),
          port_is_free_(std::move(port_is_free)) {}

    /// Checks the name (InstanceExists), the settings (InvalidSetting), the quota
    /// (QuotaExceeded), the port or picks one (PortUnavailable), makes up a password if
    /// there is none, writes the file and adds the instance. Nothing is changed when
    /// any of that fails. `keys` are the file's instance keys.
    const Instance& create(const std::string& name, toml::table keys, std::uint32_t uid);

    /// Stops a created instance (NotSupported for one of the file), then removes its file
    /// and its state directory and forgets it (InstanceRemoved). done(error) at the end.
    void destroy(const std::string& name, Instance::Done done);

    const CreatedStore& store() const { return store_; }

private:
    /// The parser's verdict on `keys`, InvalidSetting when it refuses them.
    InstanceConfig parse_settings(const std::string& name, const toml::table& keys, std::uint32_t uid,
                                  const std::string& source) const;
    void finish_destroy(const std::string& name, Instance::Done done);

    Manager& manager_;
    CreatedStore store_;
    ConfigEnvironment env_;
    EventLoop& loop_;
    PortIsFree port_is_free_;
    Lifetime lifetime_;
};

}  // namespace pgnspawn
