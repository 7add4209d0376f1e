#include "images/boot_backend.hpp"

#include "core/names.hpp"
#include "images/files.hpp"
#include "images/layout.hpp"
#include "platform/address.hpp"
#include "platform/log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace fs = std::filesystem;

namespace pgnspawn {

namespace {

constexpr std::chrono::milliseconds kFirstRetry{50};
constexpr std::chrono::milliseconds kLongestRetry{1000};

}  // namespace

std::string boot_image_problem(const InstanceConfig& c) {
    std::error_code ec;
    if (c.image == ImageKind::Directory) {
        if (!fs::is_directory(c.directory, ec))
            return fmt::format("directory {} does not exist", c.directory.string());
        if (!fs::exists(c.directory / "etc/os-release", ec) && !fs::exists(c.directory / "usr/lib/os-release", ec))
            return fmt::format("directory {} is not an OS tree (it has no /etc/os-release or /usr/lib/os-release)",
                               c.directory.string());
    } else if (c.image == ImageKind::Nixos) {
        if (!fs::exists(c.toplevel / "init", ec))
            return fmt::format("{} is not a NixOS system toplevel (it has no init)", c.toplevel.string());
    }
    return {};
}

void prepare_nixos_root(const InstanceConfig& c) {
    const InstancePaths p(c);
    // Modes set explicitly (make_dir): the daemon runs with UMask=0077, and a guest whose
    // root or /etc is 0700 runs no service as a user other than root.
    make_dir(p.state.parent_path(), 0711, 0, 0);
    make_dir(p.state, 0700, 0, 0);
    for (const char* d : {"", "etc", "usr", "usr/bin", "var", "var/lib", "nix", "nix/store"})
        make_dir(p.root / d, 0755, 0, 0);
    for (const char* d : {"root", "var/lib/private"})
        make_dir(p.root / d, 0700, 0, 0);
    make_empty_file(p.root / "etc/os-release");
    make_empty_file(p.root / "etc/machine-id");
}

void write_guest_password(const InstanceConfig& c) {
    const fs::path dir = guest_password_file(c).parent_path();
    make_dir(dir.parent_path(), 0711, 0, 0);
    make_dir(dir, 0700, 0, 0);
    write_file_durably(guest_password_file(c), c.password, 0, 0, 0600);
}

bool pg_connect_error_is_transient(const std::string& error) {
    for (const char* final_error : {"password authentication failed", "does not exist", "no pg_hba.conf entry",
                                    "permission denied", "too many connections"})
        if (error.find(final_error) != std::string::npos)
            return false;
    return true;
}

ContainerDescription boot_container(const InstanceConfig& c, const BackendSettings& settings) {
    ContainerDescription d;
    d.argv = boot_nspawn_argv(c, settings.nspawn_binary);
    return d;
}

// ---------------------------------------------------------------------------------------
// The steps of one start: the image checked (and a NixOS root made); once the guest has
// booted (Type=notify with --notify-ready=yes: the unit's start job is done then), its
// address and a round trip as the user.

class BootBackend::Steps {
public:
    Steps(BootBackend& backend, const InstanceConfig& config) : b_(backend), c_(config) {}

    void prepare(const PhaseReport&, Done done) {
        if (auto problem = boot_image_problem(c_); !problem.empty())
            return done(problem);
        try {
            if (c_.image == ImageKind::Nixos)
                prepare_nixos_root(c_);
            write_guest_password(c_);
        } catch (const std::exception& e) {
            return done(e.what());
        }
        done("");
    }

    void ready(const PhaseReport& phase, Done done) {
        done_ = std::move(done);
        log_info(fmt::format("The guest of instance {} has booted.", c_.name), c_.name, unit_name(c_.name));
        phase("connecting");
        find_address();
    }

    std::string timeout_message() const {
        return fmt::format("the guest was not ready within {} s{}",
                           std::chrono::duration_cast<std::chrono::seconds>(b_.settings().start_timeout).count(),
                           last_attempt_.empty() ? "" : fmt::format(" (last attempt: {})", last_attempt_));
    }

private:
    /// machined knows the addresses inside the container's network namespace; the guest's
    /// DHCP client may still be at work when boot-up is reported, so this is retried.
    void find_address() {
        if (c_.network == NetworkMode::Host) {
            address_ = c_.listen_address;
            return connect();
        }
        b_.systemd().machine_addresses(
            machine_name(c_.name), [this, alive = std::weak_ptr<const void>(alive_)](
                                       const std::string& error, std::vector<MachineAddress> addresses) {
                if (alive.expired())
                    return;
                if (auto chosen = routable_address(addresses)) {
                    address_ = *chosen;
                    log_info(fmt::format("Instance {} is at {}.", c_.name, address_), c_.name, unit_name(c_.name));
                    return connect();
                }
                last_attempt_ = error.empty() ? "the container has no routable address yet" : error;
                retry([this] { find_address(); });
            });
    }

