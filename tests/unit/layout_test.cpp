// How an instance's container is assembled: paths, the systemd-nspawn and initdb
// command lines, and the authentication files of a fresh cluster.

#include "images/layout.hpp"

#include "core/config.hpp"
#include "temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace pgnspawn {
namespace {

using test::FakeLibdir;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

// A password distinctive enough that finding it anywhere is certainly a leak.
constexpr const char* kPassword = "Pw-7f3a9c-DoNotLeak";

class LayoutTest : public ::testing::Test {
protected:
    FakeLibdir libdir{"15"};
    InstanceConfig config = example();

    InstanceConfig example() const {
        const ConfigEnvironment env{"/var/lib/pgnspawn", libdir.path()};
        const Config parsed = parse_config(std::string(R"([instances.helloworld]
image = "host"
port = 5433
database = "helloworld"
user = "helloworld"
password = ")") + kPassword + "\"\n",
                                           "test.toml", env);
        return parsed.instances.at(0);
    }

    std::string postgres_binary() const { return (libdir.path() / "15/bin/postgres").string(); }

    /// Index of `arg` in argv; a test failure (and argv.size()) when it is absent.
    static std::size_t index_of(const std::vector<std::string>& argv, const std::string& arg) {
        auto it = std::find(argv.begin(), argv.end(), arg);
        EXPECT_NE(it, argv.end()) << "missing argument " << arg;
        return static_cast<std::size_t>(it - argv.begin());
    }

