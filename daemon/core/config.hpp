// /etc/pgnspawn/pgnspawn.toml: what instances exist and how they are set up.
// Parsing is strict: unknown keys, wrong types and bad values are errors that name
// file:line:column, and nothing half-parsed is ever used.
#pragma once

#include "pgnspawn-config.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgnspawn {

/// host: the host's own PostgreSQL binaries, PostgreSQL as the container's PID 1.
/// directory: a full OS tree booted with its own init. nixos: a NixOS system toplevel.
enum class ImageKind { Host, Directory, Nixos };
/// host: the host's network namespace. private: a veth pair, address from machined.
enum class NetworkMode { Host, Private };
/// durable: PostgreSQL's defaults. fast: fsync, synchronous_commit and full_page_writes
/// off, for data that may be lost in a crash.
enum class Durability { Durable, Fast };
/// file: declared by root in the configuration file. created: made over D-Bus
/// (CreateInstance) by a user, persisted by the daemon under STATE/instances.d; such an
/// instance may not name a path or an image (see core/created.hpp).
enum class InstanceOrigin { File, Created };

std::string_view to_string(ImageKind kind);
std::string_view to_string(NetworkMode mode);
std::string_view to_string(Durability durability);

struct InstanceConfig {
    std::string name;
    ImageKind image = ImageKind::Host;
    std::uint16_t port = 0;
    std::string listen_address = "127.0.0.1";
    NetworkMode network = NetworkMode::Host;
    std::filesystem::path directory;  ///< image "directory": the OS tree
    std::filesystem::path toplevel;   ///< image "nixos": /nix/store/...-nixos-system-...
    std::uint16_t host_port = 0;      ///< private network: forwarded from this host port (0: none)
    std::string database;
    std::string user;
    /// The secret itself (from `password` or read from `password_file`). Never log it.
    std::string password;
    std::string postgresql_version;           ///< e.g. "15" (host image only)
    std::filesystem::path postgresql_bindir;  ///< e.g. /usr/lib/postgresql/15/bin
    std::filesystem::path state_directory;    ///< e.g. /var/lib/pgnspawn/NAME
    /// Started by the daemon when it starts (at boot, if pgnspawnd.service is enabled).
    bool autostart = false;
    /// Attributes of the configured role, applied on every start where they differ.
    bool createdb = true;
    bool superuser = false;
    Durability durability = Durability::Durable;
    /// The data directory lives on a tmpfs (runtime_directory): gone at Stop, a fresh
    /// cluster on every start.
    bool ephemeral = false;
    std::filesystem::path runtime_directory;  ///< e.g. /run/pgnspawn/NAME
    /// settings = { ... }: PostgreSQL configuration, name and value as PostgreSQL reads
    /// them (booleans "on"/"off"), in name order; see config_server.hpp.
    std::vector<std::pair<std::string, std::string>> settings;
    /// initial_script: SQL run once per cluster as postgres after the first provisioning.
    std::filesystem::path initial_script;
    /// initial_sql: the same, the SQL itself (what a created instance may have instead).
    std::string initial_sql;
    std::vector<std::string> databases;   ///< more databases owned by `user`
    std::vector<std::string> extensions;  ///< created in `database` and each of `databases`
    /// Set before any per-instance check runs, so checks can depend on it.
    InstanceOrigin origin = InstanceOrigin::File;
    std::optional<std::uint32_t> created_by;  ///< the creator's uid (created instances)

    bool operator==(const InstanceConfig&) const = default;
};

/// What two instances would both take on the host, in words ("port 5433 on 127.0.0.1",
/// "host port 15432"); empty when they can run side by side (a private network is a
/// namespace of its own).
std::string shared_host_port(const InstanceConfig& a, const InstanceConfig& b);

/// Where the parser looks things up on this machine; tests point it elsewhere.
struct ConfigEnvironment {
    std::filesystem::path state_root;                    ///< default /var/lib/pgnspawn
    std::filesystem::path postgresql_libdir;             ///< default /usr/lib/postgresql
    std::filesystem::path runtime_root = {};             ///< default /run/pgnspawn (a tmpfs); empty: no ephemeral
    std::string nix_store_dir = PGNSPAWN_NIX_STORE_DIR;  ///< -Dnix_store_dir: toplevels live under it
};

/// The file's [created] table: what CreateInstance may hand out.
struct CreatedLimits {
    std::uint16_t port_min = 54300;  ///< ports picked for created instances, inclusive
    std::uint16_t port_max = 54399;
    std::uint32_t quota = 10;  ///< created instances per uid

    bool operator==(const CreatedLimits&) const = default;
};

struct Config {
    std::filesystem::path source;
    std::vector<InstanceConfig> instances;
    CreatedLimits created;

    const InstanceConfig* find(std::string_view name) const;
};

/// A configuration problem, already formatted as "FILE:LINE:COLUMN: what is wrong".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

Config parse_config(std::string_view text, const std::string& source_name, const ConfigEnvironment& env);
Config load_config(const std::filesystem::path& file, const ConfigEnvironment& env);

/// The newest "VERSION/bin/postgres" under libdir, or an empty string.
std::string newest_postgresql_version(const std::filesystem::path& libdir);

}  // namespace pgnspawn
