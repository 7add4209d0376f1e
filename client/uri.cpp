#include "client/uri.hpp"

#include <charconv>

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

std::string password_from_uri(std::string_view uri) {
    const auto scheme = uri.find("://");
    if (scheme == std::string_view::npos)
        return {};
    std::string_view rest = uri.substr(scheme + 3);
    rest = rest.substr(0, rest.find('/'));
    const auto at = rest.rfind('@');
    if (at == std::string_view::npos)
        return {};
    const std::string_view userinfo = rest.substr(0, at);
    const auto colon = userinfo.find(':');
    return colon == std::string_view::npos ? std::string() : percent_decode(userinfo.substr(colon + 1));
}

}  // namespace pgnspawn::client
