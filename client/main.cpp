// pgnspawnctl: the unprivileged command-line client of pgnspawnd (org.pgnspawn1 on the
// system bus). One connection, no event-loop thread: plain commands make one blocking
// call at a time; start, wait and monitor dispatch signals themselves with poll(2).
// This file only wires: the command line, the bus, the command, the exit status.
#include "client/args.hpp"
#include "client/bus_calls.hpp"
#include "client/commands.hpp"
#include "client/errors.hpp"
#include "pgnspawn-config.h"

#include <fmt/core.h>
#include <sdbus-c++/sdbus-c++.h>

#include <cstdio>
#include <exception>
#include <span>
#include <stdexcept>

namespace {

using namespace pgnspawn::client;

/// Reports a failed write to stdout (e.g. a full disk) instead of exiting 0 silently.
int finish_output(int code) {
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        fmt::print(stderr, "pgnspawnctl: cannot write the output\n");
        return kFailed;
    }
    return code;
}

int run(int argc, char** argv) {
    const Invocation invocation = parse_arguments(std::span<const char* const>(argv + 1, argv + argc));
    if (invocation.help) {
        fmt::print("{}", kUsageText);
        return kOk;
    }
    if (invocation.version) {
        fmt::print("pgnspawnctl {}\n", PGNSPAWN_VERSION);
        return kOk;
    }
    const CommandSpec& command = resolve_command(invocation);
    const CommandRunner runner = command_runner(command.name);
    if (runner == nullptr)
        throw std::logic_error(fmt::format("no runner for the command '{}'", command.name));
    const auto bus = connect_to_system_bus();
    return runner(*bus, Args(invocation.words).subspan(1), invocation.options);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return finish_output(run(argc, argv));
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
