// `run NAME [--scratch [--from SNAP]] -- COMMAND...`: COMMAND with the instance's
// DATABASE_URL and PG* variables in its environment. With --scratch the database is a
// new scratch database, which the daemon ties to this process's bus connection: it is
// dropped when COMMAND ends (here, explicitly), and also when this process dies in any
// way, since its connection closes with it (sd-bus's socket is close-on-exec, so COMMAND
// does not hold it).
#include "client/bus_calls.hpp"
#include "client/commands.hpp"
#include "client/errors.hpp"
#include "client/uri.hpp"

#include <fmt/core.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace pgnspawn::client {

namespace {

/// Runs argv with the current environment and returns its exit status as a shell
/// reports it: the exit code, or 128 + the signal that killed it.
int run_child(Args argv) {
    std::vector<char*> raw;
    for (const auto& word : argv)
        raw.push_back(const_cast<char*>(word.c_str()));
    raw.push_back(nullptr);
    // Ctrl-C and Ctrl-\ reach COMMAND (same process group); pgnspawnctl stays to clean up.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    struct sigaction old_int {
    }, old_quit{};
    sigaction(SIGINT, &ignore, &old_int);
    sigaction(SIGQUIT, &ignore, &old_quit);
    std::fflush(stdout);
    const pid_t pid = fork();
    if (pid < 0)
        throw CommandFailed(fmt::format("cannot run {}: {}", argv[0], std::strerror(errno)));
    if (pid == 0) {
        sigaction(SIGINT, &old_int, nullptr);
        sigaction(SIGQUIT, &old_quit, nullptr);
        execvp(raw[0], raw.data());
        const int error = errno;
        fmt::print(stderr, "pgnspawnctl: cannot run {}: {}\n", argv[0], std::strerror(error));
        _exit(error == ENOENT ? 127 : 126);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            throw CommandFailed(fmt::format("cannot wait for {}: {}", argv[0], std::strerror(errno)));
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGQUIT, &old_quit, nullptr);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

void set_variable(const char* name, const std::string& value) {
    if (setenv(name, value.c_str(), 1) != 0)
        throw CommandFailed(fmt::format("cannot set {}: {}", name, std::strerror(errno)));
}

}  // namespace

int cmd_run(sdbus::IConnection& bus, Args args, const Options& options) {
    const std::string& name = args[0];
    const std::string what = fmt::format("cannot run a command against {}", name);
    ManagerProxy manager(bus);
    const auto instance = open_instance(bus, manager, name, what);
    const auto user = attempt(what, [&] { return instance->User(); });
    const auto [host, port] = attempt(what, [&] { return manager.GetAddress(name); });
    std::string database;
    std::string uri;
    if (options.scratch) {
        std::tie(database, uri) = attempt(fmt::format("cannot create a scratch database in {}", name),
                                          [&] { return manager.CreateScratchDatabase(name, options.from); });
    } else {
        database = attempt(what, [&] { return instance->Database(); });
        uri = attempt(what, [&] { return manager.GetConnectionUri(name); });
    }
    set_variable("DATABASE_URL", uri);
    set_variable("PGHOST", host);
    set_variable("PGPORT", std::to_string(port));
    set_variable("PGUSER", user);
    set_variable("PGDATABASE", database);
    set_variable("PGPASSWORD", password_from_uri(uri));

    const int status = run_child(args.subspan(1));
    if (options.scratch) {
        // Dropped now rather than when the connection closes, so it is gone on return.
        try {
            manager.DropScratchDatabase(name, database);
        } catch (const sdbus::Error& error) {
            fmt::print(stderr, "pgnspawnctl: cannot drop scratch database {}: {}\n", database, describe(error));
        }
    }
    return status;
}

}  // namespace pgnspawn::client
