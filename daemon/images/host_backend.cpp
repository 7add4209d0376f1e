#include "images/host_backend.hpp"

#include "core/names.hpp"
#include "images/layout.hpp"
#include "platform/log.hpp"
#include "platform/pg.hpp"

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
    for (const char* d : {"usr", "etc", "var", "var/lib", "var/lib/postgresql", "var/lib/postgresql/data", "run", "tmp",
                          "dev", "proc", "sys", "root"})
        make_dir(p.root / d, d == std::string("tmp") ? 01777 : 0755, 0, 0);
    for (const char* f : {"etc/passwd", "etc/group", "etc/nsswitch.conf"})
        make_empty_file(p.root / f);
    for (const char* d : {"bin", "sbin", "lib", "lib64"})
        make_symlink((std::string("usr/") + d).c_str(), p.root / d);
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
// initdb as postgres into a temporary directory, pgnspawn's authentication files, then a
// rename: only a complete cluster ever appears under its final name.

class ClusterInit {
public:
    using Done = std::function<void(const std::string& error)>;

    ClusterInit(EventLoop& loop, const fs::path& bindir, fs::path tmp, fs::path final_dir, fs::path log,
                PostgresAccount account, Done done)
        : tmp_(std::move(tmp)), final_(std::move(final_dir)), log_(std::move(log)), account_(account),
          done_(std::move(done)) {
        std::error_code ec;
        fs::remove_all(tmp_, ec);  // left over from an interrupted earlier run
        std::vector<std::string> args = initdb_argv(bindir, tmp_);
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        char env_path[] = "PATH=/usr/bin:/bin";
        char env_lang[] = "LANG=C.UTF-8";
        char* envp[] = {env_path, env_lang, nullptr};
        int log_fd = -1;
        try {
            make_dir(tmp_, 0700, account_.uid, account_.gid);
            log_fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
            if (log_fd < 0)
                throw std::runtime_error(fmt::format("cannot write {}: {}", log_.string(), std::strerror(errno)));
        } catch (const std::exception& e) {
            defer_ = loop.add_defer([this, error = std::string(e.what())] { done_(error); });
            return;
        }
        const std::string workdir = tmp_.string();
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
            defer_ = loop.add_defer(
                [this, error = fmt::format("cannot run initdb: {}", std::strerror(errno))] { done_(error); });
            return;
        }
        child_ = loop.add_child(pid, [this](const siginfo_t& si) { on_exit(si); });
    }

private:
    void on_exit(const siginfo_t& si) {
        if (si.si_code != CLD_EXITED || si.si_status != 0)
            return done_(fmt::format("initdb failed ({} {}): {}", si.si_code == CLD_EXITED ? "exit status" : "signal",
                                     si.si_status, tail_lines(read_file(log_), 5)));
        try {
            write_file_durably(tmp_ / "pg_hba.conf", pg_hba_conf(), account_.uid, account_.gid, 0600);
            write_file_durably(tmp_ / "pg_ident.conf", pg_ident_conf(), account_.uid, account_.gid, 0600);
            if (rename(tmp_.c_str(), final_.c_str()) < 0)
                throw std::runtime_error(fmt::format("cannot rename {}: {}", tmp_.string(), std::strerror(errno)));
            fsync_dir(final_.parent_path());
        } catch (const std::exception& e) {
            return done_(e.what());
        }
        done_("");
    }

    fs::path tmp_, final_, log_;
    PostgresAccount account_;
    Done done_;
    EventSource child_, defer_;
};

// ---------------------------------------------------------------------------------------
// One start of one instance: state directory, initdb on first start, the container,
// readiness, provisioning, and a round trip as the configured user.

