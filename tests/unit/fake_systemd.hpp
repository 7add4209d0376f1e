// A fake systemd/machined behind the Systemd seam: it records every call in `events` (as
// "start pgnspawn-dev.service") and answers on the event loop, as the real one answers
// from the bus. Tests script its answers and drive unit state changes by hand.
#pragma once

#include "platform/event_loop.hpp"
#include "platform/systemd.hpp"

#include <deque>
#include <map>
#include <string>
#include <vector>

namespace pgnspawn::test {

class FakeSystemd final : public Systemd {
public:
    struct StartAnswer {
        std::string error;
        bool unit_exists = false;
    };

    FakeSystemd(EventLoop& loop, std::vector<std::string>& events) : loop_(loop), events_(events) {}

    // Scripted answers, taken from the front; when empty, the defaults below.
    std::deque<UnitState> unit_states;      ///< default: not loaded
    std::deque<StartAnswer> start_answers;  ///< default: the start job is done
    std::vector<MachineAddress> addresses;  ///< what machined answers
    std::string active_state = "inactive";  ///< what active_state_blocking answers
    std::vector<std::string> journal;       ///< the unit's log lines
    std::vector<TransientService> started;  ///< every service asked for

    /// Tells the watchers of `unit` that its ActiveState is now `state`.
    void set_state(const std::string& unit, const std::string& state) {
        auto watchers = watchers_;  // a watcher may drop its watch
        for (const auto& [id, w] : watchers)
            if (w.first == unit && watchers_.count(id))
                w.second(state);
    }

    void start_transient_service(const TransientService& service,
                                 std::function<void(const std::string&, bool)> done) override {
        events_.push_back("start " + service.unit);
        started.push_back(service);
        StartAnswer answer;
        if (!start_answers.empty()) {
            answer = start_answers.front();
            start_answers.pop_front();
        }
        loop_.post([done, answer] { done(answer.error, answer.unit_exists); });
    }
    void stop_unit(const std::string& unit, StopDone done) override {
        events_.push_back("stop " + unit);
        loop_.post([done] { done("", true); });
    }
    void reset_failed_unit(const std::string& unit) override { events_.push_back("reset-failed " + unit); }
    Watch watch_unit(const std::string& unit, std::function<void(const std::string&)> on_state) override {
        events_.push_back("watch " + unit);
        return add_watcher(unit, std::move(on_state));
    }
    void unit_state(const std::string& unit, std::function<void(const std::string&, const UnitState&)> done) override {
        events_.push_back("unit-state " + unit);
        UnitState state{"not-found", "inactive"};
        if (!unit_states.empty()) {
            state = unit_states.front();
            unit_states.pop_front();
        }
        loop_.post([done, state] { done("", state); });
    }
    Watch watch_unit_removed(const std::string& unit, std::function<void()> on_removed) override {
        events_.push_back("watch-removed " + unit);
        return add_watcher(unit + " removed", [on_removed](const std::string&) { on_removed(); });
    }
    void remove_machine(const std::string& machine, Done done) override {
        events_.push_back("remove-machine " + machine);
        loop_.post([done] { done(""); });
    }
    void machine_addresses(const std::string& machine,
                           std::function<void(const std::string&, std::vector<MachineAddress>)> done) override {
        events_.push_back("addresses " + machine);
        loop_.post([done, a = addresses] { done("", a); });
    }
    std::vector<MachineAddress> machine_addresses_blocking(const std::string& machine) override {
        events_.push_back("addresses-blocking " + machine);
        return addresses;
    }
    std::string active_state_blocking(const std::string& unit) override {
        events_.push_back("active-state-blocking " + unit);
        return active_state;
    }
    std::vector<std::string> journal_tail(const std::string&, std::size_t lines, uint64_t) const override {
        return {journal.size() > lines ? journal.end() - static_cast<long>(lines) : journal.begin(), journal.end()};
    }

private:
    Watch add_watcher(const std::string& unit, std::function<void(const std::string&)> f) {
        const int id = next_id_++;
        watchers_[id] = {unit, std::move(f)};
        return Watch(new int(id), [this](void* p) {
            auto* id_ptr = static_cast<int*>(p);
            watchers_.erase(*id_ptr);
            delete id_ptr;
        });
    }

    EventLoop& loop_;
    std::vector<std::string>& events_;
    std::map<int, std::pair<std::string, std::function<void(const std::string&)>>> watchers_;
    int next_id_ = 0;
};

}  // namespace pgnspawn::test
