#include "platform/systemd.hpp"

#include "platform/log.hpp"

#include <fmt/format.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <deque>

namespace pgnspawn {

namespace {
constexpr const char* kSystemd = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManagerIface = "org.freedesktop.systemd1.Manager";
constexpr const char* kUnitIface = "org.freedesktop.systemd1.Unit";
constexpr const char* kMachined = "org.freedesktop.machine1";
constexpr const char* kMachinedPath = "/org/freedesktop/machine1";
constexpr const char* kMachinedIface = "org.freedesktop.machine1.Manager";
constexpr uint64_t kCallTimeoutUsec = 30'000'000;

using Property = sdbus::Struct<std::string, sdbus::Variant>;
using ExecCommand = sdbus::Struct<std::string, std::vector<std::string>, bool>;
using AuxUnit = sdbus::Struct<std::string, std::vector<Property>>;
/// ListUnitsByNames: name, description, load state, active state, sub state, ...
using UnitInfo = sdbus::Struct<std::string, std::string, std::string, std::string, std::string, std::string,
                               sdbus::ObjectPath, uint32_t, std::string, sdbus::ObjectPath>;

std::string describe(const sdbus::Error& e) { return e.getMessage().empty() ? e.getName() : e.getMessage(); }
}  // namespace

SystemdClient::SystemdClient(sdbus::IConnection& bus) : bus_(bus) {
    manager_ = sdbus::createProxy(bus_, kSystemd, kManagerPath);
    manager_->finishRegistration();
    job_removed_ = bus_.addMatch(fmt::format("type='signal',sender='{}',path='{}',interface='{}',member='JobRemoved'",
                                             kSystemd, kManagerPath, kManagerIface),
                                 [this](sdbus::Message& msg) { on_job_removed(msg); });
    machined_ = sdbus::createProxy(bus_, kMachined, kMachinedPath);
    machined_->finishRegistration();
    machine_removed_ =
        bus_.addMatch(fmt::format("type='signal',sender='{}',path='{}',interface='{}',member='MachineRemoved'",
                                  kMachined, kMachinedPath, kMachinedIface),
                      [this](sdbus::Message& msg) {
                          std::string machine;
                          try {
                              msg >> machine;
                          } catch (const sdbus::Error&) {
                              return;
                          }
                          auto [first, last] = machine_waiters_.equal_range(machine);
                          std::vector<std::function<void()>> ready;
                          for (auto it = first; it != last; ++it)
                              ready.push_back(std::move(it->second));
                          machine_waiters_.erase(first, last);
                          for (auto& w : ready)
                              w();
                      });
    // Without a subscriber systemd does not send unit PropertiesChanged signals.
    manager_->callMethodAsync("Subscribe").onInterface(kManagerIface).uponReplyInvoke([](const sdbus::Error* e) {
        if (e)
            log_warning(fmt::format("Failed to subscribe to systemd signals: {}", describe(*e)));
    });
}

std::string SystemdClient::unit_object_path(const std::string& unit) {
    char* out = nullptr;
    if (sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit.c_str(), &out) < 0)
        throw std::runtime_error("sd_bus_path_encode failed");
    std::string path(out);
    std::free(out);
    return path;
}

void SystemdClient::on_job_removed(sdbus::Message& msg) {
    uint32_t id = 0;
    sdbus::ObjectPath job;
    std::string unit, result;
    try {
        msg >> id >> job >> unit >> result;
    } catch (const sdbus::Error&) {
        return;
    }
    auto it = jobs_.find(job);
    if (it == jobs_.end())
        return;
    auto done = std::move(it->second);
    jobs_.erase(it);
    done(result);
}

