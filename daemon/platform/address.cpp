#include "platform/address.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

namespace pgnspawn {

namespace {

bool routable_v4(const std::vector<std::uint8_t>& a) {
    if (a.size() != 4)
        return false;
    if (a[0] == 127 || a[0] == 0)  // loopback, "this network"
        return false;
    if (a[0] == 169 && a[1] == 254)  // link-local
        return false;
    if (a[0] >= 224)  // multicast, reserved, broadcast
        return false;
    return true;
}

bool routable_v6(const std::vector<std::uint8_t>& a) {
    if (a.size() != 16)
        return false;
    bool all_zero = true;
    for (std::size_t i = 0; i < 15; ++i)
        all_zero = all_zero && a[i] == 0;
    if (all_zero && (a[15] == 0 || a[15] == 1))  // unspecified, loopback
        return false;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)  // link-local fe80::/10
        return false;
    if (a[0] == 0xff)  // multicast
        return false;
    return true;
}

std::string to_text(int family, const std::vector<std::uint8_t>& bytes) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (!inet_ntop(family, bytes.data(), buf, sizeof(buf)))
        return {};
    return buf;
}

}  // namespace

std::optional<std::string> routable_address(const std::vector<MachineAddress>& addresses) {
    for (int family : {AF_INET, AF_INET6})
        for (const auto& a : addresses) {
            if (a.family != family)
                continue;
            const bool ok = family == AF_INET ? routable_v4(a.bytes) : routable_v6(a.bytes);
            if (ok)
                if (auto text = to_text(family, a.bytes); !text.empty())
                    return text;
        }
    return std::nullopt;
}

}  // namespace pgnspawn
