// An instance of one's own: `create` and `destroy` (CreateInstance, DestroyInstance),
// `up` (create if missing, start, print the env lines, for `eval "$(pgnspawnctl up)"`)
// and `psql` (psql with the instance's URI; the password only in its environment).
#include "client/bus_calls.hpp"
#include "client/commands.hpp"
#include "client/errors.hpp"
#include "client/project.hpp"
#include "client/uri.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <vector>

namespace pgnspawn::client {

namespace {

std::map<std::string, sdbus::Variant> settings_of(const CreateSettings& s) {
    std::map<std::string, sdbus::Variant> out;
    if (s.port)
        out["port"] = sdbus::Variant(*s.port);
    for (const auto& [key, value] : {std::pair{"database", &s.database},
                                     {"user", &s.user},
                                     {"version", &s.version},
                                     {"durability", &s.durability}})
        if (!value->empty())
            out[key] = sdbus::Variant(*value);
    if (s.createdb)
        out["createdb"] = sdbus::Variant(*s.createdb);
    if (s.ephemeral)
        out["ephemeral"] = sdbus::Variant(true);
    return out;
}

/// CreateInstance, then the port the daemon gave the instance.
std::uint16_t create(sdbus::IConnection& bus, ManagerProxy& manager, const std::string& name,
                     const CreateSettings& settings) {
    const std::string what = fmt::format("cannot create {}", name);
    const auto path = attempt(what, [&] { return manager.CreateInstance(name, settings_of(settings)); });
    InstanceProxy instance(bus, path);
    return attempt(what, [&] { return instance.Port(); });
}

bool exists(ManagerProxy& manager, const std::string& name) {
    for (const auto& entry : list_instances(manager))
        if (entry.name == name)
            return true;
    return false;
}

/// NAME, or the project's: the git top-level directory's name, else the current one's.
std::string project_instance_name(Args args) {
    if (!args.empty())
        return args[0];
    std::error_code ec;
    const auto cwd = std::filesystem::current_path(ec);
    if (ec)
        throw CommandFailed(fmt::format("cannot find the current directory: {}", ec.message()));
    const auto top = git_top_level(cwd);
    const auto& dir = top.empty() ? cwd : top;
    const std::string name = instance_name_from(dir.filename().string());
    if (name.empty())
        throw CommandFailed(fmt::format(
            "cannot make an instance name from the directory {}; give one: pgnspawnctl up NAME", dir.string()));
    fmt::print(stderr, "pgnspawnctl: instance {} (named after {} {})\n", name,
               top.empty() ? "the current directory" : "the git top-level directory", dir.string());
    return name;
}

}  // namespace

int cmd_create(sdbus::IConnection& bus, Args args, const Options& options) {
    ManagerProxy manager(bus);
    const auto port = create(bus, manager, args[0], options.create);
    fmt::print("Created {} on port {}.\n", args[0], port);
    return kOk;
}

int cmd_destroy(sdbus::IConnection& bus, Args args, const Options& options) {
    const std::string& name = args[0];
    if (!(options.given & kOptYes)) {
        if (::isatty(STDIN_FILENO) != 1)
            throw CommandFailed(fmt::format(
                "not destroying {}: standard input is not a terminal to ask on; add --yes to destroy it", name));
        fmt::print(stderr, "Destroy {} and delete its data for good? [y/N] ", name);
        std::fflush(stderr);
        std::string answer;
        std::getline(std::cin, answer);
        if (answer != "y" && answer != "Y" && answer != "yes") {
            fmt::print(stderr, "Not destroyed.\n");
            return kFailed;
        }
    }
    ManagerProxy manager(bus);
    attempt(fmt::format("cannot destroy {}", name), [&] { manager.destroy_and_wait(name); });
    fmt::print("Destroyed {}.\n", name);
    return kOk;
}

int cmd_up(sdbus::IConnection& bus, Args args, const Options& options) {
    const std::string name = project_instance_name(args);
    ManagerProxy manager(bus);
    if (!exists(manager, name)) {
        const auto port = create(bus, manager, name, options.create);
        fmt::print(stderr, "pgnspawnctl: created {} on port {}\n", name, port);
    }
    attempt(fmt::format("cannot start {}", name), [&] { manager.start_and_wait(name); });
    print_env(bus, name, options.fish);
    return kOk;
}

int cmd_psql(sdbus::IConnection& bus, Args args, const Options&) {
    const std::string& name = args[0];
    const std::string what = fmt::format("cannot connect psql to {}", name);
    ManagerProxy manager(bus);
    const auto uri = attempt(what, [&] { return manager.GetConnectionUri(name); });
    // The password goes in the environment: argv is readable by every user (ps).
    if (setenv("PGPASSWORD", password_from_uri(uri).c_str(), 1) != 0)
        throw CommandFailed(fmt::format("{}: cannot set PGPASSWORD: {}", what, std::strerror(errno)));
    std::vector<std::string> argv{"psql", uri_without_password(uri)};
    argv.insert(argv.end(), args.begin() + 1, args.end());
    exec_command(std::move(argv), what);
}

}  // namespace pgnspawn::client
