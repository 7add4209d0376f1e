// What every kind of image shares: a container in a transient unit named after the
// instance, registered with machined; watching it; clearing leftovers before a start;
// the health check as the configured user; reading the container's last log lines.
// HostBackend and BootBackend add how their containers start and stop.
#pragma once

#include "core/backend.hpp"
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
    std::string nspawn_binary = "/usr/bin/systemd-nspawn";
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

class ContainerBackend;

/// One start of one container, the part every image kind shares: a bounded time, leftovers
/// cleared, the transient unit started (again, once a stale unit of its name is gone),
/// watched until ready, and on failure the container's last log lines in the error and
/// nothing left running. Subclasses say what comes before (begin), what runs (argv) and
/// what "ready" means once the unit is up (on_unit_started), then call finish("").
class ContainerStart : public std::enable_shared_from_this<ContainerStart> {
public:
    ContainerStart(ContainerBackend& backend, const InstanceConfig& config, Backend::Done done,
                   Backend::Progress progress = {});
    virtual ~ContainerStart();
    void run();
    const std::string& name() const { return c_.name; }

protected:
    /// Everything before the container: calls launch() when done, or fail().
    virtual void begin() = 0;
    virtual std::vector<std::string> argv() const = 0;
    /// Settings of the transient unit beyond the command line (environment, filters).
    virtual void configure_unit(TransientService&) const {}
    /// Checks and watches set up right before the unit starts; an error ends the start.
    virtual std::string before_unit_start() { return {}; }
    /// The unit's start job is done (for a booted image: the guest has booted).
    virtual void on_unit_started() = 0;
    virtual std::string timeout_message() const = 0;

    void launch();
    /// Failures where the container's own words matter: journald may still be writing
    /// its last lines, so they are read a moment later.
    void fail_with_log(const std::string& error);
    void fail(const std::string& error);
    void finish(const std::string& error);
    /// Reports the phase this start has reached.
    void phase(const char* name) {
        if (progress_ && !finished_)
            progress_(name);
    }
    bool finished() const { return finished_; }
    bool container_started() const { return container_started_; }

    ContainerBackend& b_;
    InstanceConfig c_;
    uint64_t started_realtime_ = 0;

private:
    void start_unit();

    Backend::Done done_;
    Backend::Progress progress_;
    bool container_started_ = false;
    bool seen_up_ = false;
    bool finished_ = false;
    int unit_exists_retries_ = 0;
    EventSource timeout_, log_delay_;
    SystemdClient::Watch unit_watch_;
};

class ContainerBackend : public Backend {
public:
    ContainerBackend(EventLoop& loop, SystemdClient& systemd, BackendSettings settings);
    ~ContainerBackend() override;

    void health(const InstanceConfig& config, std::function<void(HealthResult)> done) override;
    bool is_running(const InstanceConfig& config) override;
    void watch(const InstanceConfig& config, std::function<void(const std::string& why)> on_exit) override;
    void unwatch(const InstanceConfig& config) override;

    EventLoop& loop() { return loop_; }
    SystemdClient& systemd() { return systemd_; }
    const BackendSettings& settings() const { return settings_; }

    /// Destroys an object after the current callback has returned: operations and
    /// watches end from inside their own callbacks.
    void retire(std::shared_ptr<void> object);
    /// The container's last log lines since then, joined with " | ".
    std::string log_tail(const InstanceConfig& config, uint64_t since_realtime_usec) const;
    /// A container of this instance that the daemon does not know of (left from a crash, a
    /// daemon restart during a start, or a stale machined registration) would make nspawn
    /// fail with "Machine already exists" or hold the port: its unit is stopped cleanly
    /// and a leftover machine registration terminated. done(error) when that is over.
    void clear_leftovers(const InstanceConfig& config, std::function<void(const std::string& error)> done);
    /// Runs a start; it is kept alive until it has finished.
    void run_start(std::shared_ptr<ContainerStart> start);
    /// Whether a start is in progress.
    bool starting() const { return !starts_.empty(); }

private:
    friend class ContainerStart;
    class LeftoverCleanup;

    EventLoop& loop_;
    SystemdClient& systemd_;
    BackendSettings settings_;
    std::map<std::string, std::shared_ptr<void>> watches_;
    std::map<std::string, std::shared_ptr<ContainerStart>> starts_;
    std::vector<std::shared_ptr<void>> retired_;
    Lifetime lifetime_;
};

}  // namespace pgnspawn
