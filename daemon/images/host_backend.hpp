// The "host" image: PostgreSQL from the host's own /usr, run as PID 1 of a small
// systemd-nspawn container in a transient unit, registered with machined. This file
// says what that container is; host_start.hpp holds the steps of its start, cluster.hpp
// and provision.hpp what they use.
#pragma once

#include "images/cluster.hpp"
#include "images/container_backend.hpp"
#include "images/container_start.hpp"

namespace pgnspawn {

/// The host image's container: nspawn's command line and the unit's system call
/// confinement (layout.hpp). The steps of a start are left empty here.
/// c.postgresql_bindir is resolved (server_location.hpp): pass with_located_server's copy.
/// Throws ServerLocationError.
ContainerDescription host_container(const InstanceConfig& c, const BackendSettings& settings);

/// `c` with its server directory resolved to where it really lives (canonical), so that
/// initdb and the container run the same package. Throws ServerLocationError.
InstanceConfig with_located_server(const InstanceConfig& c, const HostPaths& host);

class HostBackend : public ContainerBackend {
public:
    HostBackend(EventLoop& loop, Systemd& systemd, BackendSettings settings = {});
    ~HostBackend() override;

    void start(const InstanceConfig& config, Done done, Progress progress) override;
    /// A clean shutdown: an error when postmaster.pid is still there afterwards.
    void stop(const InstanceConfig& config, Done done) override;

private:
    SparePool spares_;
};

}  // namespace pgnspawn
