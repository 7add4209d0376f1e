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
            {"application_name", application_name}};
}

ContainerBackend::ContainerBackend(EventLoop& loop, SystemdClient& systemd, BackendSettings settings)
    : loop_(loop), systemd_(systemd), settings_(std::move(settings)) {}

ContainerBackend::~ContainerBackend() = default;

void ContainerBackend::retire(std::shared_ptr<void> object) {
    retired_.push_back(std::move(object));
    loop_.post([this] { retired_.clear(); }, lifetime_.token());
}

std::string ContainerBackend::log_tail(const InstanceConfig& config, uint64_t since_realtime_usec) const {
    auto lines = SystemdClient::journal_tail(unit_name(config.name), 5, since_realtime_usec);
    std::string out;
    for (const auto& l : lines)
        out += (out.empty() ? "" : " | ") + l;
    return out;
}

/// A container that has just died leaves its unit loaded (failed or inactive) until
/// systemd has removed its cgroup, which takes a moment; a transient unit of that name
/// cannot be started again until then. So: stop a live leftover cleanly, wait for a dead
/// one to be unloaded (bounded), then drop a leftover machine registration.
class ContainerBackend::LeftoverCleanup : public std::enable_shared_from_this<LeftoverCleanup> {
public:
    LeftoverCleanup(ContainerBackend& backend, const InstanceConfig& config,
                    std::function<void(const std::string&)> done)
        : b_(backend), name_(config.name), unit_(unit_name(config.name)), done_(std::move(done)) {}

    void run() {
        auto self = shared_from_this();
        b_.systemd().unit_state(unit_, [this, self](const std::string& error, const SystemdClient::UnitState& state) {
            if (!error.empty())
                return finish(error);
            if (state.load != "loaded")
                return remove_machine();
            if (state.active == "inactive" || state.active == "failed")
                return wait_until_unloaded();
            log_warning(
                fmt::format("Stopping leftover unit {} ({}) before starting instance {}.", unit_, state.active, name_),
                name_, unit_);
            b_.systemd().stop_unit(unit_, [this, self](const std::string& stop_error, bool) {
                if (!stop_error.empty())
                    return finish(fmt::format("cannot stop the leftover container: {}", stop_error));
                wait_until_unloaded();
            });
        });
    }

private:
    void wait_until_unloaded() {
        log_info(fmt::format("Waiting for systemd to unload the previous unit {} of instance {}.", unit_, name_), name_,
                 unit_);
        auto self = shared_from_this();
        removed_ = b_.systemd().watch_unit_removed(unit_, [this, self] { remove_machine(); });
        timeout_ = b_.loop().add_timer(std::chrono::seconds(15), [this, self] {
            log_warning(fmt::format("The previous unit {} of instance {} is still loaded after 15 s; starting anyway.",
                                    unit_, name_),
                        name_, unit_);
            remove_machine();
        });
        b_.systemd().reset_failed_unit(unit_);
        // It may have gone between the first look and the match.
        b_.systemd().unit_state(unit_, [this, self](const std::string&, const SystemdClient::UnitState& state) {
            if (state.load != "loaded")
                remove_machine();
        });
    }

    void remove_machine() {
        if (removing_)
            return;
        removing_ = true;
        timeout_.reset();
        auto self = shared_from_this();
        b_.systemd().remove_machine(machine_name(name_), [this, self](const std::string& error) { finish(error); });
    }

    void finish(const std::string& error) {
        auto done = std::move(done_);
        // The match and the timer hold this object (their callbacks keep it alive while it
        // waits): let them go once this callback has returned, or it would never be freed.
        if (removed_)
            b_.retire(std::shared_ptr<void>(std::move(removed_)));
        if (timeout_)
            b_.retire(std::shared_ptr<void>(std::move(timeout_)));
        b_.retire(shared_from_this());
        if (done)
            done(error);
    }

    ContainerBackend& b_;
    std::string name_, unit_;
    std::function<void(const std::string&)> done_;
    bool removing_ = false;
    SystemdClient::Watch removed_;
    EventSource timeout_;
};

