// pgnspawnctl's command line: options, the command and its arguments, checked before
// anything touches the bus.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pgnspawn::client {

extern const std::string_view kUsageText;

enum OptionFlag : unsigned {
    kOptJson = 1u << 0,
    kOptTimeout = 1u << 1,
    kOptShell = 1u << 2,
    kOptFollow = 1u << 3,
    kOptLines = 1u << 4,
    kOptScratch = 1u << 5,
    kOptFrom = 1u << 6,
    // create and up: the new instance's settings.
    kOptPort = 1u << 7,
    kOptDatabase = 1u << 8,
    kOptUser = 1u << 9,
    kOptPgVersion = 1u << 10,  // --version V after create or up; elsewhere --version is ours
    kOptDurability = 1u << 11,
    kOptEphemeral = 1u << 12,
    kOptCreatedb = 1u << 13,
    kOptNoCreatedb = 1u << 14,
    kOptYes = 1u << 15,  // destroy: no question
};

inline constexpr unsigned kCreateOptions =
    kOptPort | kOptDatabase | kOptUser | kOptPgVersion | kOptDurability | kOptEphemeral | kOptCreatedb | kOptNoCreatedb;

/// What create and up ask CreateInstance for; unset ones are left to the daemon.
struct CreateSettings {
    std::optional<std::uint16_t> port;
    std::string database;
    std::string user;
    std::string version;
    std::string durability;
    std::optional<bool> createdb;
    bool ephemeral = false;
};

struct Options {
    unsigned given = 0;  // OptionFlag bits seen on the command line
    bool json = false;
    std::optional<std::chrono::milliseconds> timeout;
    bool fish = false;
    std::string lines;     // -n: a decimal count, normalised
    bool scratch = false;  // run --scratch
    std::string from;      // run --scratch --from SNAP
    CreateSettings create;
};

struct Invocation {
    bool help = false;
    bool version = false;
    Options options;
    std::vector<std::string> words;  // COMMAND followed by its ARGS
};

/// An option a command may take (--help, --version and "--" are apart from these).
struct OptionSpec {
    OptionFlag flag;
    std::string_view long_name;   // "--json"
    std::string_view short_name;  // "-f", or empty
    bool takes_value;
};

/// Every option, in the order of the usage text.
std::span<const OptionSpec> option_specs();

/// What a command takes: how many ARGS, and which OptionFlag bits.
struct CommandSpec {
    std::string_view name;
    std::size_t min_args;
    std::size_t max_args;
    unsigned options;
};

/// Every command, in the order of the usage text.
std::span<const CommandSpec> command_specs();

/// The words after the program name. Options may appear anywhere; "--" ends them (an
/// instance name may begin with '-'). Options with a value take it as the next word or
/// after '='. A bad option or value is a UsageError.
Invocation parse_arguments(std::span<const char* const> args);

/// Finds the command and checks its arguments and options (UsageError if they do not fit).
const CommandSpec& resolve_command(const Invocation& invocation);

}  // namespace pgnspawn::client
