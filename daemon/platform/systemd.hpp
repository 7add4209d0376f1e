// The daemon's view of systemd (PID 1), machined and the journal: transient units for
// containers, job completion via JobRemoved, unit state changes via PropertiesChanged,
// leftover machine registrations. All calls are
// asynchronous on the daemon's bus connection, except the few used once at start-up.
#pragma once

#include "platform/address.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pgnspawn {

struct TransientService {
    std::string unit;
    std::string description;
    std::vector<std::string> argv;
    std::string syslog_identifier;
    uint64_t timeout_stop_usec = 0;
    /// NAME=VALUE pairs added to the environment of the service's processes.
    std::vector<std::string> environment;
    /// A system call filter applied by systemd before ExecStart, for every process of the
    /// unit: these calls fail with EPERM, and only these architectures' calls are allowed.
    /// Both empty: no filter.
    std::vector<std::string> denied_syscalls;
    std::vector<std::string> syscall_architectures;
};

class SystemdClient {
public:
    /// error is empty on success.
    using Done = std::function<void(const std::string& error)>;
    /// stopped tells whether a running unit was actually stopped.
    using StopDone = std::function<void(const std::string& error, bool stopped)>;
    using Watch = sdbus::Slot;

    explicit SystemdClient(sdbus::IConnection& bus);

    /// Starts a Type=notify transient service; done runs when its start job has finished.
    /// unit_exists: systemd refused because a unit of that name is still loaded.
    void start_transient_service(const TransientService& service,
                                 std::function<void(const std::string& error, bool unit_exists)> done);
    /// Stops a unit; a unit that is not loaded counts as already stopped.
    void stop_unit(const std::string& unit, StopDone done);
    /// Forgets a failed unit so that its name can be used again (errors are ignored).
    void reset_failed_unit(const std::string& unit);
    /// Calls on_state with the new ActiveState each time the unit's state changes.
    [[nodiscard]] Watch watch_unit(const std::string& unit, std::function<void(const std::string&)> on_state);
    struct UnitState {
        std::string load;    ///< "loaded", "not-found", ...
        std::string active;  ///< "active", "inactive", "failed", ...
    };
    /// LoadState and ActiveState of a unit, asynchronously.
    void unit_state(const std::string& unit, std::function<void(const std::string& error, const UnitState&)> done);
    /// Calls on_removed once systemd has unloaded the unit (its UnitRemoved signal).
    [[nodiscard]] Watch watch_unit_removed(const std::string& unit, std::function<void()> on_removed);
    /// Makes sure machined has no machine of this name: a leftover registration (from a
    /// crash, say) is terminated and done runs once machined has removed it.
    void remove_machine(const std::string& machine, Done done);
    /// The container's addresses, as machined reports them (GetMachineAddresses).
    void machine_addresses(const std::string& machine,
                           std::function<void(const std::string& error, std::vector<MachineAddress>)> done);
    /// The same, synchronously: start-up (re-adoption) only. Empty on any error.
    std::vector<MachineAddress> machine_addresses_blocking(const std::string& machine);
    /// ActiveState of a unit, "inactive" when it is not loaded. Synchronous: start-up only.
    std::string active_state_blocking(const std::string& unit);

    /// The last `lines` messages the unit logged since `since_realtime_usec` (0: any time).
    static std::vector<std::string> journal_tail(const std::string& unit, std::size_t lines,
                                                 uint64_t since_realtime_usec);

    static std::string unit_object_path(const std::string& unit);

private:
    void on_job_removed(sdbus::Message& msg);

    sdbus::IConnection& bus_;
    std::unique_ptr<sdbus::IProxy> manager_;
    std::unique_ptr<sdbus::IProxy> machined_;
    sdbus::Slot job_removed_;
    sdbus::Slot machine_removed_;
    std::multimap<std::string, std::function<void()>> machine_waiters_;
    std::map<std::string, std::function<void(const std::string& result)>> jobs_;
};

}  // namespace pgnspawn
