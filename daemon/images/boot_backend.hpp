// Booted images: "directory" (a full OS tree) and "nixos" (a NixOS system toplevel).
// The guest's own init is PID 1 and its own service manager runs PostgreSQL; the daemon
// starts the container, waits for the guest to report boot-up, finds its address (on a
// private network, from machined) and proves readiness with a libpq round trip as the
// configured user. A stop is the guest's own clean poweroff.
#pragma once

#include "images/container_backend.hpp"

#include <map>
#include <memory>
#include <string>

namespace pgnspawn {

class BootBackend : public ContainerBackend {
public:
    BootBackend(EventLoop& loop, SystemdClient& systemd, BackendSettings settings = {});
    ~BootBackend() override;

    void start(const InstanceConfig& config, Done done, Progress progress) override;
    void stop(const InstanceConfig& config, Done done) override;
    bool is_running(const InstanceConfig& config) override;
    std::pair<std::string, uint16_t> address(const InstanceConfig& config) override;

private:
    class StartOperation;
    friend class StartOperation;

    std::map<std::string, std::string> addresses_;  ///< private network: name -> container address
};

/// Why a booted image cannot be started as configured (no OS tree, no NixOS init), or an
/// empty string.
std::string boot_image_problem(const InstanceConfig& config);

/// Whether a failed libpq connection attempt is worth retrying while the guest comes up
/// (nothing listening yet, still starting) rather than final (wrong password, no role).
bool pg_connect_error_is_transient(const std::string& error);

/// Each instance goes to the backend of its image kind.
class BackendByImage final : public Backend {
public:
    BackendByImage(Backend& host, Backend& booted) : host_(host), booted_(booted) {}

    void start(const InstanceConfig& c, Done done, Progress progress) override {
        of(c).start(c, std::move(done), std::move(progress));
    }
    void stop(const InstanceConfig& c, Done done) override { of(c).stop(c, std::move(done)); }
    void health(const InstanceConfig& c, std::function<void(HealthResult)> done) override {
        of(c).health(c, std::move(done));
    }
    bool is_running(const InstanceConfig& c) override { return of(c).is_running(c); }
    void watch(const InstanceConfig& c, std::function<void(const std::string&)> on_exit) override {
        of(c).watch(c, std::move(on_exit));
    }
    void unwatch(const InstanceConfig& c) override { of(c).unwatch(c); }
    std::pair<std::string, uint16_t> address(const InstanceConfig& c) override { return of(c).address(c); }

private:
    Backend& of(const InstanceConfig& c) { return c.image == ImageKind::Host ? host_ : booted_; }

    Backend& host_;
    Backend& booted_;
};

}  // namespace pgnspawn
