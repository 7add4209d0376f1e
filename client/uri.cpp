#include "client/uri.hpp"

#include <charconv>
#include <utility>

namespace pgnspawn::client {

namespace {

bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

std::string percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned value = 0;
        if (text[i] == '%' && i + 2 < text.size() && is_hex_digit(text[i + 1]) && is_hex_digit(text[i + 2])) {
            std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
            out += static_cast<char>(value);
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

namespace {

/// Where the password of `uri` is (after the ':' of its user info), or npos.
std::pair<std::size_t, std::size_t> password_span(std::string_view uri) {
    constexpr auto npos = std::string_view::npos;
    const auto scheme = uri.find("://");
    if (scheme == npos)
        return {npos, 0};
    const std::size_t start = scheme + 3;
    const std::string_view rest = uri.substr(start, uri.find('/', start) - start);
    const auto at = rest.rfind('@');
    const auto colon = at == npos ? npos : rest.substr(0, at).find(':');
    if (colon == npos)
        return {npos, 0};
    return {start + colon + 1, at - colon - 1};
}

}  // namespace

std::string password_from_uri(std::string_view uri) {
    const auto [at, length] = password_span(uri);
    return at == std::string_view::npos ? std::string() : percent_decode(uri.substr(at, length));
}

std::string uri_without_password(std::string_view uri) {
    const auto [at, length] = password_span(uri);
    if (at == std::string_view::npos)
        return std::string(uri);
    // "user:secret@host" becomes "user@host": the ':' goes with the password.
    return std::string(uri.substr(0, at - 1)) + std::string(uri.substr(at + length));
}

}  // namespace pgnspawn::client
