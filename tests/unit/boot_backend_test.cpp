// The booted images' exported helpers (is the image usable, is a connection failure worth
// retrying) and where the address of a container on a private network is learned.

#include "images/boot_backend.hpp"

#include "fake_systemd.hpp"
#include "images/files.hpp"
#include "images/layout.hpp"
#include "temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>

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

// nspawn refuses to run a command (no --boot) in a root without usr/: "doesn't look like
// it has an OS tree (/usr/ directory is missing)". nixos-container makes usr/bin.
TEST(PrepareNixosRoot, IsTheSkeletonNixosContainerMakes) {
    TempDir dir;
    InstanceConfig c = booted(ImageKind::Nixos, "/nix/store/abc-nixos-system-pg");
    c.state_directory = dir.path() / "state/pgdir";
    const auto root = dir.path() / "state/pgdir/root";
    const mode_t umask_before = umask(077);  // the daemon's UMask
    prepare_nixos_root(c);
    umask(umask_before);
    struct stat st {};
    for (const char* d : {"", "usr", "usr/bin", "etc", "var", "var/lib", "nix", "nix/store"}) {
        ASSERT_EQ(stat((root / d).c_str(), &st), 0) << d;
        EXPECT_EQ(st.st_mode & 07777, 0755u) << d << ": other users must reach it";
    }
    for (const char* d : {"root", "var/lib/private"})
        EXPECT_TRUE(std::filesystem::is_directory(root / d)) << d;
    for (const char* f : {"etc/os-release", "etc/machine-id"}) {
        EXPECT_TRUE(std::filesystem::is_regular_file(root / f)) << f;
        EXPECT_EQ(std::filesystem::file_size(root / f), 0u) << f;
    }
    ASSERT_EQ(stat(c.state_directory.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    ASSERT_EQ(stat((root / "root").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    // What the guest's activation made is left alone at the next start.
    std::filesystem::remove(root / "etc/os-release");
    std::filesystem::create_symlink("/etc/static/os-release", root / "etc/os-release");
    prepare_nixos_root(c);
    EXPECT_TRUE(std::filesystem::is_symlink(root / "etc/os-release"));
}

TEST(WriteGuestPassword, IsRootsAloneAndFollowsAChangedPassword) {
    TempDir dir;
    InstanceConfig c = booted(ImageKind::Nixos, "/nix/store/abc-nixos-system-pg");
    c.state_directory = dir.path() / "state/pgdir";
    c.runtime_directory = dir.path() / "run/pgdir";
    c.password = "first secret";
    write_guest_password(c);
    const auto file = dir.path() / "run/pgdir/pgnspawn.password";
    ASSERT_EQ(guest_password_file(c), file);
    EXPECT_EQ(read_file(file), "first secret") << "exactly the password: no newline added";
    struct stat st {};
    ASSERT_EQ(stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    ASSERT_EQ(stat(file.parent_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    c.password = "second";
    write_guest_password(c);
    EXPECT_EQ(read_file(file), "second");
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
