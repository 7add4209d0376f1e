#include "host_backend.hpp"

#include "layout.hpp"
#include "log.hpp"
#include "names.hpp"
#include "pg.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace pgnspawn {

namespace {

uint64_t realtime_usec() {
    struct timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string tail_lines(const std::string& text, std::size_t n) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            lines.push_back(line);
    std::string out;
    for (std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
        out += (out.empty() ? "" : " | ") + lines[i];
    return out;
}

struct PostgresAccount {
    uid_t uid;
    gid_t gid;
};

PostgresAccount postgres_account() {
    struct passwd* pw = getpwnam("postgres");
    if (!pw)
        throw std::runtime_error("there is no \"postgres\" user on this host (install postgresql)");
    return {pw->pw_uid, pw->pw_gid};
}

void make_dir(const fs::path& p, mode_t mode, uid_t uid, gid_t gid) {
    if (mkdir(p.c_str(), mode) < 0 && errno != EEXIST)
        throw std::runtime_error(fmt::format("cannot create {}: {}", p.string(), std::strerror(errno)));
    if (chown(p.c_str(), uid, gid) < 0 || chmod(p.c_str(), mode) < 0)
        throw std::runtime_error(fmt::format("cannot set the owner of {}: {}", p.string(), std::strerror(errno)));
}

void make_empty_file(const fs::path& p) {
    int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        throw std::runtime_error(fmt::format("cannot create {}: {}", p.string(), std::strerror(errno)));
    close(fd);
}

void make_symlink(const char* target, const fs::path& link) {
    if (symlink(target, link.c_str()) < 0 && errno != EEXIST)
        throw std::runtime_error(fmt::format("cannot create {}: {}", link.string(), std::strerror(errno)));
}

/// Writes a file durably: temporary file, fsync, rename.
void write_file_durably(const fs::path& p, const std::string& contents, uid_t uid, gid_t gid, mode_t mode) {
    const fs::path tmp = p.string() + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        throw std::runtime_error(fmt::format("cannot write {}: {}", p.string(), std::strerror(errno)));
    bool ok = write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()) &&
              fchown(fd, uid, gid) == 0 && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp.c_str(), p.c_str()) < 0)
        throw std::runtime_error(fmt::format("cannot write {}: {}", p.string(), std::strerror(errno)));
}

void fsync_dir(const fs::path& p) {
    int fd = open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/// The state directory and the container's skeleton root: created once, permissions
/// re-asserted on every start.
void prepare_state_directory(const InstanceConfig& c, const PostgresAccount& pg) {
    const InstancePaths p(c);
    make_dir(p.state.parent_path(), 0711, 0, 0);  // not listable; postgres may traverse
    make_dir(p.state, 0750, 0, pg.gid);
    make_dir(p.socket_dir, 0700, pg.uid, pg.gid);
    make_dir(p.root, 0755, 0, 0);
    for (const char* d : {"usr", "etc", "var", "var/lib", "var/lib/postgresql", "var/lib/postgresql/data", "run",
                          "tmp", "dev", "proc", "sys", "root"})
        make_dir(p.root / d, d == std::string("tmp") ? 01777 : 0755, 0, 0);
    for (const char* f : {"etc/passwd", "etc/group", "etc/nsswitch.conf"})
        make_empty_file(p.root / f);
    for (const char* d : {"bin", "sbin", "lib", "lib64"})
        make_symlink((std::string("usr/") + d).c_str(), p.root / d);
}

/// How the configured user connects, as any client of the instance would.
PgParams user_connection_params(const InstanceConfig& c, const char* application_name) {
    return {{"host", c.listen_address},
            {"port", std::to_string(c.port)},
            {"user", c.user},
            {"password", c.password},
            {"dbname", c.database},
            {"sslmode", "disable"},
            {"application_name", application_name}};
}

}  // namespace

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

