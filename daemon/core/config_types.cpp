// The small functions of config.hpp that are not the parser: names of the enums,
// lookups, and what two instances would both take on the host.
#include "core/config.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pgnspawn {

std::string_view to_string(ImageKind kind) {
    switch (kind) {
        case ImageKind::Host:
            return "host";
        case ImageKind::Directory:
            return "directory";
        case ImageKind::Nixos:
            return "nixos";
    }
    return "unknown";
}

std::string_view to_string(NetworkMode mode) { return mode == NetworkMode::Private ? "private" : "host"; }

std::string_view to_string(Durability durability) { return durability == Durability::Fast ? "fast" : "durable"; }

const InstanceConfig* Config::find(std::string_view name) const {
    auto it = std::find_if(instances.begin(), instances.end(), [&](const auto& i) { return i.name == name; });
    return it == instances.end() ? nullptr : &*it;
}

std::string shared_host_port(const InstanceConfig& a, const InstanceConfig& b) {
    if (a.host_port && a.host_port == b.host_port)
        return fmt::format("host port {}", a.host_port);
    // Private-network instances each have a network namespace of their own.
    if (a.network == NetworkMode::Host && b.network == NetworkMode::Host && a.port == b.port &&
        a.listen_address == b.listen_address)
        return fmt::format("port {} on {}", a.port, a.listen_address);
    return {};
}

}  // namespace pgnspawn
