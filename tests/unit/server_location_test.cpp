// Where a host-image server really lives and what its container binds (issue 11): a
// server in the Nix store (reached the NixOS way, through a chain of symlinks) gets the
// store and not /usr; a Debian server gets /usr; a dangling link is refused by name.

#include "images/server_location.hpp"
#include "images/host_backend.hpp"
#include "images/layout.hpp"
#include "temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fs = std::filesystem;

namespace pgnspawn {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

/// A fake host under a temporary directory: a Debian server in usr/lib/postgresql/15, a
/// store server in nix/store/HASH-postgresql-15.8, account files in etc/.
class ServerLocationTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir.write("usr/lib/postgresql/15/bin/postgres", "");
        dir.write(kStoreServer + "/bin/postgres", "");
        dir.write("etc/passwd", "postgres:x:100:100::/:/bin/false\n");
        dir.write("etc/group", "postgres:x:100:\n");
        dir.write(kStoreEtc + "/nsswitch.conf", "passwd: files\n");
        fs::create_directories(root() / "etc/static");
        fs::create_directories(root() / "etc/pgnspawn/postgresql");
        // As NixOS links /etc: /etc/X -> /etc/static/X -> /nix/store/...
        fs::create_symlink(root() / kStoreEtc / "nsswitch.conf", root() / "etc/static/nsswitch.conf");
        fs::create_symlink("static/nsswitch.conf", root() / "etc/nsswitch.conf");
        fs::create_directories(root() / "etc/alternatives");
        host = {root() / "nix/store",
                root() / "usr",
                {root() / "etc/alternatives", root() / "etc/missing-companion"},
                {root() / "etc/passwd", root() / "etc/group", root() / "etc/nsswitch.conf"}};
    }
    fs::path root() const { return fs::canonical(dir.path()); }
    /// /etc/pgnspawn/postgresql/15 -> /etc/static/pgnspawn/postgresql/15 -> target.
    fs::path link_version(const fs::path& target) const {
        fs::create_directories(root() / "etc/static/pgnspawn/postgresql");
        fs::create_symlink(target, root() / "etc/static/pgnspawn/postgresql/15");
        fs::create_symlink("../../static/pgnspawn/postgresql/15", root() / "etc/pgnspawn/postgresql/15");
        return root() / "etc/pgnspawn/postgresql/15/bin";
    }

    static inline const std::string kStoreServer = "nix/store/0123456789abcdfghijklmnpqrsvwxyz-postgresql-15.8";
    static inline const std::string kStoreEtc = "nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-etc-nsswitch.conf";
    test::TempDir dir;
    HostPaths host;
};

TEST_F(ServerLocationTest, AStoreServerReachedThroughALinkChainIsResolvedIntoTheStore) {
    const auto s = locate_server(link_version(root() / kStoreServer), host);
    EXPECT_EQ(s.bindir, root() / kStoreServer / "bin");
    EXPECT_TRUE(s.in_store);
}

TEST_F(ServerLocationTest, AStoreServerBindsTheStoreAndNotUsr) {
    const auto args = host_bind_args(locate_server(link_version(root() / kStoreServer), host), host);
    EXPECT_EQ(args.at(0), "--bind-ro=" + (root() / "nix/store").string());
    EXPECT_THAT(args, Not(Contains(HasSubstr((root() / "usr").string()))));
    EXPECT_THAT(args, Not(Contains(HasSubstr("etc/alternatives"))));
}

TEST_F(ServerLocationTest, ADebianServerAlsoBindsTheCompanionsOfUsrThatExist) {
    const auto args = host_bind_args(locate_server(root() / "usr/lib/postgresql/15/bin", host), host);
    ASSERT_GE(args.size(), 2u);
    EXPECT_EQ(args.at(1), "--bind-ro=" + (root() / "etc/alternatives").string());
    EXPECT_THAT(args, Not(Contains(HasSubstr("missing-companion"))));
}

TEST_F(ServerLocationTest, ADebianServerStaysWhereItIsAndBindsUsr) {
    const auto s = locate_server(root() / "usr/lib/postgresql/15/bin", host);
    EXPECT_EQ(s.bindir, root() / "usr/lib/postgresql/15/bin");
    EXPECT_FALSE(s.in_store);
    const auto args = host_bind_args(s, host);
    EXPECT_EQ(args.at(0), "--bind-ro=" + (root() / "usr").string());
    EXPECT_THAT(args, Not(Contains(HasSubstr("nix/store/0123"))));
    EXPECT_THAT(args, Not(Contains("--bind-ro=" + (root() / "nix/store").string())));
}

