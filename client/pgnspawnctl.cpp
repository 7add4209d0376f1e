// pgnspawnctl: the unprivileged command-line client of pgnspawnd (org.pgnspawn1 on the
// system bus). One connection, no event-loop thread: plain commands make one blocking
// call at a time; start, wait and monitor dispatch signals themselves with poll(2).
#include "instance_proxy.h"
#include "manager_proxy.h"
#include "pgnspawn-config.h"

#include <fmt/core.h>
#include <sdbus-c++/sdbus-c++.h>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace {

constexpr const char* kBusName = "org.pgnspawn1";
constexpr const char* kManagerPath = "/org/pgnspawn1";
constexpr const char* kManagerInterface = "org.pgnspawn1.Manager";
constexpr const char* kInstanceInterface = "org.pgnspawn1.Instance";
/// Start may run initdb first; Stop waits for a clean shutdown.
constexpr auto kLongCallTimeout = std::chrono::minutes(10);

enum ExitCode : int { kOk = 0, kFailed = 1, kUsage = 2, kUnhealthy = 3, kTimedOut = 4 };

constexpr std::string_view kUsageText =
    "Usage: pgnspawnctl [--help|-h] [--version] COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "Manage the PostgreSQL containers of pgnspawnd.\n"
    "\n"
    "Commands:\n"
    "  start NAME [--wait]        Start NAME and wait until it accepts connections;\n"
    "                             on a terminal, show each state with elapsed time\n"
    "  stop NAME                  Stop NAME and wait until it has shut down\n"
    "  wait NAME [--timeout T]    Wait until NAME is running (started by someone else)\n"
    "  status [NAME] [--json]     Show all instances, or every detail of NAME\n"
    "  list [--json]              Print each instance and its state\n"
    "  address NAME [--json]      Print the host and port of NAME\n"
    "  health NAME [--json]       Check that NAME answers queries\n"
    "  uri NAME [--json]          Print the connection URI of NAME (it contains the password)\n"
    "  env NAME [--shell sh|fish] Print DATABASE_URL and PG* variables to eval in a shell\n"
    "                             (they contain the password)\n"
    "  monitor [--json]           Print every state change as it happens\n"
    "  logs NAME [-f] [-n LINES]  Show the journal of NAME's container\n"
    "\n"
    "Options:\n"
    "  -h, --help     Show this help and exit\n"
    "      --version  Show the version and exit\n"
    "  T is a number of seconds, or a number followed by ms, s, m or h (e.g. 30s).\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error, 3 unhealthy, 4 timed out (wait).\n";

