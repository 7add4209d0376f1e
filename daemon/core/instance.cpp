#include "core/instance.hpp"

#include "core/names.hpp"
#include "platform/log.hpp"

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
    if (observer_)
        observer_->state_changed(*this);
}

void Instance::set_phase(const char* phase) {
    if (phase_ == phase)
        return;
    phase_ = phase;
    if (observer_)
        observer_->phase_changed(*this);
}

void Instance::start(Done done) { request(Kind::Start, std::move(done)); }

void Instance::stop(Done done) { request(Kind::Stop, std::move(done)); }

void Instance::request(Kind kind, Done done) {
    const State goal = kind == Kind::Start ? State::Running : State::Stopped;
    const State under_way = kind == Kind::Start ? State::Starting : State::Stopping;
    if (!busy()) {
        if (state_ == goal) {
            done("");
            return;
        }
        current_.push_back(std::move(done));
        begin(kind);
    } else if (state_ == under_way && queue_.empty()) {
        current_.push_back(std::move(done));  // the operation under way serves this request too
    } else {
        queue_.push_back({kind, std::move(done)});
    }
}

void Instance::begin(Kind kind) {
    last_error_.clear();
    const auto unit = unit_name(config_.name);
    if (kind == Kind::Start) {
        phase_.clear();
        set_state(State::Starting);
        log_info(fmt::format("Starting instance {}.", config_.name), config_.name, unit);
        backend_.start(
            config_, [this](const std::string& error) { on_finished(Kind::Start, error); },
            [this](const char* phase) { set_phase(phase); });
    } else {
        backend_.unwatch(config_);
        phase_.clear();
        set_state(State::Stopping);
        log_info(fmt::format("Stopping instance {}.", config_.name), config_.name, unit);
        backend_.stop(config_, [this](const std::string& error) { on_finished(Kind::Stop, error); });
    }
}

void Instance::on_finished(Kind kind, const std::string& error) {
    const char* verb = kind == Kind::Start ? "start" : "stop";
    if (!error.empty()) {
        last_error_ = error;
        log_error(fmt::format("Failed to {} instance {}: {}", verb, config_.name, error), config_.name,
                  unit_name(config_.name));
        set_state(State::Failed);
    } else if (kind == Kind::Start) {
        phase_ = "ready";
        set_state(State::Running);
        backend_.watch(config_, [this](const std::string& why) { on_exited(why); });
    } else {
        set_state(State::Stopped);
    }
    auto served = std::move(current_);
    current_.clear();
    for (auto& done : served)
        done(error);
    run_next();
}

void Instance::run_next() {
    while (!queue_.empty() && !busy()) {
        const Kind kind = queue_.front().kind;
        while (!queue_.empty() && queue_.front().kind == kind) {
            current_.push_back(std::move(queue_.front().done));
            queue_.pop_front();
        }
        const State goal = kind == Kind::Start ? State::Running : State::Stopped;
        if (state_ != goal) {
            begin(kind);
            return;
        }
        auto served = std::move(current_);  // already where they asked to be
        current_.clear();
        for (auto& done : served)
            done("");
    }
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
        phase_ = "ready";
        set_state(State::Running);
        backend_.watch(config_, [this](const std::string& why) { on_exited(why); });
    }
}

}  // namespace pgnspawn
