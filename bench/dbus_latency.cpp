// dbus_latency: latency and throughput of one pgnspawnd method, from one client.
//
//   dbus_latency --method GetAddress|HealthCheck --name NAME [--calls N] [--warmup N]
//   dbus_latency --method CreateScratchDatabase --name NAME --snapshot SNAP [--calls N] [--warmup N]
//
// CreateScratchDatabase: each timed call is followed by an untimed DropScratchDatabase of
// the database it returned, so that databases do not pile up.
//
// Issues N sequential calls of org.pgnspawn1.Manager.METHOD(NAME) over one system bus
// connection (each call waits for its reply before the next is sent) and prints one line:
//
//   METHOD calls=N p50_us=.. p99_us=.. max_us=.. calls_per_s=..
//
// Run by bench/run.sh inside the test host: busctl per call would measure process
// start-up, not the daemon. Every reply must be a method return (and HealthCheck must
// say healthy), else it exits 1 naming the error. Exit status 2: usage or bus error.
#include <systemd/sd-bus.h>

#include "bus_names.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using pgnspawn::bus::kManagerInterface;
using pgnspawn::bus::kManagerPath;
constexpr const char* kService = pgnspawn::bus::kBusName;
constexpr uint64_t kCallTimeoutUsec = 30'000'000;

struct Options {
    std::string method;
    std::string name;
    long calls = 1000;
    long warmup = 20;
    std::string snapshot;
};

int usage() {
    std::fputs(
        "usage: dbus_latency --method GetAddress|HealthCheck|CreateScratchDatabase --name NAME [--snapshot SNAP]"
        " [--calls N] [--warmup N]\n",
        stderr);
    return 2;
}

/// DropScratchDatabase of what the last CreateScratchDatabase returned (untimed).
std::string pending_drop;

bool drop_pending(sd_bus* bus, const Options& options) {
    if (pending_drop.empty())
        return true;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    int r = sd_bus_call_method(bus, kService, kManagerPath, kManagerInterface, "DropScratchDatabase", &error, nullptr,
                               "ss", options.name.c_str(), pending_drop.c_str());
    if (r < 0)
        std::fprintf(stderr, "dbus_latency: DropScratchDatabase failed: %s: %s\n", error.name ? error.name : "?",
                     error.message ? error.message : std::strerror(-r));
    sd_bus_error_free(&error);
    pending_drop.clear();
    return r >= 0;
}

/// One call; false (and a message on stderr) on any error or an unhealthy answer.
bool callOnce(sd_bus* bus, const Options& options) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    const bool scratch = options.method == "CreateScratchDatabase";
    int r = scratch ? sd_bus_call_method(bus, kService, kManagerPath, kManagerInterface, options.method.c_str(), &error,
                                         &reply, "ss", options.name.c_str(), options.snapshot.c_str())
                    : sd_bus_call_method(bus, kService, kManagerPath, kManagerInterface, options.method.c_str(), &error,
                                         &reply, "s", options.name.c_str());
    bool ok = r >= 0;
    if (!ok) {
        std::fprintf(stderr, "dbus_latency: %s failed: %s: %s\n", options.method.c_str(), error.name ? error.name : "?",
                     error.message ? error.message : std::strerror(-r));
    } else if (scratch) {
        const char* database = nullptr;
        const char* uri = nullptr;
        if (sd_bus_message_read(reply, "ss", &database, &uri) < 0 || !database) {
            std::fprintf(stderr, "dbus_latency: CreateScratchDatabase: unexpected reply\n");
            ok = false;
        } else {
            pending_drop = database;
        }
    } else if (options.method == "HealthCheck") {
        int healthy = 0;
        const char* detail = nullptr;
        uint64_t latency = 0;
        if (sd_bus_message_read(reply, "bst", &healthy, &detail, &latency) < 0 || !healthy) {
            std::fprintf(stderr, "dbus_latency: HealthCheck says unhealthy: %s\n", detail ? detail : "?");
            ok = false;
        }
    }
    sd_bus_message_unref(reply);
    sd_bus_error_free(&error);
    return ok;
}

double percentile(const std::vector<double>& sorted, double p) {
    // Nearest rank: the smallest value with at least p of the samples at or below it.
    auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size()) + 0.999999);
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (i + 1 >= argc)
            return usage();
        std::string value = argv[++i];
        if (arg == "--method")
            options.method = value;
        else if (arg == "--name")
            options.name = value;
        else if (arg == "--calls")
            options.calls = std::strtol(value.c_str(), nullptr, 10);
        else if (arg == "--snapshot")
            options.snapshot = value;
        else if (arg == "--warmup")
            options.warmup = std::strtol(value.c_str(), nullptr, 10);
        else
            return usage();
    }
    if ((options.method != "GetAddress" && options.method != "HealthCheck" &&
         options.method != "CreateScratchDatabase") ||
        options.name.empty() || options.calls < 1 || options.warmup < 0)
        return usage();

    sd_bus* bus = nullptr;
    if (int r = sd_bus_open_system(&bus); r < 0) {
        std::fprintf(stderr, "dbus_latency: cannot connect to the system bus: %s\n", std::strerror(-r));
        return 2;
    }
    sd_bus_set_method_call_timeout(bus, kCallTimeoutUsec);

    // Warm-up: activation, the bus's name lookup, page faults of the first calls.
    for (long i = 0; i < options.warmup; ++i)
        if (!callOnce(bus, options) || !drop_pending(bus, options))
            return 1;

    using Clock = std::chrono::steady_clock;
    std::vector<double> usec;
    usec.reserve(static_cast<std::size_t>(options.calls));
    const auto begin = Clock::now();
    for (long i = 0; i < options.calls; ++i) {
        const auto t0 = Clock::now();
        if (!callOnce(bus, options))
            return 1;
        usec.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        if (!drop_pending(bus, options))
            return 1;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    sd_bus_flush_close_unref(bus);

    std::sort(usec.begin(), usec.end());
    std::printf("%s calls=%ld p50_us=%.0f p99_us=%.0f max_us=%.0f calls_per_s=%.0f\n", options.method.c_str(),
                options.calls, percentile(usec, 0.50), percentile(usec, 0.99), usec.back(),
                static_cast<double>(options.calls) / seconds);
    return 0;
}
