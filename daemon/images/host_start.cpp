#include "images/host_start.hpp"

#include "images/files.hpp"
#include "platform/log.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace fs = std::filesystem;

namespace pgnspawn {

namespace {

/// The state directory and the container's skeleton root: created once, permissions
/// re-asserted on every start. The skeleton has a mount point for each host path it may
/// bind (the host's /usr or the Nix store, the account files).
void prepare_state_directory(const InstanceConfig& c, const PostgresAccount& pg, const HostPaths& host) {
    const InstancePaths p(c);
    make_dir(p.state.parent_path(), 0711, 0, 0);  // not listable; postgres may traverse
    make_dir(p.state, 0750, 0, pg.gid);
    make_dir(p.socket_dir, 0700, pg.uid, pg.gid);
    if (c.ephemeral) {
        // The tmpfs the data lives in (the unit's RuntimeDirectory); what an earlier start
        // left there (the daemon stopped before the instance) is thrown away.
        make_dir(c.runtime_directory.parent_path(), 0711, 0, 0);
        make_dir(c.runtime_directory, 0750, 0, pg.gid);
        remove_ephemeral_data(c);
    }
    make_dir(p.root, 0755, 0, 0);
    for (const char* d : {"etc", "var", "var/lib", "var/lib/postgresql", "var/lib/postgresql/data", "run", "tmp", "dev",
                          "proc", "sys", "root"})
        make_dir(p.root / d, d == std::string("tmp") ? 01777 : 0755, 0, 0);
    const auto make_dirs = [&p](const fs::path& d) {
        fs::path at = p.root;
        for (const auto& part : d.relative_path())
            make_dir(at /= part, 0755, 0, 0);
    };
    make_dirs(host.usr);
    for (const auto& d : host.usr_companions)
        make_dirs(d);
    make_dirs(host.nix_store);
    for (const auto& f : host.account_files) {
        make_dirs(f.parent_path());
        make_empty_file(p.root / f.relative_path());
    }
    for (const char* d : {"bin", "sbin", "lib", "lib64"})
        make_symlink((std::string("usr/") + d).c_str(), p.root / d);
}

}  // namespace

HostStart::HostStart(ContainerBackend& backend, const InstanceConfig& config, SparePool& spares)
    : b_(backend), c_(config), p_(config), spares_(spares),
      not_before_epoch_(static_cast<long long>(realtime_usec() / 1000000u)) {}

void HostStart::prepare(const PhaseReport& phase, Backend::Done done) {
    PostgresAccount account{};
    try {
        account = postgres_account();
        prepare_state_directory(c_, account, b_.settings().host);
    } catch (const std::exception& e) {
        return done(e.what());
    }
    if (fs::exists(p_.data / "PG_VERSION"))
        return done("");
    fresh_cluster_ = true;
    // The spare lives on disk and is taken with a rename, which cannot cross into the
    // tmpfs: an ephemeral instance runs initdb on every start.
    if (!c_.ephemeral && spares_.take(c_, p_.data))
        return done("");
    log_info(fmt::format("Creating the database cluster of instance {}.", c_.name), c_.name);
    phase("initdb");
    // The start keeps this object (and so initdb_) alive until it has finished.
    initdb_ = std::make_unique<ClusterInit>(b_.loop(), c_.postgresql_bindir, p_.data_tmp, p_.data, p_.initdb_log,
                                            account, std::move(done), c_.name);
}

std::string HostStart::precondition() const { return check_port_free(c_.listen_address, c_.port); }

std::string HostStart::timeout_message() const {
    return fmt::format("PostgreSQL did not become ready within {} s",
                       std::chrono::duration_cast<std::chrono::seconds>(b_.settings().start_timeout).count());
}

void HostStart::ready(const PhaseReport& phase, Backend::Done done) {
    phase_ = phase;
    done_ = std::move(done);
    try {
        ready_watch_ = b_.loop().add_inotify(
            p_.data, IN_CLOSE_WRITE | IN_MOVED_TO, [this](const struct inotify_event&) { check_ready(); }, c_.name);
    } catch (const std::exception& e) {
        return finish(e.what());
    }
    check_ready();  // it may have become ready before the watch was there
}

void HostStart::check_ready() {
    if (checked_ready_ || !postmaster_pid_ready(read_file(p_.data / "postmaster.pid"), not_before_epoch_))
        return;
    checked_ready_ = true;
    log_debug(fmt::format("Starting instance {}: postmaster.pid says ready.", c_.name), c_.name);
    ready_watch_.reset();
    if (fresh_cluster_) {
        phase_("provisioning");
        return provision();
    }
    phase_("connecting");
    verify_as_user(true);
}

void HostStart::provision() {
    provisioning_ = std::make_unique<Provisioning>(b_.loop(), b_.settings().query_timeout);
    provisioning_->run(c_, p_.socket_dir, [this](const std::string& error) {
        if (!error.empty())
            return finish(error);
        verify_as_user(false);
    });
}

/// The promise of Start: a real round trip, as the configured user, over TCP, which also
/// reads the role's attributes. On a cluster provisioned by an earlier start it comes
/// first (provision_on_failure): when it works and the attributes are as configured, the
/// role, its password and the database are as configured and nothing is written; when it
/// does not (the password, createdb or superuser was changed in the configuration or in
/// the database, the role or database is gone), the role and database are provisioned and
/// the round trip made again.
void HostStart::verify_as_user(bool provision_on_failure) {
    pg_ = std::make_unique<PgConnection>(b_.loop(), b_.settings().query_timeout);
    auto checked = [this, provision_on_failure](const std::string& failure) {
        if (failure.empty())
            return declare();
        if (!provision_on_failure)
            return finish(failure);
        log_info(fmt::format("Provisioning the role and database of instance {} again: {}.", c_.name, failure),
                 c_.name);
        phase_("provisioning");
        provision();
    };
    pg_->connect(user_connection_params(c_, c_.listen_address, "pgnspawnd"), [this, checked](const std::string& error) {
        if (!error.empty())
            return checked(as_user_failure(c_, error, PgConnection::Stage::Connect));
        log_debug(fmt::format("Starting instance {}: connected as the user.", c_.name), c_.name);
        pg_->query(kRoleAttributesSql, [this, checked](const std::string& error2, PgRows rows) {
            if (!error2.empty())
                return checked(fmt::format("reading the role's attributes as \"{}\" failed: {}", c_.user, error2));
            checked(role_attributes_difference(rows, c_));
        });
    });
}

/// databases, extensions and initial_script, once the role can log in (see declare.hpp).
void HostStart::declare() {
    declaration_ = std::make_unique<Declaration>(b_.loop(), b_.settings().start_timeout);
    declaration_->run(c_, p_.socket_dir, p_.data, [this](const std::string& error) { finish(error); });
}

void HostStart::finish(const std::string& error) {
    if (auto done = std::move(done_))
        done(error);
}

// ---------------------------------------------------------------------------------------

void remove_ephemeral_data(const InstanceConfig& c) {
    if (!c.ephemeral)
        return;
    const InstancePaths p(c);
    for (const auto& dir : {p.data, p.data_tmp}) {
        std::error_code ec;
        fs::remove_all(dir, ec);
        if (ec)
            throw std::runtime_error(fmt::format("cannot remove {}: {}", dir.string(), ec.message()));
    }
}

bool postmaster_pid_ready(const std::string& contents, long long not_before_epoch) {
    std::istringstream in(contents);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    if (lines.size() < 8)
        return false;
    auto status = lines[7];
    while (!status.empty() && status.back() == ' ')
        status.pop_back();
    long long started = 0;
    try {
        started = std::stoll(lines[2]);
    } catch (const std::exception&) {
        return false;
    }
    return status == "ready" && started >= not_before_epoch;
}

std::string check_port_free(const std::string& address, uint16_t port) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family = AF_INET;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
        family = AF_INET6;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof(*v6);
    } else {
        return fmt::format("{} is not an IP address", address);
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fmt::format("cannot create a socket: {}", std::strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // as PostgreSQL does
    std::string error;
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0)
        error = errno == EADDRINUSE
                    ? fmt::format("port {} on {} is already in use by another process", port, address)
                    : fmt::format("cannot listen on {} port {}: {}", address, port, std::strerror(errno));
    close(fd);
    return error;
}

}  // namespace pgnspawn