/// A wrong command line; main prints it with the usage and exits 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A failed operation, already phrased as one sentence; main prints it and exits 1.
class CommandFailed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Turns a D-Bus error into the part of the sentence after "what failed: ".
std::string describe(const sdbus::Error& error) {
    const std::string& name = error.getName();
    if (name == "org.freedesktop.DBus.Error.ServiceUnknown" || name == "org.freedesktop.DBus.Error.NameHasNoOwner")
        return "the pgnspawn daemon is not running (org.pgnspawn1 is not on the system bus)";
    if (name == "org.freedesktop.DBus.Error.AccessDenied")
        return "permission denied: " + error.getMessage();
    // NoReply also comes from the bus when the daemon exits mid-call (dbus-daemon and
    // dbus-broker both say "disconnected"); "in time" would then send people waiting.
    if (name == "org.freedesktop.DBus.Error.NoReply" && error.getMessage().find("disconnected") != std::string::npos)
        return "the daemon exited without answering";
    if (name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Timeout")
        return "the daemon did not answer in time";
    if (error.getMessage().empty())
        return name;
    return error.getMessage();
}

/// Runs one D-Bus operation; a D-Bus error becomes CommandFailed("WHAT: reason").
template <typename Operation>
auto attempt(std::string_view what, Operation&& operation) -> decltype(operation()) {
    try {
        return operation();
    } catch (const sdbus::Error& error) {
        throw CommandFailed(fmt::format("{}: {}", what, describe(error)));
    }
}

class ManagerProxy final : public sdbus::ProxyInterfaces<org::pgnspawn1::Manager_proxy> {
public:
    // registerProxy() is deliberately not called: the commands that follow signals
    // subscribe with explicit matches (watchSignals), so that the subscription is in
    // place before the state they complement is read.
    explicit ManagerProxy(sdbus::IConnection& bus) : ProxyInterfaces(bus, kBusName, kManagerPath) {}
    ~ManagerProxy() { unregisterProxy(); }
    ManagerProxy(const ManagerProxy&) = delete;
    ManagerProxy& operator=(const ManagerProxy&) = delete;

    /// Start with a long timeout; the generated Start() uses the 25 s default.
    void startAndWait(const std::string& name) { callLong("Start", name); }
    void stopAndWait(const std::string& name) { callLong("Stop", name); }

    /// Sends Start and returns at once; `done` runs from the dispatch loop with the
    /// error, or nullptr on success.
    sdbus::PendingAsyncCall startAsync(const std::string& name, std::function<void(const sdbus::Error*)> done) {
        return getProxy()
            .callMethodAsync("Start")
            .onInterface(INTERFACE_NAME)
            .withTimeout(kLongCallTimeout)
            .withArguments(name)
            .uponReplyInvoke(std::move(done));
    }

private:
    void callLong(const std::string& method, const std::string& name) {
        getProxy().callMethod(method).onInterface(INTERFACE_NAME).withTimeout(kLongCallTimeout).withArguments(name);
    }

    void onStateChanged(const std::string&, const std::string&) override {}
    void onInstanceAdded(const std::string&, const sdbus::ObjectPath&) override {}
    void onInstanceRemoved(const std::string&, const sdbus::ObjectPath&) override {}
};

class InstanceProxy final : public sdbus::ProxyInterfaces<org::pgnspawn1::Instance_proxy> {
public:
    InstanceProxy(sdbus::IConnection& bus, std::string path) : ProxyInterfaces(bus, kBusName, std::move(path)) {}
    ~InstanceProxy() { unregisterProxy(); }
    InstanceProxy(const InstanceProxy&) = delete;
    InstanceProxy& operator=(const InstanceProxy&) = delete;
};

struct InstanceEntry {
    std::string name;
    std::string state;
    std::string path;
};

std::vector<InstanceEntry> listInstances(ManagerProxy& manager) {
    auto reply = attempt("cannot list the instances", [&] { return manager.ListInstances(); });
    std::vector<InstanceEntry> entries;
    entries.reserve(reply.size());
    for (const auto& item : reply)
        entries.push_back({std::get<0>(item), std::get<1>(item), std::get<2>(item)});
    return entries;
}

/// The instance's entry from ListInstances; the daemon's answer is the only source of
/// object paths and proves the name is configured.
InstanceEntry findInstance(ManagerProxy& manager, const std::string& name, std::string_view what) {
    for (auto& entry : listInstances(manager))
        if (entry.name == name)
            return std::move(entry);
    throw CommandFailed(fmt::format("{}: no instance named \"{}\" is configured", what, name));
}

std::string formatHealth(bool healthy, const std::string& detail, std::uint64_t latencyUsec) {
    if (!healthy)
        return fmt::format("unhealthy: {}", detail);
    return fmt::format("healthy: {} ({:.1f} ms)", detail, static_cast<double>(latencyUsec) / 1000.0);
}

// ---- output helpers -------------------------------------------------------------------

/// A JSON string literal. D-Bus strings are valid UTF-8, so only quotes, backslashes and
/// control characters need escaping.
std::string jsonString(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20)
                    out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
                else
                    out += c;
        }
    }
    return out + "\"";
}

