#include "instance.hpp"

#include "log.hpp"
#include "names.hpp"

#include <cassert>

namespace pgnspawn {

Instance::Instance(InstanceConfig config, Backend& backend) : config_(std::move(config)), backend_(backend) {}

void Instance::set_state(State next) {
    if (next == state_)
        return;
    assert(is_legal_transition(state_, next));
    log_info(fmt::format("Instance {} is now {} (was {}).", config_.name, to_string(next), to_string(state_)),
             config_.name, unit_name(config_.name));
    state_ = next;
    if (listener_)
        listener_(*this);
}

void Instance::complete(std::vector<Done>& waiters, const std::string& error) {
    auto batch = std::move(waiters);
    waiters.clear();
    for (auto& done : batch)
        done(error);
}

void Instance::start(Done done) {
    switch (state_) {
    case State::Running:
        done("");
        return;
    case State::Starting:
        start_waiters_.push_back(std::move(done));
        if (pending_ == Pending::Stop)  // a later Start overrides an earlier queued Stop
            pending_ = Pending::None;
        return;
    case State::Stopping:
        start_waiters_.push_back(std::move(done));
        pending_ = Pending::Start;
        return;
    case State::Stopped:
    case State::Failed:
        start_waiters_.push_back(std::move(done));
        begin_start();
        return;
    }
}

void Instance::stop(Done done) {
    switch (state_) {
    case State::Stopped:
        done("");
        return;
    case State::Stopping:
        stop_waiters_.push_back(std::move(done));
        if (pending_ == Pending::Start)
            pending_ = Pending::None;
        return;
    case State::Starting:
        stop_waiters_.push_back(std::move(done));
        pending_ = Pending::Stop;
        return;
    case State::Running:
    case State::Failed:
        stop_waiters_.push_back(std::move(done));
        begin_stop();
        return;
    }
}

void Instance::begin_start() {
    pending_ = Pending::None;
    last_error_.clear();
    set_state(State::Starting);
    log_info(fmt::format("Starting instance {}.", config_.name), config_.name, unit_name(config_.name));
    backend_.start(config_, [this](const std::string& error) { on_started(error); });
}

void Instance::on_started(const std::string& error) {
    if (!error.empty()) {
        last_error_ = error;
        log_error(fmt::format("Failed to start instance {}: {}", config_.name, error), config_.name,
                  unit_name(config_.name));
        set_state(State::Failed);
    } else {
        set_state(State::Running);
        backend_.watch(config_, [this](const std::string& why) { on_exited(why); });
    }
    complete(start_waiters_, error);
    run_pending();
}

void Instance::begin_stop() {
    pending_ = Pending::None;
    backend_.unwatch(config_);
    set_state(State::Stopping);
    log_info(fmt::format("Stopping instance {}.", config_.name), config_.name, unit_name(config_.name));
    backend_.stop(config_, [this](const std::string& error) { on_stopped(error); });
}

void Instance::on_stopped(const std::string& error) {
    if (!error.empty()) {
        last_error_ = error;
        log_error(fmt::format("Failed to stop instance {}: {}", config_.name, error), config_.name,
                  unit_name(config_.name));
        set_state(State::Failed);
    } else {
        last_error_.clear();
        set_state(State::Stopped);
    }
    complete(stop_waiters_, error);
    run_pending();
}

void Instance::run_pending() {
    if (pending_ == Pending::Stop && state_ != State::Stopped)
        begin_stop();
    else if (pending_ == Pending::Start && state_ != State::Running)
        begin_start();
    pending_ = Pending::None;
}

void Instance::on_exited(const std::string& why) {
    if (state_ != State::Running)
        return;
    last_error_ = why;
    log_error(fmt::format("Instance {} failed: {}", config_.name, why), config_.name, unit_name(config_.name));
    set_state(State::Failed);
}

void Instance::health(std::function<void(HealthResult)> done) {
    if (state_ != State::Running) {
        HealthResult r;
        r.detail = fmt::format("instance {} is {}", config_.name, to_string(state_));
        if (!last_error_.empty())
            r.detail += ": " + last_error_;
        done(r);
        return;
    }
    backend_.health(config_, std::move(done));
}

void Instance::adopt() {
    if (state_ == State::Stopped && backend_.is_running(config_)) {
        log_info(fmt::format("Adopting running instance {}.", config_.name), config_.name, unit_name(config_.name));
        set_state(State::Running);
        backend_.watch(config_, [this](const std::string& why) { on_exited(why); });
    }
}

}  // namespace pgnspawn
