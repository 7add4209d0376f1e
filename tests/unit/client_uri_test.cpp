// env's PGPASSWORD: the password taken back out of the daemon's connection URI.

#include "client/uri.hpp"
#include "core/uri.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgnspawn::client {
namespace {

TEST(ClientUri, PercentDecode) {
    EXPECT_EQ(percent_decode(""), "");
    EXPECT_EQ(percent_decode("plain"), "plain");
    EXPECT_EQ(percent_decode("p%40ss%3Aw%2Frd%25"), "p@ss:w/rd%");
    EXPECT_EQ(percent_decode("%c3%A9"), "é");
    EXPECT_EQ(percent_decode("%00"), std::string(1, '\0'));
    EXPECT_EQ(percent_decode("%41%42"), "AB");
}

TEST(ClientUri, PercentNotFollowedByTwoHexDigitsStaysAsItIs) {
    EXPECT_EQ(percent_decode("%"), "%");
    EXPECT_EQ(percent_decode("100%"), "100%");
    EXPECT_EQ(percent_decode("%4"), "%4");
    EXPECT_EQ(percent_decode("%4G"), "%4G");
    EXPECT_EQ(percent_decode("%G4"), "%G4");
    EXPECT_EQ(percent_decode("%-1"), "%-1");
    EXPECT_EQ(percent_decode("%+1"), "%+1");
    EXPECT_EQ(percent_decode("% 1"), "% 1");
    EXPECT_EQ(percent_decode("%%41"), "%A");
}

TEST(ClientUri, PasswordFromUri) {
    EXPECT_EQ(password_from_uri("postgresql://helloworld:helloworld@127.0.0.1:5433/helloworld"), "helloworld");
    EXPECT_EQ(password_from_uri("postgresql://app:S3cond%20p%40ss%3Aw%2Frd%25@127.0.0.1:5434/appdb"),
              "S3cond p@ss:w/rd%");
    EXPECT_EQ(password_from_uri("postgresql://app:pw@[::1]:5433/app"), "pw");
    EXPECT_EQ(password_from_uri("postgresql://app:@127.0.0.1:1/db"), "");
    // The first ':' and the last '@' of the authority delimit it, even unencoded.
    EXPECT_EQ(password_from_uri("postgresql://u:p@ss:x@127.0.0.1:1/db"), "p@ss:x");
}

TEST(ClientUri, NoPasswordGivesEmpty) {
    EXPECT_EQ(password_from_uri(""), "");
    EXPECT_EQ(password_from_uri("not a uri"), "");
    EXPECT_EQ(password_from_uri("postgresql://127.0.0.1:5433/db"), "");
    EXPECT_EQ(password_from_uri("postgresql://app@127.0.0.1:5433/db"), "");
    // An '@' or ':' after the authority (in the path) is not a password.
    EXPECT_EQ(password_from_uri("postgresql://127.0.0.1:5433/db:x@y"), "");
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
