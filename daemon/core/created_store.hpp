// What CreateInstance decides and keeps: the port it picks, the password it makes up,
// the quota it holds a caller to, and the file each created instance lives in
// (STATE/instances.d/NAME.toml: root-owned, 0600, the configuration file's schema plus
// the creator's uid), written atomically so a crash leaves the old file or the new one.
#pragma once

#include "core/config.hpp"

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pgnspawn {

inline constexpr std::size_t kGeneratedPasswordLength = 24;

/// 24 characters of [A-Za-z0-9] from getrandom().
std::string generate_password();

/// Whether nothing on this host listens on (or has bound) 127.0.0.1:port: tried by binding.
bool port_is_free_on_host(std::uint16_t port);

/// The lowest port of limits' range that no instance in `taken` uses and is_free accepts;
/// nullopt when there is none.
std::optional<std::uint16_t> pick_port(const CreatedLimits& limits, const std::vector<InstanceConfig>& taken,
                                       const std::function<bool(std::uint16_t)>& is_free);

/// Throws DomainError: PortUnavailable for `port` outside limits' range, used by an
/// instance in `taken` or (is_free says) by something else on the host.
void check_port(std::uint16_t port, const CreatedLimits& limits, const std::vector<InstanceConfig>& taken,
                const std::function<bool(std::uint16_t)>& is_free);

/// Throws DomainError QuotaExceeded when `uid` already created limits.quota instances.
void check_quota(std::uint32_t uid, const CreatedLimits& limits, const std::vector<InstanceConfig>& instances);

/// Who is asking to act on an instance, against the instance's creator.
enum class Ownership { Root, Creator, Other };
Ownership ownership(std::uint32_t caller_uid, const InstanceConfig& instance);

/// The directory of created instances' files.
class CreatedStore {
public:
    explicit CreatedStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path file_of(const std::string& name) const { return dir_ / (name + ".toml"); }

    /// Every NAME.toml, sorted by name. A file that does not parse is left where it is and
    /// its problem ("FILE: what") appended to `problems`: the instance and its data stay.
    std::vector<InstanceConfig> load(const ConfigEnvironment& env, std::vector<std::string>& problems) const;
    /// Writes NAME.toml (0600): tmp file, fsync, rename, fsync of the directory.
    void save(const std::string& name, const toml::table& keys, std::uint32_t created_by) const;
    /// Removes NAME.toml (a missing file is not an error).
    void remove(const std::string& name) const;

private:
    std::filesystem::path dir_;
};

/// The text of a created instance's file: created_by, then [instances.NAME] with `keys`.
std::string created_file_text(const std::string& name, const toml::table& keys, std::uint32_t created_by);
/// Parses that text back (ConfigError naming `source` when it is not such a file).
InstanceConfig parse_created_file(std::string_view text, const std::string& name, const std::string& source,
                                  const ConfigEnvironment& env);

}  // namespace pgnspawn
