// pgnspawnd: wires the event loop, the system bus, signals and sd_notify together.
// Everything else lives in libpgnspawn-core.

#include "bus/authorizer.hpp"
#include "bus/manager_dbus.hpp"
#include "bus_names.hpp"
#include "core/config.hpp"
#include "core/created_ops.hpp"
#include "core/manager.hpp"
#include "images/boot_backend.hpp"
#include "images/host_backend.hpp"
#include "images/image_kinds.hpp"
#include "images/layout.hpp"
#include "images/scratch.hpp"
#include "images/snapshots.hpp"
#include "pgnspawn-config.h"
#include "platform/bus_bridge.hpp"
#include "platform/event_loop.hpp"
#include "platform/log.hpp"
#include "platform/systemd.hpp"

#include <fmt/format.h>
#include <sdbus-c++/sdbus-c++.h>
#include <systemd/sd-daemon.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace {

using pgnspawn::bus::kBusName;

struct Options {
    std::string config = PGNSPAWN_CONFIG_FILE;
    bool check_config = false;
};

void usage(std::FILE* out) {
    std::fprintf(out,
                 "Usage: pgnspawnd [--config FILE] [--check-config]\n"
                 "\n"
                 "Runs development PostgreSQL instances in systemd-nspawn containers and\n"
                 "serves org.pgnspawn1 on the system bus.\n"
                 "\n"
                 "  --config FILE    configuration file (default %s)\n"
                 "  --check-config   validate the configuration and exit\n"
                 "  --version        print the version and exit\n"
                 "  --help           show this help\n",
                 PGNSPAWN_CONFIG_FILE);
}

std::optional<Options> parse_args(int argc, char** argv, int& exit_code) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            usage(stdout);
            exit_code = 0;
            return std::nullopt;
        } else if (a == "--version") {
            std::printf("pgnspawnd %s\n", PGNSPAWN_VERSION);
            exit_code = 0;
            return std::nullopt;
        } else if (a == "--check-config") {
            o.check_config = true;
        } else if (a == "--config" && i + 1 < argc) {
            o.config = argv[++i];
        } else if (a.rfind("--config=", 0) == 0) {
            o.config = a.substr(9);
        } else {
            std::fprintf(stderr, "pgnspawnd: unknown argument \"%s\"\n", a.c_str());
            usage(stderr);
            exit_code = 2;
            return std::nullopt;
        }
    }
    return o;
}

std::string names_or_none(const std::vector<std::string>& names) {
    return names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "));
}

/// SIGHUP: re-reads the file; a bad one is logged and the running configuration stays.
void reload_configuration(pgnspawn::Manager& manager, const std::string& file, const pgnspawn::ConfigEnvironment& env) {
    using namespace pgnspawn;
    sd_notify(0, "RELOADING=1\nSTATUS=Reloading the configuration");
    Config next;
    try {
        next = load_config(file, env);
    } catch (const ConfigError& e) {
        log_error(fmt::format("Failed to reload the configuration, keeping the old one: {}", e.what()));
        manager.reload_failed(e.what());
        sd_notify(0, "READY=1\nSTATUS=Serving org.pgnspawn1; the last reload failed (see the journal)");
        return;
    }
    const auto s = manager.reload(std::move(next));
    std::string message = fmt::format("Reloaded the configuration from {}: added {}; removed {}; changed {}.", file,
                                      names_or_none(s.added), names_or_none(s.removed), names_or_none(s.changed));
    if (!s.removal_pending.empty())
        message += fmt::format(" Removed once they stop: {}.", names_or_none(s.removal_pending));
    if (!s.change_pending.empty())
        message += fmt::format(" Changed once they stop: {}.", names_or_none(s.change_pending));
    if (!s.autostarted.empty())
        message += fmt::format(" Autostarting {}.", names_or_none(s.autostarted));
    log_info(message);
    sd_notify(0, "READY=1\nSTATUS=Serving org.pgnspawn1");
}

}  // namespace