// ---------------------------------------------------------------------------------------
// One start of one instance: state directory, initdb on first start, the container,
// readiness, provisioning, and a round trip as the configured user.

class HostBackend::StartOperation : public std::enable_shared_from_this<StartOperation> {
public:
    StartOperation(HostBackend& backend, const InstanceConfig& config, Done done)
        : b_(backend), c_(config), p_(config), done_(std::move(done)) {}

    void run() {
        started_realtime_ = realtime_usec();
        timeout_ = b_.loop_.add_timer(b_.settings_.start_timeout, [this] {
            fail(fmt::format("PostgreSQL did not become ready within {} s",
                             std::chrono::duration_cast<std::chrono::seconds>(b_.settings_.start_timeout).count()));
        });
        try {
            account_ = postgres_account();
            prepare_state_directory(c_, account_);
        } catch (const std::exception& e) {
            fail(e.what());
            return;
        }
        if (fs::exists(p_.data / "PG_VERSION"))
            launch();
        else
            run_initdb();
    }

private:
    void run_initdb() {
        log_info(fmt::format("Creating the database cluster of instance {}.", c_.name), c_.name);
        std::error_code ec;
        fs::remove_all(p_.data_tmp, ec);  // left over from an interrupted first start
        std::vector<std::string> args = initdb_argv(c_);
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        char env_path[] = "PATH=/usr/bin:/bin";
        char env_lang[] = "LANG=C.UTF-8";
        char* envp[] = {env_path, env_lang, nullptr};
        int log_fd = -1;
        try {
            make_dir(p_.data_tmp, 0700, account_.uid, account_.gid);
            log_fd = open(p_.initdb_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
            if (log_fd < 0)
                throw std::runtime_error(fmt::format("cannot write {}: {}", p_.initdb_log.string(), std::strerror(errno)));
        } catch (const std::exception& e) {
            fail(e.what());
            return;
        }
        const std::string workdir = p_.data_tmp.string();
        const auto [uid, gid] = account_;
        pid_t pid = fork();
        if (pid == 0) {
            // Child: async-signal-safe calls only.
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, nullptr);
            int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0 ||
                setgroups(0, nullptr) < 0 || setgid(gid) < 0 || setuid(uid) < 0 || chdir(workdir.c_str()) < 0)
                _exit(126);
            execve(argv[0], argv.data(), envp);
            _exit(127);
        }
        close(log_fd);
        if (pid < 0) {
            fail(fmt::format("cannot run initdb: {}", std::strerror(errno)));
            return;
        }
        child_ = b_.loop_.add_child(pid, [this](const siginfo_t& si) { on_initdb_exit(si); });
    }

    void on_initdb_exit(const siginfo_t& si) {
        if (si.si_code != CLD_EXITED || si.si_status != 0) {
            fail(fmt::format("initdb failed ({} {}): {}", si.si_code == CLD_EXITED ? "exit status" : "signal",
                             si.si_status, tail_lines(read_file(p_.initdb_log), 5)));
            return;
        }
        try {
            write_file_durably(p_.data_tmp / "pg_hba.conf", pg_hba_conf(), account_.uid, account_.gid, 0600);
            write_file_durably(p_.data_tmp / "pg_ident.conf", pg_ident_conf(), account_.uid, account_.gid, 0600);
            // Only a complete cluster ever appears under data/.
            if (rename(p_.data_tmp.c_str(), p_.data.c_str()) < 0)
                throw std::runtime_error(fmt::format("cannot rename {}: {}", p_.data_tmp.string(), std::strerror(errno)));
            fsync_dir(p_.state);
        } catch (const std::exception& e) {
            fail(e.what());
            return;
        }
        launch();
    }

    /// A container of this instance that the daemon does not know of (left from a crash,
    /// a daemon restart during a start, or a reboot of machined's state) would make nspawn
    /// fail with "Machine already exists" or hold the port: stop its unit cleanly first,
    /// then drop any leftover machine registration.
    void launch() {
        const auto unit = unit_name(c_.name);
        auto self = shared_from_this();
        b_.systemd_.unit_state(unit, [this, self, unit](const std::string& error, const std::string& state) {
            if (finished_)
                return;
            if (!error.empty())
                return fail(error);
            if (state == "inactive" || state == "failed")
                return remove_leftover_machine();
            log_warning(fmt::format("Stopping leftover unit {} ({}) before starting instance {}.", unit, state, c_.name),
                        c_.name, unit);
            b_.systemd_.stop_unit(unit, [this, self](const std::string& stop_error, bool) {
                if (finished_)
                    return;
                if (!stop_error.empty())
                    return fail(fmt::format("cannot stop the leftover container: {}", stop_error));
                remove_leftover_machine();
            });
        });
    }

    void remove_leftover_machine() {
        auto self = shared_from_this();
        b_.systemd_.remove_machine(machine_name(c_.name), [this, self](const std::string& error) {
            if (finished_)
                return;
            if (!error.empty())
                return fail(error);
            start_container();
        });
    }

    void start_container() {
        if (auto busy = check_port_free(c_.listen_address, c_.port); !busy.empty()) {
            fail(busy);
            return;
        }
        not_before_epoch_ = static_cast<long long>(started_realtime_ / 1000000u);
        const auto unit = unit_name(c_.name);
        try {
            ready_watch_ = b_.loop_.add_inotify(p_.data, IN_CLOSE_WRITE | IN_MOVED_TO,
                                                [this](const struct inotify_event&) { check_ready(); });
            unit_watch_ = b_.systemd_.watch_unit(unit, [this](const std::string& state) {
                // A new transient unit reports "inactive" before "activating": only a
                // unit that has been seen coming up can have gone down.
                if (state == "activating" || state == "active" || state == "deactivating")
                    seen_up_ = true;
                else if (state == "failed" || (state == "inactive" && seen_up_))
                    fail_with_log("the container exited before PostgreSQL was ready");
            });
        } catch (const std::exception& e) {
            fail(e.what());
            return;
        }
        b_.systemd_.reset_failed_unit(unit);
        TransientService service{unit,
                                 fmt::format("pgnspawn PostgreSQL instance {}", c_.name),
                                 nspawn_argv(c_, b_.settings_.nspawn_binary),
                                 fmt::format("pgnspawn-{}", c_.name),
                                 b_.settings_.stop_timeout_usec};
        auto self = shared_from_this();
        b_.systemd_.start_transient_service(service, [this, self](const std::string& error) {
            if (finished_)
                return;
            container_started_ = true;
            if (!error.empty())
                fail_with_log(error);
            else
                check_ready();
        });
    }

    void check_ready() {
        if (finished_ || !container_started_ || provisioning_)
            return;
        if (!postmaster_pid_ready(read_file(p_.data / "postmaster.pid"), not_before_epoch_))
            return;
        provisioning_ = true;
        ready_watch_.reset();
        provision();
    }

    /// What NixOS's ensureUsers/ensureDatabases do: the role with its password and the
    /// database owned by it, idempotently, as the superuser over the unix socket.
    void provision() {
        pg_ = std::make_unique<PgConnection>(b_.loop_, b_.settings_.query_timeout);
        pg_->connect({{"host", p_.socket_dir.string()},
                      {"port", std::to_string(c_.port)},
                      {"user", "postgres"},
                      {"dbname", "postgres"},
                      {"application_name", "pgnspawnd"}},
                     [this](const std::string& error) {
                         if (!error.empty())
                             return fail(fmt::format("cannot connect as the superuser to provision: {}", error));
                         ensure_role();
                     });
    }

    void ensure_role() {
        PGconn* conn = pg_->raw();
        char* verifier = PQencryptPasswordConn(conn, c_.password.c_str(), c_.user.c_str(), "scram-sha-256");
        char* user_lit = PQescapeLiteral(conn, c_.user.c_str(), c_.user.size());
        char* user_id = PQescapeIdentifier(conn, c_.user.c_str(), c_.user.size());
        char* db_lit = PQescapeLiteral(conn, c_.database.c_str(), c_.database.size());
        std::string sql;
        if (verifier && user_lit && user_id && db_lit) {
            // The password travels as a SCRAM verifier, never in clear text.
            char* verifier_lit = PQescapeLiteral(conn, verifier, std::strlen(verifier));
            sql = fmt::format(
                "DO $pgnspawn$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {0}) THEN "
                "CREATE ROLE {1} LOGIN; END IF; END $pgnspawn$; "
                "ALTER ROLE {1} WITH LOGIN PASSWORD {2}; "
                "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = {3}",
                user_lit, user_id, verifier_lit ? verifier_lit : "NULL", db_lit);
            PQfreemem(verifier_lit);
        }
        PQfreemem(verifier);
        PQfreemem(user_lit);
        PQfreemem(user_id);
        PQfreemem(db_lit);
        if (sql.empty())
            return fail(fmt::format("cannot prepare provisioning: {}", tidy_pg_message(PQerrorMessage(conn))));
        pg_->query(sql, [this](const std::string& error, PgRows rows) {
            if (!error.empty())
                return fail(fmt::format("cannot provision role \"{}\": {}", c_.user, error));
            if (!rows.empty() && !rows[0].empty() && rows[0][0] == "0")
                create_database();
            else
                verify_as_user();
        });
    }

    void create_database() {
        PGconn* conn = pg_->raw();
        char* db_id = PQescapeIdentifier(conn, c_.database.c_str(), c_.database.size());
        char* user_id = PQescapeIdentifier(conn, c_.user.c_str(), c_.user.size());
        std::string sql = db_id && user_id ? fmt::format("CREATE DATABASE {} OWNER {}", db_id, user_id) : "";
        PQfreemem(db_id);
        PQfreemem(user_id);
        if (sql.empty())
            return fail("cannot prepare CREATE DATABASE");
        pg_->query(sql, [this](const std::string& error, PgRows) {
            if (!error.empty())
                return fail(fmt::format("cannot create database \"{}\": {}", c_.database, error));
            verify_as_user();
        });
    }

    /// The promise of Start: a real round trip, as the configured user, over TCP.
    void verify_as_user() {
        pg_ = std::make_unique<PgConnection>(b_.loop_, b_.settings_.query_timeout);
        pg_->connect(user_connection_params(c_, "pgnspawnd"),
                     [this](const std::string& error) {
                         if (!error.empty())
                             return fail(fmt::format("cannot connect as \"{}\": {}", c_.user, error));
                         pg_->query("SELECT 1", [this](const std::string& error2, PgRows) {
                             if (!error2.empty())
                                 return fail(fmt::format("SELECT 1 as \"{}\" failed: {}", c_.user, error2));
                             finish("");
                         });
                     });
    }

    /// Failures where the container's own words matter: journald may still be writing
    /// its last lines, so they are read a moment later.
    void fail_with_log(const std::string& error) {
        if (finished_ || log_delay_)
            return;
        log_delay_ = b_.loop_.add_timer(std::chrono::milliseconds(300), [this, error] { fail(error); });
    }

    void fail(const std::string& error) {
        if (finished_)
            return;
        std::string message = error;
        if (container_started_) {
            if (auto tail = b_.log_tail(c_, started_realtime_); !tail.empty())
                message += fmt::format(". Last log lines: {}", tail);
            // Leave nothing half-started behind.
            b_.systemd_.stop_unit(unit_name(c_.name), [](const std::string&, bool) {});
        }
        finish(message);
    }

    void finish(const std::string& error) {
        if (finished_)
            return;
        finished_ = true;
        auto done = std::move(done_);
        auto self = shared_from_this();
        b_.starts_.erase(c_.name);
        b_.retire(self);
        done(error);
    }

    HostBackend& b_;
    InstanceConfig c_;
    InstancePaths p_;
    Done done_;
    PostgresAccount account_{};
    uint64_t started_realtime_ = 0;
    long long not_before_epoch_ = 0;
    bool container_started_ = false;
    bool provisioning_ = false;
    bool seen_up_ = false;
    bool finished_ = false;
    EventSource timeout_, child_, ready_watch_, log_delay_;
    SystemdClient::Watch unit_watch_;
    std::unique_ptr<PgConnection> pg_;
};

