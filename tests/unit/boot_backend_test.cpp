// The booted images' exported helpers (is the image usable, is a connection failure worth
// retrying) and where the address of a container on a private network is learned.

#include "images/boot_backend.hpp"

#include "fake_systemd.hpp"
#include "temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>

namespace pgnspawn {
namespace {

using test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

InstanceConfig booted(ImageKind image, const std::filesystem::path& where) {
    InstanceConfig c;
    c.name = "pgdir";
    c.image = image;
    c.port = 5440;
    c.network = NetworkMode::Private;
    (image == ImageKind::Directory ? c.directory : c.toplevel) = where;
    return c;
}

TEST(BootImageProblem, DirectoryMustExist) {
    TempDir dir;
    EXPECT_EQ(boot_image_problem(booted(ImageKind::Directory, dir.path() / "nope")),
              "directory " + (dir.path() / "nope").string() + " does not exist");
}

TEST(BootImageProblem, DirectoryMustBeAnOsTree) {
    TempDir dir;
    EXPECT_THAT(boot_image_problem(booted(ImageKind::Directory, dir.path())),
                HasSubstr("is not an OS tree (it has no /etc/os-release or /usr/lib/os-release)"));
    dir.write("usr/lib/os-release", "ID=debian\n");
    EXPECT_EQ(boot_image_problem(booted(ImageKind::Directory, dir.path())), "");
}

TEST(BootImageProblem, EtcOsReleaseIsEnoughToo) {
    TempDir dir;
    dir.write("etc/os-release", "ID=debian\n");
    EXPECT_EQ(boot_image_problem(booted(ImageKind::Directory, dir.path())), "");
}

TEST(BootImageProblem, NixosToplevelMustHaveAnInit) {
    TempDir dir;
    EXPECT_EQ(boot_image_problem(booted(ImageKind::Nixos, dir.path())),
              dir.path().string() + " is not a NixOS system toplevel (it has no init)");
    dir.write("init", "#!/bin/sh\n");
    EXPECT_EQ(boot_image_problem(booted(ImageKind::Nixos, dir.path())), "");
}

TEST(PgConnectErrorIsTransient, NothingListeningYetIsWorthRetrying) {
    EXPECT_TRUE(
        pg_connect_error_is_transient("connection to server at \"10.0.0.2\", port 5440 failed: Connection "
                                      "refused"));
    EXPECT_TRUE(pg_connect_error_is_transient("FATAL: the database system is starting up"));
    EXPECT_TRUE(pg_connect_error_is_transient("timeout expired"));
}

TEST(PgConnectErrorIsTransient, WhatTheGuestRefusesIsFinal) {
    for (const char* final_error :
         {"FATAL: password authentication failed for user \"guest\"", "FATAL: database \"guestdb\" does not exist",
          "FATAL: no pg_hba.conf entry for host \"10.0.0.1\"", "FATAL: permission denied for database \"x\"",
          "FATAL: sorry, too many connections already"})
        EXPECT_FALSE(pg_connect_error_is_transient(final_error)) << final_error;
}

class BootAddressTest : public ::testing::Test {
protected:
    EventLoop loop;
    std::vector<std::string> events;
    test::FakeSystemd systemd{loop, events};
    BootBackend backend{loop, systemd};
    InstanceConfig config = booted(ImageKind::Directory, "/var/lib/machines/pgdir");

    void SetUp() override {
        systemd.active_state = "active";
        systemd.addresses = {{AF_INET, {169, 254, 1, 1}}, {AF_INET, {10, 0, 0, 2}}};
    }
};

TEST_F(BootAddressTest, AskingWhetherItRunsChangesNothing) {
    EXPECT_TRUE(backend.is_running(config));
    EXPECT_EQ(backend.address(config).first, "") << "is_running must not learn the address";
    EXPECT_THAT(events, ElementsAre("active-state-blocking pgnspawn-pgdir.service"));
}

TEST_F(BootAddressTest, AnAdoptedContainersAddressIsLearnedWhenItIsWatched) {
    ASSERT_TRUE(backend.is_running(config));
    backend.watch(config, [](const std::string&) {});
    EXPECT_EQ(backend.address(config), std::make_pair(std::string("10.0.0.2"), uint16_t{5440}));
    backend.watch(config, [](const std::string&) {});  // known now: machined is not asked again
    EXPECT_EQ(std::count(events.begin(), events.end(), "addresses-blocking pgnspawn-pgdir"), 1);
    backend.unwatch(config);
}

TEST_F(BootAddressTest, OnTheHostNetworkTheConfiguredAddressIsUsedAndMachinedIsNotAsked) {
    config.network = NetworkMode::Host;
    config.listen_address = "127.0.0.1";
    backend.watch(config, [](const std::string&) {});
    EXPECT_EQ(backend.address(config), std::make_pair(std::string("127.0.0.1"), uint16_t{5440}));
    EXPECT_EQ(std::count(events.begin(), events.end(), "addresses-blocking pgnspawn-pgdir"), 0);
    backend.unwatch(config);
}

TEST_F(BootAddressTest, AStopForgetsTheAddress) {
    backend.watch(config, [](const std::string&) {});
    backend.unwatch(config);
    bool stopped = false;
    backend.stop(config, [&](const std::string&) {
        stopped = true;
        loop.exit(0);
    });
    loop.run();
    EXPECT_TRUE(stopped);
    EXPECT_EQ(backend.address(config).first, "");
}

}  // namespace
}  // namespace pgnspawn
