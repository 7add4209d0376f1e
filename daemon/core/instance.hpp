// One configured PostgreSQL instance and its lifecycle: the state machine, the callers
// waiting on it, and the rules for overlapping requests. It knows nothing of D-Bus.
//
// Requests take effect in the order they came: a Start during a start joins it; a Stop
// during a start is queued and runs when the start is over (a Start during a stop
// likewise); consecutive queued requests of one kind share one operation. Every caller
// is answered with the result of the operation that served its request.
#pragma once

#include "core/backend.hpp"
#include "core/config.hpp"
#include "core/state.hpp"

#include <deque>
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

    /// Where a client on this host connects (an empty host while unknown).
    std::pair<std::string, uint16_t> address() const { return backend_.address(config_); }

    State state() const { return state_; }
    const InstanceConfig& config() const { return config_; }
    const std::string& name() const { return config_.name; }
    /// How far the current or last start has got ("" once stopped); see the Phase property.
    const std::string& phase() const { return phase_; }
    /// Why the last start or stop failed, or why the container went away.
    const std::string& last_error() const { return last_error_; }

private:
    enum class Kind { Start, Stop };
    struct Request {
        Kind kind;
        Done done;
    };

    void request(Kind kind, Done done);
    bool busy() const { return state_ == State::Starting || state_ == State::Stopping; }
    void begin(Kind kind);
    void on_finished(Kind kind, const std::string& error);
    void run_next();
    void on_exited(const std::string& why);
    void set_state(State next);
    void set_phase(const char* phase);

    InstanceConfig config_;
    Backend& backend_;
    Listener listener_;
    State state_ = State::Stopped;
    std::string last_error_;
    std::string phase_;
    std::vector<Done> current_;  ///< callers served by the operation under way
    std::deque<Request> queue_;  ///< requests that wait for it to finish
};

}  // namespace pgnspawn
