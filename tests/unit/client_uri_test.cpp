// env's PGPASSWORD: the password taken back out of the daemon's connection URI.

#include "client/uri.hpp"
#include "core/uri.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgnspawn::client {
namespace {

struct Case {
    std::string input;
    std::string expected;
};

TEST(ClientUri, PercentDecode) {
    const std::vector<Case> cases{
        {"", ""},
        {"plain", "plain"},
        {"p%40ss%3Aw%2Frd%25", "p@ss:w/rd%"},
        {"%c3%A9", "é"},
        {"%00", std::string(1, '\0')},
        {"%41%42", "AB"},
        // A '%' not followed by two hex digits stays as it is.
        {"%", "%"},
        {"100%", "100%"},
        {"%4", "%4"},
        {"%4G", "%4G"},
        {"%G4", "%G4"},
        {"%-1", "%-1"},
        {"%+1", "%+1"},
        {"% 1", "% 1"},
        {"%%41", "%A"},
    };
    for (const auto& [input, expected] : cases)
        EXPECT_EQ(percent_decode(input), expected) << input;
}

TEST(ClientUri, PasswordFromUri) {
    const std::vector<Case> cases{
        {"postgresql://helloworld:helloworld@127.0.0.1:5433/helloworld", "helloworld"},
        {"postgresql://app:S3cond%20p%40ss%3Aw%2Frd%25@127.0.0.1:5434/appdb", "S3cond p@ss:w/rd%"},
        {"postgresql://app:pw@[::1]:5433/app", "pw"},
        // The first ':' and the last '@' of the authority delimit it, even unencoded.
        {"postgresql://u:p@ss:x@127.0.0.1:1/db", "p@ss:x"},
        // No password: empty.
        {"postgresql://app:@127.0.0.1:1/db", ""},
        {"", ""},
        {"not a uri", ""},
        {"postgresql://127.0.0.1:5433/db", ""},
        {"postgresql://app@127.0.0.1:5433/db", ""},
        // An '@' or ':' after the authority (in the path) is not a password.
        {"postgresql://127.0.0.1:5433/db:x@y", ""},
    };
    for (const auto& [input, expected] : cases)
        EXPECT_EQ(password_from_uri(input), expected) << input;
}

// The contract between daemon and client: whatever the daemon's connection_uri() makes
// of a password, the client gets the same password back.
TEST(ClientUri, RoundTripThroughTheDaemonsConnectionUri) {
    for (const std::string& password :
         std::vector<std::string>{"helloworld", "S3cond p@ss:w/rd%", "@@::@@", "a/b?c#d[e]f", "%41", "%", "é ✓ 😀",
                                  "'\"\\$`\n\t", " ", "user:pass@host", std::string("\x01\x7f\xff", 3)}) {
        const std::string uri = pgnspawn::connection_uri("u:s@r", password, "127.0.0.1", 5433, "d/b");
        EXPECT_EQ(password_from_uri(uri), password) << uri;
        const std::string ipv6 = pgnspawn::connection_uri("app", password, "fd00::2", 6000, "app");
        EXPECT_EQ(password_from_uri(ipv6), password) << ipv6;
    }
}

}  // namespace
}  // namespace pgnspawn::client
