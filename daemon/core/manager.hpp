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
// call posted to the event loop.
//
// A bad file at start-up leaves the daemon up with no instances, answering every lookup
// with BadConfiguration and the parser's message, until a reload brings a good file.
#pragma once

#include "core/backend.hpp"
#include "core/config.hpp"
#include "core/instance.hpp"
#include "platform/event_loop.hpp"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pgnspawn {

class Manager : private Instance::Observer {
public:
    /// What the D-Bus face needs to hear: what Instance::Observer hears of every instance,
    /// and the instances coming and going. Calls come from the event loop, never while an
    /// Instance is in the middle of one of its own operations.
    class Observer : public Instance::Observer {
    public:
        virtual void instance_added(const Instance& instance) = 0;
        /// `instance` is destroyed right after this returns.
        virtual void instance_removed(const Instance& instance) = 0;
        /// `fresh`, with new settings, takes the place of `old` (same name), which is
        /// destroyed right after this returns.
        virtual void instance_replaced(const Instance& old, const Instance& fresh) = 0;
    };

    /// Names of the instances a reload touched, in configuration order.
    struct ReloadSummary {
        std::vector<std::string> added;
        std::vector<std::string> removed;          ///< gone already
        std::vector<std::string> changed;          ///< new settings applied already
        std::vector<std::string> removal_pending;  ///< still busy or running: removed once at rest
        std::vector<std::string> change_pending;   ///< still busy or running: new settings once at rest
        std::vector<std::string> autostarted;      ///< the first good file after a bad start
    };

    /// Work that must wait until the current callback has returned goes to `loop`'s queue.
    Manager(Config config, Backend& backend, EventLoop& loop);
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;

    void set_observer(Observer* observer) { observer_ = observer; }

    /// The daemon started on a bad file (`config` was empty): until a reload brings a good
    /// one, every lookup and list answers BadConfiguration with `problem`, the parser's
    /// "FILE:LINE:COLUMN: what is wrong".
    void set_configuration_problem(std::string problem);
    /// Empty, or why the daemon serves no configuration.
    const std::string& configuration_problem() const { return problem_; }
    /// Throws DomainError BadConfiguration if there is a configuration problem.
    void require_configuration() const;

    /// Throws DomainError: InvalidArgs for a malformed name, BadConfiguration while the
    /// file is bad, NoSuchInstance for an unknown name. Finds instances that a reload
    /// removed but that are still running, so they can be stopped.
    Instance& lookup(std::string_view name);
    /// Like lookup(), but an instance removed from the configuration is NoSuchInstance:
    /// it must not be started again; and an instance whose port is still held by another
    /// one running as configured before a reload is StartFailed, naming that one.
    Instance& lookup_startable(std::string_view name);
    /// Configured instances in file order, then those waiting to be removed.
    const std::vector<std::unique_ptr<Instance>>& instances() const { return instances_; }
    /// The instance of that name (configured, created or waiting to be removed), or null.
    Instance* find(std::string_view name) const;
    /// Whether any instance is starting now.
    bool any_starting() const;
    bool removal_pending(std::string_view name) const { return removals_.count(std::string(name)) > 0; }

    /// Created instances (CreateInstance, loaded from STATE/instances.d at start-up): they
    /// sit beside the file's and no reload drops them. A file instance of the same name is
    /// left out (logged): the created one keeps its data and its creator.
    void load_created(std::vector<InstanceConfig> created);
    /// A new created instance (its name and port already checked): InstanceAdded.
    Instance& add_created(const InstanceConfig& config);
    /// Forgets a created instance at once, which must be at rest: InstanceRemoved.
    void remove_created(const std::string& name);
    /// The file's [created] table.
    const CreatedLimits& created_limits() const { return config_.created; }
    /// The settings of every instance there is, running ones a reload removed included.
    std::vector<InstanceConfig> configs() const;

    /// Takes over containers that survived a restart of the daemon.
    void adopt_running();
    /// Starts every instance configured with autostart = true that is not running;
    /// failures are logged. Returns the names it started.
    std::vector<std::string> start_autostart_instances();

    /// Applies a new configuration (see the top of this file). The first good file after
    /// a bad start also does what start-up would have: adopts running containers and
    /// starts the autostart instances.
    ReloadSummary reload(Config next);
    /// A reload was refused for `problem`. A daemon serving a good configuration keeps it;
    /// one that started on a bad file now answers with this newer problem.
    void reload_failed(const std::string& problem);

private:
    Instance& add(const InstanceConfig& config);
    bool at_rest(const Instance& instance);
    // Instance::Observer: passed on, and pending removals or changes settled.
    void state_changed(const Instance& instance) override;
    void phase_changed(const Instance& instance) override;
    /// Removes or reconfigures every pending instance that has come to rest.
    void settle();
    void remove(const std::string& name);
    void replace(const std::string& name, const InstanceConfig& config);
    /// `file` with the created instances added, less the file's instances of their names.
    Config with_created(Config file) const;

    Config config_;
    std::string problem_;  ///< see set_configuration_problem()
    Backend& backend_;
    EventLoop& loop_;
    Observer* observer_ = nullptr;
    std::vector<std::unique_ptr<Instance>> instances_;
    std::vector<InstanceConfig> created_;
    std::set<std::string> removals_;                 ///< dropped from the file, not yet at rest
    std::map<std::string, InstanceConfig> changes_;  ///< new settings waiting for rest
    bool settle_scheduled_ = false;
    /// A settle() posted to the loop is skipped once the Manager is gone.
    Lifetime lifetime_;
};

}  // namespace pgnspawn