// ---------------------------------------------------------------------------------------

HostBackend::HostBackend(EventLoop& loop, SystemdClient& systemd, HostBackendSettings settings)
    : loop_(loop), systemd_(systemd), settings_(std::move(settings)) {}

HostBackend::~HostBackend() = default;

void HostBackend::retire(std::shared_ptr<void> object) {
    retired_.push_back(std::move(object));
    if (!reaper_)
        reaper_ = loop_.add_defer([this] {
            retired_.clear();
            reaper_.reset();
        });
}

std::string HostBackend::log_tail(const InstanceConfig& config, uint64_t since_realtime_usec) const {
    auto lines = SystemdClient::journal_tail(unit_name(config.name), 5, since_realtime_usec);
    std::string out;
    for (const auto& l : lines)
        out += (out.empty() ? "" : " | ") + l;
    return out;
}

void HostBackend::start(const InstanceConfig& config, Done done) {
    auto op = std::make_shared<StartOperation>(*this, config, std::move(done));
    starts_[config.name] = op;
    op->run();
}

void HostBackend::stop(const InstanceConfig& config, Done done) {
    const uint64_t since = realtime_usec();
    const InstancePaths p(config);
    systemd_.stop_unit(unit_name(config.name), [this, config, p, since, done](const std::string& error, bool stopped) {
        if (!error.empty())
            return done(error);
        if (stopped && fs::exists(p.data / "postmaster.pid")) {
            auto tail = log_tail(config, since);
            return done(fmt::format("PostgreSQL did not shut down cleanly (postmaster.pid is still there); the next "
                                    "start will run crash recovery. Last log lines: {}",
                                    tail));
        }
        done("");
    });
}

