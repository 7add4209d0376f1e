// One configured PostgreSQL instance and its lifecycle: the state machine, the callers
// waiting on it, and the rules for overlapping requests. It knows nothing of D-Bus.
//
// Concurrent Starts share one start; a Stop during a start runs when the start is over
// (and a Start during a stop likewise), so requests take effect in the order they came.
#pragma once

#include "backend.hpp"
#include "config.hpp"
#include "state.hpp"

#include <functional>
#include <string>
#include <vector>

namespace pgnspawn {

class Instance {
public:
    using Done = Backend::Done;
    using Listener = std::function<void(const Instance&)>;

    Instance(InstanceConfig config, Backend& backend);
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    /// Called after every state change (the D-Bus face emits signals from here).
    void set_listener(Listener listener) { listener_ = std::move(listener); }

    void start(Done done);
    void stop(Done done);
    void health(std::function<void(HealthResult)> done);
    /// At daemon start-up: take over a container that is still running.
    void adopt();

    State state() const { return state_; }
    const InstanceConfig& config() const { return config_; }
    const std::string& name() const { return config_.name; }
    /// Why the last start or stop failed, or why the container went away.
    const std::string& last_error() const { return last_error_; }

private:
    enum class Pending { None, Start, Stop };

    void begin_start();
    void begin_stop();
    void on_started(const std::string& error);
    void on_stopped(const std::string& error);
    void on_exited(const std::string& why);
    void run_pending();
    void set_state(State next);
    static void complete(std::vector<Done>& waiters, const std::string& error);

    InstanceConfig config_;
    Backend& backend_;
    Listener listener_;
    State state_ = State::Stopped;
    std::string last_error_;
    Pending pending_ = Pending::None;
    std::vector<Done> start_waiters_;
    std::vector<Done> stop_waiters_;
};

}  // namespace pgnspawn
