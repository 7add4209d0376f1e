// `pgnspawnctl run`: NAME then COMMAND, --scratch and --from before "--", everything after
// "--" left to COMMAND (its own options included).

#include "client/args.hpp"
#include "client/commands.hpp"
#include "client/errors.hpp"

#include <gtest/gtest.h>

#include "client_parse.hpp"

#include <initializer_list>
#include <string>
#include <vector>

namespace pgnspawn::client {
namespace {

TEST(ClientRun, NameThenCommandWithItsOwnOptions) {
    const auto inv = parse({"run", "dev", "--", "cargo", "test", "--release", "-j", "8"});
    EXPECT_EQ(resolve_command(inv).name, "run");
    EXPECT_EQ(inv.words, (std::vector<std::string>{"run", "dev", "cargo", "test", "--release", "-j", "8"}));
    EXPECT_FALSE(inv.options.scratch);
    EXPECT_NE(command_runner("run"), nullptr);
}

TEST(ClientRun, ScratchFromSnapshot) {
    const auto inv = parse({"run", "dev", "--scratch", "--from", "migrated", "--", "psql", "-c", "select 1"});
    resolve_command(inv);
    EXPECT_TRUE(inv.options.scratch);
    EXPECT_EQ(inv.options.from, "migrated");
    EXPECT_EQ(inv.words.size(), 5u);
    const auto eq = parse({"run", "--scratch", "--from=m", "dev", "--", "true"});
    EXPECT_EQ(eq.options.from, "m");
    EXPECT_EQ(eq.words, (std::vector<std::string>{"run", "dev", "true"}));
}

TEST(ClientRun, ScratchFromEmpty) {
    const auto inv = parse({"run", "dev", "--scratch", "--", "true"});
    resolve_command(inv);
    EXPECT_TRUE(inv.options.scratch);
    EXPECT_EQ(inv.options.from, "");
}

TEST(ClientRun, BadLinesAreUsageErrors) {
    EXPECT_EQ(usage_error({"run", "dev"}), "'run' needs an instance name and a command");
    EXPECT_EQ(usage_error({"run"}), "'run' needs an instance name and a command");
    EXPECT_EQ(usage_error({"run", "dev", "--from", "m", "--", "true"}), "'--from' needs '--scratch'");
    EXPECT_NE(usage_error({"run", "dev", "--scratch", "--from="}), "");
    EXPECT_NE(usage_error({"env", "dev", "--scratch"}), "");
    EXPECT_NE(usage_error({"run", "dev", "--json", "--", "true"}), "");
}

}  // namespace
}  // namespace pgnspawn::client