    /// The promise of Start: a real round trip, as the configured user, over TCP.
    void connect() {
        pg_ = std::make_unique<PgConnection>(b_.loop(), b_.settings().query_timeout);
        pg_->round_trip(user_connection_params(c_, address_, "pgnspawnd"),
                        [this](const std::string& error, PgConnection::Stage stage) {
                            if (error.empty()) {
                                b_.addresses_[c_.name] = address_;  // for GetAddress
                                return finish("");
                            }
                            if (stage == PgConnection::Stage::Query)
                                return finish(as_user_failure(c_, error, stage));
                            if (!pg_connect_error_is_transient(error))
                                return finish(fmt::format(
                                    "cannot connect to {}:{} as \"{}\": {}. The guest must run PostgreSQL on port "
                                    "{} with the role \"{}\" (the configured password, scram-sha-256) and the "
                                    "database \"{}\"",
                                    address_, c_.port, c_.user, error, c_.port, c_.user, c_.database));
                            last_attempt_ = error;
                            retry([this] { connect(); });
                        });
    }

    /// Waits (on the loop, never blocking) before trying again: 50 ms, doubling to 1 s.
    void retry(std::function<void()> again) {
        retry_timer_ = b_.loop().add_timer(backoff_, std::move(again), c_.name);
        backoff_ = std::min(backoff_ * 2, kLongestRetry);
    }

    void finish(const std::string& error) {
        if (auto done = std::move(done_))
            done(error);
    }

    BootBackend& b_;
    InstanceConfig c_;
    Done done_;
    std::string address_;
    std::string last_attempt_;
    std::chrono::milliseconds backoff_ = kFirstRetry;
    EventSource retry_timer_;
    std::unique_ptr<PgConnection> pg_;
    std::shared_ptr<const void> alive_ = std::make_shared<char>(0);  ///< for machined's late answer
};

// ---------------------------------------------------------------------------------------

BootBackend::BootBackend(EventLoop& loop, Systemd& systemd, BackendSettings settings)
    : ContainerBackend(loop, systemd, std::move(settings)) {}

BootBackend::~BootBackend() = default;

void BootBackend::start(const InstanceConfig& config, Done done, Progress progress) {
    auto steps = std::make_shared<Steps>(*this, config);
    ContainerDescription d = boot_container(config, settings());
    d.prepare = [steps](const PhaseReport& phase, Done step_done) { steps->prepare(phase, std::move(step_done)); };
    d.ready = [steps](const PhaseReport& phase, Done step_done) { steps->ready(phase, std::move(step_done)); };
    d.timeout_message = [steps] { return steps->timeout_message(); };
    start_container(*this, config, std::move(d), std::move(done), std::move(progress));
}

void BootBackend::stop(const InstanceConfig& config, Done done) {
    // nspawn passes SIGRTMIN+3 to the guest's init, which powers the guest off cleanly,
    // stopping its PostgreSQL on the way; the job is done once the container is gone.
    addresses_.erase(config.name);
    systemd().stop_unit(unit_name(config.name), [done](const std::string& error, bool) { done(error); });
}

void BootBackend::watch(const InstanceConfig& config, std::function<void(const std::string& why)> on_exit) {
    if (config.network == NetworkMode::Private && !addresses_.count(config.name))
        if (auto chosen = routable_address(systemd().machine_addresses_blocking(machine_name(config.name))))
            addresses_[config.name] = *chosen;
    ContainerBackend::watch(config, std::move(on_exit));
}

std::pair<std::string, uint16_t> BootBackend::address(const InstanceConfig& config) {
    if (config.network == NetworkMode::Host)
        return {config.listen_address, config.port};
    auto it = addresses_.find(config.name);
    return {it == addresses_.end() ? std::string() : it->second, config.port};
}

}  // namespace pgnspawn
