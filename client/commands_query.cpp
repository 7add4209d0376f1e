// The commands that ask the daemon and print the answer: status, list, address, health,
// uri and env.
#include "client/bus_calls.hpp"
#include "client/commands.hpp"
#include "client/format.hpp"
#include "client/uri.hpp"

#include <fmt/core.h>

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace pgnspawn::client {

namespace {

/// `status NAME`: every Instance property; the object path comes from ListInstances.
int status_one(sdbus::IConnection& bus, ManagerProxy& manager, const std::string& name, const Options& options) {
    const auto instance = open_instance(bus, manager, name, fmt::format("cannot show the status of {}", name));
    const auto details =
        attempt(fmt::format("cannot read the properties of {}", name), [&] { return read_details(*instance); });
    std::optional<LiveDetails> live;
    if (details.state == "running")
        live = read_live_details(manager, name);
    if (options.json)
        fmt::print("{}\n", details_json(details, live));
    else
        fmt::print("{}", details_text(details, live));
    return kOk;
}

}  // namespace

int cmd_status(sdbus::IConnection& bus, Args args, const Options& options) {
    ManagerProxy manager(bus);
    if (!args.empty())
        return status_one(bus, manager, args[0], options);
    const auto entries = list_instances(manager);
    if (options.json)
        fmt::print("{}\n", instances_json(entries));
    else
        fmt::print("{}", status_table_text(entries));
    return kOk;
}

int cmd_list(sdbus::IConnection& bus, Args, const Options& options) {
    ManagerProxy manager(bus);
    const auto entries = list_instances(manager);
    if (options.json) {
        fmt::print("{}\n", instances_json(entries));
        return kOk;
    }
    for (const auto& entry : entries)
        fmt::print("{} {}\n", entry.name, entry.state);
    return kOk;
}

int cmd_address(sdbus::IConnection& bus, Args args, const Options& options) {
    ManagerProxy manager(bus);
    const auto [host, port] = read_address(manager, args[0]);
    if (options.json)
        fmt::print("{}\n", address_json(host, port));
    else
        fmt::print("{} {}\n", host, port);
    return kOk;
}

int cmd_health(sdbus::IConnection& bus, Args args, const Options& options) {
    ManagerProxy manager(bus);
    const auto health = read_health(manager, args[0]);
    fmt::print("{}\n", options.json ? health_json(health) : health_text(health));
    return health.healthy ? kOk : kUnhealthy;
}

int cmd_uri(sdbus::IConnection& bus, Args args, const Options& options) {
    ManagerProxy manager(bus);
    const auto uri = attempt(fmt::format("cannot get the connection URI of {}", args[0]),
                             [&] { return manager.GetConnectionUri(args[0]); });
    fmt::print("{}\n", options.json ? uri_json(uri) : uri);
    return kOk;
}

/// `env NAME`: DATABASE_URL plus libpq's PG* variables, including PGPASSWORD (the same
/// secret DATABASE_URL carries), so both URI-based tools and bare psql connect.
int cmd_env(sdbus::IConnection& bus, Args args, const Options& options) {
    print_env(bus, args[0], options.fish);
    return kOk;
}

void print_env(sdbus::IConnection& bus, const std::string& name, bool fish) {
    const std::string what = fmt::format("cannot get the environment of {}", name);
    ManagerProxy manager(bus);
    const auto instance = open_instance(bus, manager, name, what);
    const auto user = attempt(what, [&] { return instance->User(); });
    const auto database = attempt(what, [&] { return instance->Database(); });
    const auto [host, port] = attempt(what, [&] { return manager.GetAddress(name); });
    const auto uri = attempt(what, [&] { return manager.GetConnectionUri(name); });

    const std::vector<std::pair<std::string_view, std::string>> variables{
        {"DATABASE_URL", uri}, {"PGHOST", host},         {"PGPORT", std::to_string(port)},
        {"PGUSER", user},      {"PGDATABASE", database}, {"PGPASSWORD", password_from_uri(uri)},
    };
    for (const auto& [variable, value] : variables)
        fmt::print("{}\n", env_assignment(variable, value, fish));
}

}  // namespace pgnspawn::client
