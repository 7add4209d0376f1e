// The commands for snapshots of an instance's database: snapshot, restore, reset,
// snapshots and drop-snapshot.
#include "client/bus_calls.hpp"
#include "client/commands.hpp"
#include "client/format.hpp"

#include <fmt/core.h>

#include <vector>

namespace pgnspawn::client {

int cmd_snapshot(sdbus::IConnection& bus, Args args, const Options&) {
    ManagerProxy manager(bus);
    attempt(fmt::format("cannot snapshot {} as {}", args[0], args[1]),
            [&] { manager.snapshot_and_wait("Snapshot", args[0], args[1]); });
    return kOk;
}

int cmd_restore(sdbus::IConnection& bus, Args args, const Options&) {
    ManagerProxy manager(bus);
    attempt(fmt::format("cannot restore {} from snapshot {}", args[0], args[1]),
            [&] { manager.snapshot_and_wait("Restore", args[0], args[1]); });
    return kOk;
}

int cmd_reset(sdbus::IConnection& bus, Args args, const Options&) {
    ManagerProxy manager(bus);
    attempt(fmt::format("cannot reset the database of {}", args[0]), [&] { manager.reset_and_wait(args[0]); });
    return kOk;
}

int cmd_drop_snapshot(sdbus::IConnection& bus, Args args, const Options&) {
    ManagerProxy manager(bus);
    attempt(fmt::format("cannot delete snapshot {} of {}", args[1], args[0]),
            [&] { manager.DeleteSnapshot(args[0], args[1]); });
    return kOk;
}

int cmd_snapshots(sdbus::IConnection& bus, Args args, const Options& options) {
    ManagerProxy manager(bus);
    const auto reply = attempt(fmt::format("cannot list the snapshots of {}", args[0]),
                               [&] { return manager.ListSnapshots(args[0]); });
    std::vector<SnapshotEntry> entries;
    for (const auto& item : reply)
        entries.push_back({std::get<0>(item), std::get<1>(item), std::get<2>(item)});
    fmt::print("{}", options.json ? snapshots_json(entries) + "\n" : snapshots_text(entries));
    return kOk;
}

}  // namespace pgnspawn::client
