#include "images/container_backend.hpp"

#include "core/names.hpp"
#include "platform/log.hpp"

#include <fmt/format.h>

#include <ctime>

namespace pgnspawn {

uint64_t realtime_usec() {
    struct timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

std::string as_user_failure(const InstanceConfig& c, const std::string& error, PgConnection::Stage stage) {
    return stage == PgConnection::Stage::Connect ? fmt::format("cannot connect as \"{}\": {}", c.user, error)
                                                 : fmt::format("SELECT 1 as \"{}\" failed: {}", c.user, error);
}

PgParams user_connection_params(const InstanceConfig& c, const std::string& host, const char* application_name) {
    return {{"host", host},
            {"port", std::to_string(c.port)},
            {"user", c.user},
            {"password", c.password},
            {"dbname", c.database},
            {"sslmode", "disable"},
            {"gssencmode", "disable"},  // nor GSSAPI: libpq would look for Kerberos credentials first
            {"application_name", application_name}};
}

ContainerBackend::ContainerBackend(EventLoop& loop, Systemd& systemd, BackendSettings settings)
    : loop_(loop), systemd_(systemd), settings_(std::move(settings)) {}

ContainerBackend::~ContainerBackend() = default;

void ContainerBackend::retire(std::shared_ptr<void> object) {
    retired_.push_back(std::move(object));
    loop_.post([this] { retired_.clear(); }, lifetime_.token());
}

std::string ContainerBackend::log_tail(const InstanceConfig& config, uint64_t since_realtime_usec) const {
    auto lines = systemd_.journal_tail(unit_name(config.name), 5, since_realtime_usec);
    std::string out;
    for (const auto& l : lines)
        out += (out.empty() ? "" : " | ") + l;
    return out;
}

void ContainerBackend::health(const InstanceConfig& config, std::function<void(HealthResult)> done) {
    const auto host = address(config).first;
    if (host.empty())
        return done({false, "the container has no routable address", 0});
    auto conn = std::make_shared<PgConnection>(loop_, settings_.health_timeout);
    const uint64_t begin = monotonic_usec();
    auto finish = [this, conn, begin, done](bool ok, std::string detail) {
        HealthResult r{ok, std::move(detail), monotonic_usec() - begin};
        retire(conn);
        done(r);
    };
    conn->round_trip(user_connection_params(config, host, "pgnspawnd-health"), [finish](const std::string& error,
                                                                                        PgConnection::Stage stage) {
        if (error.empty())
            return finish(true, "SELECT 1 succeeded");
        finish(false, stage == PgConnection::Stage::Connect ? fmt::format("cannot connect: {}", error)
                                                            : fmt::format("SELECT 1 failed: {}", error));
    });
}

bool ContainerBackend::is_running(const InstanceConfig& config) {
    return systemd_.active_state_blocking(unit_name(config.name)) == "active";
}

void ContainerBackend::watch(const InstanceConfig& config, std::function<void(const std::string& why)> on_exit) {
    const std::string name = config.name;
    auto fired = std::make_shared<bool>(false);
    auto slot = systemd_.watch_unit(unit_name(name), [this, name, config, on_exit, fired](const std::string& state) {
        if (*fired || (state != "inactive" && state != "failed"))
            return;
        *fired = true;
        unwatch(config);
        on_exit(fmt::format("the container stopped unexpectedly (unit {}). Last log lines: {}", unit_name(name),
                            log_tail(config, 0)));
    });
    unwatch(config);
    watches_[name] = std::shared_ptr<void>(std::move(slot));
}

void ContainerBackend::unwatch(const InstanceConfig& config) {
    auto it = watches_.find(config.name);
    if (it == watches_.end())
        return;
    retire(std::move(it->second));
    watches_.erase(it);
}

}  // namespace pgnspawn
