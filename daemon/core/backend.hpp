// The seam between an instance's lifecycle (instance.hpp) and the world that runs it
// (containers, systemd, PostgreSQL). The real one is BackendByImage (images/image_kinds.hpp); tests use a fake.
#pragma once

#include "core/config.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace pgnspawn {

struct HealthResult {
    bool healthy = false;
    std::string detail;
    uint64_t latency_usec = 0;
};

class Backend {
public:
    /// error is empty on success; a non-empty error is a sentence for the caller.
    using Done = std::function<void(const std::string& error)>;

    virtual ~Backend() = default;

    /// Phases of a start as they are reached ("creating", "initdb", "starting", ...).
    using Progress = std::function<void(const char* phase)>;

    /// From stopped (or failed) to accepting connections as the configured user,
    /// reporting the phases it reaches to progress (which may be empty).
    virtual void start(const InstanceConfig& config, Done done, Progress progress) = 0;
    /// Container gone and PostgreSQL shut down cleanly; nothing running counts as success.
    virtual void stop(const InstanceConfig& config, Done done) = 0;
    /// A bounded libpq round trip as the configured user.
    virtual void health(const InstanceConfig& config, std::function<void(HealthResult)> done) = 0;
    /// Whether the instance's container is up now. Synchronous, bounded (5 s, see
    /// platform/systemd.hpp): asked at start-up (re-adoption) and on the loop by the
    /// manager (Start's port check after a reload, settling a removed or changed
    /// instance). No side effects.
    virtual bool is_running(const InstanceConfig& config) = 0;
    /// on_exit runs once if the container goes away while watched; unwatch() ends it.
    /// Called once a start has succeeded or a running container has been adopted.
    virtual void watch(const InstanceConfig& config, std::function<void(const std::string& why)> on_exit) = 0;
    virtual void unwatch(const InstanceConfig& config) = 0;
    /// Where a client on this host connects while the instance runs: the configured
    /// address on the host's network, or the container's own on a private network
    /// (an empty host while it is not known). A getter: no side effects.
    virtual std::pair<std::string, uint16_t> address(const InstanceConfig& config) {
        return {config.listen_address, config.port};
    }
};

}  // namespace pgnspawn
