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

    /// Told what changed, after it changed (the Manager passes it on to the D-Bus face).
    class Observer {
    public:
        virtual ~Observer() = default;
        /// The state moved (the phase and last error may have moved with it).
        virtual void state_changed(const Instance& instance) = 0;
        /// Only the phase of a start moved on; the state did not change.
        virtual void phase_changed(const Instance& instance) = 0;
    };

    Instance(InstanceConfig config, Backend& backend);
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    void set_observer(Observer* observer) { observer_ = observer; }

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
    Observer* observer_ = nullptr;
    State state_ = State::Stopped;
    std::string last_error_;
    std::string phase_;
    std::vector<Done> current_;  ///< callers served by the operation under way
    std::deque<Request> queue_;  ///< requests that wait for it to finish
};

}  // namespace pgnspawn