int main(int argc, char** argv) {
    using namespace pgnspawn;
    int exit_code = 0;
    auto options = parse_args(argc, argv, exit_code);
    if (!options)
        return exit_code;

    const ConfigEnvironment env{PGNSPAWN_STATE_DIR, PGNSPAWN_POSTGRESQL_LIBDIR, PGNSPAWN_RUNTIME_DIR};
    Config config;
    // A bad file at start-up: the daemon still comes up, so that every caller is told
    // what is wrong at once (BadConfiguration) instead of waiting for D-Bus activation
    // to time out while systemd restarts a daemon that refuses to start.
    std::string problem;
    try {
        config = load_config(options->config, env);
    } catch (const ConfigError& e) {
        if (options->check_config) {
            std::fprintf(stderr, "%s\n", e.what());
            return 1;
        }
        problem = e.what();
        config.source = options->config;
        log_error(fmt::format("Bad configuration, serving no instances until it is fixed and reloaded: {}", problem));
    }
    if (options->check_config) {
        std::printf("%s: OK, %zu instance(s)", options->config.c_str(), config.instances.size());
        for (const auto& i : config.instances) {
            std::string where;
            if (i.image == ImageKind::Host)
                where = fmt::format("PostgreSQL {}, {}:{}", i.postgresql_version, i.listen_address, i.port);
            else if (i.network == NetworkMode::Private)
                where = fmt::format("{} image, private network, port {}", to_string(i.image), i.port);
            else
                where = fmt::format("{} image, {}:{}", to_string(i.image), i.listen_address, i.port);
            std::printf("%s %s (%s)", &i == &config.instances.front() ? ":" : ",", i.name.c_str(), where.c_str());
        }
        std::printf("\n");
        return 0;
    }

    // Signals are handled by the event loop; SIGCHLD must be blocked for child sources.
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP})
        sigaddset(&mask, s);
    sigprocmask(SIG_BLOCK, &mask, nullptr);

    try {
        EventLoop loop;
        auto bus = sdbus::createSystemBusConnection();
        BusBridge bridge(loop, *bus);
        SystemdClient systemd(*bus);
        HostBackend host_backend(loop, systemd);
        BootBackend boot_backend(loop, systemd);
        BackendByImage backend(host_backend, boot_backend);
        Manager manager(std::move(config), backend, loop);
        if (!problem.empty())
            manager.set_configuration_problem(problem);
        CreatedInstances created(manager, CreatedStore(env.state_root / "instances.d"), env, loop);
        std::vector<std::string> created_problems;
        manager.load_created(created.store().load(env, created_problems));
        for (const auto& p : created_problems)
            log_error(fmt::format("Failed to load a created instance, leaving it (and its data) as it is: {}", p));
        BusAuthority authority(*bus);
        PolkitAuthorizer authorizer(authority);
        // A copy of a large database takes a while: each statement may take minutes.
        SnapshotStore snapshots(
            loop, [](const InstanceConfig& c) { return InstancePaths(c).socket_dir; }, std::chrono::minutes(5));
        // The nonce keeps this daemon's scratch names apart from those an earlier one left.
        ScratchDatabases scratch(loop,
                                 fmt::format("{:x}", std::chrono::duration_cast<std::chrono::microseconds>(
                                                         std::chrono::system_clock::now().time_since_epoch())
                                                             .count() &
                                                         0xffffffffff),
                                 std::chrono::seconds(60));
        ManagerObject face(*bus, loop, manager, authorizer, snapshots, scratch, created);
        manager.adopt_running();

        auto on_term = [&] {
            log_info("Shutting down; running instances keep running.");
            sd_notify(0, "STOPPING=1");
            loop.exit(0);
        };
        auto term = loop.add_signal(SIGTERM, on_term);
        auto intr = loop.add_signal(SIGINT, on_term);
        auto hup = loop.add_signal(SIGHUP, [&] { reload_configuration(manager, options->config, env); });

        bus->requestName(kBusName);
        log_info(fmt::format("pgnspawnd {} serving {} with {} instance(s).", PGNSPAWN_VERSION, kBusName,
                             manager.instances().size()));
        sd_notify(0, problem.empty() ? "READY=1\nSTATUS=Serving org.pgnspawn1"
                                     : "READY=1\nSTATUS=Serving org.pgnspawn1 with no instances: the configuration "
                                       "is bad (see the journal)");
        // Autostart after re-adoption, so a running container is never started twice.
        if (auto started = manager.start_autostart_instances(); !started.empty())
            log_info(fmt::format("Autostarting {}.", names_or_none(started)));
        const int r = loop.run();
        return r < 0 ? 1 : r;
    } catch (const std::exception& e) {
        log_error(fmt::format("Fatal: {}", e.what()));
        return 1;
    }
}
