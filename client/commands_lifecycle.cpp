// The commands that change or follow an instance's state: start, stop, wait, monitor
// and logs. start, wait and monitor dispatch the daemon's signals themselves.
#include "client/bus_calls.hpp"
#include "client/commands.hpp"
#include "client/format.hpp"
#include "client/signals.hpp"

#include <fmt/core.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace pgnspawn::client {

namespace {

/// Progress lines on stderr, only when it is a terminal.
class Progress {
public:
    explicit Progress(std::string name) : name_(std::move(name)), enabled_(::isatty(STDERR_FILENO) == 1) {}

    void state(const std::string& state) {
        if (!enabled_ || state == last_)
            return;
        last_ = state;
        const double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
        fmt::print(stderr, "{}: {} ({:.1f} s)\n", name_, state, elapsed);
    }

private:
    std::string name_;
    bool enabled_;
    std::string last_;
    Clock::time_point started_ = Clock::now();
};

/// On a terminal: subscribe, read the state, send Start and show every state and phase
/// until Start answers.
void start_with_progress(sdbus::IConnection& bus, ManagerProxy& manager, const std::string& name,
                         const std::string& what) {
    const auto entry = find_instance(manager, name, what);
    StateWatch watch(bus, entry);
    InstanceProxy instance(bus, entry.path);
    Progress progress(name);
    progress.state(attempt(what, [&] { return instance.State(); }));
    bool answered = false;
    std::optional<std::string> failure;
    auto call = attempt(what, [&] {
        return manager.start_async(name, [&](const sdbus::Error* error) {
            answered = true;
            if (error != nullptr)
                failure = describe(*error);
        });
    });
    dispatch_until(
        bus,
        [&] {
            for (const auto& step : watch.take_progress())
                progress.state(step);
            return answered;
        },
        kForever);
    if (failure)
        throw CommandFailed(fmt::format("{}: {}", what, *failure));
    progress.state("running");
}

}  // namespace

int cmd_start(sdbus::IConnection& bus, Args args, const Options&) {
    const std::string& name = args[0];
    const std::string what = fmt::format("cannot start {}", name);
    ManagerProxy manager(bus);
    if (::isatty(STDERR_FILENO) == 1)
        start_with_progress(bus, manager, name, what);
    else
        attempt(what, [&] { manager.start_and_wait(name); });
    fmt::print("Started {}.\n", name);
    return kOk;
}

int cmd_stop(sdbus::IConnection& bus, Args args, const Options&) {
    ManagerProxy manager(bus);
    attempt(fmt::format("cannot stop {}", args[0]), [&] { manager.stop_and_wait(args[0]); });
    fmt::print("Stopped {}.\n", args[0]);
    return kOk;
}

/// Waits for State == running: subscribes first, then reads State, so a change between
/// the two cannot be missed. No polling: the process sleeps in poll(2) on the bus.
int cmd_wait(sdbus::IConnection& bus, Args args, const Options& options) {
    const std::string& name = args[0];
    const std::string what = fmt::format("cannot wait for {}", name);
    const auto deadline = options.timeout ? Clock::now() + *options.timeout : kForever;
    ManagerProxy manager(bus);
    const auto entry = find_instance(manager, name, what);
    StateWatch watch(bus, entry);
    InstanceProxy instance(bus, entry.path);
    Progress progress(name);

    std::string state = attempt(what, [&] { return instance.State(); });
    for (;;) {
        progress.state(state);
        if (state == "running")
            return kOk;
        if (state == "failed") {
            const auto error = attempt(what, [&] { return instance.LastError(); });
            throw CommandFailed(fmt::format("{} failed: {}", name, error.empty() ? "no reason given" : error));
        }
        if (!dispatch_until(
                bus, [&] { return watch.pending(); }, deadline)) {
            fmt::print(stderr, "pgnspawnctl: timed out waiting for {} to be running (it is {})\n", name, state);
            return kTimedOut;
        }
        if (watch.removed)
            throw CommandFailed(fmt::format("{}: it was removed from the configuration", what));
        // Every state is shown; the first running or failed ends the wait.
        for (const auto& seen : watch.take_states()) {
            state = seen;
            if (state == "running" || state == "failed")
                break;
            progress.state(state);
        }
        if (std::exchange(watch.daemon_restarted, false))
            state = attempt(what, [&] { return instance.State(); });
    }
}

/// `monitor`: the current state of every instance, then every change, one line each,
/// flushed at once (the reader is usually a pipe). Runs until killed.
int cmd_monitor(sdbus::IConnection& bus, Args, const Options& options) {
    const auto emit = [&](std::string_view event, const std::string& name, const std::string& state) {
        const auto now =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
        if (options.json)
            fmt::print("{}\n", monitor_event_json(event, name, state, now.count()));
        else
            fmt::print("{} {}\n", name, event == "state" || event == "initial" ? state : std::string(event));
        std::fflush(stdout);
    };
    auto on_signal = [&](std::string_view event) {
        return [&, event](sdbus::Message& message) {
            std::string name, arg;
            message >> name;
            if (event == "state")
                message >> arg;
            emit(event, name, arg);
        };
    };
    const auto state_slot = watch_signal(bus, manager_signal_rule("StateChanged"), on_signal("state"));
    const auto added_slot = watch_signal(bus, manager_signal_rule("InstanceAdded"), on_signal("added"));
    const auto removed_slot = watch_signal(bus, manager_signal_rule("InstanceRemoved"), on_signal("removed"));

    ManagerProxy manager(bus);
    for (const auto& entry : list_instances(manager))
        emit("initial", entry.name, entry.state);
    dispatch_until(
        bus, [] { return std::ferror(stdout) != 0; }, kForever);
    return kFailed;
}

/// `logs NAME`: the journal of the instance's unit, as the daemon names it. NAME is
/// checked against the daemon's list first, so journalctl never sees a made-up unit.
int cmd_logs(sdbus::IConnection& bus, Args args, const Options& options) {
    const std::string& name = args[0];
    const std::string what = fmt::format("cannot show the logs of {}", name);
    ManagerProxy manager(bus);
    const auto instance = open_instance(bus, manager, name, what);
    const std::string unit = attempt(what, [&] { return instance->Unit(); });

    std::vector<std::string> argv{"journalctl", "--no-pager", "-u", unit};
    if (options.given & kOptFollow)
        argv.emplace_back("--follow");
    if (options.given & kOptLines)
        argv.push_back("--lines=" + options.lines);
    exec_command(argv, what);
}

void exec_command(std::vector<std::string> argv, const std::string& what) {
    std::vector<char*> cargv;
    for (auto& arg : argv)
        cargv.push_back(arg.data());
    cargv.push_back(nullptr);
    std::fflush(stdout);
    ::execvp(cargv[0], cargv.data());
    throw CommandFailed(fmt::format("{}: cannot run {}: {}", what, argv[0], std::strerror(errno)));
}

}  // namespace pgnspawn::client
