// pgnspawnctl: the unprivileged command-line client of pgnspawnd (org.pgnspawn1 on the
// system bus). Synchronous: one connection, no event-loop thread, one call at a time.
#include "instance_proxy.h"
#include "manager_proxy.h"
#include "pgnspawn-config.h"

#include <fmt/core.h>
#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
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
/// Start may run initdb first; Stop waits for a clean shutdown.
constexpr auto kLongCallTimeout = std::chrono::minutes(10);

enum ExitCode : int { kOk = 0, kFailed = 1, kUsage = 2, kUnhealthy = 3 };

constexpr std::string_view kUsageText =
    "Usage: pgnspawnctl [--help|-h] [--version] COMMAND [ARGS]\n"
    "\n"
    "Manage the PostgreSQL containers of pgnspawnd.\n"
    "\n"
    "Commands:\n"
    "  start NAME     Start NAME and wait until it accepts connections\n"
    "  stop NAME      Stop NAME and wait until it has shut down\n"
    "  status [NAME]  Show all instances, or every detail of NAME\n"
    "  address NAME   Print the host and port of NAME\n"
    "  health NAME    Check that NAME answers queries\n"
    "  list           Print each instance and its state\n"
    "  uri NAME       Print the connection URI of NAME (it contains the password)\n"
    "\n"
    "Options:\n"
    "  -h, --help     Show this help and exit\n"
    "      --version  Show the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error, 3 unhealthy.\n";

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
std::string describe(const sdbus::Error& error)
{
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
auto attempt(std::string_view what, Operation&& operation) -> decltype(operation())
{
    try {
        return operation();
    } catch (const sdbus::Error& error) {
        throw CommandFailed(fmt::format("{}: {}", what, describe(error)));
    }
}

class ManagerProxy final : public sdbus::ProxyInterfaces<org::pgnspawn1::Manager_proxy> {
public:
    // registerProxy() is deliberately not called: this client subscribes to no signal,
    // and with no event loop none would ever be dispatched.
    explicit ManagerProxy(sdbus::IConnection& bus) : ProxyInterfaces(bus, kBusName, kManagerPath) {}
    ~ManagerProxy() { unregisterProxy(); }
    ManagerProxy(const ManagerProxy&) = delete;
    ManagerProxy& operator=(const ManagerProxy&) = delete;

    /// Start with a long timeout; the generated Start() uses the 25 s default.
    void startAndWait(const std::string& name) { callLong("Start", name); }
    void stopAndWait(const std::string& name) { callLong("Stop", name); }

private:
    void callLong(const std::string& method, const std::string& name)
    {
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

std::vector<InstanceEntry> listInstances(ManagerProxy& manager)
{
    auto reply = attempt("cannot list the instances", [&] { return manager.ListInstances(); });
    std::vector<InstanceEntry> entries;
    entries.reserve(reply.size());
    for (const auto& item : reply)
        entries.push_back({std::get<0>(item), std::get<1>(item), std::get<2>(item)});
    return entries;
}

std::string formatHealth(bool healthy, const std::string& detail, std::uint64_t latencyUsec)
{
    if (!healthy)
        return fmt::format("unhealthy: {}", detail);
    return fmt::format("healthy: {} ({:.1f} ms)", detail, static_cast<double>(latencyUsec) / 1000.0);
}

// ---- commands -------------------------------------------------------------------------

using Args = std::span<const std::string>;

int cmdStart(sdbus::IConnection& bus, Args args)
{
    ManagerProxy manager(bus);
    attempt(fmt::format("cannot start {}", args[0]), [&] { manager.startAndWait(args[0]); });
    fmt::print("Started {}.\n", args[0]);
    return kOk;
}

int cmdStop(sdbus::IConnection& bus, Args args)
{
    ManagerProxy manager(bus);
    attempt(fmt::format("cannot stop {}", args[0]), [&] { manager.stopAndWait(args[0]); });
    fmt::print("Stopped {}.\n", args[0]);
    return kOk;
}

int cmdList(sdbus::IConnection& bus, Args)
{
    ManagerProxy manager(bus);
    for (const auto& entry : listInstances(manager))
        fmt::print("{} {}\n", entry.name, entry.state);
    return kOk;
}

/// `status` without a name: an aligned NAME/STATE table.
int statusTable(ManagerProxy& manager)
{
    const auto entries = listInstances(manager);
    std::size_t width = std::string_view("NAME").size();
    for (const auto& entry : entries)
        width = std::max(width, entry.name.size());
    fmt::print("{:<{}}  {}\n", "NAME", width, "STATE");
    for (const auto& entry : entries)
        fmt::print("{:<{}}  {}\n", entry.name, width, entry.state);
    return kOk;
}

void printField(std::string_view label, std::string_view value)
{
    fmt::print("{:>9}: {}\n", label, value.empty() ? "-" : value);
}

struct InstanceDetails {
    std::string name, state, database, user, image, unit, machine, lastError;
    std::uint16_t port = 0;
};

/// Reads every Instance property before anything is printed, so a failure prints nothing.
InstanceDetails readDetails(InstanceProxy& instance)
{
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

void printDetails(const InstanceDetails& details)
{
    printField("Name", details.name);
    printField("State", details.state);
    printField("Port", std::to_string(details.port));
    printField("Database", details.database);
    printField("User", details.user);
    printField("Image", details.image);
    printField("Unit", details.unit);
    printField("Machine", details.machine);
    printField("LastError", details.lastError);
}

/// The address and health lines `status NAME` adds for a running instance.
void printLiveDetails(ManagerProxy& manager, const std::string& name)
{
    const auto [host, port] = attempt(fmt::format("cannot get the address of {}", name),
                                      [&] { return manager.GetAddress(name); });
    printField("Address", fmt::format("{} {}", host, port));
    const auto [healthy, detail, latency] = attempt(fmt::format("cannot check the health of {}", name),
                                                    [&] { return manager.HealthCheck(name); });
    printField("Health", formatHealth(healthy, detail, latency));
}

/// `status NAME`: every Instance property; the object path comes from ListInstances.
int statusOne(sdbus::IConnection& bus, ManagerProxy& manager, const std::string& name)
{
    std::optional<InstanceEntry> found;
    for (auto& entry : listInstances(manager))
        if (entry.name == name)
            found = std::move(entry);
    if (!found)
        throw CommandFailed(fmt::format("cannot show the status of {}: no such instance is configured", name));

    InstanceProxy instance(bus, found->path);
    const auto details = attempt(fmt::format("cannot read the properties of {}", name),
                                 [&] { return readDetails(instance); });
    printDetails(details);
    if (details.state == "running")
        printLiveDetails(manager, name);
    return kOk;
}

int cmdStatus(sdbus::IConnection& bus, Args args)
{
    ManagerProxy manager(bus);
    return args.empty() ? statusTable(manager) : statusOne(bus, manager, args[0]);
}

int cmdAddress(sdbus::IConnection& bus, Args args)
{
    ManagerProxy manager(bus);
    const auto [host, port] = attempt(fmt::format("cannot get the address of {}", args[0]),
                                      [&] { return manager.GetAddress(args[0]); });
    fmt::print("{} {}\n", host, port);
    return kOk;
}

int cmdHealth(sdbus::IConnection& bus, Args args)
{
    ManagerProxy manager(bus);
    const auto [healthy, detail, latency] = attempt(fmt::format("cannot check the health of {}", args[0]),
                                                    [&] { return manager.HealthCheck(args[0]); });
    fmt::print("{}\n", formatHealth(healthy, detail, latency));
    return healthy ? kOk : kUnhealthy;
}

int cmdUri(sdbus::IConnection& bus, Args args)
{
    ManagerProxy manager(bus);
    const auto uri = attempt(fmt::format("cannot get the connection URI of {}", args[0]),
                             [&] { return manager.GetConnectionUri(args[0]); });
    fmt::print("{}\n", uri);
    return kOk;
}

struct Command {
    std::size_t minArgs;
    std::size_t maxArgs;
    int (*run)(sdbus::IConnection&, Args);
};

const std::map<std::string_view, Command>& commands()
{
    static const std::map<std::string_view, Command> table{
        {"start", {1, 1, cmdStart}},     {"stop", {1, 1, cmdStop}},     {"status", {0, 1, cmdStatus}},
        {"address", {1, 1, cmdAddress}}, {"health", {1, 1, cmdHealth}}, {"list", {0, 0, cmdList}},
        {"uri", {1, 1, cmdUri}},
    };
    return table;
}

// ---- command line ---------------------------------------------------------------------

struct Invocation {
    bool help = false;
    bool version = false;
    std::vector<std::string> words;  // COMMAND followed by its ARGS
};

/// Options may appear anywhere; "--" ends them (an instance name may begin with '-').
Invocation parseArguments(int argc, char** argv)
{
    Invocation invocation;
    bool optionsEnded = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (optionsEnded || arg.empty() || arg[0] != '-' || arg == "-")
            invocation.words.emplace_back(arg);
        else if (arg == "--")
            optionsEnded = true;
        else if (arg == "--help" || arg == "-h")
            invocation.help = true;
        else if (arg == "--version")
            invocation.version = true;
        else
            throw UsageError(fmt::format("unknown option '{}'", arg));
    }
    return invocation;
}

/// Finds the command and checks its argument count, before anything touches the bus.
const Command& resolveCommand(const Invocation& invocation)
{
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
    return it->second;
}

std::unique_ptr<sdbus::IConnection> connectToSystemBus()
{
    return attempt("cannot connect to the system bus", [] { return sdbus::createSystemBusConnection(); });
}

/// Reports a failed write to stdout (e.g. a full disk) instead of exiting 0 silently.
int finishOutput(int code)
{
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        fmt::print(stderr, "pgnspawnctl: cannot write the output\n");
        return kFailed;
    }
    return code;
}

int run(int argc, char** argv)
{
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
    return command.run(*bus, Args(invocation.words).subspan(1));
}

}  // namespace

int main(int argc, char** argv)
{
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
