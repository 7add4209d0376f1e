// What the client reads from the daemon, before it is formatted.
#pragma once

#include <cstdint>
#include <string>

namespace pgnspawn::client {

/// One entry of ListInstances.
struct InstanceEntry {
    std::string name;
    std::string state;
    std::string path;
};

/// Every property of an org.pgnspawn1.Instance object.
struct InstanceDetails {
    std::string name, state, database, user, image, unit, machine, last_error;
    std::uint16_t port = 0;
};

/// The answer of HealthCheck.
struct Health {
    bool healthy = false;
    std::string detail;
    std::uint64_t latency_usec = 0;
};

/// The address and health `status NAME` adds for a running instance.
struct LiveDetails {
    std::string host;
    std::uint16_t port = 0;
    Health health;
};

/// One entry of ListSnapshots.
struct SnapshotEntry {
    std::string name;
    std::uint64_t created_usec = 0;
    std::uint64_t size_bytes = 0;
};

}  // namespace pgnspawn::client
