// What the image kinds describe to the shared start sequence: the host image's container
// (PostgreSQL as PID 1, systemd's system call filter instead of nspawn's) and a booted
// image's (the guest's own init), and the transient unit each becomes.

#include "images/host_backend.hpp"
#include "images/boot_backend.hpp"
#include "images/layout.hpp"
#include "temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace pgnspawn {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr const char* kPassword = "Pw-5e1d-DoNotLeak";

/// As the parser makes it, with the PostgreSQL binaries of a fake libdir.
InstanceConfig host_config() {
    static const test::FakeLibdir libdir{"15"};
    const ConfigEnvironment env{"/var/lib/pgnspawn", libdir.path()};
    return parse_config(std::string("[instances.helloworld]\nport = 5433\nuser = \"hw\"\ndatabase = \"hwdb\"\n"
                                    "password = \"") +
                            kPassword + "\"\n",
                        "test.toml", env)
        .instances.at(0);
}

InstanceConfig directory_config() {
    InstanceConfig c = host_config();
    c.image = ImageKind::Directory;
    c.directory = "/var/lib/machines/pg";
    c.network = NetworkMode::Private;
    return c;
}

TEST(HostContainer, RunsPostgresAsNspawnsPayload) {
    BackendSettings settings;
    settings.nspawn_binary = "/opt/nspawn";
    const auto d = host_container(host_config(), settings);
    const auto binds = host_bind_args(locate_server(host_config().postgresql_bindir, settings.host), settings.host);
    EXPECT_EQ(d.argv, nspawn_argv(host_config(), "/opt/nspawn", binds));
    EXPECT_EQ(d.argv.front(), "/opt/nspawn");
    EXPECT_THAT(d.argv, Contains((host_config().postgresql_bindir / "postgres").string()));
}

TEST(HostContainer, SystemdFiltersTheSystemCallsInsteadOfNspawn) {
    const auto d = host_container(host_config(), {});
    const auto confinement = host_syscall_confinement();
    EXPECT_THAT(d.environment, ElementsAre("SYSTEMD_SECCOMP=0"));
    EXPECT_EQ(d.denied_syscalls, confinement.denied);
    EXPECT_THAT(d.syscall_architectures, ElementsAre("native"));
}

TEST(HostContainer, TheUnitCarriesTheContainerAndItsConfinement) {
    const auto c = host_config();
    const auto d = host_container(c, {});
    const auto s = transient_service(c, d, 7);
    EXPECT_EQ(s.unit, "pgnspawn-helloworld.service");
    EXPECT_EQ(s.description, "pgnspawn PostgreSQL instance helloworld (host image)");
    EXPECT_EQ(s.syslog_identifier, "pgnspawn-helloworld");
    EXPECT_EQ(s.timeout_stop_usec, 7u);
    EXPECT_EQ(s.argv, d.argv);
    EXPECT_EQ(s.environment, d.environment);
    EXPECT_EQ(s.denied_syscalls, d.denied_syscalls);
    EXPECT_EQ(s.syscall_architectures, d.syscall_architectures);
}

TEST(HostContainer, ThePasswordIsNowhereInTheUnit) {
    const auto c = host_config();
    const auto s = transient_service(c, host_container(c, {}), 0);
    for (const auto& list : {s.argv, s.environment, s.denied_syscalls, s.syscall_architectures})
        for (const auto& item : list)
            EXPECT_THAT(item, Not(HasSubstr(kPassword)));
    EXPECT_THAT(s.description, Not(HasSubstr(kPassword)));
}

TEST(BootContainer, BootsTheGuestsOwnInitWithoutAFilterOfOurs) {
    const auto c = directory_config();
    const auto d = boot_container(c, {});
    EXPECT_EQ(d.argv, boot_nspawn_argv(c, "/usr/bin/systemd-nspawn"));
    EXPECT_THAT(d.argv, Contains("--boot"));
    EXPECT_THAT(d.environment, IsEmpty());
    EXPECT_THAT(d.denied_syscalls, IsEmpty());
    EXPECT_THAT(d.syscall_architectures, IsEmpty());
    const auto s = transient_service(c, d, 0);
    EXPECT_EQ(s.description, "pgnspawn PostgreSQL instance helloworld (directory image)");
}

}  // namespace
}  // namespace pgnspawn
