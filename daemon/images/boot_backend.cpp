#include "images/boot_backend.hpp"

#include "core/names.hpp"
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

/// The empty root a NixOS toplevel runs in, as nixos-container makes it: nspawn wants
/// an os-release file, the guest's activation script fills in the rest.
void prepare_nixos_root(const InstanceConfig& c) {
    const InstancePaths p(c);
    for (const auto& d : {p.state.parent_path(), p.state, p.root, p.root / "etc", p.root / "var", p.root / "var/lib",
                          p.root / "nix", p.root / "nix/store"}) {
        if (mkdir(d.c_str(), 0755) < 0 && errno != EEXIST)
            throw std::runtime_error(fmt::format("cannot create {}: {}", d.string(), std::strerror(errno)));
    }
    chmod(p.state.parent_path().c_str(), 0711);
    chmod(p.state.c_str(), 0700);
    const auto os_release = p.root / "etc/os-release";
    int fd = open(os_release.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        throw std::runtime_error(fmt::format("cannot create {}: {}", os_release.string(), std::strerror(errno)));
    close(fd);
}

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

bool pg_connect_error_is_transient(const std::string& error) {
    for (const char* final_error : {"password authentication failed", "does not exist", "no pg_hba.conf entry",
                                    "permission denied", "too many connections"})
        if (error.find(final_error) != std::string::npos)
            return false;
    return true;
}

// ---------------------------------------------------------------------------------------
// One start: the container, the guest's boot, its address, a round trip as the user.

class BootBackend::StartOperation : public ContainerStart {
public:
    StartOperation(BootBackend& backend, const InstanceConfig& config, Done done, Progress progress)
        : ContainerStart(backend, config, std::move(done), std::move(progress)), boot_(backend) {}

private:
    void begin() override {
        if (auto problem = boot_image_problem(c_); !problem.empty())
            return fail(problem);
        try {
            if (c_.image == ImageKind::Nixos)
                prepare_nixos_root(c_);
        } catch (const std::exception& e) {
            return fail(e.what());
        }
        launch();
    }

    std::vector<std::string> argv() const override { return boot_nspawn_argv(c_, b_.settings().nspawn_binary); }

    std::string timeout_message() const override {
        return fmt::format("the guest was not ready within {} s{}",
                           std::chrono::duration_cast<std::chrono::seconds>(b_.settings().start_timeout).count(),
                           last_attempt_.empty() ? "" : fmt::format(" (last attempt: {})", last_attempt_));
    }

    /// Type=notify with --notify-ready=yes: the start job is done once the guest has booted.
    void on_unit_started() override {
        log_info(fmt::format("The guest of instance {} has booted.", c_.name), c_.name, unit_name(c_.name));
        phase("connecting");
        find_address();
    }

    /// machined knows the addresses inside the container's network namespace; the guest's
    /// DHCP client may still be at work when boot-up is reported, so this is retried.
    void find_address() {
        if (c_.network == NetworkMode::Host) {
            address_ = c_.listen_address;
            return connect();
        }
        auto self = shared_from_this();
        b_.systemd().machine_addresses(
            machine_name(c_.name), [this, self](const std::string& error, std::vector<MachineAddress> addresses) {
                if (finished())
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
                            if (error.empty())
                                return succeed();
                            if (stage == PgConnection::Stage::Query)
                                return fail(as_user_failure(c_, error, stage));
                            if (!pg_connect_error_is_transient(error))
                                return fail(fmt::format(
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
        retry_timer_ = b_.loop().add_timer(backoff_, [this, again = std::move(again)] {
            if (!finished())
                again();
        });
        backoff_ = std::min(backoff_ * 2, kLongestRetry);
    }

    /// Remembered for GetAddress once the start has succeeded.
    void succeed() {
        boot_.addresses_[c_.name] = address_;
        finish("");
    }

    BootBackend& boot_;
    std::string address_;
    std::string last_attempt_;
    std::chrono::milliseconds backoff_ = kFirstRetry;
    EventSource retry_timer_;
    std::unique_ptr<PgConnection> pg_;
};

// ---------------------------------------------------------------------------------------

BootBackend::BootBackend(EventLoop& loop, SystemdClient& systemd, BackendSettings settings)
    : ContainerBackend(loop, systemd, std::move(settings)) {}

BootBackend::~BootBackend() = default;

void BootBackend::start(const InstanceConfig& config, Done done, Progress progress) {
    run_start(std::make_shared<StartOperation>(*this, config, std::move(done), std::move(progress)));
}

void BootBackend::stop(const InstanceConfig& config, Done done) {
    // nspawn passes SIGRTMIN+3 to the guest's init, which powers the guest off cleanly,
    // stopping its PostgreSQL on the way; the job is done once the container is gone.
    addresses_.erase(config.name);
    systemd().stop_unit(unit_name(config.name), [done](const std::string& error, bool) { done(error); });
}

bool BootBackend::is_running(const InstanceConfig& config) {
    if (!ContainerBackend::is_running(config))
        return false;
    if (config.network == NetworkMode::Private)
        if (auto chosen = routable_address(systemd().machine_addresses_blocking(machine_name(config.name))))
            addresses_[config.name] = *chosen;
    return true;
}

std::pair<std::string, uint16_t> BootBackend::address(const InstanceConfig& config) {
    if (config.network == NetworkMode::Host)
        return {config.listen_address, config.port};
    auto it = addresses_.find(config.name);
    return {it == addresses_.end() ? std::string() : it->second, config.port};
}

}  // namespace pgnspawn