void ContainerBackend::clear_leftovers(const InstanceConfig& config, std::function<void(const std::string&)> done) {
    std::make_shared<LeftoverCleanup>(*this, config, std::move(done))->run();
}

void ContainerBackend::run_start(std::shared_ptr<ContainerStart> start) {
    starts_[start->name()] = start;
    start->run();
}

// ---------------------------------------------------------------------------------------

ContainerStart::ContainerStart(ContainerBackend& backend, const InstanceConfig& config, Backend::Done done,
                               Backend::Progress progress)
    : b_(backend), c_(config), done_(std::move(done)), progress_(std::move(progress)) {}

ContainerStart::~ContainerStart() = default;

void ContainerStart::run() {
    started_realtime_ = realtime_usec();
    timeout_ = b_.loop().add_timer(b_.settings().start_timeout, [this] { fail(timeout_message()); });
    phase("creating");
    begin();
}

void ContainerStart::launch() {
    phase("starting");
    auto self = shared_from_this();
    b_.clear_leftovers(c_, [this, self](const std::string& error) {
        if (finished_)
            return;
        if (!error.empty())
            return fail(error);
        if (auto problem = before_unit_start(); !problem.empty())
            return fail(problem);
        const auto unit = unit_name(c_.name);
        try {
            unit_watch_ = b_.systemd().watch_unit(unit, [this](const std::string& state) {
                // A new transient unit reports "inactive" before "activating": only a
                // unit that has been seen coming up can have gone down.
                if (state == "activating" || state == "active" || state == "deactivating")
                    seen_up_ = true;
                else if (state == "failed" || (state == "inactive" && seen_up_))
                    fail_with_log("the container exited before it was ready");
            });
        } catch (const std::exception& e) {
            return fail(e.what());
        }
        start_unit();
    });
}

void ContainerStart::start_unit() {
    const auto unit = unit_name(c_.name);
    b_.systemd().reset_failed_unit(unit);
    TransientService service;
    service.unit = unit;
    service.description = fmt::format("pgnspawn PostgreSQL instance {} ({} image)", c_.name, to_string(c_.image));
    service.argv = argv();
    service.syslog_identifier = machine_name(c_.name);
    service.timeout_stop_usec = b_.settings().stop_timeout_usec;
    configure_unit(service);
    auto self = shared_from_this();
    b_.systemd().start_transient_service(service, [this, self](const std::string& error, bool unit_exists) {
        if (finished_)
            return;
        if (unit_exists && unit_exists_retries_++ < 3) {
            // The previous unit of this name is still being unloaded (machined lets go of
            // it a moment after the container has gone): wait for that, then again.
            log_info(fmt::format("Unit {} is still loaded; waiting for it to go before starting instance {}.",
                                 unit_name(c_.name), c_.name),
                     c_.name, unit_name(c_.name));
            return b_.clear_leftovers(c_, [this, self](const std::string& error2) {
                if (finished_)
                    return;
                if (!error2.empty())
                    return fail(error2);
                start_unit();
            });
        }
        container_started_ = true;
        if (!error.empty())
            return fail_with_log(error);
        on_unit_started();
    });
}

void ContainerStart::fail_with_log(const std::string& error) {
    if (finished_ || log_delay_)
        return;
    log_delay_ = b_.loop().add_timer(std::chrono::milliseconds(300), [this, error] { fail(error); });
}

void ContainerStart::fail(const std::string& error) {
    if (finished_)
        return;
    std::string message = error;
    if (container_started_) {
        if (auto tail = b_.log_tail(c_, started_realtime_); !tail.empty())
            message += fmt::format(". Last log lines: {}", tail);
        // Leave nothing half-started behind.
        b_.systemd().stop_unit(unit_name(c_.name), [](const std::string&, bool) {});
    }
    finish(message);
}

void ContainerStart::finish(const std::string& error) {
    if (finished_)
        return;
    finished_ = true;
    timeout_.reset();
    auto done = std::move(done_);
    auto self = shared_from_this();
    b_.starts_.erase(c_.name);
    b_.retire(self);
    done(error);
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
