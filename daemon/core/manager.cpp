#include "core/manager.hpp"

#include "core/errors.hpp"
#include "core/names.hpp"
#include "platform/log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace pgnspawn {

Manager::Manager(Config config, Backend& backend, EventLoop& loop)
    : config_(std::move(config)), backend_(backend), loop_(loop) {
    for (const auto& c : config_.instances)
        add(c);
}

void Manager::set_configuration_problem(std::string problem) {
    if (!instances_.empty())
        throw std::logic_error("a configuration problem is for a daemon that started with no configuration");
    problem_ = std::move(problem);
}

void Manager::require_configuration() const {
    if (!problem_.empty())
        throw DomainError(error_name::BadConfiguration, problem_);
}

Instance& Manager::add(const InstanceConfig& config) {
    auto instance = std::make_unique<Instance>(config, backend_);
    instance->set_observer(this);
    instances_.push_back(std::move(instance));
    return *instances_.back();
}

Instance* Manager::find(std::string_view name) const {
    for (const auto& i : instances_)
        if (i->name() == name)
            return i.get();
    return nullptr;
}

Instance& Manager::lookup(std::string_view name) {
    if (auto problem = instance_name_problem(name))
        throw DomainError(error_name::InvalidArgs, *problem);
    require_configuration();
    if (Instance* i = find(name))
        return *i;
    throw DomainError(error_name::NoSuchInstance, fmt::format("no instance named {} is configured in {}",
                                                              quote_untrusted(name), config_.source.string()));
}

Instance& Manager::lookup_startable(std::string_view name) {
    Instance& instance = lookup(name);
    if (removal_pending(instance.name()))
        throw DomainError(error_name::NoSuchInstance,
                          fmt::format("instance {} was removed from {}; it is kept only until it stops",
                                      instance.name(), config_.source.string()));
    // After a reload, an instance that is still running as it was configured before (one
    // removed, or one whose settings changed) may hold a port the new file gives another.
    // The port comparison comes first: at_rest() may ask systemd, synchronously.
    for (const auto& other : instances_) {
        if (other.get() == &instance)
            continue;
        if (auto shared = shared_host_port(instance.config(), other->config()); !shared.empty() && !at_rest(*other))
            throw DomainError(
                error_name::StartFailed,
                fmt::format("instance {} cannot start: {} is still taken by instance {}, which {}; stop it first "
                            "(pgnspawnctl stop {})",
                            instance.name(), shared, other->name(),
                            removal_pending(other->name())
                                ? fmt::format("was removed from {} but is still running", config_.source.string())
                                : std::string("is still running with its settings from before the reload"),
                            other->name()));
    }
    return instance;
}

void Manager::adopt_running() {
    for (auto& i : instances_)
        i->adopt();
}

std::vector<std::string> Manager::start_autostart_instances() {
    std::vector<std::string> started;
    for (auto& i : instances_) {
        if (!i->config().autostart || i->state() == State::Running || removal_pending(i->name()))
            continue;
        const std::string name = i->name();
        log_info(fmt::format("Starting instance {} (autostart).", name), name, unit_name(name));
        started.push_back(name);
        i->start([name](const std::string& error) {
            if (!error.empty())
                log_error(fmt::format("Failed to autostart instance {}: {}", name, error), name, unit_name(name));
        });
    }
    return started;
}

bool Manager::at_rest(const Instance& instance) {
    if (instance.state() == State::Stopped)
        return true;
    // A failed stop may leave the container up: that instance is not at rest until stopped.
    return instance.state() == State::Failed && !backend_.is_running(instance.config());
}

Manager::ReloadSummary Manager::reload(Config file) {
    Config next = with_created(std::move(file));
    ReloadSummary summary;
    const bool after_bad_start = !problem_.empty();
    problem_.clear();
    for (const auto& c : next.instances) {
        Instance* existing = find(c.name);
        if (!existing) {
            Instance& added = add(c);
            summary.added.push_back(c.name);
            if (observer_)
                observer_->instance_added(added);
            continue;
        }
        removals_.erase(c.name);
        if (existing->config() == c) {
            changes_.erase(c.name);  // back to what it runs with
        } else if (at_rest(*existing)) {
            changes_.erase(c.name);
            replace(c.name, c);
            summary.changed.push_back(c.name);
        } else {
            changes_[c.name] = c;
            summary.change_pending.push_back(c.name);
        }
    }
    std::vector<std::string> dropped;
    for (const auto& i : instances_)
        if (!next.find(i->name()))
            dropped.push_back(i->name());
    for (const auto& name : dropped) {
        changes_.erase(name);
        if (at_rest(*find(name))) {
            removals_.erase(name);
            remove(name);
            summary.removed.push_back(name);
        } else {
            removals_.insert(name);
            summary.removal_pending.push_back(name);
        }
    }
    // File order first, then the instances waiting to be removed, in their old order.
    std::stable_sort(instances_.begin(), instances_.end(), [&next](const auto& a, const auto& b) {
        auto rank = [&next](const Instance& i) {
            const InstanceConfig* c = next.find(i.name());
            return c ? c - next.instances.data() : static_cast<std::ptrdiff_t>(next.instances.size());
        };
        return rank(*a) < rank(*b);
    });
    config_ = std::move(next);
    if (after_bad_start) {
        // What start-up did not do: containers may have kept running through it.
        adopt_running();
        summary.autostarted = start_autostart_instances();
    }
    return summary;
}

