// Choosing the container address that GetAddress reports for a private-network instance.

#include "platform/address.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

namespace pgnspawn {
namespace {

MachineAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) { return {AF_INET, {a, b, c, d}}; }

MachineAddress v6(std::vector<std::uint8_t> bytes) { return {AF_INET6, std::move(bytes)}; }

std::vector<std::uint8_t> v6_link_local() { return {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x10, 0x20, 0, 0xff, 0xfe, 0, 0, 1}; }
std::vector<std::uint8_t> v6_ula() { return {0xfd, 0x12, 0x34, 0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}; }

TEST(RoutableAddress, NoAddressesIsNone) { EXPECT_EQ(routable_address({}), std::nullopt); }

TEST(RoutableAddress, PrivateIPv4IsChosen) {
    EXPECT_EQ(routable_address({v4(192, 168, 37, 94)}), "192.168.37.94");
    EXPECT_EQ(routable_address({v4(10, 0, 0, 2)}), "10.0.0.2");
}

TEST(RoutableAddress, LoopbackAndLinkLocalIPv4AreSkipped) {
    EXPECT_EQ(routable_address({v4(127, 0, 0, 1)}), std::nullopt);
    EXPECT_EQ(routable_address({v4(169, 254, 12, 7)}), std::nullopt);
    EXPECT_EQ(routable_address({v4(169, 254, 12, 7), v4(127, 0, 0, 1), v4(10, 0, 0, 2)}), "10.0.0.2");
}

TEST(RoutableAddress, UnspecifiedMulticastAndBroadcastIPv4AreSkipped) {
    EXPECT_EQ(routable_address({v4(0, 0, 0, 0), v4(224, 0, 0, 1), v4(255, 255, 255, 255)}), std::nullopt);
}

TEST(RoutableAddress, IPv4IsPreferredOverIPv6WhateverTheOrder) {
    EXPECT_EQ(routable_address({v6(v6_ula()), v4(10, 0, 0, 2)}), "10.0.0.2");
}

TEST(RoutableAddress, LinkLocalIPv6IsSkippedAndRoutableIPv6IsTheFallback) {
    EXPECT_EQ(routable_address({v6(v6_link_local())}), std::nullopt);
    EXPECT_EQ(routable_address({v6(v6_link_local()), v6(v6_ula())}), "fd12:3456::2");
}

TEST(RoutableAddress, IPv6LoopbackUnspecifiedAndMulticastAreSkipped) {
    std::vector<std::uint8_t> loopback(16, 0);
    loopback[15] = 1;
    std::vector<std::uint8_t> multicast(16, 0);
    multicast[0] = 0xff;
    multicast[1] = 0x02;
    multicast[15] = 1;
    EXPECT_EQ(routable_address({v6(loopback), v6(std::vector<std::uint8_t>(16, 0)), v6(multicast)}), std::nullopt);
}

TEST(RoutableAddress, MalformedEntriesAreIgnored) {
    EXPECT_EQ(routable_address({{AF_INET, {10, 0, 0}}, {AF_INET6, {0xfd, 0}}, {12345, {10, 0, 0, 2}}}), std::nullopt);
    EXPECT_EQ(routable_address({{AF_INET, {10, 0, 0}}, v4(10, 0, 0, 3)}), "10.0.0.3");
}

}  // namespace
}  // namespace pgnspawn
