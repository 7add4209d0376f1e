// The commands of pgnspawnctl, one function each; args.cpp says what each one takes.
#pragma once

#include "client/args.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pgnspawn::client {

/// The command's ARGS, already checked against its CommandSpec.
using Args = std::span<const std::string>;
using CommandRunner = int (*)(sdbus::IConnection& bus, Args args, const Options& options);

/// The function that runs the command called `name`, or nullptr if there is none.
CommandRunner command_runner(std::string_view name);

// Lifecycle and following (commands_lifecycle.cpp).
int cmd_start(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_stop(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_wait(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_monitor(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_logs(sdbus::IConnection& bus, Args args, const Options& options);
/// Replaces this process with argv (PATH searched); CommandFailed("WHAT: cannot run ...").
[[noreturn]] void exec_command(std::vector<std::string> argv, const std::string& what);

// Questions about the instances (commands_query.cpp).
int cmd_status(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_list(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_address(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_health(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_uri(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_env(sdbus::IConnection& bus, Args args, const Options& options);
/// What `env NAME` prints (sh or fish syntax).
void print_env(sdbus::IConnection& bus, const std::string& name, bool fish);

// Snapshots of an instance's database (commands_snapshots.cpp).
int cmd_snapshot(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_restore(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_reset(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_snapshots(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_drop_snapshot(sdbus::IConnection& bus, Args args, const Options& options);
// Running a command against an instance (commands_run.cpp).
int cmd_run(sdbus::IConnection& bus, Args args, const Options& options);

// An instance of one's own: create, destroy, up, psql (commands_project.cpp).
int cmd_create(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_destroy(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_up(sdbus::IConnection& bus, Args args, const Options& options);
int cmd_psql(sdbus::IConnection& bus, Args args, const Options& options);

}  // namespace pgnspawn::client
