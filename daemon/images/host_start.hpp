// The steps of one start of a "host" image container (see container_start.hpp for the
// sequence that runs them): the state directory and the cluster (a spare one taken, or
// initdb), the port checked free, then readiness from postmaster.pid and a round trip as
// the configured user, with the role and database provisioned where needed.
#pragma once

#include "images/cluster.hpp"
#include "images/container_start.hpp"
#include "images/declare.hpp"
#include "images/layout.hpp"
#include "images/provision.hpp"

#include <memory>
#include <string>

namespace pgnspawn {

class HostStart {
public:
    HostStart(ContainerBackend& backend, const InstanceConfig& config, SparePool& spares);

    /// The state directory and the container's skeleton root; on a first start the
    /// cluster: the spare one taken (a rename: instant and atomic), or initdb run now.
    void prepare(const PhaseReport& phase, Backend::Done done);
    /// The port is free (asked once leftovers are gone, right before the unit starts).
    std::string precondition() const;
    /// postmaster.pid says ready, then: on a fresh cluster the role and database are
    /// provisioned; on an older one a round trip as the user (reading its role's CREATEDB
    /// and SUPERUSER) comes first, and provisioning only if it fails or they differ from
    /// the configuration. Either way it ends with a round trip as the user, then what
    /// databases, extensions and initial_script declare (declare.hpp).
    void ready(const PhaseReport& phase, Backend::Done done);
    std::string timeout_message() const;

private:
    void check_ready();
    void provision();
    void verify_as_user(bool provision_on_failure);
    void declare();
    void finish(const std::string& error);

    ContainerBackend& b_;
    InstanceConfig c_;
    InstancePaths p_;
    SparePool& spares_;
    long long not_before_epoch_;
    bool fresh_cluster_ = false;  ///< created (or taken from the spare) by this start
    bool checked_ready_ = false;
    PhaseReport phase_;
    Backend::Done done_;
    std::unique_ptr<ClusterInit> initdb_;
    EventSource ready_watch_;
    std::unique_ptr<Provisioning> provisioning_;
    std::unique_ptr<Declaration> declaration_;
    std::unique_ptr<PgConnection> pg_;
};

/// An ephemeral instance's data directory (on the tmpfs) removed; nothing for others.
/// Throws a sentence naming the directory when it cannot be removed.
void remove_ephemeral_data(const InstanceConfig& c);

/// Whether postmaster.pid says a postmaster started at or after `not_before_epoch` is
/// ready for connections (line 8 is "ready"; line 3 is its start time).
bool postmaster_pid_ready(const std::string& contents, long long not_before_epoch);

/// A port is free if we can bind it ourselves; error is a sentence naming the port.
std::string check_port_free(const std::string& address, uint16_t port);

}  // namespace pgnspawn
