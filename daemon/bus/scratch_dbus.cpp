// The D-Bus face of scratch databases: CreateScratchDatabase, DropScratchDatabase, and
// the watch on NameOwnerChanged that ties each database to the connection that asked.
#include "bus/boundary.hpp"
#include "bus/manager_dbus.hpp"
#include "core/names.hpp"
#include "core/uri.hpp"

#include <fmt/format.h>

namespace pgnspawn {

namespace {
constexpr const char* kBusDaemon = "org.freedesktop.DBus";
}  // namespace

std::string name_owner_match(const std::string& unique_name) {
    // Unique names (":1.42") hold only characters that need no quoting in a match rule.
    return fmt::format(
        "type='signal',sender='{0}',path='/org/freedesktop/DBus',interface='{0}',"
        "member='NameOwnerChanged',arg0='{1}'",
        kBusDaemon, unique_name);
}

void ManagerObject::watch_name_owners() {
    bus_daemon_ = sdbus::createProxy(bus_, kBusDaemon, "/org/freedesktop/DBus");
    bus_daemon_->finishRegistration();
    // One match per connection that holds a scratch database, not one for every owner
    // change on the bus: an idle daemon on a busy bus is not woken.
    scratch_.set_owner_watch([this](const std::string& owner, bool watch) {
        if (!watch) {
            owner_matches_.erase(owner);
            return;
        }
        owner_matches_[owner] = bus_.addMatch(name_owner_match(owner), [this](sdbus::Message& signal) {
            std::string name, old_owner, new_owner;
            signal >> name >> old_owner >> new_owner;
            // A unique name (":1.42") losing its owner is a connection that has closed.
            if (!name.empty() && name[0] == ':' && new_owner.empty())
                run_guarded("NameOwnerChanged", "", [&] { scratch_.owner_vanished(name); });
        });
    });
}

void ManagerObject::scratch_state_changed(const Instance& instance) {
    housekeeping_.poke();  // a start began or ended: the quiet moment starts again
    if (instance.config().image != ImageKind::Host)
        return;
    if (instance.state() == State::Running) {
        scratch_.instance_running(instance.config());
        // The sweeps cost a connection and a query each: not while other starts need the CPU.
        housekeeping_.run(instance.name(), [this, name = instance.name()] {
            const Instance* running = manager_.find(name);
            if (!running || running->state() != State::Running || running->config().image != ImageKind::Host)
                return;  // stopped meanwhile: swept at its next start
            scratch_.sweep_leftovers(running->config());
            snapshots_.sweep_leftovers(running->config());
        });
    } else if (instance.state() != State::Stopping) {
        housekeeping_.cancel(instance.name());
        scratch_.instance_stopped(instance.name());
    }
}

void ManagerObject::CreateScratchDatabase(sdbus::Result<std::string, std::string>&& result, std::string name,
                                          std::string from_snapshot) {
    using Reply = sdbus::Result<std::string, std::string>;
    auto reply = std::make_shared<Reply>(std::move(result));
    at_boundary_async(*reply, [&] {
        // Every check that needs no one's permission comes first, and changes nothing.
        const Instance& instance = running_instance(name);
        if (!from_snapshot.empty())
            if (auto problem = instance_name_problem(from_snapshot))
                throw DomainError(error_name::InvalidArgs, fmt::format("invalid snapshot name {}: {}",
                                                                       quote_untrusted(from_snapshot), *problem));
        if (instance.config().image != ImageKind::Host)
            throw DomainError(error_name::NotSupported,
                              fmt::format("instance {} runs a booted image; scratch databases need image = \"host\"",
                                          instance.name()));
        const Caller caller = current_caller(getObject());
        const std::string checked = instance.name();
        authorizer_.check(
            caller, action::ReadCredentials, [this, reply, caller, checked, from_snapshot](const std::string& denied) {
                if (!denied.empty())
                    return reply->returnError(sdbus::Error(error_name::AccessDenied, "Access denied: " + denied));
                // The caller may have left while polkit was asked; the watch (in place once
                // hold_owner() returns) only covers what happens from now on, so ask the bus
                // once whether it is still there.
                scratch_.hold_owner(caller.bus_name);
                bus_daemon_->callMethodAsync("NameHasOwner")
                    .onInterface(kBusDaemon)
                    .withArguments(caller.bus_name)
                    .uponReplyInvoke([this, reply, caller, checked, from_snapshot](const sdbus::Error* error,
                                                                                   bool alive) {
                        // Released once create() has recorded the database (or failed).
                        auto release = std::shared_ptr<void>(
                            nullptr, [this, owner = caller.bus_name](void*) { scratch_.release_owner(owner); });
                        if (error || !alive)
                            return reply->returnError(sdbus::Error(
                                error_name::Failed, "the caller left before its scratch database was made"));
                        at_boundary_async(*reply, [&] {
                            const Instance& now = running_instance(checked);
                            const InstanceConfig c = now.config();
                            const auto [host, port] = now.address();
                            scratch_.create(
                                c, caller.bus_name, from_snapshot,
                                [reply, c, host = host, port = port](const char* error_name, const std::string& message,
                                                                     const std::string& database) {
                                    if (error_name)
                                        return reply->returnError(sdbus::Error(error_name, message));
                                    reply->returnResults(database,
                                                         connection_uri(c.user, c.password, host, port, database));
                                });
                        });
                    });
            });
    });
}

void ManagerObject::DropScratchDatabase(sdbus::Result<>&& result, std::string name, std::string database) {
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    at_boundary_async(*reply, [&] {
        const Instance& instance = manager_.lookup(name);
        const std::string owner = scratch_.owner_of(instance.name(), database);
        if (owner.empty())
            throw DomainError(
                error_name::NoSuchScratchDatabase,
                fmt::format("instance {} has no scratch database {}", instance.name(), quote_untrusted(database)));
        if (owner != current_caller(getObject()).bus_name) {
            uid_t uid = static_cast<uid_t>(-1);
            try {
                if (const sdbus::Message* message = getObject().getCurrentlyProcessedMessage())
                    uid = message->getCredsUid();
            } catch (const sdbus::Error&) {
                // Unknown: not root.
            }
            if (uid != 0)
                throw DomainError(error_name::AccessDenied,
                                  "only the connection that created a scratch database, or root, may drop it");
        }
        scratch_.drop(instance.config(), database, [reply](const std::string& error) {
            if (!error.empty())
                return reply->returnError(sdbus::Error(error_name::Failed, error));
            reply->returnResults();
        });
    });
}

}  // namespace pgnspawn
