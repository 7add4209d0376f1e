#include "client/commands.hpp"

#include <array>
#include <utility>

namespace pgnspawn::client {

CommandRunner command_runner(std::string_view name) {
    static constexpr std::array<std::pair<std::string_view, CommandRunner>, 21> kRunners{{
        {"start", cmd_start},
        {"stop", cmd_stop},
        {"wait", cmd_wait},
        {"status", cmd_status},
        {"list", cmd_list},
        {"address", cmd_address},
        {"health", cmd_health},
        {"uri", cmd_uri},
        {"env", cmd_env},
        {"monitor", cmd_monitor},
        {"logs", cmd_logs},
        {"snapshot", cmd_snapshot},
        {"restore", cmd_restore},
        {"reset", cmd_reset},
        {"snapshots", cmd_snapshots},
        {"drop-snapshot", cmd_drop_snapshot},
        {"run", cmd_run},
        {"create", cmd_create},
        {"destroy", cmd_destroy},
        {"up", cmd_up},
        {"psql", cmd_psql},
    }};
    for (const auto& [command, runner] : kRunners)
        if (command == name)
            return runner;
    return nullptr;
}

}  // namespace pgnspawn::client
