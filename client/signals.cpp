#include "client/signals.hpp"

#include "bus_names.hpp"
#include "client/bus_calls.hpp"

#include <fmt/core.h>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

namespace pgnspawn::client {

bool dispatch_until(sdbus::IConnection& bus, const std::function<bool()>& done, Clock::time_point deadline) {
    for (;;) {
        while (!done() && bus.processPendingRequest()) {
        }
        if (done())
            return true;
        const auto poll_data = bus.getEventLoopPollData();
        int timeout_ms = poll_data.getPollTimeout();
        if (deadline != kForever) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0)
                return false;
            const int left_ms = static_cast<int>(std::min<long long>(left, 1 << 30));
            timeout_ms = timeout_ms < 0 ? left_ms : std::min(timeout_ms, left_ms);
        }
        pollfd fd{poll_data.fd, poll_data.events, 0};
        if (::poll(&fd, 1, timeout_ms) < 0 && errno != EINTR)
            throw CommandFailed(fmt::format("cannot wait for the system bus: {}", std::strerror(errno)));
    }
}

sdbus::Slot watch_signal(sdbus::IConnection& bus, const std::string& rule, sdbus::message_handler handler) {
    return attempt("cannot subscribe to the daemon's signals", [&] { return bus.addMatch(rule, std::move(handler)); });
}

std::string manager_signal_rule(std::string_view member) {
    return fmt::format("type='signal',sender='{}',path='{}',interface='{}',member='{}'", bus::kBusName,
                       bus::kManagerPath, bus::kManagerInterface, member);
}

StateWatch::StateWatch(sdbus::IConnection& bus, const InstanceEntry& entry) : name_(entry.name) {
    changed_ =
        watch_signal(bus,
                     fmt::format("type='signal',sender='{}',path='{}',interface='org.freedesktop.DBus.Properties',"
                                 "member='PropertiesChanged',arg0='{}'",
                                 bus::kBusName, entry.path, bus::kInstanceInterface),
                     [this](sdbus::Message& message) { on_properties_changed(message); });
    removed_ = watch_signal(bus, manager_signal_rule("InstanceRemoved"), [this](sdbus::Message& message) {
        std::string name;
        message >> name;
        if (name == name_)
            removed = true;
    });
    owner_ = watch_signal(bus,
                          fmt::format("type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                                      "member='NameOwnerChanged',arg0='{}'",
                                      bus::kBusName),
                          [this](sdbus::Message& message) {
                              std::string name, old_owner, new_owner;
                              message >> name >> old_owner >> new_owner;
                              if (!new_owner.empty())
                                  daemon_restarted = true;
                          });
}

void StateWatch::on_properties_changed(sdbus::Message& message) {
    std::string interface;
    std::map<std::string, sdbus::Variant> changed;
    std::vector<std::string> invalidated;
    message >> interface >> changed >> invalidated;
    const auto state = changed.find("State");
    if (state != changed.end() && state->second.containsValueOfType<std::string>()) {
        states_.push_back(state->second.get<std::string>());
        progress_.push_back(states_.back());
    }
    // "ready" says no more than the state "running" that comes with it.
    const auto phase = changed.find("Phase");
    if (phase != changed.end() && phase->second.containsValueOfType<std::string>()) {
        const auto value = phase->second.get<std::string>();
        if (!value.empty() && value != "ready")
            progress_.push_back(value);
    }
}

}  // namespace pgnspawn::client
