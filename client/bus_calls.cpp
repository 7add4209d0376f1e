#include "client/bus_calls.hpp"

#include "bus_names.hpp"

#include <chrono>
#include <tuple>
#include <utility>

namespace pgnspawn::client {

namespace {

/// Start may run initdb first; Stop waits for a clean shutdown.
constexpr auto kLongCallTimeout = std::chrono::minutes(10);

}  // namespace

std::string describe(const sdbus::Error& error) {
    const std::string& name = error.getName();
    if (name == "org.freedesktop.DBus.Error.ServiceUnknown" || name == "org.freedesktop.DBus.Error.NameHasNoOwner")
        return fmt::format("the pgnspawn daemon is not running ({} is not on the system bus)", bus::kBusName);
    if (name == "org.freedesktop.DBus.Error.AccessDenied")
        return "permission denied: " + error.getMessage();
    // NoReply also comes from the bus when the daemon exits mid-call (dbus-daemon and
    // dbus-broker both say "disconnected"); "in time" would then send people waiting.
    if (name == "org.freedesktop.DBus.Error.NoReply" && error.getMessage().find("disconnected") != std::string::npos)
        return "the daemon exited without answering";
    if (name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Timeout")
        return "the daemon did not answer in time";
    if (error.getMessage().empty())
        return name;
    return error.getMessage();
}

std::unique_ptr<sdbus::IConnection> connect_to_system_bus() {
    return attempt("cannot connect to the system bus", [] { return sdbus::createSystemBusConnection(); });
}

ManagerProxy::ManagerProxy(sdbus::IConnection& bus) : ProxyInterfaces(bus, bus::kBusName, bus::kManagerPath) {}

sdbus::PendingAsyncCall ManagerProxy::start_async(const std::string& name,
                                                  std::function<void(const sdbus::Error*)> done) {
    return getProxy()
        .callMethodAsync("Start")
        .onInterface(INTERFACE_NAME)
        .withTimeout(kLongCallTimeout)
        .withArguments(name)
        .uponReplyInvoke(std::move(done));
}

void ManagerProxy::call_long(const std::string& method, const std::string& name) {
    getProxy().callMethod(method).onInterface(INTERFACE_NAME).withTimeout(kLongCallTimeout).withArguments(name);
}

void ManagerProxy::snapshot_and_wait(const std::string& method, const std::string& name, const std::string& snapshot) {
    getProxy()
        .callMethod(method)
        .onInterface(INTERFACE_NAME)
        .withTimeout(kLongCallTimeout)
        .withArguments(name, snapshot);
}

InstanceProxy::InstanceProxy(sdbus::IConnection& bus, std::string path)
    : ProxyInterfaces(bus, bus::kBusName, std::move(path)) {}

std::vector<InstanceEntry> list_instances(ManagerProxy& manager) {
    auto reply = attempt("cannot list the instances", [&] { return manager.ListInstances(); });
    std::vector<InstanceEntry> entries;
    entries.reserve(reply.size());
    for (const auto& item : reply)
        entries.push_back({std::get<0>(item), std::get<1>(item), std::get<2>(item)});
    return entries;
}

InstanceEntry find_instance(ManagerProxy& manager, const std::string& name, std::string_view what) {
    for (auto& entry : list_instances(manager))
        if (entry.name == name)
            return std::move(entry);
    throw CommandFailed(fmt::format("{}: no instance named \"{}\" is configured", what, name));
}

std::unique_ptr<InstanceProxy> open_instance(sdbus::IConnection& bus, ManagerProxy& manager, const std::string& name,
                                             std::string_view what) {
    return std::make_unique<InstanceProxy>(bus, find_instance(manager, name, what).path);
}

InstanceDetails read_details(InstanceProxy& instance) {
    InstanceDetails details;
    details.name = instance.Name();
    details.state = instance.State();
    details.port = instance.Port();
    details.database = instance.Database();
    details.user = instance.User();
    details.image = instance.Image();
    details.unit = instance.Unit();
    details.machine = instance.Machine();
    details.last_error = instance.LastError();
    return details;
}

Health read_health(ManagerProxy& manager, const std::string& name) {
    Health health;
    std::tie(health.healthy, health.detail, health.latency_usec) =
        attempt(fmt::format("cannot check the health of {}", name), [&] { return manager.HealthCheck(name); });
    return health;
}

std::tuple<std::string, std::uint16_t> read_address(ManagerProxy& manager, const std::string& name) {
    return attempt(fmt::format("cannot get the address of {}", name), [&] { return manager.GetAddress(name); });
}

LiveDetails read_live_details(ManagerProxy& manager, const std::string& name) {
    LiveDetails live;
    std::tie(live.host, live.port) = read_address(manager, name);
    live.health = read_health(manager, name);
    return live;
}

}  // namespace pgnspawn::client