void Manager::reload_failed(const std::string& problem) {
    if (!problem_.empty())
        problem_ = problem;
}

void Manager::phase_changed(const Instance& instance) {
    if (observer_)
        observer_->phase_changed(instance);
}

void Manager::state_changed(const Instance& instance) {
    if (observer_)
        observer_->state_changed(instance);
    const bool pending = removals_.count(instance.name()) || changes_.count(instance.name());
    if (!pending || settle_scheduled_ || (instance.state() != State::Stopped && instance.state() != State::Failed))
        return;
    // Not now: the instance is still inside its own operation's callback.
    settle_scheduled_ = true;
    loop_.post(
        [this] {
            settle_scheduled_ = false;
            settle();
        },
        lifetime_.token());
}

void Manager::settle() {
    std::vector<std::string> names(removals_.begin(), removals_.end());
    for (const auto& name : names) {
        Instance* i = find(name);
        if (i && at_rest(*i)) {
            removals_.erase(name);
            log_info(fmt::format("Instance {} was removed from the configuration and is now {}; removing it.", name,
                                 to_string(i->state())),
                     name, unit_name(name));
            remove(name);
        }
    }
    std::vector<std::string> changed;
    for (const auto& [name, config] : changes_)
        if (Instance* i = find(name); i && at_rest(*i))
            changed.push_back(name);
    for (const auto& name : changed) {
        const InstanceConfig config = changes_.at(name);
        changes_.erase(name);
        log_info(
            fmt::format("Instance {} is now {}; applying its new configuration.", name, to_string(find(name)->state())),
            name, unit_name(name));
        replace(name, config);
    }
}

void Manager::remove(const std::string& name) {
    auto it = std::find_if(instances_.begin(), instances_.end(), [&](const auto& i) { return i->name() == name; });
    if (it == instances_.end())
        return;
    std::unique_ptr<Instance> gone = std::move(*it);
    instances_.erase(it);
    if (observer_)
        observer_->instance_removed(*gone);
}

void Manager::replace(const std::string& name, const InstanceConfig& config) {
    auto it = std::find_if(instances_.begin(), instances_.end(), [&](const auto& i) { return i->name() == name; });
    if (it == instances_.end())
        return;
    std::unique_ptr<Instance> old = std::move(*it);
    *it = std::make_unique<Instance>(config, backend_);
    (*it)->set_observer(this);
    if (observer_)
        observer_->instance_replaced(*old, **it);
}

Config Manager::with_created(Config file) const {
    for (const auto& c : created_) {
        auto clash = std::find_if(file.instances.begin(), file.instances.end(),
                                  [&c](const InstanceConfig& f) { return f.name == c.name; });
        if (clash != file.instances.end()) {
            log_error(fmt::format("Instance {} in {} is ignored: a created instance of that name exists (uid {}); "
                                  "rename it in the file, or destroy the created one (pgnspawnctl destroy {})",
                                  c.name, file.source.string(), c.created_by.value_or(0), c.name),
                      c.name, unit_name(c.name));
            file.instances.erase(clash);
        }
        file.instances.push_back(c);
    }
    return file;
}

void Manager::load_created(std::vector<InstanceConfig> created) {
    created_ = std::move(created);
    if (!problem_.empty())
        return;  // they come with the first good file
    config_ = with_created(std::move(config_));
    instances_.clear();
    for (const auto& c : config_.instances)
        add(c);
}

Instance& Manager::add_created(const InstanceConfig& config) {
    created_.push_back(config);
    config_.instances.push_back(config);
    Instance& added = add(config);
    if (observer_)
        observer_->instance_added(added);
    return added;
}

void Manager::remove_created(const std::string& name) {
    auto is_it = [&name](const InstanceConfig& c) { return c.name == name; };
    created_.erase(std::remove_if(created_.begin(), created_.end(), is_it), created_.end());
    config_.instances.erase(std::remove_if(config_.instances.begin(), config_.instances.end(), is_it),
                            config_.instances.end());
    remove(name);
}

std::vector<InstanceConfig> Manager::configs() const {
    std::vector<InstanceConfig> out;
    for (const auto& i : instances_)
        out.push_back(i->config());
    for (const auto& [name, config] : changes_)
        out.push_back(config);
    return out;
}

bool Manager::any_starting() const {
    for (const auto& instance : instances_)
        if (instance->state() == State::Starting)
            return true;
    return false;
}

}  // namespace pgnspawn
