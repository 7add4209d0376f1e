#include "images/cluster.hpp"

#include "images/files.hpp"
#include "images/layout.hpp"
#include "pgnspawn-config.h"
#include "platform/log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace fs = std::filesystem;

namespace pgnspawn {

PostgresAccount postgres_account() {
    struct passwd* pw = getpwnam("postgres");
    if (!pw)
        throw std::runtime_error("there is no \"postgres\" user on this host (install postgresql)");
    return {pw->pw_uid, pw->pw_gid};
}

ClusterInit::ClusterInit(EventLoop& loop, const fs::path& bindir, fs::path tmp, fs::path final_dir, fs::path log,
                         PostgresAccount account, Done done, std::string instance)
    : tmp_(std::move(tmp)), final_(std::move(final_dir)), log_(std::move(log)), account_(account),
      done_(std::move(done)) {
    std::error_code ec;
    fs::remove_all(tmp_, ec);  // left over from an interrupted earlier run
    std::vector<std::string> args = initdb_argv(bindir, tmp_);
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    // initdb (by its resolved path) finds its postgres beside itself; PATH is where the
    // server finds "locale -a" to import the system's collations (-Dinitdb_path).
    char env_path[] = "PATH=" PGNSPAWN_INITDB_PATH;
    char env_lang[] = "LANG=C.UTF-8";
    char* envp[] = {env_path, env_lang, nullptr};
    int log_fd = -1;
    try {
        make_dir(tmp_, 0700, account_.uid, account_.gid);
        log_fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (log_fd < 0)
            throw std::runtime_error(fmt::format("cannot write {}: {}", log_.string(), std::strerror(errno)));
    } catch (const std::exception& e) {
        defer_ = loop.add_defer([this, error = std::string(e.what())] { done_(error); }, instance);
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
            [this, error = fmt::format("cannot run initdb: {}", std::strerror(errno))] { done_(error); }, instance);
        return;
    }
    child_ = loop.add_child(
        pid, [this](const siginfo_t& si) { on_exit(si); }, instance);
}

void ClusterInit::on_exit(const siginfo_t& si) {
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

// ---------------------------------------------------------------------------------------

SparePool::SparePool(EventLoop& loop, std::chrono::milliseconds delay, std::function<bool()> busy)
    : loop_(loop), wanted_(loop, delay, std::move(busy)) {}

SparePool::~SparePool() = default;

bool SparePool::take(const InstanceConfig& c, const fs::path& data) {
    std::error_code ec;
    const auto spare = spare_cluster_dir(c);
    if (!fs::exists(spare / "PG_VERSION", ec) || rename(spare.c_str(), data.c_str()) != 0)
        return false;
    fsync_dir(data.parent_path());
    fsync_dir(spare.parent_path());
    log_info(fmt::format("Took the spare PostgreSQL {} cluster for instance {}.", c.postgresql_version, c.name),
             c.name);
    return true;
}

void SparePool::want(const InstanceConfig& c) {
    std::error_code ec;
    if (jobs_.count(c.postgresql_version) || fs::exists(spare_cluster_dir(c) / "PG_VERSION", ec))
        return wanted_.poke();  // (Re)armed by every start, for other versions waiting; no timer if none
    wanted_.run(c.postgresql_version, [this, c] { make(c); });
}

void SparePool::make(const InstanceConfig& c) {
    const auto spare = spare_cluster_dir(c);
    std::error_code ec;
    if (jobs_.count(c.postgresql_version) || fs::exists(spare / "PG_VERSION", ec))
        return;
    PostgresAccount account{};
    try {
        account = postgres_account();
    } catch (const std::exception&) {
        return;
    }
    const std::string version = c.postgresql_version;
    auto tmp = spare;
    tmp += ".new";
    auto log = spare;
    log += ".log";
    jobs_[version] = std::make_unique<ClusterInit>(
        loop_, c.postgresql_bindir, tmp, spare, log, account, [this, version](const std::string& error) {
            if (error.empty())
                log_info(fmt::format("A spare PostgreSQL {} cluster is ready for the next first start.", version));
            else
                log_warning(fmt::format("Failed to make a spare PostgreSQL {} cluster: {}", version, error));
            // Not from inside the job's own callback.
            loop_.post([this, version] { jobs_.erase(version); }, lifetime_.token());
        });
}

}  // namespace pgnspawn
