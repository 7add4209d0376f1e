// postgresql:// connection URIs and RFC 3986 percent-encoding.

#include "core/uri.hpp"

#include <gtest/gtest.h>

namespace pgnspawn {
namespace {

TEST(ConnectionUri, CanonicalExample) {
    EXPECT_EQ(connection_uri("helloworld", "helloworld", "127.0.0.1", 5433, "helloworld"),
              "postgresql://helloworld:helloworld@127.0.0.1:5433/helloworld");
}

TEST(ConnectionUri, SpecialCharactersInPasswordArePercentEncoded) {
    EXPECT_EQ(connection_uri("app", "p@ss:w/rd%?#", "127.0.0.1", 5433, "app"),
              "postgresql://app:p%40ss%3Aw%2Frd%25%3F%23@127.0.0.1:5433/app");
}

TEST(ConnectionUri, IPv6HostIsBracketed) {
    EXPECT_EQ(connection_uri("app", "pw", "::1", 5433, "app"), "postgresql://app:pw@[::1]:5433/app");
    EXPECT_EQ(connection_uri("app", "pw", "fd00::2", 6000, "app"), "postgresql://app:pw@[fd00::2]:6000/app");
}

TEST(ConnectionUri, UserAndDatabaseAreEncodedToo) {
    EXPECT_EQ(connection_uri("a b", "pw", "10.0.0.1", 1, "d/b"), "postgresql://a%20b:pw@10.0.0.1:1/d%2Fb");
}

TEST(PercentEncode, UnreservedCharactersAreKept) {
    EXPECT_EQ(percent_encode("azAZ09-._~"), "azAZ09-._~");
    EXPECT_EQ(percent_encode(""), "");
}

TEST(PercentEncode, EverythingElseIsEncodedInUpperCaseHex) {
    EXPECT_EQ(percent_encode(" !\"#$&'()*+,/:;=?@[]"), "%20%21%22%23%24%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D");
    EXPECT_EQ(percent_encode("%"), "%25");
    EXPECT_EQ(percent_encode("\n"), "%0A");
}

TEST(PercentEncode, NonAsciiBytesAreEncodedOneByOne) {
    EXPECT_EQ(percent_encode("caf\xc3\xa9"), "caf%C3%A9");
    EXPECT_EQ(percent_encode("\xff"), "%FF");
}

}  // namespace
}  // namespace pgnspawn
