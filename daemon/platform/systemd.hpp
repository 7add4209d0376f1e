// The daemon's view of systemd (PID 1), machined and the journal: transient units for
// containers, job completion via JobRemoved, unit state changes via PropertiesChanged,
// leftover machine registrations. `Systemd` is the seam the image kinds use (unit tests
// put a fake behind it); `SystemdClient` is the real one, on the daemon's bus connection.
// All calls are asynchronous except the two *_blocking ones, which are bounded (see there).
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

/// The calls the image kinds make to systemd, machined and the journal.
class Systemd {
public:
    /// error is empty on success.
    using Done = std::function<void(const std::string& error)>;
    /// stopped tells whether a running unit was actually stopped.
    using StopDone = std::function<void(const std::string& error, bool stopped)>;
    using Watch = sdbus::Slot;
    struct UnitState {
        std::string load;    ///< "loaded", "not-found", ...
        std::string active;  ///< "active", "inactive", "failed", ...
    };

    virtual ~Systemd() = default;

    /// Starts a Type=notify transient service; done runs when its start job has finished.
    /// unit_exists: systemd refused because a unit of that name is still loaded.
    virtual void start_transient_service(const TransientService& service,
                                         std::function<void(const std::string& error, bool unit_exists)> done) = 0;
    /// Stops a unit; a unit that is not loaded counts as already stopped.
    virtual void stop_unit(const std::string& unit, StopDone done) = 0;
    /// Forgets a failed unit so that its name can be used again (errors are ignored).
    virtual void reset_failed_unit(const std::string& unit) = 0;
    /// Calls on_state with the new ActiveState each time the unit's state changes.
    [[nodiscard]] virtual Watch watch_unit(const std::string& unit,
                                           std::function<void(const std::string&)> on_state) = 0;
    /// LoadState and ActiveState of a unit, asynchronously.
    virtual void unit_state(const std::string& unit,
                            std::function<void(const std::string& error, const UnitState&)> done) = 0;
    /// Calls on_removed once systemd has unloaded the unit (its UnitRemoved signal).
    [[nodiscard]] virtual Watch watch_unit_removed(const std::string& unit, std::function<void()> on_removed) = 0;
    /// Makes sure machined has no machine of this name: a leftover registration (from a
    /// crash, say) is terminated and done runs once machined has removed it.
    virtual void remove_machine(const std::string& machine, Done done) = 0;
    /// The container's addresses, as machined reports them (GetMachineAddresses).
    virtual void machine_addresses(const std::string& machine,
                                   std::function<void(const std::string& error, std::vector<MachineAddress>)> done) = 0;

    // The two blocking calls stall the whole daemon while they wait, so each is bounded by
    // kBlockingCallTimeoutUsec (5 s). They run when the daemon adopts the containers it finds at
    // start-up, and on the loop only where the answer is needed at once and is rarely
    // asked for: Backend::is_running (core/manager.cpp) during Start's port check after a
    // reload and when a removed or changed instance settles. systemd and machined answer
    // them in about a millisecond; the bound matters only when one of them is stuck.

    /// The addresses, synchronously (bounded). Empty on any error.
    virtual std::vector<MachineAddress> machine_addresses_blocking(const std::string& machine) = 0;
    /// ActiveState of a unit, "inactive" when it is not loaded or on any error. Synchronous (bounded).
    virtual std::string active_state_blocking(const std::string& unit) = 0;

    /// The last `lines` messages the unit logged since `since_realtime_usec` (0: any time).
    virtual std::vector<std::string> journal_tail(const std::string& unit, std::size_t lines,
                                                  uint64_t since_realtime_usec) const = 0;
};

/// How long a blocking call may stall the daemon.
inline constexpr uint64_t kBlockingCallTimeoutUsec = 5'000'000;

class SystemdClient final : public Systemd {
public:
    explicit SystemdClient(sdbus::IConnection& bus);

    void start_transient_service(const TransientService& service,
                                 std::function<void(const std::string& error, bool unit_exists)> done) override;
    void stop_unit(const std::string& unit, StopDone done) override;
    void reset_failed_unit(const std::string& unit) override;
    [[nodiscard]] Watch watch_unit(const std::string& unit, std::function<void(const std::string&)> on_state) override;
    void unit_state(const std::string& unit,
                    std::function<void(const std::string& error, const UnitState&)> done) override;
    [[nodiscard]] Watch watch_unit_removed(const std::string& unit, std::function<void()> on_removed) override;
    void remove_machine(const std::string& machine, Done done) override;
    void machine_addresses(const std::string& machine,
                           std::function<void(const std::string& error, std::vector<MachineAddress>)> done) override;
    std::vector<MachineAddress> machine_addresses_blocking(const std::string& machine) override;
    std::string active_state_blocking(const std::string& unit) override;
    std::vector<std::string> journal_tail(const std::string& unit, std::size_t lines,
                                          uint64_t since_realtime_usec) const override;

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
