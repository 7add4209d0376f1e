#include "bus/manager_dbus.hpp"

#include "bus/boundary.hpp"

#include "core/errors.hpp"
#include "core/names.hpp"
#include "core/uri.hpp"
#include "platform/log.hpp"

#include <fmt/format.h>

namespace pgnspawn {

namespace {

/// How long nothing may have been starting before the sweeps for leftovers run.
constexpr std::chrono::milliseconds kHousekeepingDelay{250};

/// Answers a Start or Stop once its operation is over: nothing, or `failure` naming what failed.
Instance::Done answer_when_done(std::shared_ptr<sdbus::Result<>> reply, const char* failure, const char* verb,
                                const std::string& name) {
    return [reply, failure, verb, name](const std::string& error) {
        if (error.empty())
            reply->returnResults();
        else
            reply->returnError(sdbus::Error(failure, fmt::format("Failed to {} instance {}: {}", verb, name, error)));
    };
}

}  // namespace

// ---------------------------------------------------------------------------------------

InstanceObject::InstanceObject(sdbus::IConnection& bus, const Instance& instance, SnapshotStore& snapshots)
    : AdaptorInterfaces(bus, instance_object_path(instance.name())), instance_(&instance), snapshots_(snapshots) {
    registerAdaptor();
}

InstanceObject::~InstanceObject() { unregisterAdaptor(); }

void InstanceObject::state_changed() {
    getObject().emitPropertiesChangedSignal(INTERFACE_NAME, {"State", "LastError", "Phase"});
}

void InstanceObject::phase_changed() { getObject().emitPropertiesChangedSignal(INTERFACE_NAME, {"Phase"}); }

void InstanceObject::rebind(const Instance& instance) {
    instance_ = &instance;
    getObject().emitPropertiesChangedSignal(INTERFACE_NAME,
                                            {"State", "Port", "Database", "User", "Image", "LastError"});
}

std::string InstanceObject::Name() { return instance_->name(); }
std::string InstanceObject::Phase() { return instance_->phase(); }
std::string InstanceObject::State() { return std::string(to_string(instance_->state())); }
uint16_t InstanceObject::Port() { return instance_->config().port; }
std::string InstanceObject::Database() { return instance_->config().database; }
std::string InstanceObject::User() { return instance_->config().user; }
std::string InstanceObject::Image() { return std::string(to_string(instance_->config().image)); }
std::string InstanceObject::Unit() { return unit_name(instance_->name()); }
std::string InstanceObject::Machine() { return machine_name(instance_->name()); }
std::string InstanceObject::LastError() { return instance_->last_error(); }
std::vector<std::string> InstanceObject::Snapshots() {
    // Read from the cluster on first use rather than at every start, which stays as fast
    // as it was; the answer arrives with PropertiesChanged.
    if (instance_->state() == State::Running)
        snapshots_.refresh_if_unknown(instance_->config());
    return snapshots_.names(instance_->name());
}

void InstanceObject::snapshots_changed() { getObject().emitPropertiesChangedSignal(INTERFACE_NAME, {"Snapshots"}); }

// ---------------------------------------------------------------------------------------

ManagerObject::ManagerObject(sdbus::IConnection& bus, EventLoop& loop, Manager& manager, Authorizer& authorizer,
                             SnapshotStore& snapshots, ScratchDatabases& scratch, CreatedInstances& created)
    : AdaptorInterfaces(bus, kManagerObjectPath), bus_(bus), manager_(manager), authorizer_(authorizer),
      snapshots_(snapshots), scratch_(scratch), created_(created),
      housekeeping_(loop, kHousekeepingDelay, [this] { return manager_.any_starting(); }) {
    watch_name_owners();
    for (const auto& instance : manager_.instances())
        objects_[instance->name()] = std::make_unique<InstanceObject>(bus_, *instance, snapshots_);
    manager_.set_observer(this);
    snapshots_.set_listener([this](const std::string& name) {
        if (auto it = objects_.find(name); it != objects_.end())
            it->second->snapshots_changed();
    });
    registerAdaptor();
}

ManagerObject::~ManagerObject() {
    snapshots_.set_listener(nullptr);
    scratch_.set_owner_watch(nullptr);
    manager_.set_observer(nullptr);
    unregisterAdaptor();
}

void ManagerObject::instance_added(const Instance& instance) {
    objects_[instance.name()] = std::make_unique<InstanceObject>(bus_, instance, snapshots_);
    emitInstanceAdded(instance.name(), sdbus::ObjectPath(instance_object_path(instance.name())));
}

void ManagerObject::instance_removed(const Instance& instance) {
    scratch_.instance_stopped(instance.name());
    objects_.erase(instance.name());
    emitInstanceRemoved(instance.name(), sdbus::ObjectPath(instance_object_path(instance.name())));
}

void ManagerObject::instance_replaced(const Instance& old, const Instance& fresh) {
    if (auto it = objects_.find(fresh.name()); it != objects_.end())
        it->second->rebind(fresh);
    if (old.state() != fresh.state())
        emitStateChanged(fresh.name(), std::string(to_string(fresh.state())));
}

void ManagerObject::state_changed(const Instance& instance) {
    scratch_state_changed(instance);
    if (auto it = objects_.find(instance.name()); it != objects_.end())
        it->second->state_changed();

    emitStateChanged(instance.name(), std::string(to_string(instance.state())));
}

void ManagerObject::phase_changed(const Instance& instance) {
    // Phase is a property of the instance only: StateChanged is for state changes.
    if (auto it = objects_.find(instance.name()); it != objects_.end())
        it->second->phase_changed();
}

void ManagerObject::Start(sdbus::Result<>&& result, std::string name) {
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    at_boundary_async(*reply, [&] {
        // A bad name, or one removed from the configuration, is refused before polkit is asked.
        const Instance& found = manager_.lookup_startable(name);
        const std::string checked = found.name();
        log_debug(fmt::format("Starting instance {}: Start received.", checked), checked);
        authorized_as(action::Manage, found.config().created_by, *reply, [this, reply, checked](uint32_t) {
            // Looked up again: a reload may have removed or replaced the instance meanwhile.
            Instance& instance = manager_.lookup_startable(checked);
            instance.start(answer_when_done(reply, error_name::StartFailed, "start", checked));
        });
    });
}

void ManagerObject::Stop(sdbus::Result<>&& result, std::string name) {
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    at_boundary_async(*reply, [&] {
        // A bad name is refused before polkit is asked; a removed instance may still be stopped.
        const Instance& found = manager_.lookup(name);
        const std::string checked = found.name();
        authorized_as(action::Manage, found.config().created_by, *reply, [this, reply, checked](uint32_t) {
            // Looked up again: a reload may have removed or replaced the instance meanwhile.
            Instance& instance = manager_.lookup(checked);
            instance.stop(answer_when_done(reply, error_name::StopFailed, "stop", checked));
        });
    });
}

Instance& ManagerObject::running_instance(const std::string& name) {
    Instance& instance = manager_.lookup(name);
    if (instance.state() != State::Running)
        throw DomainError(error_name::NotRunning, fmt::format("instance {} is not running (it is {})", instance.name(),
                                                              to_string(instance.state())));
    return instance;
}

std::tuple<std::string, uint16_t> ManagerObject::GetAddress(const std::string& name) {
    return at_boundary([&] {
        const auto [host, port] = running_instance(name).address();
        if (host.empty())
            throw DomainError(error_name::NotRunning,
                              fmt::format("instance {} has no routable address yet", quote_untrusted(name)));
        return std::tuple<std::string, uint16_t>(host, port);
    });
}

void ManagerObject::HealthCheck(sdbus::Result<bool, std::string, uint64_t>&& result, std::string name) {
    auto reply = std::make_shared<sdbus::Result<bool, std::string, uint64_t>>(std::move(result));
    at_boundary_async(*reply, [&] {
        manager_.lookup(name).health(
            [reply](const HealthResult& r) { reply->returnResults(r.healthy, r.detail, r.latency_usec); });
    });
}

std::vector<sdbus::Struct<std::string, std::string, sdbus::ObjectPath>> ManagerObject::ListInstances() {
    return at_boundary([&] {
        // An empty list would say "nothing is configured"; the caller must learn why instead.
        manager_.require_configuration();
        std::vector<sdbus::Struct<std::string, std::string, sdbus::ObjectPath>> out;
        for (const auto& i : manager_.instances())
            out.emplace_back(i->name(), std::string(to_string(i->state())),
                             sdbus::ObjectPath(instance_object_path(i->name())));
        return out;
    });
}

void ManagerObject::GetConnectionUri(sdbus::Result<std::string>&& result, std::string name) {
    auto reply = std::make_shared<sdbus::Result<std::string>>(std::move(result));
    at_boundary_async(*reply, [&] {
        const std::string checked = manager_.lookup(name).name();
        authorized(action::ReadCredentials, *reply, [this, reply, checked] {
            const Instance& instance = manager_.lookup(checked);
            const auto& c = instance.config();
            // A private network's address exists only while the container runs.
            auto [host, port] = instance.address();
            if (c.network == NetworkMode::Private && (instance.state() != State::Running || host.empty()))
                throw DomainError(error_name::NotRunning,
                                  fmt::format("instance {} is on a private network, whose address is known only "
                                              "while it runs",
                                              instance.name()));
            reply->returnResults(connection_uri(c.user, c.password, host, port, c.database));
        });
    });
}

}  // namespace pgnspawn
