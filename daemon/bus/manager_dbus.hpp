// The D-Bus face of the manager and its instances: converts types and errors, nothing
// else. Every handler translates domain failures into named sdbus::Errors here, because
// sdbus-c++ 1.2.0 aborts the process on any other exception escaping a handler.
#pragma once

#include "bus/authorizer.hpp"
#include "core/created_ops.hpp"
#include "core/manager.hpp"
#include "core/when_quiet.hpp"
#include "images/scratch.hpp"
#include "images/snapshots.hpp"

#include "instance_adaptor.h"
#include "manager_adaptor.h"

#include <sdbus-c++/sdbus-c++.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bus/boundary.hpp"

namespace pgnspawn {

/// The match rule for NameOwnerChanged of one unique bus name (scratch_dbus.cpp).
std::string name_owner_match(const std::string& unique_name);

class InstanceObject final : public sdbus::AdaptorInterfaces<org::pgnspawn1::Instance_adaptor> {
public:
    InstanceObject(sdbus::IConnection& bus, const Instance& instance, SnapshotStore& snapshots);
    ~InstanceObject();

    /// Emits PropertiesChanged for everything that changes with the state.
    void state_changed();
    /// Emits PropertiesChanged for Phase alone: a start moved on, its state did not.
    void phase_changed();
    /// Emits PropertiesChanged for Snapshots.
    void snapshots_changed();
    /// A reload replaced the instance (same name, new settings): serve that one now and
    /// emit PropertiesChanged for everything the settings decide.
    void rebind(const Instance& instance);

private:
    std::string Name() override;
    std::string State() override;
    uint16_t Port() override;
    std::string Database() override;
    std::string User() override;
    std::string Image() override;
    std::string Unit() override;
    std::string Machine() override;
    std::string LastError() override;
    std::string Phase() override;
    std::vector<std::string> Snapshots() override;

    const Instance* instance_;
    SnapshotStore& snapshots_;
};

class ManagerObject final : public sdbus::AdaptorInterfaces<org::pgnspawn1::Manager_adaptor>,
                            private Manager::Observer {
public:
    ManagerObject(sdbus::IConnection& bus, EventLoop& loop, Manager& manager, Authorizer& authorizer,
                  SnapshotStore& snapshots, ScratchDatabases& scratch, CreatedInstances& created);
    ~ManagerObject();

private:
    void Start(sdbus::Result<>&& result, std::string name) override;
    void Stop(sdbus::Result<>&& result, std::string name) override;
    std::tuple<std::string, uint16_t> GetAddress(const std::string& name) override;
    void HealthCheck(sdbus::Result<bool, std::string, uint64_t>&& result, std::string name) override;
    std::vector<sdbus::Struct<std::string, std::string, sdbus::ObjectPath>> ListInstances() override;
    void GetConnectionUri(sdbus::Result<std::string>&& result, std::string name) override;
    // Snapshots (snapshots_dbus.cpp).
    SnapshotStore::Done then_drop_stale_copies(const std::string& instance, const std::string& snapshot,
                                               SnapshotStore::Done done);
    void Snapshot(sdbus::Result<>&& result, std::string name, std::string snapshot) override;
    void Restore(sdbus::Result<>&& result, std::string name, std::string snapshot) override;
    void ListSnapshots(sdbus::Result<std::vector<sdbus::Struct<std::string, uint64_t, uint64_t>>>&& result,
                       std::string name) override;
    void DeleteSnapshot(sdbus::Result<>&& result, std::string name, std::string snapshot) override;
    void Reset(sdbus::Result<>&& result, std::string name) override;
    /// Checks the names, asks polkit for org.pgnspawn1.manage, looks the instance up again
    /// and hands op a running host-image instance's configuration.
    template <typename Reply, typename Op>
    void snapshot_call(Reply& reply, const std::string& name, const std::string* snapshot, Op op);

    // Scratch databases (bus/scratch_dbus.cpp).
    void CreateScratchDatabase(sdbus::Result<std::string, std::string>&& result, std::string name,
                               std::string from_snapshot) override;
    void DropScratchDatabase(sdbus::Result<>&& result, std::string name, std::string database) override;
    // Created instances (bus/created_dbus.cpp).
    void CreateInstance(sdbus::Result<sdbus::ObjectPath>&& result, std::string name,
                        std::map<std::string, sdbus::Variant> settings) override;
    void DestroyInstance(sdbus::Result<>&& result, std::string name) override;

    /// Drops a connection's scratch databases when it leaves the bus.
    void watch_name_owners();
    /// Leftovers are dropped when an instance runs; records are forgotten when it stops.
    void scratch_state_changed(const Instance& instance);

    /// Runs then() if polkit (or being root) allows action to the caller of the message
    /// being handled now; otherwise answers AccessDenied.
    template <typename Reply, typename Then>
    void authorized(const char* action, Reply& reply, Then then);
    /// The same, but the instance's creator `owner` needs no polkit, and then(uid) is told
    /// the caller's uid.
    template <typename Reply, typename Then>
    void authorized_as(const char* action, std::optional<uint32_t> owner, Reply& reply, Then then);
    Instance& running_instance(const std::string& name);

    // Manager::Observer: one object per instance, and the signals about them.
    void instance_added(const Instance& instance) override;
    void instance_removed(const Instance& instance) override;
    void instance_replaced(const Instance& old, const Instance& fresh) override;
    void state_changed(const Instance& instance) override;
    void phase_changed(const Instance& instance) override;

    sdbus::IConnection& bus_;
    Manager& manager_;
    Authorizer& authorizer_;
    SnapshotStore& snapshots_;
    std::map<std::string, std::unique_ptr<InstanceObject>> objects_;  ///< by instance name
    ScratchDatabases& scratch_;
    CreatedInstances& created_;
    std::unique_ptr<sdbus::IProxy> bus_daemon_;         ///< org.freedesktop.DBus: NameHasOwner
    std::map<std::string, sdbus::Slot> owner_matches_;  ///< NameOwnerChanged of each scratch owner
    WhenQuiet housekeeping_;                            ///< the sweeps for leftovers, by instance
};

template <typename Reply, typename Then>
void ManagerObject::authorized(const char* action, Reply& reply, Then then) {
    authorized_as(action, std::nullopt, reply, [then](uint32_t) { then(); });
}

template <typename Reply, typename Then>
void ManagerObject::authorized_as(const char* action, std::optional<uint32_t> owner, Reply& reply, Then then) {
    authorizer_.check_as(
        current_caller(getObject()), owner, action, [&reply, then](const std::string& denied, uint32_t uid) {
            if (!denied.empty())
                return reply.returnError(sdbus::Error(error_name::AccessDenied, "Access denied: " + denied));
            at_boundary_async(reply, [&] { then(uid); });
        });
}

}  // namespace pgnspawn
