// The client's side of org.pgnspawn1: proxies, the calls the commands make, and D-Bus
// errors turned into sentences.
#pragma once

#include "client/errors.hpp"
#include "client/records.hpp"
#include "instance_proxy.h"
#include "manager_proxy.h"

#include <fmt/core.h>
#include <sdbus-c++/sdbus-c++.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace pgnspawn::client {

/// The part of the sentence after "what failed: " for a D-Bus error.
std::string describe(const sdbus::Error& error);

/// Runs one D-Bus operation; a D-Bus error becomes CommandFailed("WHAT: reason").
template <typename Operation>
auto attempt(std::string_view what, Operation&& operation) -> decltype(operation()) {
    try {
        return operation();
    } catch (const sdbus::Error& error) {
        throw CommandFailed(fmt::format("{}: {}", what, describe(error)));
    }
}

std::unique_ptr<sdbus::IConnection> connect_to_system_bus();

class ManagerProxy final : public sdbus::ProxyInterfaces<org::pgnspawn1::Manager_proxy> {
public:
    // registerProxy() is deliberately not called: the commands that follow signals
    // subscribe with explicit matches (watch_signal), so that the subscription is in
    // place before the state they complement is read.
    explicit ManagerProxy(sdbus::IConnection& bus);
    ~ManagerProxy() { unregisterProxy(); }
    ManagerProxy(const ManagerProxy&) = delete;
    ManagerProxy& operator=(const ManagerProxy&) = delete;

    /// Start with a long timeout; the generated Start() uses the 25 s default.
    void start_and_wait(const std::string& name) { call_long("Start", name); }
    void stop_and_wait(const std::string& name) { call_long("Stop", name); }
    /// Snapshot, Restore and Reset copy a database: a long timeout too.
    void reset_and_wait(const std::string& name) { call_long("Reset", name); }
    /// DestroyInstance stops the instance first: a long timeout too.
    void destroy_and_wait(const std::string& name) { call_long("DestroyInstance", name); }
    void snapshot_and_wait(const std::string& method, const std::string& name, const std::string& snapshot);

    /// Sends Start and returns at once; `done` runs from the dispatch loop with the
    /// error, or nullptr on success.
    sdbus::PendingAsyncCall start_async(const std::string& name, std::function<void(const sdbus::Error*)> done);

private:
    void call_long(const std::string& method, const std::string& name);

    void onStateChanged(const std::string&, const std::string&) override {}
    void onInstanceAdded(const std::string&, const sdbus::ObjectPath&) override {}
    void onInstanceRemoved(const std::string&, const sdbus::ObjectPath&) override {}
};

class InstanceProxy final : public sdbus::ProxyInterfaces<org::pgnspawn1::Instance_proxy> {
public:
    InstanceProxy(sdbus::IConnection& bus, std::string path);
    ~InstanceProxy() { unregisterProxy(); }
    InstanceProxy(const InstanceProxy&) = delete;
    InstanceProxy& operator=(const InstanceProxy&) = delete;
};

std::vector<InstanceEntry> list_instances(ManagerProxy& manager);

/// The instance's entry from ListInstances; the daemon's answer is the only source of
/// object paths and proves the name is configured. CommandFailed("WHAT: ...") if not.
InstanceEntry find_instance(ManagerProxy& manager, const std::string& name, std::string_view what);

/// find_instance(), then a proxy of its object.
std::unique_ptr<InstanceProxy> open_instance(sdbus::IConnection& bus, ManagerProxy& manager, const std::string& name,
                                             std::string_view what);

/// Reads every Instance property before anything is printed, so a failure prints nothing.
InstanceDetails read_details(InstanceProxy& instance);

/// GetAddress: host and port.
std::tuple<std::string, std::uint16_t> read_address(ManagerProxy& manager, const std::string& name);

Health read_health(ManagerProxy& manager, const std::string& name);

/// The address and health `status NAME` adds for a running instance.
LiveDetails read_live_details(ManagerProxy& manager, const std::string& name);

}  // namespace pgnspawn::client
