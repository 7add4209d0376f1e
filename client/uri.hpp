// The parts of a connection URI the client needs (env: PGPASSWORD).
#pragma once

#include <string>
#include <string_view>

namespace pgnspawn::client {

/// %XX (hex, either case) becomes the byte XX; a '%' not followed by two hex digits stays.
std::string percent_decode(std::string_view text);

/// The password in the daemon's `postgresql://user:password@host:port/database`, decoded;
/// "" when there is none. User and password are percent-encoded there, so the first ':'
/// and the last '@' of the authority delimit it.
std::string password_from_uri(std::string_view uri);

/// The same URI without its password (for argv, which every user can read: psql).
std::string uri_without_password(std::string_view uri);

}  // namespace pgnspawn::client