class HostBackend::StartOperation : public ContainerStart {
public:
    StartOperation(HostBackend& backend, const InstanceConfig& config, Done done, Progress progress)
        : ContainerStart(backend, config, std::move(done), std::move(progress)), p_(config) {}

private:
    void begin() override {
        try {
            account_ = postgres_account();
            prepare_state_directory(c_, account_);
        } catch (const std::exception& e) {
            return fail(e.what());
        }
        if (fs::exists(p_.data / "PG_VERSION"))
            launch();
        else
            create_cluster();
    }

    std::string timeout_message() const override {
        return fmt::format("PostgreSQL did not become ready within {} s",
                           std::chrono::duration_cast<std::chrono::seconds>(b_.settings().start_timeout).count());
    }

    std::vector<std::string> argv() const override { return nspawn_argv(c_, b_.settings().nspawn_binary); }

    void configure_unit(TransientService& service) const override {
        auto confinement = host_syscall_confinement();
        service.environment = std::move(confinement.environment);
        service.denied_syscalls = std::move(confinement.denied);
        service.syscall_architectures = std::move(confinement.architectures);
    }

    /// A spare cluster is taken when there is one (a rename: instant and atomic);
    /// otherwise initdb runs now. Either way, a new spare is made once this start is over.
    void create_cluster() {
        std::error_code ec;
        const auto spare = spare_cluster_dir(c_);
        fresh_cluster_ = true;
        if (fs::exists(spare / "PG_VERSION", ec) && rename(spare.c_str(), p_.data.c_str()) == 0) {
            fsync_dir(p_.state);
            fsync_dir(spare.parent_path());
            log_info(
                fmt::format("Took the spare PostgreSQL {} cluster for instance {}.", c_.postgresql_version, c_.name),
                c_.name);
            return launch();
        }
        log_info(fmt::format("Creating the database cluster of instance {}.", c_.name), c_.name);
        phase("initdb");
        // Only `this`: initdb_ is a member, and the backend keeps this start alive until it finishes.
        initdb_ = std::make_unique<ClusterInit>(b_.loop(), c_.postgresql_bindir, p_.data_tmp, p_.data, p_.initdb_log,
                                                account_, [this](const std::string& error) {
                                                    if (finished())
                                                        return;
                                                    if (!error.empty())
                                                        return fail(error);
                                                    launch();
                                                });
    }

    std::string before_unit_start() override {
        if (auto busy = check_port_free(c_.listen_address, c_.port); !busy.empty())
            return busy;
        not_before_epoch_ = static_cast<long long>(started_realtime_ / 1000000u);
        try {
            ready_watch_ = b_.loop().add_inotify(p_.data, IN_CLOSE_WRITE | IN_MOVED_TO,
                                                 [this](const struct inotify_event&) { check_ready(); });
        } catch (const std::exception& e) {
            return e.what();
        }
        return {};
    }

    void on_unit_started() override { check_ready(); }

    void check_ready() {
        if (finished() || !container_started() || provisioning_)
            return;
        if (!postmaster_pid_ready(read_file(p_.data / "postmaster.pid"), not_before_epoch_))
            return;
        provisioning_ = true;
        ready_watch_.reset();
        if (fresh_cluster_) {
            phase("provisioning");
            return provision();
        }
        phase("connecting");
        verify_as_user(true);
    }

