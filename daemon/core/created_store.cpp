#include "core/created_store.hpp"

#include "core/created.hpp"
#include "core/errors.hpp"
#include "core/names.hpp"
#include "images/files.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace pgnspawn {

std::string generate_password() {
    static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    while (out.size() < kGeneratedPasswordLength) {
        unsigned char buf[64];
        const ssize_t n = getrandom(buf, sizeof buf, 0);
        if (n < 0 && errno != EINTR)
            throw std::runtime_error(fmt::format("getrandom failed: {}", std::strerror(errno)));
        // 248 = 4 * 62: bytes above it are dropped so that every character is equally likely.
        for (ssize_t i = 0; i < n && out.size() < kGeneratedPasswordLength; ++i)
            if (buf[i] < 248)
                out += kAlphabet[buf[i] % kAlphabet.size()];
    }
    return out;
}

bool port_is_free_on_host(std::uint16_t port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return free;
}

namespace {

/// Any instance with that port, whatever its address: a created instance must be able to
/// start whichever of them runs.
const InstanceConfig* user_of_port(std::uint16_t port, const std::vector<InstanceConfig>& taken) {
    for (const auto& c : taken)
        if (c.port == port || c.host_port == port)
            return &c;
    return nullptr;
}

}  // namespace

std::optional<std::uint16_t> pick_port(const CreatedLimits& limits, const std::vector<InstanceConfig>& taken,
                                       const std::function<bool(std::uint16_t)>& is_free) {
    for (std::uint32_t port = limits.port_min; port <= limits.port_max; ++port) {
        const auto p = static_cast<std::uint16_t>(port);
        if (!user_of_port(p, taken) && is_free(p))
            return p;
    }
    return std::nullopt;
}

void check_port(std::uint16_t port, const CreatedLimits& limits, const std::vector<InstanceConfig>& taken,
                const std::function<bool(std::uint16_t)>& is_free) {
    if (port < limits.port_min || port > limits.port_max)
        throw DomainError(error_name::PortUnavailable,
                          fmt::format("port {} is outside the range for created instances, {}-{} (leave the port "
                                      "out and one is picked)",
                                      port, limits.port_min, limits.port_max));
    if (const InstanceConfig* user = user_of_port(port, taken))
        throw DomainError(error_name::PortUnavailable,
                          fmt::format("port {} is already used by instance {}", port, user->name));
    if (!is_free(port))
        throw DomainError(error_name::PortUnavailable,
                          fmt::format("port {} is already in use by another process on this host", port));
}

void check_quota(std::uint32_t uid, const CreatedLimits& limits, const std::vector<InstanceConfig>& instances) {
    const auto mine = std::count_if(instances.begin(), instances.end(),
                                    [uid](const InstanceConfig& c) { return c.created_by == uid; });
    if (static_cast<std::uint64_t>(mine) >= limits.quota)
        throw DomainError(error_name::QuotaExceeded,
                          fmt::format("uid {} already has {} created instance(s), the most allowed ([created] quota "
                                      "= {}); destroy one first (pgnspawnctl destroy NAME)",
                                      uid, mine, limits.quota));
}

Ownership ownership(std::uint32_t caller_uid, const InstanceConfig& instance) {
    if (caller_uid == 0)
        return Ownership::Root;
    return instance.created_by == caller_uid ? Ownership::Creator : Ownership::Other;
}

std::string created_file_text(const std::string& name, const toml::table& keys, std::uint32_t created_by) {
    std::ostringstream out;
    out << "# Created over D-Bus (CreateInstance) by uid " << created_by
        << ". pgnspawnd owns this file; pgnspawnctl destroy " << name << " removes it.\n";
    out << toml::table{{"created_by", static_cast<int64_t>(created_by)}, {"instances", toml::table{{name, keys}}}}
        << "\n";
    return out.str();
}

InstanceConfig parse_created_file(std::string_view text, const std::string& name, const std::string& source,
                                  const ConfigEnvironment& env) {
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        throw ConfigError(
            fmt::format("{}:{}:{}: {}", source, e.source().begin.line, e.source().begin.column, e.description()));
    }
    const auto uid = root["created_by"].value<int64_t>();
    if (!uid || *uid < 0 || *uid > 0xffffffffLL)
        throw ConfigError(fmt::format("{}: not a created instance's file (it needs created_by = UID)", source));
    root.erase("created_by");
    return parse_created_root(root, name, static_cast<std::uint32_t>(*uid), source, env);
}

std::vector<InstanceConfig> CreatedStore::load(const ConfigEnvironment& env, std::vector<std::string>& problems) const {
    std::vector<InstanceConfig> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
        const auto& p = entry.path();
        const std::string name = p.stem().string();
        if (p.extension() != ".toml" || !entry.is_regular_file())
            continue;
        try {
            if (auto problem = instance_name_problem(name))
                throw ConfigError(fmt::format("{}: {}", p.string(), *problem));
            out.push_back(parse_created_file(read_file(p), name, p.string(), env));
        } catch (const std::exception& e) {
            problems.push_back(e.what());
        }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

void CreatedStore::save(const std::string& name, const toml::table& keys, std::uint32_t created_by) const {
    ensure_dir(dir_, 0700);
    write_file_durably(file_of(name), created_file_text(name, keys, created_by), getuid(), getgid(), 0600);
    fsync_dir(dir_);
}

void CreatedStore::remove(const std::string& name) const {
    std::error_code ec;
    std::filesystem::remove(file_of(name), ec);
    if (ec)
        throw std::runtime_error(fmt::format("cannot remove {}: {}", file_of(name).string(), ec.message()));
    fsync_dir(dir_);
}

}  // namespace pgnspawn
