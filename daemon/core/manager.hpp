// The set of configured instances. Looking an instance up is where untrusted names are
// checked: invalid names and unknown names fail with distinct, named errors.
//
// A reload never disturbs a running container. Instances new in the configuration
// appear at once. An instance dropped from it disappears at once if it is stopped or
// failed; otherwise it keeps serving (Stop, GetAddress, ... still work, Start is refused)
// and disappears when it next comes to rest. An instance whose settings changed takes
// them when it is at rest, at once if it already is. "At rest" means stopped, or failed
// with no container left: only then does nothing refer to the Instance any more (the
// backend calls back into it while it starts, stops or runs), so only then is it
// destroyed or replaced — and never from inside one of its own callbacks, but from a
// deferred call on the event loop.
#pragma once

#include "core/backend.hpp"
#include "core/config.hpp"
#include "core/instance.hpp"

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pgnspawn {

class Manager {
public:
    /// What the D-Bus face needs to hear. Calls come from the event loop, never while an
    /// Instance is in the middle of one of its own operations.
    class Observer {
    public:
        virtual ~Observer() = default;
        virtual void instance_added(const Instance& instance) = 0;
        /// `instance` is destroyed right after this returns.
        virtual void instance_removed(const Instance& instance) = 0;
        /// `fresh`, with new settings, takes the place of `old` (same name), which is
        /// destroyed right after this returns.
        virtual void instance_replaced(const Instance& old, const Instance& fresh) = 0;
        virtual void state_changed(const Instance& instance) = 0;
    };

    /// Runs a function later, on the event loop, once the current callback has returned.
    using Defer = std::function<void(std::function<void()>)>;

    /// Names of the instances a reload touched, in configuration order.
    struct ReloadSummary {
        std::vector<std::string> added;
        std::vector<std::string> removed;          ///< gone already
        std::vector<std::string> changed;          ///< new settings applied already
        std::vector<std::string> removal_pending;  ///< still busy or running: removed once at rest
        std::vector<std::string> change_pending;   ///< still busy or running: new settings once at rest
    };

    Manager(Config config, Backend& backend, Defer defer);
    ~Manager();
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;

    void set_observer(Observer* observer) { observer_ = observer; }

    /// Throws DomainError: InvalidArgs for a malformed name, NoSuchInstance for an unknown one.
    /// Finds instances that a reload removed but that are still running, so they can be stopped.
    Instance& lookup(std::string_view name);
    /// Like lookup(), but an instance removed from the configuration is NoSuchInstance:
    /// it must not be started again; and an instance whose port is still held by another
    /// one running as configured before a reload is StartFailed, naming that one.
    Instance& lookup_startable(std::string_view name);
    /// Configured instances in file order, then those waiting to be removed.
    const std::vector<std::unique_ptr<Instance>>& instances() const { return instances_; }
    bool removal_pending(std::string_view name) const { return removals_.count(std::string(name)) > 0; }

    /// Takes over containers that survived a restart of the daemon.
    void adopt_running();
    /// Starts every instance configured with autostart = true that is not running;
    /// failures are logged. Returns the names it started.
    std::vector<std::string> start_autostart_instances();

    /// Applies a new configuration (see the top of this file).
    ReloadSummary reload(Config next);

private:
    Instance& add(const InstanceConfig& config);
    Instance* find(std::string_view name) const;
    bool at_rest(const Instance& instance);
    void on_state_changed(const Instance& instance);
    /// Removes or reconfigures every pending instance that has come to rest.
    void settle();
    void remove(const std::string& name);
    void replace(const std::string& name, const InstanceConfig& config);

    Config config_;
    Backend& backend_;
    Defer defer_;
    Observer* observer_ = nullptr;
    std::vector<std::unique_ptr<Instance>> instances_;
    std::set<std::string> removals_;                 ///< dropped from the file, not yet at rest
    std::map<std::string, InstanceConfig> changes_;  ///< new settings waiting for rest
    bool settle_scheduled_ = false;
    /// Cleared on destruction, so a deferred settle() that outlives the Manager does nothing.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace pgnspawn
