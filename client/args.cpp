#include "client/args.hpp"

#include "client/duration.hpp"
#include "client/errors.hpp"

#include <fmt/core.h>

#include <array>
#include <charconv>
#include <cstdint>

namespace pgnspawn::client {

const std::string_view kUsageText =
    "Usage: pgnspawnctl [--help|-h] [--version] COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "Manage the PostgreSQL containers of pgnspawnd.\n"
    "\n"
    "Commands:\n"
    "  start NAME                 Start NAME and wait until it accepts connections;\n"
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
    "  snapshot NAME SNAP         Copy NAME's database as snapshot SNAP (sessions on the\n"
    "                             database are ended first)\n"
    "  restore NAME SNAP          Make NAME's database a copy of SNAP again (sessions on\n"
    "                             the database are ended first)\n"
    "  reset NAME                 Make NAME's database empty, as first provisioned\n"
    "  snapshots NAME [--json]    List NAME's snapshots: name, time made, size\n"
    "  drop-snapshot NAME SNAP    Delete snapshot SNAP of NAME\n"
    "  run NAME [--scratch [--from SNAP]] -- COMMAND [ARGS]\n"
    "                             Run COMMAND with DATABASE_URL and PG* set for NAME;\n"
    "                             --scratch: for a new scratch database (a copy of\n"
    "                             snapshot SNAP, or empty), dropped when COMMAND ends;\n"
    "                             exits with COMMAND's status\n"
    "  create NAME [--port N] [--database D] [--user U] [--version V]\n"
    "         [--durability fast|durable] [--ephemeral] [--createdb|--no-createdb]\n"
    "                             Create an instance of your own (the daemon picks a\n"
    "                             free port and a password unless given)\n"
    "  destroy NAME [--yes]       Stop NAME, a created instance, and delete its data for\n"
    "                             good (asks on a terminal, else needs --yes)\n"
    "  up [NAME] [create options] [--shell sh|fish]\n"
    "                             Create NAME if missing, start it, print its env lines;\n"
    "                             NAME defaults to the git top-level directory's name,\n"
    "                             else the current directory's\n"
    "  psql NAME [ARGS]           Run psql connected to NAME (ARGS go to psql)\n"
    "\n"
    "Options:\n"
    "  -h, --help     Show this help and exit\n"
    "      --version  Show the version and exit\n"
    "  T is a number of seconds, or a number followed by ms, s, m or h (e.g. 30s).\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error, 3 unhealthy, 4 timed out (wait).\n";

namespace {

constexpr std::array<OptionSpec, 16> kOptions{{
    {kOptTimeout, "--timeout", "", true},
    {kOptJson, "--json", "", false},
    {kOptShell, "--shell", "", true},
    {kOptFollow, "--follow", "-f", false},
    {kOptLines, "--lines", "-n", true},
    {kOptScratch, "--scratch", "", false},
    {kOptFrom, "--from", "", true},
    {kOptPort, "--port", "", true},
    {kOptDatabase, "--database", "", true},
    {kOptUser, "--user", "", true},
    {kOptPgVersion, "--version", "", true},
    {kOptDurability, "--durability", "", true},
    {kOptEphemeral, "--ephemeral", "", false},
    {kOptCreatedb, "--createdb", "", false},
    {kOptNoCreatedb, "--no-createdb", "", false},
    {kOptYes, "--yes", "-y", false},
}};

constexpr std::array<CommandSpec, 21> kCommands{{
    {"start", 1, 1, 0},
    {"stop", 1, 1, 0},
    {"wait", 1, 1, kOptTimeout},
    {"status", 0, 1, kOptJson},
    {"list", 0, 0, kOptJson},
    {"address", 1, 1, kOptJson},
    {"health", 1, 1, kOptJson},
    {"uri", 1, 1, kOptJson},
    {"env", 1, 1, kOptShell},
    {"monitor", 0, 0, kOptJson},
    {"logs", 1, 1, kOptFollow | kOptLines},
    {"snapshot", 2, 2, 0},
    {"restore", 2, 2, 0},
    {"reset", 1, 1, 0},
    {"snapshots", 1, 1, kOptJson},
    {"drop-snapshot", 2, 2, 0},
    // run NAME COMMAND [ARGS...]: the command line is unbounded.
    {"run", 2, SIZE_MAX, kOptScratch | kOptFrom},
    {"create", 1, 1, kCreateOptions},
    {"destroy", 1, 1, kOptYes},
    {"up", 0, 1, kCreateOptions | kOptShell},
    // psql NAME ARGS...: everything after NAME is psql's.
    {"psql", 1, SIZE_MAX, 0},
}};

void parse_shell(std::string_view shell, Options& options) {
    if (shell == "fish")
        options.fish = true;
    else if (shell != "sh" && shell != "bash" && shell != "zsh" && shell != "dash")
        throw UsageError(fmt::format("unknown shell '{}' (sh, bash, zsh, dash or fish)", shell));
}

std::string parse_lines(std::string_view lines) {
    unsigned count = 0;
    const auto [end, ec] = std::from_chars(lines.data(), lines.data() + lines.size(), count);
    // from_chars leaves 0 behind for a number too large, with only ec to say so.
    if (lines.empty() || ec != std::errc() || end != lines.data() + lines.size())
        throw UsageError(fmt::format("invalid number of lines '{}'", lines));
    return std::to_string(count);
}

const OptionSpec* find_option(std::string_view key) {
    for (const auto& option : kOptions)
        if (key == option.long_name || (!option.short_name.empty() && key == option.short_name))
            return &option;
    return nullptr;
}

void set_value(OptionFlag flag, std::string_view value, Options& options) {
    if (flag == kOptTimeout)
        options.timeout = parse_duration(value);
    else if (flag == kOptShell)
        parse_shell(value, options);
    else if (flag == kOptLines)
        options.lines = parse_lines(value);
    else if (flag == kOptFrom) {
        if (value.empty())
            throw UsageError("option '--from' needs a snapshot name");
        options.from = value;
    } else if (flag == kOptPort) {
        unsigned port = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
        if (value.empty() || ec != std::errc() || end != value.data() + value.size() || port > 65535)
            throw UsageError(fmt::format("invalid port '{}' (0 to 65535; 0 lets the daemon pick)", value));
        options.create.port = static_cast<std::uint16_t>(port);
    } else if (flag == kOptDurability) {
        if (value != "fast" && value != "durable")
            throw UsageError(fmt::format("invalid durability '{}' (fast or durable)", value));
        options.create.durability = value;
    } else if (flag == kOptDatabase || flag == kOptUser || flag == kOptPgVersion) {
        if (value.empty())
            throw UsageError("an empty value is not a name or a version");
        (flag == kOptDatabase ? options.create.database
         : flag == kOptUser   ? options.create.user
                              : options.create.version) = value;
    }
}

/// --version after create or up is PostgreSQL's; anywhere else it asks for ours.
bool is_pg_version(std::string_view key, const Invocation& invocation) {
    return key == "--version" && !invocation.words.empty() &&
           (invocation.words.front() == "create" || invocation.words.front() == "up");
}

}  // namespace

std::span<const OptionSpec> option_specs() { return kOptions; }

std::span<const CommandSpec> command_specs() { return kCommands; }

Invocation parse_arguments(std::span<const char* const> args) {
    Invocation invocation;
    Options& options = invocation.options;
    bool options_ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (options_ended || arg.empty() || arg[0] != '-' || arg == "-") {
            invocation.words.emplace_back(arg);
            // psql NAME ARGS: psql's own options are not ours.
            options_ended = options_ended || (invocation.words.size() == 2 && invocation.words[0] == "psql");
            continue;
        }
        const auto eq = arg.find('=');
        const std::string_view key = arg.substr(0, eq);
        const auto value = [&]() -> std::string_view {
            if (eq != std::string_view::npos)
                return arg.substr(eq + 1);
            if (i + 1 >= args.size())
                throw UsageError(fmt::format("option '{}' needs a value", key));
            return args[++i];
        };
        const auto flag_only = [&] {
            if (eq != std::string_view::npos)
                throw UsageError(fmt::format("option '{}' takes no value", key));
        };
        if (arg == "--") {
            options_ended = true;
        } else if (arg == "--help" || arg == "-h") {
            invocation.help = true;
        } else if (arg == "--version" && !is_pg_version(key, invocation)) {
            invocation.version = true;
        } else if (const OptionSpec* option = find_option(key)) {
            if (option->takes_value) {
                set_value(option->flag, value(), options);
            } else {
                flag_only();
                options.json = options.json || option->flag == kOptJson;
                options.scratch = options.scratch || option->flag == kOptScratch;
                if (option->flag == kOptCreatedb || option->flag == kOptNoCreatedb)
                    options.create.createdb = option->flag == kOptCreatedb;
                options.create.ephemeral = options.create.ephemeral || option->flag == kOptEphemeral;
            }
            options.given |= option->flag;
        } else {
            throw UsageError(fmt::format("unknown option '{}'", arg));
        }
    }
    return invocation;
}