/// sh: one single-quoted word; a quote inside becomes '\''.
std::string shQuote(std::string_view value) {
    std::string out = "'";
    for (const char c : value)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

/// fish: inside single quotes only \ and ' are special, each escaped with a backslash.
std::string fishQuote(std::string_view value) {
    std::string out = "'";
    for (const char c : value) {
        if (c == '\'' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "'";
}

std::string percentDecode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned value = 0;
        if (text[i] == '%' && i + 2 < text.size() &&
            std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr == text.data() + i + 3) {
            out += static_cast<char>(value);
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

/// The password in the daemon's `postgresql://user:password@host:port/database`; user
/// and password are percent-encoded there, so the first ':' and the last '@' of the
/// authority delimit it.
std::string passwordFromUri(std::string_view uri) {
    const auto scheme = uri.find("://");
    if (scheme == std::string_view::npos)
        return {};
    std::string_view rest = uri.substr(scheme + 3);
    rest = rest.substr(0, rest.find('/'));
    const auto at = rest.rfind('@');
    if (at == std::string_view::npos)
        return {};
    const std::string_view userinfo = rest.substr(0, at);
    const auto colon = userinfo.find(':');
    return colon == std::string_view::npos ? std::string() : percentDecode(userinfo.substr(colon + 1));
}

double secondsSince(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// ---- signals --------------------------------------------------------------------------

using Clock = std::chrono::steady_clock;

constexpr auto kForever = Clock::time_point::max();

/// Dispatches D-Bus messages until `done()` holds (true) or `deadline` passes (false).
/// Handlers only record what they saw; nothing throws out of them.
template <typename Done>
bool dispatchUntil(sdbus::IConnection& bus, Done&& done, Clock::time_point deadline) {
    for (;;) {
        while (!done() && bus.processPendingRequest()) {
        }
        if (done())
            return true;
        const auto pollData = bus.getEventLoopPollData();
        int timeoutMs = pollData.getPollTimeout();
        if (deadline != kForever) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0)
                return false;
            const int leftMs = static_cast<int>(std::min<long long>(left, 1 << 30));
            timeoutMs = timeoutMs < 0 ? leftMs : std::min(timeoutMs, leftMs);
        }
        pollfd fd{pollData.fd, pollData.events, 0};
        if (::poll(&fd, 1, timeoutMs) < 0 && errno != EINTR)
            throw CommandFailed(fmt::format("cannot wait for the system bus: {}", std::strerror(errno)));
    }
}

/// Match rules are added synchronously (the bus has confirmed them when this returns),
/// so a state read afterwards cannot miss a change.
sdbus::Slot watchSignal(sdbus::IConnection& bus, const std::string& rule, sdbus::message_handler handler) {
    return attempt("cannot subscribe to the daemon's signals", [&] { return bus.addMatch(rule, std::move(handler)); });
}

std::string managerSignalRule(std::string_view member) {
    return fmt::format("type='signal',sender='{}',path='{}',interface='{}',member='{}'", kBusName, kManagerPath,
                       kManagerInterface, member);
}

/// Follows one instance's State through PropertiesChanged; the daemon restarting
/// (a new owner of org.pgnspawn1) makes the caller read State again.
class StateWatch {
public:
    StateWatch(sdbus::IConnection& bus, const InstanceEntry& entry) : name_(entry.name) {
        changed_ =
            watchSignal(bus,
                        fmt::format("type='signal',sender='{}',path='{}',interface='org.freedesktop.DBus.Properties',"
                                    "member='PropertiesChanged',arg0='{}'",
                                    kBusName, entry.path, kInstanceInterface),
                        [this](sdbus::Message& message) { onPropertiesChanged(message); });
        removed_ = watchSignal(bus, managerSignalRule("InstanceRemoved"), [this](sdbus::Message& message) {
            std::string name;
            message >> name;
            if (name == name_)
                removed = true;
        });
        owner_ = watchSignal(bus,
                             fmt::format("type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                                         "member='NameOwnerChanged',arg0='{}'",
                                         kBusName),
                             [this](sdbus::Message& message) {
                                 std::string name, oldOwner, newOwner;
                                 message >> name >> oldOwner >> newOwner;
                                 if (!newOwner.empty())
                                     daemonRestarted = true;
                             });
    }

    /// States seen since the last call, oldest first.
    std::vector<std::string> takeStates() { return std::exchange(states_, {}); }
    /// States and the phases of a start (the Phase property) as they came, for progress.
    std::vector<std::string> takeProgress() { return std::exchange(progress_, {}); }
    bool pending() const { return !states_.empty() || removed || daemonRestarted; }

    bool removed = false;
    bool daemonRestarted = false;

private:
    void onPropertiesChanged(sdbus::Message& message) {
        std::string interface;
        std::map<std::string, sdbus::Variant> changed;
        std::vector<std::string> invalidated;
        message >> interface >> changed >> invalidated;
        const auto it = changed.find("State");
        if (it != changed.end() && it->second.containsValueOfType<std::string>()) {
            states_.push_back(it->second.get<std::string>());
            progress_.push_back(states_.back());
        }
        // "ready" says no more than the state "running" that comes with it.
        const auto phase = changed.find("Phase");
        if (phase != changed.end() && phase->second.containsValueOfType<std::string>()) {
            const auto value = phase->second.get<std::string>();
            if (!value.empty() && value != "ready")
                progress_.push_back(value);
        }
    }

    std::string name_;
    std::vector<std::string> states_;
    std::vector<std::string> progress_;
    sdbus::Slot changed_, removed_, owner_;
};

/// Progress lines on stderr, only when it is a terminal.
class Progress {
public:
    explicit Progress(std::string name) : name_(std::move(name)), enabled_(::isatty(STDERR_FILENO) == 1) {}

    void state(const std::string& state) {
        if (!enabled_ || state == last_)
            return;
        last_ = state;
        fmt::print(stderr, "{}: {} ({:.1f} s)\n", name_, state, secondsSince(started_));
    }

private:
    std::string name_;
    bool enabled_;
    std::string last_;
    Clock::time_point started_ = Clock::now();
};

// ---- options --------------------------------------------------------------------------

enum OptionFlag : unsigned {
    kOptJson = 1u << 0,
    kOptWait = 1u << 1,
    kOptTimeout = 1u << 2,
    kOptShell = 1u << 3,
    kOptFollow = 1u << 4,
    kOptLines = 1u << 5,
};

struct Options {
    unsigned given = 0;  // OptionFlag bits seen on the command line
    bool json = false;
    std::optional<std::chrono::milliseconds> timeout;
    bool fish = false;
    std::string lines;
};

using Args = std::span<const std::string>;

// ---- commands -------------------------------------------------------------------------

int cmdStart(sdbus::IConnection& bus, Args args, const Options&) {
    const std::string& name = args[0];
    const std::string what = fmt::format("cannot start {}", name);
    ManagerProxy manager(bus);
    if (::isatty(STDERR_FILENO) != 1) {
        attempt(what, [&] { manager.startAndWait(name); });
        fmt::print("Started {}.\n", name);
        return kOk;
    }

    // On a terminal: subscribe, read the state, send Start and show every state until
    // Start answers.
    const auto entry = findInstance(manager, name, what);
    StateWatch watch(bus, entry);
    InstanceProxy instance(bus, entry.path);
    Progress progress(name);
    progress.state(attempt(what, [&] { return instance.State(); }));
    bool answered = false;
    std::optional<std::string> failure;
    auto call = attempt(what, [&] {
        return manager.startAsync(name, [&](const sdbus::Error* error) {
            answered = true;
            if (error != nullptr)
                failure = describe(*error);
        });
    });
    dispatchUntil(
        bus,
        [&] {
            for (const auto& step : watch.takeProgress())
                progress.state(step);
            return answered;
        },
        kForever);
    if (failure)
        throw CommandFailed(fmt::format("{}: {}", what, *failure));
    progress.state("running");
    fmt::print("Started {}.\n", name);
    return kOk;
}

int cmdStop(sdbus::IConnection& bus, Args args, const Options&) {
    ManagerProxy manager(bus);
    attempt(fmt::format("cannot stop {}", args[0]), [&] { manager.stopAndWait(args[0]); });
    fmt::print("Stopped {}.\n", args[0]);
    return kOk;
}

/// Waits for State == running: subscribes first, then reads State, so a change between
/// the two cannot be missed. No polling: the process sleeps in poll(2) on the bus.
int cmdWait(sdbus::IConnection& bus, Args args, const Options& options) {
    const std::string& name = args[0];
    const std::string what = fmt::format("cannot wait for {}", name);
    const auto deadline = options.timeout ? Clock::now() + *options.timeout : kForever;
    ManagerProxy manager(bus);
    const auto entry = findInstance(manager, name, what);
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
        if (!dispatchUntil(
                bus, [&] { return watch.pending(); }, deadline)) {
            fmt::print(stderr, "pgnspawnctl: timed out waiting for {} to be running (it is {})\n", name, state);
            return kTimedOut;
        }
        if (watch.removed)
            throw CommandFailed(fmt::format("{}: it was removed from the configuration", what));
        // Every state is shown; the first running or failed ends the wait.
        for (const auto& seen : watch.takeStates()) {
            state = seen;
            if (state == "running" || state == "failed")
                break;
            progress.state(state);
        }
        if (std::exchange(watch.daemonRestarted, false))
            state = attempt(what, [&] { return instance.State(); });
    }
}

/// `list` and `status` without a name, as JSON.
void printInstancesJson(const std::vector<InstanceEntry>& entries) {
    std::string out = "{\"instances\":[";
    for (std::size_t i = 0; i < entries.size(); ++i)
        out += fmt::format("{}{{\"name\":{},\"state\":{},\"object_path\":{}}}", i == 0 ? "" : ",",
                           jsonString(entries[i].name), jsonString(entries[i].state), jsonString(entries[i].path));
    fmt::print("{}]}}\n", out);
}

int cmdList(sdbus::IConnection& bus, Args, const Options& options) {
    ManagerProxy manager(bus);
    const auto entries = listInstances(manager);
    if (options.json) {
        printInstancesJson(entries);
        return kOk;
    }
    for (const auto& entry : entries)
        fmt::print("{} {}\n", entry.name, entry.state);
    return kOk;
}

/// `status` without a name: an aligned NAME/STATE table.
int statusTable(ManagerProxy& manager, const Options& options) {
    const auto entries = listInstances(manager);
    if (options.json) {
        printInstancesJson(entries);
        return kOk;
    }
    std::size_t width = std::string_view("NAME").size();
    for (const auto& entry : entries)
        width = std::max(width, entry.name.size());
    fmt::print("{:<{}}  {}\n", "NAME", width, "STATE");
    for (const auto& entry : entries)
        fmt::print("{:<{}}  {}\n", entry.name, width, entry.state);
    return kOk;
}

void printField(std::string_view label, std::string_view value) {
    fmt::print("{:>9}: {}\n", label, value.empty() ? "-" : value);
}

struct InstanceDetails {
    std::string name, state, database, user, image, unit, machine, lastError;
    std::uint16_t port = 0;
};

/// Reads every Instance property before anything is printed, so a failure prints nothing.
InstanceDetails readDetails(InstanceProxy& instance) {
    InstanceDetails details;
    details.name = instance.Name();
    details.state = instance.State();
    details.port = instance.Port();
    details.database = instance.Database();
    details.user = instance.User();
    details.image = instance.Image();
    details.unit = instance.Unit();
    details.machine = instance.Machine();
    details.lastError = instance.LastError();
    return details;
}

struct LiveDetails {
    std::string host;
    std::uint16_t port = 0;
    bool healthy = false;
    std::string detail;
    std::uint64_t latencyUsec = 0;
};

/// The address and health `status NAME` adds for a running instance.
LiveDetails readLiveDetails(ManagerProxy& manager, const std::string& name) {
    LiveDetails live;
    std::tie(live.host, live.port) =
        attempt(fmt::format("cannot get the address of {}", name), [&] { return manager.GetAddress(name); });
    std::tie(live.healthy, live.detail, live.latencyUsec) =
        attempt(fmt::format("cannot check the health of {}", name), [&] { return manager.HealthCheck(name); });
    return live;
}

void printDetails(const InstanceDetails& details, const std::optional<LiveDetails>& live) {
    printField("Name", details.name);
    printField("State", details.state);
    printField("Port", std::to_string(details.port));
    printField("Database", details.database);
    printField("User", details.user);
    printField("Image", details.image);
    printField("Unit", details.unit);
    printField("Machine", details.machine);
    printField("LastError", details.lastError);
    if (live) {
        printField("Address", fmt::format("{} {}", live->host, live->port));
        printField("Health", formatHealth(live->healthy, live->detail, live->latencyUsec));
    }
}

std::string addressJson(const std::string& host, std::uint16_t port) {
    return fmt::format("{{\"host\":{},\"port\":{}}}", jsonString(host), port);
}

std::string healthJson(bool healthy, const std::string& detail, std::uint64_t latencyUsec) {
    return fmt::format("{{\"healthy\":{},\"detail\":{},\"latency_usec\":{}}}", healthy, jsonString(detail),
                       latencyUsec);
}

void printDetailsJson(const InstanceDetails& details, const std::optional<LiveDetails>& live) {
    fmt::print(
        "{{\"name\":{},\"state\":{},\"port\":{},\"database\":{},\"user\":{},\"image\":{},\"unit\":{},"
        "\"machine\":{},\"last_error\":{},\"address\":{},\"health\":{}}}\n",
        jsonString(details.name), jsonString(details.state), details.port, jsonString(details.database),
        jsonString(details.user), jsonString(details.image), jsonString(details.unit), jsonString(details.machine),
        jsonString(details.lastError), live ? addressJson(live->host, live->port) : "null",
        live ? healthJson(live->healthy, live->detail, live->latencyUsec) : "null");
}

/// `status NAME`: every Instance property; the object path comes from ListInstances.
int statusOne(sdbus::IConnection& bus, ManagerProxy& manager, const std::string& name, const Options& options) {
    const auto entry = findInstance(manager, name, fmt::format("cannot show the status of {}", name));
    InstanceProxy instance(bus, entry.path);
    const auto details =
        attempt(fmt::format("cannot read the properties of {}", name), [&] { return readDetails(instance); });
    std::optional<LiveDetails> live;
    if (details.state == "running")
        live = readLiveDetails(manager, name);
    if (options.json)
        printDetailsJson(details, live);
    else
        printDetails(details, live);
    return kOk;
}

int cmdStatus(sdbus::IConnection& bus, Args args, const Options& options) {
    ManagerProxy manager(bus);
    return args.empty() ? statusTable(manager, options) : statusOne(bus, manager, args[0], options);
}

int cmdAddress(sdbus::IConnection& bus, Args args, const Options& options) {
    ManagerProxy manager(bus);
    const auto [host, port] =
        attempt(fmt::format("cannot get the address of {}", args[0]), [&] { return manager.GetAddress(args[0]); });
    if (options.json)
        fmt::print("{}\n", addressJson(host, port));
    else
        fmt::print("{} {}\n", host, port);
    return kOk;
}

int cmdHealth(sdbus::IConnection& bus, Args args, const Options& options) {
    ManagerProxy manager(bus);
    const auto [healthy, detail, latency] =
        attempt(fmt::format("cannot check the health of {}", args[0]), [&] { return manager.HealthCheck(args[0]); });
    if (options.json)
        fmt::print("{}\n", healthJson(healthy, detail, latency));
    else
        fmt::print("{}\n", formatHealth(healthy, detail, latency));
    return healthy ? kOk : kUnhealthy;
}

int cmdUri(sdbus::IConnection& bus, Args args, const Options& options) {
    ManagerProxy manager(bus);
    const auto uri = attempt(fmt::format("cannot get the connection URI of {}", args[0]),
                             [&] { return manager.GetConnectionUri(args[0]); });
    if (options.json)
        fmt::print("{{\"uri\":{}}}\n", jsonString(uri));
    else
        fmt::print("{}\n", uri);
    return kOk;
}

/// `env NAME`: DATABASE_URL plus libpq's PG* variables, including PGPASSWORD (the same
/// secret DATABASE_URL carries), so both URI-based tools and bare psql connect.
int cmdEnv(sdbus::IConnection& bus, Args args, const Options& options) {
    const std::string& name = args[0];
    const std::string what = fmt::format("cannot get the environment of {}", name);
    ManagerProxy manager(bus);
    const auto entry = findInstance(manager, name, what);
    InstanceProxy instance(bus, entry.path);
    const auto user = attempt(what, [&] { return instance.User(); });
    const auto database = attempt(what, [&] { return instance.Database(); });
    const auto [host, port] = attempt(what, [&] { return manager.GetAddress(name); });
    const auto uri = attempt(what, [&] { return manager.GetConnectionUri(name); });

    const std::vector<std::pair<std::string_view, std::string>> variables{
        {"DATABASE_URL", uri}, {"PGHOST", host},         {"PGPORT", std::to_string(port)},
        {"PGUSER", user},      {"PGDATABASE", database}, {"PGPASSWORD", passwordFromUri(uri)},
    };
    for (const auto& [variable, value] : variables) {
        if (options.fish)
            fmt::print("set -gx {} {};\n", variable, fishQuote(value));
        else
            fmt::print("export {}={}\n", variable, shQuote(value));
    }
    return kOk;
}

/// `monitor`: the current state of every instance, then every change, one line each,
/// flushed at once (the reader is usually a pipe). Runs until killed.
int cmdMonitor(sdbus::IConnection& bus, Args, const Options& options) {
    const auto emit = [&](std::string_view event, const std::string& name, const std::string& state) {
        const auto now =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
        if (options.json)
            fmt::print("{{\"event\":{},\"name\":{},\"state\":{},\"time_usec\":{}}}\n", jsonString(event),
                       jsonString(name), state.empty() ? "null" : jsonString(state), now.count());
        else
            fmt::print("{} {}\n", name, event == "state" || event == "initial" ? state : std::string(event));
        std::fflush(stdout);
    };
    auto onSignal = [&](std::string_view event) {
        return [&, event](sdbus::Message& message) {
            std::string name, arg;
            message >> name;
            if (event == "state")
                message >> arg;
            emit(event, name, arg);
        };
    };
    const auto stateSlot = watchSignal(bus, managerSignalRule("StateChanged"), onSignal("state"));
    const auto addedSlot = watchSignal(bus, managerSignalRule("InstanceAdded"), onSignal("added"));
    const auto removedSlot = watchSignal(bus, managerSignalRule("InstanceRemoved"), onSignal("removed"));

    ManagerProxy manager(bus);
    for (const auto& entry : listInstances(manager))
        emit("initial", entry.name, entry.state);
    dispatchUntil(
        bus, [] { return std::ferror(stdout) != 0; }, kForever);
    return kFailed;
}

/// `logs NAME`: the journal of the instance's unit, as the daemon names it. NAME is
/// checked against the daemon's list first, so journalctl never sees a made-up unit.
int cmdLogs(sdbus::IConnection& bus, Args args, const Options& options) {
    const std::string& name = args[0];
    const std::string what = fmt::format("cannot show the logs of {}", name);
    ManagerProxy manager(bus);
    const auto entry = findInstance(manager, name, what);
    InstanceProxy instance(bus, entry.path);
    const std::string unit = attempt(what, [&] { return instance.Unit(); });

    std::vector<std::string> argv{"journalctl", "--no-pager", "-u", unit};
    if (options.given & kOptFollow)
        argv.emplace_back("--follow");
    if (options.given & kOptLines)
        argv.push_back("--lines=" + options.lines);
    std::vector<char*> cargv;
    for (auto& arg : argv)
        cargv.push_back(arg.data());
    cargv.push_back(nullptr);
    std::fflush(stdout);
    ::execvp(cargv[0], cargv.data());
    throw CommandFailed(fmt::format("{}: cannot run journalctl: {}", what, std::strerror(errno)));
}

struct Command {
    std::size_t minArgs;
    std::size_t maxArgs;
    unsigned options;  // OptionFlag bits this command accepts
    int (*run)(sdbus::IConnection&, Args, const Options&);
};

const std::map<std::string_view, Command>& commands() {
    static const std::map<std::string_view, Command> table{
        {"start", {1, 1, kOptWait, cmdStart}},
        {"stop", {1, 1, 0, cmdStop}},
        {"wait", {1, 1, kOptTimeout, cmdWait}},
        {"status", {0, 1, kOptJson, cmdStatus}},
        {"list", {0, 0, kOptJson, cmdList}},
        {"address", {1, 1, kOptJson, cmdAddress}},
        {"health", {1, 1, kOptJson, cmdHealth}},
        {"uri", {1, 1, kOptJson, cmdUri}},
        {"env", {1, 1, kOptShell, cmdEnv}},
        {"monitor", {0, 0, kOptJson, cmdMonitor}},
        {"logs", {1, 1, kOptFollow | kOptLines, cmdLogs}},
    };
    return table;
}

// ---- command line ---------------------------------------------------------------------

struct Invocation {
    bool help = false;
    bool version = false;
    Options options;
    std::vector<std::string> words;  // COMMAND followed by its ARGS
};

/// "30s", "500ms", "2m", "1h" or a bare number of seconds; fractions allowed.
std::chrono::milliseconds parseDuration(std::string_view text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    double factor = 0;
    if (unit.empty() || unit == "s")
        factor = 1000;
    else if (unit == "ms")
        factor = 1;
    else if (unit == "m" || unit == "min")
        factor = 60'000;
    else if (unit == "h")
        factor = 3'600'000;
    if (ec != std::errc() || factor == 0 || value < 0 || value * factor > 1e12)
        throw UsageError(fmt::format("invalid duration '{}' (examples: 30s, 500ms, 2m)", text));
    return std::chrono::milliseconds(static_cast<std::int64_t>(value * factor));
}

/// Options may appear anywhere; "--" ends them (an instance name may begin with '-').
/// Options with a value take it as the next word or after '='.
Invocation parseArguments(int argc, char** argv) {
    Invocation invocation;
    Options& options = invocation.options;
    bool optionsEnded = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (optionsEnded || arg.empty() || arg[0] != '-' || arg == "-") {
            invocation.words.emplace_back(arg);
            continue;
        }
        const auto eq = arg.find('=');
        const std::string_view key = arg.substr(0, eq);
        const auto value = [&]() -> std::string_view {
            if (eq != std::string_view::npos)
                return arg.substr(eq + 1);
            if (i + 1 >= argc)
                throw UsageError(fmt::format("option '{}' needs a value", key));
            return argv[++i];
        };
        const auto flagOnly = [&] {
            if (eq != std::string_view::npos)
                throw UsageError(fmt::format("option '{}' takes no value", key));
        };
        if (arg == "--")
            optionsEnded = true;
        else if (arg == "--help" || arg == "-h")
            invocation.help = true;
        else if (arg == "--version")
            invocation.version = true;
        else if (key == "--json") {
            flagOnly();
            options.json = true;
            options.given |= kOptJson;
        } else if (key == "--wait") {
            flagOnly();
            options.given |= kOptWait;
        } else if (key == "-f" || key == "--follow") {
            flagOnly();
            options.given |= kOptFollow;
        } else if (key == "--timeout") {
            options.timeout = parseDuration(value());
            options.given |= kOptTimeout;
        } else if (key == "--shell") {
            const std::string_view shell = value();
            if (shell == "fish")
                options.fish = true;
            else if (shell != "sh" && shell != "bash" && shell != "zsh" && shell != "dash")
                throw UsageError(fmt::format("unknown shell '{}' (sh, bash, zsh, dash or fish)", shell));
            options.given |= kOptShell;
        } else if (key == "-n" || key == "--lines") {
            const std::string_view lines = value();
            unsigned count = 0;
            if (lines.empty() ||
                std::from_chars(lines.data(), lines.data() + lines.size(), count).ptr != lines.data() + lines.size())
                throw UsageError(fmt::format("invalid number of lines '{}'", lines));
            options.lines = std::to_string(count);
            options.given |= kOptLines;
        } else
            throw UsageError(fmt::format("unknown option '{}'", arg));
    }
    return invocation;
}

/// Finds the command and checks its arguments and options, before anything touches the bus.
const Command& resolveCommand(const Invocation& invocation) {
    if (invocation.words.empty())
        throw UsageError("no command given");
    const std::string& name = invocation.words.front();
    const auto it = commands().find(name);
    if (it == commands().end())
        throw UsageError(fmt::format("unknown command '{}'", name));
    const std::size_t count = invocation.words.size() - 1;
    if (count < it->second.minArgs)
        throw UsageError(fmt::format("'{}' needs an instance name", name));
    if (count > it->second.maxArgs)
        throw UsageError(fmt::format("too many arguments for '{}'", name));
    if ((invocation.options.given & ~it->second.options) != 0)
        throw UsageError(fmt::format("an option given does not apply to '{}'", name));
    return it->second;
}

std::unique_ptr<sdbus::IConnection> connectToSystemBus() {
    return attempt("cannot connect to the system bus", [] { return sdbus::createSystemBusConnection(); });
}

/// Reports a failed write to stdout (e.g. a full disk) instead of exiting 0 silently.
int finishOutput(int code) {
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        fmt::print(stderr, "pgnspawnctl: cannot write the output\n");
        return kFailed;
    }
    return code;
}

int run(int argc, char** argv) {
    const Invocation invocation = parseArguments(argc, argv);
    if (invocation.help) {
        fmt::print("{}", kUsageText);
        return kOk;
    }
    if (invocation.version) {
        fmt::print("pgnspawnctl {}\n", PGNSPAWN_VERSION);
        return kOk;
    }
    const Command& command = resolveCommand(invocation);
    const auto bus = connectToSystemBus();
    return command.run(*bus, Args(invocation.words).subspan(1), invocation.options);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return finishOutput(run(argc, argv));
    } catch (const UsageError& error) {
        fmt::print(stderr, "pgnspawnctl: {}\n\n{}", error.what(), kUsageText);
        return kUsage;
    } catch (const CommandFailed& error) {
        fmt::print(stderr, "pgnspawnctl: {}\n", error.what());
    } catch (const sdbus::Error& error) {
        fmt::print(stderr, "pgnspawnctl: {}\n", describe(error));
    } catch (const std::exception& error) {
        fmt::print(stderr, "pgnspawnctl: {}\n", error.what());
    }
    std::fflush(stdout);
    return kFailed;
}