void SystemdClient::start_transient_service(const TransientService& service,
                                            std::function<void(const std::string& error, bool unit_exists)> done) {
    std::vector<Property> props{
        {"Description", sdbus::Variant(service.description)},
        {"Type", sdbus::Variant(std::string("notify"))},
        {"NotifyAccess", sdbus::Variant(std::string("main"))},
        {"ExecStart", sdbus::Variant(std::vector<ExecCommand>{{service.argv.front(), service.argv, false}})},
        // SIGTERM only to nspawn, which turns it into --kill-signal for the container.
        {"KillMode", sdbus::Variant(std::string("mixed"))},
        {"Delegate", sdbus::Variant(true)},
        {"Slice", sdbus::Variant(std::string("machine.slice"))},
        {"CollectMode", sdbus::Variant(std::string("inactive-or-failed"))},
        {"SyslogIdentifier", sdbus::Variant(service.syslog_identifier)},
        {"TimeoutStopUSec", sdbus::Variant(service.timeout_stop_usec)},
    };
    if (!service.environment.empty())
        props.push_back({"Environment", sdbus::Variant(service.environment)});
    if (!service.syscall_architectures.empty())
        props.push_back({"SystemCallArchitectures", sdbus::Variant(service.syscall_architectures)});
    if (!service.denied_syscalls.empty()) {
        // (bas): false = a deny list.
        props.push_back({"SystemCallFilter", sdbus::Variant(sdbus::Struct<bool, std::vector<std::string>>{
                                                 false, service.denied_syscalls})});
        props.push_back({"SystemCallErrorNumber", sdbus::Variant(int32_t{EPERM})});
    }
    const std::string unit = service.unit;
    manager_->callMethodAsync("StartTransientUnit")
        .onInterface(kManagerIface)
        .withTimeout(kCallTimeoutUsec)
        .withArguments(unit, std::string("fail"), props, std::vector<AuxUnit>{})
        .uponReplyInvoke([this, unit, done](const sdbus::Error* e, sdbus::ObjectPath job) {
            if (e)
                return done(fmt::format("systemd refused to start {}: {}", unit, describe(*e)),
                            e->getName() == "org.freedesktop.systemd1.UnitExists");
            log_debug(fmt::format("systemd queued the start job of {}.", unit));
            jobs_[job] = [unit, done](const std::string& result) {
                if (result == "done")
                    done("", false);
                else
                    done(fmt::format("the start job of {} finished with result \"{}\"", unit, result), false);
            };
        });
}

void SystemdClient::stop_unit(const std::string& unit, StopDone done) {
    manager_->callMethodAsync("StopUnit")
        .onInterface(kManagerIface)
        .withTimeout(kCallTimeoutUsec)
        .withArguments(unit, std::string("replace"))
        .uponReplyInvoke([this, unit, done](const sdbus::Error* e, sdbus::ObjectPath job) {
            if (e) {
                if (e->getName() == "org.freedesktop.systemd1.NoSuchUnit")
                    done("", false);
                else
                    done(fmt::format("systemd refused to stop {}: {}", unit, describe(*e)), false);
                return;
            }
            jobs_[job] = [unit, done](const std::string& result) {
                if (result == "done")
                    done("", true);
                else
                    done(fmt::format("the stop job of {} finished with result \"{}\"", unit, result), true);
            };
        });
}

void SystemdClient::reset_failed_unit(const std::string& unit) {
    manager_->callMethodAsync("ResetFailedUnit")
        .onInterface(kManagerIface)
        .withArguments(unit)
        .uponReplyInvoke([](const sdbus::Error*) {});
}

SystemdClient::Watch SystemdClient::watch_unit(const std::string& unit,
                                               std::function<void(const std::string&)> on_state) {
    const auto match = fmt::format(
        "type='signal',sender='{}',path='{}',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
        "arg0='{}'",
        kSystemd, unit_object_path(unit), kUnitIface);
    return bus_.addMatch(match, [on_state](sdbus::Message& msg) {
        std::string iface;
        std::map<std::string, sdbus::Variant> changed;
        try {
            msg >> iface >> changed;
        } catch (const sdbus::Error&) {
            return;
        }
        auto it = changed.find("ActiveState");
        if (iface == kUnitIface && it != changed.end())
            on_state(it->second.get<std::string>());
    });
}

void SystemdClient::unit_state(const std::string& unit,
                               std::function<void(const std::string& error, const UnitState&)> done) {
    manager_->callMethodAsync("ListUnitsByNames")
        .onInterface(kManagerIface)
        .withTimeout(kCallTimeoutUsec)
        .withArguments(std::vector<std::string>{unit})
        .uponReplyInvoke([unit, done](const sdbus::Error* e, std::vector<UnitInfo> units) {
            if (e)
                return done(fmt::format("cannot look up {}: {}", unit, describe(*e)), {});
            for (const auto& u : units)
                if (std::get<0>(u) == unit)
                    return done("", {std::get<2>(u), std::get<3>(u)});
            done("", {"not-found", "inactive"});
        });
}