const CommandSpec& resolve_command(const Invocation& invocation) {
    if (invocation.words.empty())
        throw UsageError("no command given");
    const std::string& name = invocation.words.front();
    const CommandSpec* spec = nullptr;
    for (const auto& candidate : kCommands)
        if (candidate.name == name)
            spec = &candidate;
    if (spec == nullptr)
        throw UsageError(fmt::format("unknown command '{}'", name));
    const std::size_t count = invocation.words.size() - 1;
    if (count < spec->min_args)
        throw UsageError(name == "run" ? std::string("'run' needs an instance name and a command")
                         : count == 0  ? fmt::format("'{}' needs an instance name", name)
                                       : fmt::format("'{}' needs a snapshot name after the instance name", name));
    if (count > spec->max_args)
        throw UsageError(fmt::format("too many arguments for '{}'", name));
    if ((invocation.options.given & ~spec->options) != 0)
        throw UsageError(fmt::format("an option given does not apply to '{}'", name));
    if ((invocation.options.given & kOptFrom) && !(invocation.options.given & kOptScratch))
        throw UsageError("'--from' needs '--scratch'");
    if ((invocation.options.given & kOptCreatedb) && (invocation.options.given & kOptNoCreatedb))
        throw UsageError("'--createdb' and '--no-createdb' contradict each other");
    return *spec;
}

}  // namespace pgnspawn::client