    /// Whether argv holds "-c", `setting` as two consecutive arguments.
    static bool has_setting(const std::vector<std::string>& argv, const std::string& setting) {
        for (std::size_t i = 0; i + 1 < argv.size(); ++i)
            if (argv[i] == "-c" && argv[i + 1] == setting)
                return true;
        return false;
    }
};

TEST_F(LayoutTest, InstancePathsAreUnderTheStateDirectory) {
    const InstancePaths p(config);
    EXPECT_EQ(p.state, "/var/lib/pgnspawn/helloworld");
    EXPECT_EQ(p.root, "/var/lib/pgnspawn/helloworld/root");
    EXPECT_EQ(p.data, "/var/lib/pgnspawn/helloworld/data");
    EXPECT_EQ(p.data_tmp, "/var/lib/pgnspawn/helloworld/data.new");
    EXPECT_EQ(p.socket_dir, "/var/lib/pgnspawn/helloworld/run");
    EXPECT_EQ(p.initdb_log, "/var/lib/pgnspawn/helloworld/initdb.log");
}

TEST_F(LayoutTest, AnEphemeralInstancesDataIsInTheRuntimeDirectory) {
    config.ephemeral = true;
    config.runtime_directory = "/run/pgnspawn/helloworld";
    const InstancePaths p(config);
    EXPECT_EQ(p.data, "/run/pgnspawn/helloworld/data");
    EXPECT_EQ(p.data_tmp, "/run/pgnspawn/helloworld/data.new");
    EXPECT_EQ(p.state, "/var/lib/pgnspawn/helloworld");
    EXPECT_EQ(p.socket_dir, "/var/lib/pgnspawn/helloworld/run");
    // ... and that is what the container gets as its PGDATA.
    const auto argv = nspawn_argv(config, "/usr/bin/systemd-nspawn");
    EXPECT_LT(index_of(argv, "--bind=/run/pgnspawn/helloworld/data:/var/lib/postgresql/data"), argv.size());
    EXPECT_EQ(initdb_argv(config).at(2), "/run/pgnspawn/helloworld/data.new");
}

TEST_F(LayoutTest, NspawnBinaryIsArgvZero) {
    const auto argv = nspawn_argv(config, "/usr/bin/systemd-nspawn");
    ASSERT_FALSE(argv.empty());
    EXPECT_EQ(argv[0], "/usr/bin/systemd-nspawn");
    EXPECT_EQ(nspawn_argv(config, "/opt/nspawn").at(0), "/opt/nspawn");
}

TEST_F(LayoutTest, NspawnOptionsComeInOrderBeforePostgres) {
    const auto argv = nspawn_argv(config, "/usr/bin/systemd-nspawn");
    const std::size_t keep_unit = index_of(argv, "--keep-unit");
    const std::size_t machine = index_of(argv, "--machine=pgnspawn-helloworld");
    const std::size_t directory = index_of(argv, "--directory=/var/lib/pgnspawn/helloworld/root");
    const std::size_t kill_signal = index_of(argv, "--kill-signal=SIGINT");
    const std::size_t user = index_of(argv, "--user=postgres");
    const std::size_t bind = index_of(argv, "--bind=/var/lib/pgnspawn/helloworld/data:/var/lib/postgresql/data");
    const std::size_t postgres = index_of(argv, postgres_binary());

    EXPECT_LT(0u, keep_unit);
    EXPECT_LT(keep_unit, machine);
    EXPECT_LT(machine, directory);
    EXPECT_LT(directory, postgres);
    EXPECT_LT(kill_signal, postgres);
    EXPECT_LT(user, postgres);
    EXPECT_LT(bind, postgres);
}

TEST_F(LayoutTest, NspawnRunsPostgresAsPidOne) {
    const auto argv = nspawn_argv(config, "/usr/bin/systemd-nspawn");
    EXPECT_THAT(argv, Not(Contains("--as-pid2")));
    EXPECT_THAT(argv, Not(Contains(HasSubstr("--boot"))));
}

TEST_F(LayoutTest, PostgresIsCalledWithTheContainerDataDirectory) {
    const auto argv = nspawn_argv(config, "/usr/bin/systemd-nspawn");
    const std::size_t postgres = index_of(argv, postgres_binary());
    ASSERT_LT(postgres + 2, argv.size());
    EXPECT_EQ(argv[postgres + 1], "-D");
    EXPECT_EQ(argv[postgres + 2], "/var/lib/postgresql/data");
    EXPECT_EQ(std::count(argv.begin(), argv.end(), postgres_binary()), 1);
}

TEST_F(LayoutTest, PostgresSettingsFollowTheBinary) {
    const auto argv = nspawn_argv(config, "/usr/bin/systemd-nspawn");
    EXPECT_TRUE(has_setting(argv, "port=5433"));
    EXPECT_TRUE(has_setting(argv, "listen_addresses=127.0.0.1"));
    EXPECT_TRUE(has_setting(argv, "unix_socket_directories=/run/postgresql"));
    EXPECT_LT(index_of(argv, postgres_binary()), index_of(argv, "port=5433"));
    EXPECT_LT(index_of(argv, postgres_binary()), index_of(argv, "listen_addresses=127.0.0.1"));
}

TEST_F(LayoutTest, DurableIsPostgresqlsDefaults) {
    const auto argv = nspawn_argv(config, "/usr/bin/systemd-nspawn");
    for (const char* setting : {"fsync=off", "synchronous_commit=off", "full_page_writes=off"})
        EXPECT_FALSE(has_setting(argv, setting)) << setting;
}

TEST_F(LayoutTest, FastTurnsOffFsyncSynchronousCommitAndFullPageWrites) {
    config.durability = Durability::Fast;
    const auto argv = nspawn_argv(config, "/usr/bin/systemd-nspawn");
    for (const char* setting : {"fsync=off", "synchronous_commit=off", "full_page_writes=off"}) {
        EXPECT_TRUE(has_setting(argv, setting)) << setting;
        EXPECT_LT(index_of(argv, postgres_binary()), index_of(argv, setting)) << setting;
    }
}

TEST_F(LayoutTest, PortAndAddressFollowTheConfiguration) {
    config.port = 6543;
    config.listen_address = "::1";
    const auto argv = nspawn_argv(config, "/usr/bin/systemd-nspawn");
    EXPECT_TRUE(has_setting(argv, "port=6543"));
    EXPECT_TRUE(has_setting(argv, "listen_addresses=::1"));
    EXPECT_FALSE(has_setting(argv, "port=5433"));
}

TEST_F(LayoutTest, SocketDirectoryIsBoundIntoTheContainer) {
    const auto argv = nspawn_argv(config, "/usr/bin/systemd-nspawn");
    EXPECT_THAT(argv, Contains("--bind=/var/lib/pgnspawn/helloworld/run:/run/postgresql"));
}

TEST_F(LayoutTest, PasswordNeverAppearsInNspawnArgv) {
    ASSERT_EQ(config.password, kPassword);
    for (const auto& arg : nspawn_argv(config, "/usr/bin/systemd-nspawn"))
        EXPECT_THAT(arg, Not(HasSubstr(kPassword)));
}

TEST_F(LayoutTest, InitdbUsesScramForTcpAndTargetsDataNew) {
    const auto argv = initdb_argv(config);
    ASSERT_FALSE(argv.empty());
    EXPECT_EQ(argv[0], (libdir.path() / "15/bin/initdb").string());
    EXPECT_THAT(argv, Contains("--auth-host=scram-sha-256"));
    EXPECT_THAT(argv, Contains("--auth-local=peer"));
    EXPECT_THAT(argv, Contains("--username=postgres"));
    const std::size_t pgdata = index_of(argv, "--pgdata");
    ASSERT_LT(pgdata + 1, argv.size());
    EXPECT_EQ(argv[pgdata + 1], "/var/lib/pgnspawn/helloworld/data.new");
    EXPECT_THAT(argv, Not(Contains("/var/lib/pgnspawn/helloworld/data")));
}

TEST_F(LayoutTest, PasswordNeverAppearsInInitdbArgv) {
    for (const auto& arg : initdb_argv(config)) {
        EXPECT_THAT(arg, Not(HasSubstr(kPassword)));
        EXPECT_THAT(arg, Not(HasSubstr("--pwfile")));
        EXPECT_THAT(arg, Not(HasSubstr("trust")));
    }
}

TEST(PgHbaConf, TcpIsScramAndNothingIsTrusted) {
    const std::string hba = pg_hba_conf();
    EXPECT_THAT(hba, Not(HasSubstr("trust")));
    EXPECT_THAT(hba, Not(HasSubstr("md5")));
    EXPECT_THAT(hba, Not(HasSubstr("password")));
    int host_lines = 0;
    std::size_t begin = 0;
    while (begin < hba.size()) {
        std::size_t end = hba.find('\n', begin);
        if (end == std::string::npos)
            end = hba.size();
        const std::string line = hba.substr(begin, end - begin);
        if (line.rfind("host", 0) == 0) {
            ++host_lines;
            EXPECT_THAT(line, HasSubstr("scram-sha-256")) << line;
        }
        begin = end + 1;
    }
    EXPECT_EQ(host_lines, 2);  // IPv4 and IPv6
    EXPECT_THAT(hba, HasSubstr("0.0.0.0/0"));
    EXPECT_THAT(hba, HasSubstr("::/0"));
    EXPECT_THAT(hba, HasSubstr("local   all       all            peer map=pgnspawn"));
}

TEST(PgIdentConf, MapsRootAndPostgresToTheSuperuser) {
    const std::string ident = pg_ident_conf();
    EXPECT_THAT(ident, HasSubstr("pgnspawn   root             postgres\n"));
    EXPECT_THAT(ident, HasSubstr("pgnspawn   postgres         postgres\n"));
}

TEST_F(LayoutTest, SpareClusterIsPerVersionBesideTheInstances) {
    EXPECT_EQ(spare_cluster_dir(config), "/var/lib/pgnspawn/.spare-15");
    const auto argv = initdb_argv(config.postgresql_bindir, "/var/lib/pgnspawn/.spare-15.new");
    EXPECT_EQ(argv.at(0), (libdir.path() / "15/bin/initdb").string());
    EXPECT_EQ(argv.at(index_of(argv, "--pgdata") + 1), "/var/lib/pgnspawn/.spare-15.new");
}

// --- the host image's system call filter (issue 5: warm start) ----------------------------

TEST(HostSyscallConfinement, NspawnsOwnFilterIsReplacedNotDropped) {
    const auto c = host_syscall_confinement();
    EXPECT_THAT(c.environment, Contains("SYSTEMD_SECCOMP=0"));
    EXPECT_EQ(c.architectures, std::vector<std::string>{"native"});
    // What an unprivileged PostgreSQL could still call without nspawn's filter.
    for (const char* call : {"keyctl", "add_key", "request_key", "bpf", "userfaultfd", "@debug", "@obsolete",
                             "@cpu-emulation", "@module", "@raw-io", "@reboot", "@swap", "@clock"})
        EXPECT_THAT(c.denied, Contains(call)) << call;
}

TEST(HostSyscallConfinement, LeavesNspawnWhatItNeedsToBuildTheContainer) {
    // The filter covers nspawn too (systemd applies it before ExecStart).
    const auto c = host_syscall_confinement();
    for (const char* call :
         {"@mount", "mount", "umount2", "pivot_root", "@process", "clone", "clone3", "unshare", "setns", "@privileged",
          "@system-service", "chroot", "setresuid", "@setuid", "@file-system", "@network-io", "@signal", "@ipc"})
        EXPECT_THAT(c.denied, Not(Contains(call))) << call;
}

// --- booted images (issue 4) -------------------------------------------------------------

InstanceConfig booted(const std::string& image_lines) {
    const ConfigEnvironment env{"/var/lib/pgnspawn", "/nonexistent"};
    return parse_config("[instances.guest]\n" + image_lines + "port = 5432\npassword = \"" + kPassword + "\"\n",
                        "test.toml", env)
        .instances.at(0);
}

bool has(const std::vector<std::string>& argv, const std::string& arg) {
    return std::find(argv.begin(), argv.end(), arg) != argv.end();
}

TEST(BootNspawnArgv, DirectoryImageBootsTheTreeWithItsOwnInitOnAPrivateNetwork) {
    const auto c = booted("image = \"directory\"\ndirectory = \"/var/lib/machines/pg\"\n");
    const auto argv = boot_nspawn_argv(c, "/usr/bin/systemd-nspawn");
    EXPECT_EQ(argv.front(), "/usr/bin/systemd-nspawn");
    for (const char* a :
         {"--boot", "--keep-unit", "--register=yes", "--machine=pgnspawn-guest", "--directory=/var/lib/machines/pg",
          "--notify-ready=yes", "--kill-signal=SIGRTMIN+3", "--network-veth"})
        EXPECT_TRUE(has(argv, a)) << a;
    EXPECT_EQ(argv.back(), "--boot");
    for (const auto& a : argv) {
        EXPECT_THAT(a, Not(HasSubstr("--port"))) << "no forwarding unless host_port is set";
        EXPECT_THAT(a, Not(HasSubstr(kPassword)));
    }
}

TEST(BootNspawnArgv, HostNetworkHasNoVeth) {
    const auto argv =
        boot_nspawn_argv(booted("image = \"directory\"\ndirectory = \"/srv/pg\"\nnetwork = \"host\"\n"), "nspawn");
    EXPECT_FALSE(has(argv, "--network-veth"));
}

TEST(BootNspawnArgv, HostPortIsForwardedToThePostgresPort) {
    const auto argv =
        boot_nspawn_argv(booted("image = \"directory\"\ndirectory = \"/srv/pg\"\nhost_port = 15432\n"), "nspawn");
    EXPECT_TRUE(has(argv, "--port=tcp:15432:5432"));
}

// The guest reads its password from the system credential pgnspawn.password
// (nix/container.nix); nspawn loads it from a file of the daemon's, so the password is
// never on the command line.
TEST(BootNspawnArgv, ThePasswordGoesToTheGuestAsACredentialFromAFile) {
    auto c = booted("image = \"nixos\"\ntoplevel = \"/nix/store/abc-nixos-system-pg-24.05\"\n");
    EXPECT_TRUE(has(boot_nspawn_argv(c, "nspawn"),
                    "--load-credential=pgnspawn.password:/var/lib/pgnspawn/guest/pgnspawn.password"));
    const ConfigEnvironment env{"/var/lib/pgnspawn", "/nonexistent", "/run/pgnspawn"};
    c = parse_config("[instances.guest]\nimage = \"directory\"\ndirectory = \"/srv/pg\"\nport = 5432\npassword = \"" +
                         std::string(kPassword) + "\"\n",
                     "test.toml", env)
            .instances.at(0);
    EXPECT_EQ(guest_password_file(c), "/run/pgnspawn/guest/pgnspawn.password") << "a tmpfs where there is one";
    const auto argv = boot_nspawn_argv(c, "nspawn");
    EXPECT_TRUE(has(argv, "--load-credential=pgnspawn.password:/run/pgnspawn/guest/pgnspawn.password"));
    EXPECT_LT(std::find(argv.begin(), argv.end(),
                        "--load-credential=pgnspawn.password:/run/pgnspawn/guest/pgnspawn.password"),
              std::find(argv.begin(), argv.end(), "--boot"))
        << "an option, before the payload";
    for (const auto& a : argv)
        EXPECT_THAT(a, Not(HasSubstr(kPassword)));
}

TEST(BootNspawnArgv, NixosRunsTheToplevelInitInTheDaemonsRootWithTheStoreReadOnly) {
    const auto c = booted("image = \"nixos\"\ntoplevel = \"/nix/store/abc-nixos-system-pg-24.05\"\n");
    const auto argv = boot_nspawn_argv(c, "/usr/bin/systemd-nspawn");
    EXPECT_TRUE(has(argv, "--directory=/var/lib/pgnspawn/guest/root"));
    EXPECT_TRUE(has(argv, "--bind-ro=/nix/store"));
    EXPECT_TRUE(has(argv, "--network-veth"));
    EXPECT_TRUE(has(argv, "--kill-signal=SIGRTMIN+3"));
    EXPECT_FALSE(has(argv, "--boot")) << "nixos-container runs the toplevel's init as the command";
    EXPECT_EQ(argv.back(), "/nix/store/abc-nixos-system-pg-24.05/init");
    EXPECT_EQ(boot_root(c), "/var/lib/pgnspawn/guest/root");
}

}  // namespace
}  // namespace pgnspawn
