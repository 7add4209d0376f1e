#include "images/container_start.hpp"

#include "core/names.hpp"
#include "platform/log.hpp"

#include <fmt/format.h>

namespace pgnspawn {

namespace {

/// A container that has just died leaves its unit loaded (failed or inactive) until
/// systemd has removed its cgroup, which takes a moment; a transient unit of that name
/// cannot be started again until then. So: stop a live leftover cleanly, wait for a dead
/// one to be unloaded (bounded), then drop a leftover machine registration.
class LeftoverCleanup : public std::enable_shared_from_this<LeftoverCleanup> {
public:
    LeftoverCleanup(ContainerBackend& backend, const InstanceConfig& config,
                    std::function<void(const std::string&)> done)
        : b_(backend), name_(config.name), unit_(unit_name(config.name)), done_(std::move(done)) {}

    void run() {
        auto self = shared_from_this();
        b_.systemd().unit_state(unit_, [this, self](const std::string& error, const Systemd::UnitState& state) {
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
        timeout_ = b_.loop().add_timer(
            std::chrono::seconds(15),
            [this, self] {
                log_warning(fmt::format("The previous unit {} of instance {} is still loaded after 15 s; starting "
                                        "anyway.",
                                        unit_, name_),
                            name_, unit_);
                remove_machine();
            },
            name_);
        b_.systemd().reset_failed_unit(unit_);
        // It may have gone between the first look and the match.
        b_.systemd().unit_state(unit_, [this, self](const std::string&, const Systemd::UnitState& state) {
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
    Systemd::Watch removed_;
    EventSource timeout_;
};

}  // namespace

/// One run of the sequence; it keeps itself in ContainerBackend::starts_ until it has finished.
class ContainerStart : public std::enable_shared_from_this<ContainerStart> {
public:
    ContainerStart(ContainerBackend& backend, const InstanceConfig& config, ContainerDescription description,
                   Backend::Done done, Backend::Progress progress);
    ~ContainerStart();
    void run();

private:
    void clear_leftovers(std::function<void()> then);
    void launch_unit();
    void start_unit();
    void unit_started(const std::string& error, bool unit_exists);
    void on_unit_state(const std::string& state);

    /// Runs a step; on success `next`, on failure fail(error); nothing once finished.
    void run_step(const Step& step, std::function<void()> next);
    void phase(const char* name);
    /// A debug line per step done, whose timestamps show where a start spends its time.
    void step_done(const char* step);
    /// Failures where the container's own words matter: journald may still be writing
    /// its last lines, so they are read a moment later.
    void fail_with_log(const std::string& error);
    void fail(const std::string& error);
    void finish(const std::string& error);

    ContainerBackend& b_;
    InstanceConfig c_;
    ContainerDescription d_;
    Backend::Done done_;
    Backend::Progress progress_;
    uint64_t started_realtime_ = 0;
    bool container_started_ = false;
    bool seen_up_ = false;
    bool finished_ = false;
    int unit_exists_retries_ = 0;
    EventSource timeout_, log_delay_;
    Systemd::Watch unit_watch_;
};

TransientService transient_service(const InstanceConfig& c, const ContainerDescription& d, uint64_t stop_timeout_usec) {
    TransientService service;
    service.unit = unit_name(c.name);
    service.description = fmt::format("pgnspawn PostgreSQL instance {} ({} image)", c.name, to_string(c.image));
    service.argv = d.argv;
    service.syslog_identifier = machine_name(c.name);
    service.timeout_stop_usec = stop_timeout_usec;
    service.environment = d.environment;
    service.denied_syscalls = d.denied_syscalls;
    service.syscall_architectures = d.syscall_architectures;
    return service;
}

void start_container(ContainerBackend& backend, const InstanceConfig& config, ContainerDescription description,
                     Backend::Done done, Backend::Progress progress) {
    std::make_shared<ContainerStart>(backend, config, std::move(description), std::move(done), std::move(progress))
        ->run();
}

ContainerStart::ContainerStart(ContainerBackend& backend, const InstanceConfig& config,
                               ContainerDescription description, Backend::Done done, Backend::Progress progress)
    : b_(backend), c_(config), d_(std::move(description)), done_(std::move(done)), progress_(std::move(progress)) {}

ContainerStart::~ContainerStart() = default;

// 1. What must exist first, within the time the whole start may take.
void ContainerStart::run() {
    b_.starts_[c_.name] = shared_from_this();
    started_realtime_ = realtime_usec();
    timeout_ = b_.loop().add_timer(
        b_.settings().start_timeout,
        [this] {
            fail(d_.timeout_message
                     ? d_.timeout_message()
                     : fmt::format(
                           "the container was not ready within {} s",
                           std::chrono::duration_cast<std::chrono::seconds>(b_.settings().start_timeout).count()));
        },
        c_.name);
    phase("creating");
    run_step(d_.prepare, [this] {
        step_done("prepared");
        phase("starting");
        clear_leftovers([this] {
            step_done("leftovers cleared");
            launch_unit();
        });
    });
}

// 2. Leftovers of the instance's name cleared.
void ContainerStart::clear_leftovers(std::function<void()> then) {
    run_step([this](const PhaseReport&,
                    Backend::Done done) { std::make_shared<LeftoverCleanup>(b_, c_, std::move(done))->run(); },
             std::move(then));
}

// 3. The image kind's precondition, and a watch on the unit before it exists.
void ContainerStart::launch_unit() {
    if (d_.precondition)
        if (auto problem = d_.precondition(); !problem.empty())
            return fail(problem);
    try {
        unit_watch_ =
            b_.systemd().watch_unit(unit_name(c_.name), [this](const std::string& state) { on_unit_state(state); });
    } catch (const std::exception& e) {
        return fail(e.what());
    }
    start_unit();
}

void ContainerStart::on_unit_state(const std::string& state) {
    // A new transient unit reports "inactive" before "activating": only a unit that has
    // been seen coming up can have gone down.
    if (state == "activating" || state == "active" || state == "deactivating")
        seen_up_ = true;
    else if (state == "failed" || (state == "inactive" && seen_up_))
        fail_with_log("the container exited before it was ready");
}

// 4. The unit started.
// (No ResetFailedUnit here: the leftover cleanup has reset a failed unit of this name and
// waited for it to be unloaded; a call to systemd per start is CPU when ten start at once.)
void ContainerStart::start_unit() {
    std::weak_ptr<ContainerStart> weak = weak_from_this();
    b_.systemd().start_transient_service(transient_service(c_, d_, b_.settings().stop_timeout_usec),
                                         [weak](const std::string& error, bool unit_exists) {
                                             if (auto self = weak.lock(); self && !self->finished_)
                                                 self->unit_started(error, unit_exists);
                                         });
}

void ContainerStart::unit_started(const std::string& error, bool unit_exists) {
    if (unit_exists && unit_exists_retries_++ < 3) {
        // The previous unit of this name is still being unloaded (machined lets go of it a
        // moment after the container has gone): wait for that, then again.
        log_info(fmt::format("Unit {} is still loaded; waiting for it to go before starting instance {}.",
                             unit_name(c_.name), c_.name),
                 c_.name, unit_name(c_.name));
        return clear_leftovers([this] { start_unit(); });
    }
    container_started_ = true;
    if (!error.empty())
        return fail_with_log(error);
    step_done("unit started");
    // 5. Ready as the image kind judges it; 6. done.
    run_step(d_.ready, [this] { finish(""); });
}

void ContainerStart::run_step(const Step& step, std::function<void()> next) {
    if (!step)
        return next();
    std::weak_ptr<ContainerStart> weak = weak_from_this();
    auto phase = [weak](const char* name) {
        if (auto self = weak.lock())
            self->phase(name);
    };
    auto done = [weak, next = std::move(next)](const std::string& error) {
        auto self = weak.lock();
        if (!self || self->finished_)
            return;
        if (!error.empty())
            return self->fail(error);
        next();
    };
    try {
        step(phase, std::move(done));
    } catch (const std::exception& e) {
        fail(e.what());
    }
}

void ContainerStart::step_done(const char* step) {
    log_debug(fmt::format("Starting instance {}: {}.", c_.name, step), c_.name);
}

void ContainerStart::phase(const char* name) {
    if (progress_ && !finished_)
        progress_(name);
}

void ContainerStart::fail_with_log(const std::string& error) {
    if (finished_ || log_delay_)
        return;
    log_delay_ = b_.loop().add_timer(
        std::chrono::milliseconds(300), [this, error] { fail(error); }, c_.name);
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

}  // namespace pgnspawn
