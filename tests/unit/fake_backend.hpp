// A Backend whose operations complete when the test says so, and an instance's settings,
// for the lifecycle tests (instance_test.cpp) and the manager's (manager_test.cpp).
#pragma once

#include "core/backend.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace pgnspawn {

/// A host-image instance as the parser would make it of name, port and autostart.
inline InstanceConfig instance_config(const std::string& name, uint16_t port, bool autostart = false) {
    InstanceConfig c;
    c.name = name;
    c.port = port;
    c.database = name;
    c.user = name;
    c.password = "secret-" + name;
    c.postgresql_version = "15";
    c.postgresql_bindir = "/usr/lib/postgresql/15/bin";
    c.state_directory = "/var/lib/pgnspawn/" + name;
    c.autostart = autostart;
    return c;
}

class FakeBackend : public Backend {
public:
    /// Every call as "what NAME", in order: start, stop, health, is_running, watch, unwatch.
    std::vector<std::string> calls;
    std::vector<std::pair<std::string, Done>> pending_starts;
    std::vector<std::pair<std::string, Done>> pending_stops;
    /// The exit callbacks of the watches in place, by name.
    std::map<std::string, std::function<void(const std::string&)>> watches;
    /// The progress callback of each instance's last start, to report phases with.
    std::map<std::string, Progress> progress;
    std::set<std::string> running;  ///< what is_running() answers; a successful start or stop updates it
    HealthResult health_result{true, "ok", 1};

    void start(const InstanceConfig& c, Done done, Progress p) override {
        calls.push_back("start " + c.name);
        progress[c.name] = std::move(p);
        pending_starts.emplace_back(c.name, std::move(done));
    }
    void stop(const InstanceConfig& c, Done done) override {
        calls.push_back("stop " + c.name);
        pending_stops.emplace_back(c.name, std::move(done));
    }
    void health(const InstanceConfig& c, std::function<void(HealthResult)> done) override {
        calls.push_back("health " + c.name);
        done(health_result);
    }
    bool is_running(const InstanceConfig& c) override {
        calls.push_back("is_running " + c.name);
        return running.count(c.name) > 0;
    }
    void watch(const InstanceConfig& c, std::function<void(const std::string&)> on_exit) override {
        calls.push_back("watch " + c.name);
        watches[c.name] = std::move(on_exit);
    }
    void unwatch(const InstanceConfig& c) override {
        calls.push_back("unwatch " + c.name);
        watches.erase(c.name);
    }

    /// Completes the oldest outstanding start of `name` with `error` ("" is success).
    void finish_start(const std::string& name, const std::string& error = "") {
        finish(pending_starts, name, error);
        if (error.empty())
            running.insert(name);
    }
    void finish_stop(const std::string& name, const std::string& error = "") {
        finish(pending_stops, name, error);
        if (error.empty())
            running.erase(name);
    }
    int count(const std::string& call) const { return static_cast<int>(std::count(calls.begin(), calls.end(), call)); }

private:
    static void finish(std::vector<std::pair<std::string, Done>>& pending, const std::string& name,
                       const std::string& error) {
        auto it = std::find_if(pending.begin(), pending.end(), [&](const auto& p) { return p.first == name; });
        ASSERT_NE(it, pending.end()) << "no operation of " << name << " to complete";
        Done done = std::move(it->second);
        pending.erase(it);
        done(error);
    }
};

}  // namespace pgnspawn
