// Error names of the org.pgnspawn1 API, in one place (like systemd's bus-common-errors.h),
// and the domain exception that carries one of them to the D-Bus boundary.
#pragma once

#include <stdexcept>
#include <string>

namespace pgnspawn {

namespace error_name {
inline constexpr const char* NoSuchInstance = "org.pgnspawn1.Error.NoSuchInstance";
inline constexpr const char* NotRunning = "org.pgnspawn1.Error.NotRunning";
/// DropScratchDatabase: no scratch database of that name belongs to the instance.
inline constexpr const char* NoSuchScratchDatabase = "org.pgnspawn1.Error.NoSuchScratchDatabase";
inline constexpr const char* StartFailed = "org.pgnspawn1.Error.StartFailed";
inline constexpr const char* StopFailed = "org.pgnspawn1.Error.StopFailed";
/// The daemon started on a bad configuration file; the message is the parser's.
inline constexpr const char* BadConfiguration = "org.pgnspawn1.Error.BadConfiguration";
/// Snapshots (Manager.Snapshot and friends).
inline constexpr const char* NoSuchSnapshot = "org.pgnspawn1.Error.NoSuchSnapshot";
inline constexpr const char* SnapshotExists = "org.pgnspawn1.Error.SnapshotExists";
/// A copy (Snapshot, Restore) would not fit in the free space of the instance's data directory.
inline constexpr const char* NoSpace = "org.pgnspawn1.Error.NoSpace";
/// A snapshot operation's SQL failed (a full disk, the instance stopping meanwhile, ...).
inline constexpr const char* SnapshotFailed = "org.pgnspawn1.Error.SnapshotFailed";
/// The operation needs another image kind (snapshots and scratch databases: image = "host").
inline constexpr const char* NotSupported = "org.pgnspawn1.Error.NotSupported";
/// CreateInstance: a setting the file's parser refuses, or one a created instance may not have.
inline constexpr const char* InvalidSetting = "org.pgnspawn1.Error.InvalidSetting";
/// CreateInstance: the name is taken (by the configuration file or a created instance).
inline constexpr const char* InstanceExists = "org.pgnspawn1.Error.InstanceExists";
/// CreateInstance: the port is outside [created]'s range, taken, or none is free.
inline constexpr const char* PortUnavailable = "org.pgnspawn1.Error.PortUnavailable";
/// CreateInstance: the caller already has [created] quota created instances.
inline constexpr const char* QuotaExceeded = "org.pgnspawn1.Error.QuotaExceeded";
inline constexpr const char* InvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
inline constexpr const char* AccessDenied = "org.freedesktop.DBus.Error.AccessDenied";
inline constexpr const char* Failed = "org.freedesktop.DBus.Error.Failed";
}  // namespace error_name

/// A failure with a D-Bus error name and a sentence a person can act on.
class DomainError : public std::runtime_error {
public:
    DomainError(const char* name, const std::string& message) : std::runtime_error(message), name_(name) {}
    const char* name() const noexcept { return name_; }

private:
    const char* name_;
};

}  // namespace pgnspawn
