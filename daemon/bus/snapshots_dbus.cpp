// The D-Bus face of snapshots (images/snapshots.hpp): Snapshot, Restore, ListSnapshots,
// DeleteSnapshot and Reset on org.pgnspawn1.Manager.
#include "bus/boundary.hpp"
#include "bus/manager_dbus.hpp"
#include "core/names.hpp"

namespace pgnspawn {

namespace {

/// Answers a call without results once its snapshot operation is over.
SnapshotStore::Done answer_when_done(std::shared_ptr<sdbus::Result<>> reply) {
    return [reply](const std::optional<DomainError>& error) {
        if (error)
            reply->returnError(sdbus::Error(error->name(), error->what()));
        else
            reply->returnResults();
    };
}

void check_snapshot_name(const std::string& snapshot) {
    if (auto problem = snapshot_name_problem(snapshot))
        throw DomainError(error_name::InvalidArgs, *problem);
}

}  // namespace

SnapshotStore::Done ManagerObject::then_drop_stale_copies(const std::string& instance, const std::string& snapshot,
                                                          SnapshotStore::Done done) {
    // Scratch copies made ahead of time from a snapshot that is now made anew or gone
    // must not be handed out.
    return [this, instance, snapshot, done = std::move(done)](const std::optional<DomainError>& error) {
        if (!error)
            scratch_.snapshot_changed(instance, snapshot);
        done(error);
    };
}

template <typename Reply, typename Op>
void ManagerObject::snapshot_call(Reply& reply, const std::string& name, const std::string* snapshot, Op op) {
    at_boundary_async(reply, [&] {
        // Bad names are refused before polkit is asked.
        const std::string checked = manager_.lookup(name).name();
        if (snapshot)
            check_snapshot_name(*snapshot);
        authorized(action::Manage, reply, [this, checked, op] {
            // Looked up again: a reload may have removed or replaced the instance meanwhile.
            const Instance& instance = manager_.lookup(checked);
            SnapshotStore::require_supported(instance.config());
            op(running_instance(checked).config());
        });
    });
}

void ManagerObject::Snapshot(sdbus::Result<>&& result, std::string name, std::string snapshot) {
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    snapshot_call(*reply, name, &snapshot, [this, reply, snapshot](const InstanceConfig& c) {
        snapshots_.take(c, snapshot, then_drop_stale_copies(c.name, snapshot, answer_when_done(reply)));
    });
}

void ManagerObject::Restore(sdbus::Result<>&& result, std::string name, std::string snapshot) {
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    snapshot_call(*reply, name, &snapshot, [this, reply, snapshot](const InstanceConfig& c) {
        snapshots_.restore(c, snapshot, answer_when_done(reply));
    });
}

void ManagerObject::DeleteSnapshot(sdbus::Result<>&& result, std::string name, std::string snapshot) {
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    snapshot_call(*reply, name, &snapshot, [this, reply, snapshot](const InstanceConfig& c) {
        snapshots_.remove(c, snapshot, then_drop_stale_copies(c.name, snapshot, answer_when_done(reply)));
    });
}

void ManagerObject::Reset(sdbus::Result<>&& result, std::string name) {
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    snapshot_call(*reply, name, nullptr,
                  [this, reply](const InstanceConfig& c) { snapshots_.reset(c, answer_when_done(reply)); });
}

void ManagerObject::ListSnapshots(sdbus::Result<std::vector<sdbus::Struct<std::string, uint64_t, uint64_t>>>&& result,
                                  std::string name) {
    using List = std::vector<sdbus::Struct<std::string, uint64_t, uint64_t>>;
    auto reply = std::make_shared<sdbus::Result<List>>(std::move(result));
    snapshot_call(*reply, name, nullptr, [this, reply](const InstanceConfig& c) {
        snapshots_.list(c, [reply](const std::optional<DomainError>& error, std::vector<SnapshotInfo> infos) {
            if (error)
                return reply->returnError(sdbus::Error(error->name(), error->what()));
            List out;
            for (const auto& i : infos)
                out.emplace_back(i.name, i.created_usec, i.size_bytes);
            reply->returnResults(out);
        });
    });
}

}  // namespace pgnspawn