TEST_F(ServerLocationTest, ALinkToADebianServerIsNotInTheStore) {
    const auto s = locate_server(link_version(root() / "usr/lib/postgresql/15"), host);
    EXPECT_EQ(s.bindir, root() / "usr/lib/postgresql/15/bin");
    EXPECT_FALSE(s.in_store);
}

TEST_F(ServerLocationTest, AServerLinkedFromTheStoreToOutsideItIsNotInTheStore) {
    // A bin/ of links (nixpkgs' buildEnv) whose postgres lives outside the store: binding
    // only the store would leave the container without its server.
    fs::create_directories(root() / "nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-env/bin");
    fs::create_symlink(root() / "usr/lib/postgresql/15/bin/postgres",
                       root() / "nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-env/bin/postgres");
    EXPECT_FALSE(locate_server(root() / "nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-env/bin", host).in_store);
}

TEST_F(ServerLocationTest, ADanglingLinkIsRefusedByName) {
    const auto configured = link_version(root() / "nix/store/ffffffffffffffffffffffffffffffff-postgresql-15.7");
    try {
        locate_server(configured, host);
        FAIL() << "a dangling link was accepted";
    } catch (const ServerLocationError& e) {
        EXPECT_THAT(e.what(), HasSubstr(configured.string()));
        EXPECT_THAT(e.what(), HasSubstr("does not resolve"));
    }
}

TEST_F(ServerLocationTest, ADirectoryWithoutPostgresIsRefusedByName) {
    fs::create_directories(root() / "opt/pg/bin");
    EXPECT_THROW(
        {
            try {
                locate_server(root() / "opt/pg/bin", host);
            } catch (const ServerLocationError& e) {
                EXPECT_THAT(e.what(), HasSubstr((root() / "opt/pg/bin/postgres").string()));
                throw;
            }
        },
        ServerLocationError);
}

TEST_F(ServerLocationTest, AccountFilesAreBoundFromWhereTheyResolveToTheirOwnPath) {
    const auto args = host_bind_args(locate_server(root() / "usr/lib/postgresql/15/bin", host), host);
    EXPECT_THAT(
        args,
        ElementsAre("--bind-ro=" + (root() / "usr").string(), "--bind-ro=" + (root() / "etc/alternatives").string(),
                    "--bind-ro=" + (root() / "etc/passwd").string(), "--bind-ro=" + (root() / "etc/group").string(),
                    "--bind-ro=" + (root() / kStoreEtc / "nsswitch.conf").string() + ":" +
                        (root() / "etc/nsswitch.conf").string()));
}

TEST_F(ServerLocationTest, ADanglingAccountFileIsRefusedByName) {
    fs::remove(root() / kStoreEtc / "nsswitch.conf");
    const auto s = locate_server(root() / "usr/lib/postgresql/15/bin", host);
    try {
        host_bind_args(s, host);
        FAIL() << "a dangling account file was accepted";
    } catch (const ServerLocationError& e) {
        EXPECT_THAT(e.what(), HasSubstr((root() / "etc/nsswitch.conf").string()));
    }
}

TEST_F(ServerLocationTest, TheHostContainerRunsTheResolvedServerWithTheStoreBound) {
    InstanceConfig c;
    c.name = "nixdb";
    c.state_directory = "/var/lib/pgnspawn/nixdb";
    c.port = 5440;
    c.postgresql_bindir = link_version(root() / kStoreServer);
    BackendSettings settings;
    settings.nspawn_binary =
        (root() / "nix/store/11111111111111111111111111111111-systemd/bin/systemd-nspawn").string();
    settings.host = host;
    const auto located = with_located_server(c, host);
    const auto d = host_container(located, settings);
    EXPECT_EQ(d.argv.front(), settings.nspawn_binary);
    EXPECT_THAT(d.argv, Contains((root() / kStoreServer / "bin/postgres").string()));
    EXPECT_THAT(d.argv, Contains("--bind-ro=" + (root() / "nix/store").string()));
    EXPECT_THAT(d.argv, Not(Contains(HasSubstr("--bind-ro=" + (root() / "usr").string()))));
    EXPECT_THAT(d.argv, Not(Contains(HasSubstr("etc/pgnspawn"))));
    EXPECT_EQ(initdb_argv(located).at(0), (root() / kStoreServer / "bin/initdb").string());
}

TEST(ConfiguredHostPaths, AreTheBuildOptions) {
    const auto host = configured_host_paths();
    EXPECT_EQ(host.nix_store, PGNSPAWN_NIX_STORE_DIR);
    EXPECT_EQ(host.usr, PGNSPAWN_HOST_USR_DIR);
    EXPECT_FALSE(host.account_files.empty());
    EXPECT_EQ(BackendSettings{}.nspawn_binary, PGNSPAWN_NSPAWN_PATH);
}

}  // namespace
}  // namespace pgnspawn
