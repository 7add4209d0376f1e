// What every kind of image shares once its container runs: a transient unit named after
// the instance, registered with machined; watching it; the health check as the configured
// user; reading the container's last log lines. How a container starts is described by
// each image kind and run by one sequence (container_start.hpp).
#pragma once

#include "core/backend.hpp"
#include "images/server_location.hpp"
#include "pgnspawn-config.h"
#include "platform/event_loop.hpp"
#include "platform/pg.hpp"
#include "platform/systemd.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pgnspawn {

struct BackendSettings {
    std::string nspawn_binary = PGNSPAWN_NSPAWN_PATH;  ///< -Dnspawn_path
    HostPaths host = configured_host_paths();          ///< what host-image containers bind
    std::chrono::milliseconds start_timeout{120'000};
    std::chrono::milliseconds query_timeout{10'000};
    std::chrono::milliseconds health_timeout{5'000};
    uint64_t stop_timeout_usec = 300'000'000;  ///< before systemd resorts to SIGKILL
    /// How long after the last start a missing spare cluster is made: background initdb
    /// must not compete with a start or stop that follows (a first start, then a restart).
    std::chrono::milliseconds spare_delay{3'000};
};

/// How the configured user connects to `host`, as any client of the instance would.
PgParams user_connection_params(const InstanceConfig& c, const std::string& host, const char* application_name);
/// A failed round trip as the configured user, as a sentence naming the user.
std::string as_user_failure(const InstanceConfig& c, const std::string& error, PgConnection::Stage stage);

/// Microseconds on CLOCK_REALTIME (journal timestamps).
uint64_t realtime_usec();

class ContainerStart;

class ContainerBackend : public Backend {
public:
    ContainerBackend(EventLoop& loop, Systemd& systemd, BackendSettings settings);
    ~ContainerBackend() override;

    void health(const InstanceConfig& config, std::function<void(HealthResult)> done) override;
    /// Asks systemd synchronously (bounded): see Systemd::active_state_blocking.
    bool is_running(const InstanceConfig& config) override;
    void watch(const InstanceConfig& config, std::function<void(const std::string& why)> on_exit) override;
    void unwatch(const InstanceConfig& config) override;

    EventLoop& loop() { return loop_; }
    Systemd& systemd() { return systemd_; }
    const BackendSettings& settings() const { return settings_; }

    /// Destroys an object after the current callback has returned: operations and
    /// watches end from inside their own callbacks.
    void retire(std::shared_ptr<void> object);
    /// The container's last log lines since then, joined with " | ".
    std::string log_tail(const InstanceConfig& config, uint64_t since_realtime_usec) const;
    /// Whether a start is in progress.
    bool starting() const { return !starts_.empty(); }

private:
    friend class ContainerStart;  ///< keeps itself in starts_ while it runs

    EventLoop& loop_;
    Systemd& systemd_;
    BackendSettings settings_;
    std::map<std::string, std::shared_ptr<void>> watches_;
    std::map<std::string, std::shared_ptr<ContainerStart>> starts_;
    std::vector<std::shared_ptr<void>> retired_;
    Lifetime lifetime_;
};

}  // namespace pgnspawn
