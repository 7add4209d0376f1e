// postgresql:// connection URIs, as libpq, psql, sqlx and node-postgres accept them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pgnspawn {

/// RFC 3986 percent-encoding of everything but unreserved characters.
std::string percent_encode(std::string_view s);

/// postgresql://user:password@host:port/database; IPv6 hosts are bracketed.
std::string connection_uri(std::string_view user, std::string_view password, std::string_view host, std::uint16_t port,
                           std::string_view database);

}  // namespace pgnspawn
