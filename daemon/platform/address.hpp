// Which of a container's addresses a client on the host should connect to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgnspawn {

/// One entry of machined's GetMachineAddresses: an address family and its raw bytes.
struct MachineAddress {
    int family = 0;  ///< AF_INET or AF_INET6
    std::vector<std::uint8_t> bytes;
};

/// The address to reach the container at, as text: the first routable IPv4 address, else
/// the first routable IPv6 address. Loopback, link-local (169.254/16, fe80::/10),
/// unspecified and multicast addresses are never chosen: they are not reachable from the
/// host, or not only from it. nullopt when there is none (yet).
std::optional<std::string> routable_address(const std::vector<MachineAddress>& addresses);

}  // namespace pgnspawn
