// The Backend that the daemon's instances use: each instance goes to the backend of its
// image kind, "host" (host_backend.hpp) or a booted one, "directory" and "nixos"
// (boot_backend.hpp).
#pragma once

#include "core/backend.hpp"

namespace pgnspawn {

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
