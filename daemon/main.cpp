// pgnspawnd: wires the event loop, the system bus, signals and sd_notify together.
// Everything else lives in libpgnspawn-core.

#include "authorizer.hpp"
#include "bus_bridge.hpp"
#include "config.hpp"
#include "event_loop.hpp"
#include "host_backend.hpp"
#include "log.hpp"
#include "manager.hpp"
#include "manager_dbus.hpp"
#include "pgnspawn-config.h"
#include "systemd.hpp"

#include <fmt/format.h>
#include <sdbus-c++/sdbus-c++.h>
#include <systemd/sd-daemon.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

namespace {

constexpr const char* kBusName = "org.pgnspawn1";

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

}  // namespace

int main(int argc, char** argv) {
    using namespace pgnspawn;
    int exit_code = 0;
    auto options = parse_args(argc, argv, exit_code);
    if (!options)
        return exit_code;

    const ConfigEnvironment env{PGNSPAWN_STATE_DIR, PGNSPAWN_POSTGRESQL_LIBDIR};
    Config config;
    try {
        config = load_config(options->config, env);
    } catch (const ConfigError& e) {
        if (options->check_config)
            std::fprintf(stderr, "%s\n", e.what());
        else
            log_error(fmt::format("Refusing to start with a bad configuration: {}", e.what()));
        return 1;
    }
    if (options->check_config) {
        std::printf("%s: OK, %zu instance(s)", options->config.c_str(), config.instances.size());
        for (const auto& i : config.instances)
            std::printf("%s %s (PostgreSQL %s, %s:%u)", &i == &config.instances.front() ? ":" : ",", i.name.c_str(),
                        i.postgresql_version.c_str(), i.listen_address.c_str(), i.port);
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
        HostBackend backend(loop, systemd);
        Manager manager(std::move(config), backend);
        PolkitAuthorizer authorizer(*bus);
        ManagerObject face(*bus, manager, authorizer);
        manager.adopt_running();

        auto on_term = [&] {
            log_info("Shutting down; running instances keep running.");
            sd_notify(0, "STOPPING=1");
            loop.exit(0);
        };
        auto term = loop.add_signal(SIGTERM, on_term);
        auto intr = loop.add_signal(SIGINT, on_term);
        auto hup = loop.add_signal(SIGHUP, [] {
            log_warning("Configuration reload is not supported yet; restart pgnspawnd to apply a new configuration.");
        });

        bus->requestName(kBusName);
        log_info(fmt::format("pgnspawnd {} serving {} with {} instance(s).", PGNSPAWN_VERSION, kBusName,
                             manager.instances().size()));
        sd_notify(0, "READY=1\nSTATUS=Serving org.pgnspawn1");
        const int r = loop.run();
        return r < 0 ? 1 : r;
    } catch (const std::exception& e) {
        log_error(fmt::format("Fatal: {}", e.what()));
        return 1;
    }
}