    /// What NixOS's ensureUsers/ensureDatabases do: the role with its password and the
    /// database owned by it, idempotently, as the superuser over the unix socket.
    void provision() {
        pg_ = std::make_unique<PgConnection>(b_.loop(), b_.settings().query_timeout);
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
                verify_as_user(false);
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
            verify_as_user(false);
        });
    }

    /// The promise of Start: a real round trip, as the configured user, over TCP. On a
    /// cluster provisioned by an earlier start it comes first (provision_on_failure): when
    /// it works, the role, its password and the database are as configured and nothing is
    /// written; when it does not (the password was changed in the configuration or in the
    /// database, the role or database is gone), the role and database are provisioned and
    /// the round trip made again.
    void verify_as_user(bool provision_on_failure) {
        pg_ = std::make_unique<PgConnection>(b_.loop(), b_.settings().query_timeout);
        pg_->round_trip(user_connection_params(c_, c_.listen_address, "pgnspawnd"),
                        [this, provision_on_failure](const std::string& error, PgConnection::Stage stage) {
                            if (error.empty())
                                return finish("");
                            failed_as_user(as_user_failure(c_, error, stage), provision_on_failure);
                        });
    }

    void failed_as_user(const std::string& error, bool provision_now) {
        if (!provision_now)
            return fail(error);
        log_info(fmt::format("Provisioning the role and database of instance {} again: {}.", c_.name, error), c_.name);
        phase("provisioning");
        provision();
    }

    InstancePaths p_;
    PostgresAccount account_{};
    long long not_before_epoch_ = 0;
    bool provisioning_ = false;
    bool fresh_cluster_ = false;  ///< created (or taken from the spare) by this start
    std::unique_ptr<ClusterInit> initdb_;
    EventSource ready_watch_;
    std::unique_ptr<PgConnection> pg_;
};

// ---------------------------------------------------------------------------------------

HostBackend::HostBackend(EventLoop& loop, SystemdClient& systemd, BackendSettings settings)
    : ContainerBackend(loop, systemd, std::move(settings)) {}

HostBackend::~HostBackend() = default;

void HostBackend::start(const InstanceConfig& config, Done done, Progress progress) {
    run_start(std::make_shared<StartOperation>(
        *this, config,
        [this, config, done](const std::string& error) {
            done(error);  // the caller first; the spare is for the next first start
            want_spare(config);
        },
        std::move(progress)));
}

void HostBackend::want_spare(const InstanceConfig& config) {
    std::error_code ec;
    if (spare_jobs_.count(config.postgresql_version) || fs::exists(spare_cluster_dir(config) / "PG_VERSION", ec)) {
        if (spares_wanted_.empty())
            return;  // nothing to do: no timer, no wake-up
    } else {
        spares_wanted_.insert_or_assign(config.postgresql_version, config);
    }
    // (Re)armed by every start: the spare waits for a quiet moment.
    spare_timer_ = loop().add_timer(settings().spare_delay, [this] { make_wanted_spares(); });
}

void HostBackend::make_wanted_spares() {
    if (starting())
        return;  // that start re-arms the timer when it finishes
    auto wanted = std::move(spares_wanted_);
    spares_wanted_.clear();
    for (const auto& [version, config] : wanted)
        make_spare(config);
}

void HostBackend::make_spare(const InstanceConfig& config) {
    const auto spare = spare_cluster_dir(config);
    std::error_code ec;
    if (spare_jobs_.count(config.postgresql_version) || fs::exists(spare / "PG_VERSION", ec))
        return;
    PostgresAccount account{};
    try {
        account = postgres_account();
    } catch (const std::exception&) {
        return;
    }
    const std::string version = config.postgresql_version;
    auto tmp = spare;
    tmp += ".new";
    auto log = spare;
    log += ".log";
    spare_jobs_[version] = std::make_shared<ClusterInit>(
        loop(), config.postgresql_bindir, tmp, spare, log, account, [this, version](const std::string& error) {
            if (error.empty())
                log_info(fmt::format("A spare PostgreSQL {} cluster is ready for the next first start.", version));
            else
                log_warning(fmt::format("Failed to make a spare PostgreSQL {} cluster: {}", version, error));
            auto it = spare_jobs_.find(version);
            if (it != spare_jobs_.end()) {
                retire(it->second);
                spare_jobs_.erase(it);
            }
        });
}

void HostBackend::stop(const InstanceConfig& config, Done done) {
    const uint64_t since = realtime_usec();
    const InstancePaths p(config);
    systemd().stop_unit(unit_name(config.name), [this, config, p, since, done](const std::string& error, bool stopped) {
        if (!error.empty())
            return done(error);
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