SystemdClient::Watch SystemdClient::watch_unit_removed(const std::string& unit, std::function<void()> on_removed) {
    return bus_.addMatch(
        fmt::format("type='signal',sender='{}',path='{}',interface='{}',member='UnitRemoved',arg0='{}'", kSystemd,
                    kManagerPath, kManagerIface, unit),
        [on_removed](sdbus::Message&) { on_removed(); });
}

namespace {
using RawAddress = sdbus::Struct<int32_t, std::vector<uint8_t>>;
std::vector<MachineAddress> to_addresses(const std::vector<RawAddress>& raw) {
    std::vector<MachineAddress> out;
    for (const auto& r : raw)
        out.push_back({std::get<0>(r), std::get<1>(r)});
    return out;
}
}  // namespace

void SystemdClient::machine_addresses(const std::string& machine,
                                      std::function<void(const std::string& error, std::vector<MachineAddress>)> done) {
    machined_->callMethodAsync("GetMachineAddresses")
        .onInterface(kMachinedIface)
        .withTimeout(kCallTimeoutUsec)
        .withArguments(machine)
        .uponReplyInvoke([machine, done](const sdbus::Error* e, std::vector<RawAddress> raw) {
            if (e)
                return done(fmt::format("cannot read the addresses of machine {}: {}", machine, describe(*e)), {});
            done("", to_addresses(raw));
        });
}

std::vector<MachineAddress> SystemdClient::machine_addresses_blocking(const std::string& machine) {
    try {
        std::vector<RawAddress> raw;
        machined_->callMethod("GetMachineAddresses")
            .onInterface(kMachinedIface)
            .withTimeout(kBlockingCallTimeoutUsec)
            .withArguments(machine)
            .storeResultsTo(raw);
        return to_addresses(raw);
    } catch (const sdbus::Error& e) {
        log_warning(fmt::format("Failed to read the addresses of machine {}: {}", machine, describe(e)));
        return {};
    }
}

void SystemdClient::remove_machine(const std::string& machine, Done done) {
    machined_->callMethodAsync("TerminateMachine")
        .onInterface(kMachinedIface)
        .withTimeout(kCallTimeoutUsec)
        .withArguments(machine)
        .uponReplyInvoke([this, machine, done](const sdbus::Error* e) {
            if (e) {
                if (e->getName() == "org.freedesktop.machine1.NoSuchMachine")
                    return done("");
                return done(fmt::format("cannot remove the leftover machine {}: {}", machine, describe(*e)));
            }
            log_warning(fmt::format("Terminated leftover machine {}.", machine));
            machine_waiters_.emplace(machine, [done] { done(""); });
        });
}

std::string SystemdClient::active_state_blocking(const std::string& unit) {
    try {
        auto proxy = sdbus::createProxy(bus_, kSystemd, unit_object_path(unit));
        sdbus::Variant v;
        proxy->callMethod("Get")
            .onInterface("org.freedesktop.DBus.Properties")
            .withTimeout(kBlockingCallTimeoutUsec)
            .withArguments(std::string(kUnitIface), std::string("ActiveState"))
            .storeResultsTo(v);
        return v.get<std::string>();
    } catch (const sdbus::Error& e) {
        log_warning(fmt::format("Failed to read the state of {}: {}", unit, describe(e)));
        return "inactive";
    }
}

std::vector<std::string> SystemdClient::journal_tail(const std::string& unit, std::size_t lines,
                                                     uint64_t since_realtime_usec) const {
    sd_journal* j = nullptr;
    if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM) < 0)
        return {};
    std::deque<std::string> out;
    const auto match = fmt::format("_SYSTEMD_UNIT={}", unit);
    if (sd_journal_add_match(j, match.data(), match.size()) >= 0 && sd_journal_seek_tail(j) >= 0) {
        while (out.size() < lines && sd_journal_previous(j) > 0) {
            uint64_t when = 0;
            if (sd_journal_get_realtime_usec(j, &when) >= 0 && when < since_realtime_usec)
                break;
            const void* data = nullptr;
            size_t len = 0;
            if (sd_journal_get_data(j, "MESSAGE", &data, &len) >= 0 && len > 8)
                out.emplace_front(static_cast<const char*>(data) + 8, len - 8);
        }
    }
    sd_journal_close(j);
    return {out.begin(), out.end()};
}

}  // namespace pgnspawn
