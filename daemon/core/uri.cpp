#include "core/uri.hpp"

#include <fmt/format.h>

namespace pgnspawn {

std::string percent_encode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                          c == '.' || c == '_' || c == '~';
        if (unreserved)
            out += static_cast<char>(c);
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

std::string connection_uri(std::string_view user, std::string_view password, std::string_view host, std::uint16_t port,
                           std::string_view database) {
    const bool ipv6 = host.find(':') != std::string_view::npos;
    return fmt::format("postgresql://{}:{}@{}{}{}:{}/{}", percent_encode(user), percent_encode(password),
                       ipv6 ? "[" : "", host, ipv6 ? "]" : "", port, percent_encode(database));
}

}  // namespace pgnspawn
