// Following the daemon's signals without an event-loop thread: explicit match rules and
// a poll(2) loop on the bus connection.
#pragma once

#include "client/records.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgnspawn::client {

using Clock = std::chrono::steady_clock;

constexpr auto kForever = Clock::time_point::max();

/// Dispatches D-Bus messages until `done()` holds (true) or `deadline` passes (false).
/// Handlers only record what they saw; nothing throws out of them.
bool dispatch_until(sdbus::IConnection& bus, const std::function<bool()>& done, Clock::time_point deadline);

/// Match rules are added synchronously (the bus has confirmed them when this returns),
/// so a state read afterwards cannot miss a change.
sdbus::Slot watch_signal(sdbus::IConnection& bus, const std::string& rule, sdbus::message_handler handler);

/// The match rule for one signal of org.pgnspawn1.Manager.
std::string manager_signal_rule(std::string_view member);

/// Follows one instance's State through PropertiesChanged; the daemon restarting
/// (a new owner of org.pgnspawn1) makes the caller read State again.
class StateWatch {
public:
    StateWatch(sdbus::IConnection& bus, const InstanceEntry& entry);

    /// States seen since the last call, oldest first.
    std::vector<std::string> take_states() { return std::exchange(states_, {}); }
    /// States and the phases of a start (the Phase property) as they came, for progress.
    std::vector<std::string> take_progress() { return std::exchange(progress_, {}); }
    bool pending() const { return !states_.empty() || removed || daemon_restarted; }

    bool removed = false;
    bool daemon_restarted = false;

private:
    void on_properties_changed(sdbus::Message& message);

    std::string name_;
    std::vector<std::string> states_;
    std::vector<std::string> progress_;
    sdbus::Slot changed_, removed_, owner_;
};

}  // namespace pgnspawn::client
