// The "host" image: PostgreSQL from the host's own /usr, run as PID 1 of a small
// systemd-nspawn container in a transient unit, registered with machined.
#pragma once

#include "backend.hpp"
#include "event_loop.hpp"
#include "systemd.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pgnspawn {

struct HostBackendSettings {
    std::string nspawn_binary = "/usr/bin/systemd-nspawn";
    std::chrono::milliseconds start_timeout{120'000};
    std::chrono::milliseconds query_timeout{10'000};
    std::chrono::milliseconds health_timeout{5'000};
    uint64_t stop_timeout_usec = 300'000'000;  ///< before systemd resorts to SIGKILL
};

class HostBackend : public Backend {
public:
    HostBackend(EventLoop& loop, SystemdClient& systemd, HostBackendSettings settings = {});
    ~HostBackend() override;

    void start(const InstanceConfig& config, Done done) override;
    void stop(const InstanceConfig& config, Done done) override;
    void health(const InstanceConfig& config, std::function<void(HealthResult)> done) override;
    bool is_running(const InstanceConfig& config) override;
    void watch(const InstanceConfig& config, std::function<void(const std::string& why)> on_exit) override;
    void unwatch(const InstanceConfig& config) override;

private:
    class StartOperation;
    friend class StartOperation;

    /// Destroys an object after the current callback has returned: operations and
    /// watches end from inside their own callbacks.
    void retire(std::shared_ptr<void> object);
    std::string log_tail(const InstanceConfig& config, uint64_t since_realtime_usec) const;

    EventLoop& loop_;
    SystemdClient& systemd_;
    HostBackendSettings settings_;
    std::map<std::string, std::shared_ptr<StartOperation>> starts_;
    std::map<std::string, std::shared_ptr<void>> watches_;
    std::vector<std::shared_ptr<void>> retired_;
    EventSource reaper_;
};

/// Whether postmaster.pid says a postmaster started at or after `not_before_epoch` is
/// ready for connections (line 8 is "ready"; line 3 is its start time).
bool postmaster_pid_ready(const std::string& contents, long long not_before_epoch);

/// A port is free if we can bind it ourselves; error is a sentence naming the port.
std::string check_port_free(const std::string& address, uint16_t port);

}  // namespace pgnspawn
