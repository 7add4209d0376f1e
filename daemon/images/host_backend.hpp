// The "host" image: PostgreSQL from the host's own /usr, run as PID 1 of a small
// systemd-nspawn container in a transient unit, registered with machined.
#pragma once

#include "images/container_backend.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pgnspawn {

class ClusterInit;

class HostBackend : public ContainerBackend {
public:
    HostBackend(EventLoop& loop, SystemdClient& systemd, BackendSettings settings = {});
    ~HostBackend() override;

    void start(const InstanceConfig& config, Done done, Progress progress) override;
    void stop(const InstanceConfig& config, Done done) override;

private:
    class StartOperation;

    /// After a start: a spare cluster of the instance's version is wanted unless there is
    /// one already; it is made once no start has finished for settings().spare_delay and
    /// none is in progress.
    void want_spare(const InstanceConfig& config);
    void make_wanted_spares();
    /// Initialises a spare cluster of the instance's version in the background, unless
    /// there is one already or one is being made.
    void make_spare(const InstanceConfig& config);

    std::map<std::string, InstanceConfig> spares_wanted_;             ///< by PostgreSQL version
    std::map<std::string, std::shared_ptr<ClusterInit>> spare_jobs_;  ///< by PostgreSQL version
    EventSource spare_timer_;
};

/// Whether postmaster.pid says a postmaster started at or after `not_before_epoch` is
/// ready for connections (line 8 is "ready"; line 3 is its start time).
bool postmaster_pid_ready(const std::string& contents, long long not_before_epoch);

/// A port is free if we can bind it ourselves; error is a sentence naming the port.
std::string check_port_free(const std::string& address, uint16_t port);

}  // namespace pgnspawn