void HostBackend::health(const InstanceConfig& config, std::function<void(HealthResult)> done) {
    auto conn = std::make_shared<PgConnection>(loop_, settings_.health_timeout);
    const uint64_t begin = monotonic_usec();
    auto finish = [this, conn, begin, done](bool ok, std::string detail) {
        HealthResult r{ok, std::move(detail), monotonic_usec() - begin};
        retire(conn);
        done(r);
    };
    conn->connect(user_connection_params(config, "pgnspawnd-health"),
                  [conn = conn.get(), finish](const std::string& error) {
                      if (!error.empty())
                          return finish(false, fmt::format("cannot connect: {}", error));
                      conn->query("SELECT 1", [finish](const std::string& qerror, PgRows rows) {
                          if (!qerror.empty())
                              return finish(false, fmt::format("SELECT 1 failed: {}", qerror));
                          if (rows.size() != 1 || rows[0].size() != 1 || rows[0][0] != "1")
                              return finish(false, "SELECT 1 returned an unexpected result");
                          finish(true, "SELECT 1 succeeded");
                      });
                  });
}

bool HostBackend::is_running(const InstanceConfig& config) {
    return systemd_.active_state_blocking(unit_name(config.name)) == "active";
}

void HostBackend::watch(const InstanceConfig& config, std::function<void(const std::string& why)> on_exit) {
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

void HostBackend::unwatch(const InstanceConfig& config) {
    auto it = watches_.find(config.name);
    if (it == watches_.end())
        return;
    retire(std::move(it->second));
    watches_.erase(it);
}

}  // namespace pgnspawn
