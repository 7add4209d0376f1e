// The file helpers the image kinds share.

#include "images/files.hpp"

#include "temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pgnspawn {
namespace {

using test::TempDir;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(lstat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
}

TEST(TailLines, LastNonEmptyLinesJoined) {
    EXPECT_EQ(tail_lines("a\n\nb\nc\n", 2), "b | c");
    EXPECT_EQ(tail_lines("only", 5), "only");
    EXPECT_EQ(tail_lines("", 5), "");
}

TEST(ReadFile, MissingFileIsEmpty) {
    TempDir dir;
    EXPECT_EQ(read_file(dir.path() / "nope"), "");
    EXPECT_EQ(read_file(dir.write("f", "x\0y")), std::string("x\0y", 1));
}

TEST(MakeDir, CreatesAndReassertsTheMode) {
    TempDir dir;
    const auto d = dir.path() / "d";
    make_dir(d, 0750, getuid(), getgid());
    EXPECT_EQ(mode_of(d), 0750u);
    chmod(d.c_str(), 0777);
    make_dir(d, 0750, getuid(), getgid());
    EXPECT_EQ(mode_of(d), 0750u);
}

TEST(EnsureDir, LeavesAnExistingDirectoryAsItIs) {
    TempDir dir;
    const auto d = dir.path() / "d";
    ensure_dir(d, 0755);
    chmod(d.c_str(), 0700);
    ensure_dir(d, 0755);
    EXPECT_EQ(mode_of(d), 0700u);
}

TEST(EnsureDir, AMissingParentIsANamedError) {
    TempDir dir;
    try {
        ensure_dir(dir.path() / "a/b", 0755);
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("cannot create " + (dir.path() / "a/b").string()));
    }
}

TEST(MakeEmptyFileAndSymlink, ExistingOnesAreKept) {
    TempDir dir;
    const auto f = dir.write("f", "kept");
    make_empty_file(f);
    EXPECT_EQ(read_file(f), "kept");
    const mode_t umask_before = umask(077);  // the daemon's UMask
    make_empty_file(dir.path() / "machine-id");
    umask(umask_before);
    EXPECT_EQ(fs::status(dir.path() / "machine-id").permissions(), fs::perms(0644)) << "readable by a guest's users";
    // A symlink counts as existing and is not followed, even one to nowhere.
    make_symlink("/nonexistent/os-release", dir.path() / "os-release");
    make_empty_file(dir.path() / "os-release");
    EXPECT_EQ(fs::read_symlink(dir.path() / "os-release"), "/nonexistent/os-release");
    EXPECT_FALSE(fs::exists("/nonexistent/os-release"));
    make_symlink("usr/bin", dir.path() / "bin");
    make_symlink("elsewhere", dir.path() / "bin");
    EXPECT_EQ(fs::read_symlink(dir.path() / "bin"), "usr/bin");
}

TEST(WriteFileDurably, WritesTheContentsWithTheModeAndNoTemporaryFile) {
    TempDir dir;
    const auto f = dir.path() / "pg_hba.conf";
    write_file_durably(f, "one\n", getuid(), getgid(), 0600);
    write_file_durably(f, "two\n", getuid(), getgid(), 0600);
    EXPECT_EQ(read_file(f), "two\n");
    EXPECT_EQ(mode_of(f), 0600u);
    EXPECT_FALSE(fs::exists(dir.path() / "pg_hba.conf.tmp"));
}

}  // namespace
}  // namespace pgnspawn
