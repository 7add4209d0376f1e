#include "images/host_backend.hpp"

#include "core/names.hpp"
#include "images/host_start.hpp"
#include "images/layout.hpp"

#include <fmt/format.h>

namespace fs = std::filesystem;

namespace pgnspawn {

InstanceConfig with_located_server(const InstanceConfig& c, const HostPaths& host) {
    InstanceConfig located = c;
    located.postgresql_bindir = locate_server(c.postgresql_bindir, host).bindir;
    return located;
}

ContainerDescription host_container(const InstanceConfig& c, const BackendSettings& settings) {
    auto confinement = host_syscall_confinement();
    ContainerDescription d;
    d.argv = nspawn_argv(c, settings.nspawn_binary,
                         host_bind_args(locate_server(c.postgresql_bindir, settings.host), settings.host));
    d.environment = std::move(confinement.environment);
    d.denied_syscalls = std::move(confinement.denied);
    d.syscall_architectures = std::move(confinement.architectures);
    return d;
}

HostBackend::HostBackend(EventLoop& loop, Systemd& systemd, BackendSettings settings)
    : ContainerBackend(loop, systemd, std::move(settings)),
      spares_(loop, this->settings().spare_delay, [this] { return starting(); }) {}

HostBackend::~HostBackend() = default;

void HostBackend::start(const InstanceConfig& configured, Done done, Progress progress) {
    // Resolved on every start: on NixOS a rebuild moves the server to another store path.
    InstanceConfig config = configured;
    ContainerDescription d;
    std::string unresolved;
    try {
        config = with_located_server(configured, settings().host);
        d = host_container(config, settings());
    } catch (const ServerLocationError& e) {
        unresolved = e.what();
    }
    auto steps = std::make_shared<HostStart>(*this, config, spares_);
    d.prepare = [steps, unresolved](const PhaseReport& phase, Done step_done) {
        if (!unresolved.empty())
            return step_done(unresolved);  // the first step: nothing has been done yet
        steps->prepare(phase, std::move(step_done));
    };
    d.precondition = [steps] { return steps->precondition(); };
    d.ready = [steps](const PhaseReport& phase, Done step_done) { steps->ready(phase, std::move(step_done)); };
    d.timeout_message = [steps] { return steps->timeout_message(); };
    start_container(
        *this, config, std::move(d),
        [this, config, done](const std::string& error) {
            done(error);  // the caller first; the spare is for the next first start
            spares_.want(config);
        },
        std::move(progress));
}

void HostBackend::stop(const InstanceConfig& config, Done done) {
    const uint64_t since = realtime_usec();
    const InstancePaths p(config);
    systemd().stop_unit(unit_name(config.name), [this, config, p, since, done](const std::string& error, bool stopped) {
        if (!error.empty())
            return done(error);
        if (stopped && config.ephemeral) {
            try {
                remove_ephemeral_data(config);  // what ephemeral promises: gone at Stop
            } catch (const std::exception& e) {
                return done(e.what());
            }
            return done("");
        }
        if (stopped && fs::exists(p.data / "postmaster.pid")) {
            auto tail = log_tail(config, since);
            return done(
                fmt::format("PostgreSQL did not shut down cleanly (postmaster.pid is still there); the next "
                            "start will run crash recovery. Last log lines: {}",
                            tail));
        }
        done("");
    });
}

}  // namespace pgnspawn
