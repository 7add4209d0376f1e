// pgnspawnctl's command line: options anywhere, "--", values after '=' or as the next
// word, and each command's arguments and options checked before the bus is touched.

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

TEST(ClientArgs, CommandAndName) {
    const auto invocation = parse({"start", "dev"});
    EXPECT_EQ(invocation.words, (std::vector<std::string>{"start", "dev"}));
    EXPECT_FALSE(invocation.help);
    EXPECT_EQ(invocation.options.given, 0u);
    EXPECT_EQ(resolve_command(invocation).name, "start");
}

TEST(ClientArgs, OptionsMayComeBeforeOrAfterTheCommand) {
    for (const auto& invocation :
         {parse({"--json", "status", "dev"}), parse({"status", "--json", "dev"}), parse({"status", "dev", "--json"})}) {
        EXPECT_EQ(invocation.words, (std::vector<std::string>{"status", "dev"}));
        EXPECT_TRUE(invocation.options.json);
        EXPECT_EQ(invocation.options.given, unsigned{kOptJson});
        EXPECT_EQ(resolve_command(invocation).name, "status");
    }
}

TEST(ClientArgs, ValuesAfterEqualsOrAsTheNextWord) {
    EXPECT_EQ(parse({"wait", "dev", "--timeout", "30s"}).options.timeout, std::chrono::seconds(30));
    EXPECT_EQ(parse({"wait", "dev", "--timeout=1.5s"}).options.timeout, std::chrono::milliseconds(1500));
    EXPECT_TRUE(parse({"env", "dev", "--shell=fish"}).options.fish);
    EXPECT_FALSE(parse({"env", "dev", "--shell", "bash"}).options.fish);
    EXPECT_EQ(parse({"logs", "dev", "-n", "007"}).options.lines, "7");
    EXPECT_EQ(parse({"logs", "dev", "--lines=20"}).options.lines, "20");
    EXPECT_EQ(parse({"logs", "dev", "-f"}).options.given, unsigned{kOptFollow});
}

TEST(ClientArgs, DoubleDashEndsOptionsSoANameMayBeginWithADash) {
    const auto invocation = parse({"logs", "--", "-u sshd"});
    EXPECT_EQ(invocation.words, (std::vector<std::string>{"logs", "-u sshd"}));
    EXPECT_EQ(parse({"--", "--help"}).words, (std::vector<std::string>{"--help"}));
    EXPECT_FALSE(parse({"--", "--help"}).help);
    EXPECT_EQ(parse({"list", "-"}).words, (std::vector<std::string>{"list", "-"}));
}

TEST(ClientArgs, HelpAndVersion) {
    EXPECT_TRUE(parse({"--help"}).help);
    EXPECT_TRUE(parse({"-h"}).help);
    EXPECT_TRUE(parse({"start", "--help"}).help);
    EXPECT_TRUE(parse({"--version"}).version);
}

TEST(ClientArgs, BadOptionsAreNamed) {
    EXPECT_EQ(usage_error({"list", "--bogus"}), "unknown option '--bogus'");
    EXPECT_EQ(usage_error({"-x", "list"}), "unknown option '-x'");
    EXPECT_EQ(usage_error({"wait", "dev", "--timeout"}), "option '--timeout' needs a value");
    EXPECT_EQ(usage_error({"health", "dev", "--json=1"}), "option '--json' takes no value");
    EXPECT_EQ(usage_error({"logs", "dev", "-f=yes"}), "option '-f' takes no value");
    EXPECT_EQ(usage_error({"env", "dev", "--shell", "tcsh"}), "unknown shell 'tcsh' (sh, bash, zsh, dash or fish)");
    EXPECT_EQ(usage_error({"logs", "dev", "-n", "x"}), "invalid number of lines 'x'");
    EXPECT_EQ(usage_error({"logs", "dev", "--lines="}), "invalid number of lines ''");
    EXPECT_EQ(usage_error({"logs", "dev", "-n", "-1"}), "invalid number of lines '-1'");
    EXPECT_EQ(usage_error({"logs", "dev", "-n", "5x"}), "invalid number of lines '5x'");
    EXPECT_EQ(usage_error({"logs", "dev", "-n", "99999999999"}), "invalid number of lines '99999999999'");
    EXPECT_EQ(usage_error({"wait", "dev", "--timeout", "soon"}), "invalid duration 'soon' (examples: 30s, 500ms, 2m)");
}

TEST(ClientArgs, BadCommandLinesAreNamed) {
    EXPECT_EQ(usage_error({}), "no command given");
    EXPECT_EQ(usage_error({"frobnicate"}), "unknown command 'frobnicate'");
    EXPECT_EQ(usage_error({"START", "dev"}), "unknown command 'START'");
    EXPECT_EQ(usage_error({"start"}), "'start' needs an instance name");
    EXPECT_EQ(usage_error({"start", "a", "b"}), "too many arguments for 'start'");
    EXPECT_EQ(usage_error({"list", "x"}), "too many arguments for 'list'");
    EXPECT_EQ(usage_error({"stop", "--json", "dev"}), "an option given does not apply to 'stop'");
    EXPECT_EQ(usage_error({"list", "--timeout", "1s"}), "an option given does not apply to 'list'");
    EXPECT_EQ(usage_error({"wait", "dev", "--json"}), "an option given does not apply to 'wait'");
}

// Bug 2 of issue 9: start --wait was accepted and ignored while the zsh completion said
// it showed progress. Start always waits; the option is gone.
TEST(ClientArgs, StartHasNoWaitOption) {
    EXPECT_EQ(usage_error({"start", "--wait", "dev"}), "unknown option '--wait'");
    EXPECT_EQ(usage_error({"start", "dev", "--wait"}), "unknown option '--wait'");
    EXPECT_EQ(usage_error({"start", "dev"}), "");
    EXPECT_EQ(kUsageText.find("--wait"), std::string_view::npos);
}

TEST(ClientArgs, EveryDocumentedCommandIsAccepted) {
    EXPECT_EQ(usage_error({"start", "dev"}), "");
    EXPECT_EQ(usage_error({"stop", "dev"}), "");
    EXPECT_EQ(usage_error({"wait", "dev", "--timeout", "30s"}), "");
    EXPECT_EQ(usage_error({"status"}), "");
    EXPECT_EQ(usage_error({"status", "dev", "--json"}), "");
    EXPECT_EQ(usage_error({"list", "--json"}), "");
    EXPECT_EQ(usage_error({"address", "dev", "--json"}), "");
    EXPECT_EQ(usage_error({"health", "dev", "--json"}), "");
    EXPECT_EQ(usage_error({"uri", "dev", "--json"}), "");
    EXPECT_EQ(usage_error({"env", "dev", "--shell", "fish"}), "");
    EXPECT_EQ(usage_error({"monitor", "--json"}), "");
    EXPECT_EQ(usage_error({"logs", "dev", "-f", "-n", "5"}), "");
}

TEST(ClientArgs, EveryCommandHasARunnerAndIsInTheUsage) {
    for (const auto& spec : command_specs()) {
        EXPECT_NE(command_runner(spec.name), nullptr) << spec.name;
        EXPECT_NE(kUsageText.find("\n  " + std::string(spec.name) + " "), std::string_view::npos) << spec.name;
    }
    EXPECT_EQ(command_runner("frobnicate"), nullptr);
    EXPECT_EQ(command_specs().size(), 21u);
}

TEST(ClientArgs, SnapshotCommands) {
    EXPECT_EQ(usage_error({"snapshot", "dev", "migrated"}), "");
    EXPECT_EQ(usage_error({"restore", "dev", "migrated"}), "");
    EXPECT_EQ(usage_error({"drop-snapshot", "dev", "migrated"}), "");
    EXPECT_EQ(usage_error({"reset", "dev"}), "");
    EXPECT_EQ(usage_error({"snapshots", "dev"}), "");
    EXPECT_EQ(usage_error({"snapshots", "dev", "--json"}), "");
    // "--" lets a name that begins with '-' through to the daemon, which refuses it by name.
    EXPECT_EQ(parse({"snapshot", "--", "dev", "-x"}).words, (std::vector<std::string>{"snapshot", "dev", "-x"}));
}

TEST(ClientArgs, SnapshotCommandsCheckTheirArguments) {
    EXPECT_EQ(usage_error({"snapshot"}), "'snapshot' needs an instance name");
    EXPECT_EQ(usage_error({"snapshot", "dev"}), "'snapshot' needs a snapshot name after the instance name");
    EXPECT_EQ(usage_error({"restore", "dev"}), "'restore' needs a snapshot name after the instance name");
    EXPECT_EQ(usage_error({"drop-snapshot", "dev"}), "'drop-snapshot' needs a snapshot name after the instance name");
    EXPECT_EQ(usage_error({"snapshot", "dev", "a", "b"}), "too many arguments for 'snapshot'");
    EXPECT_EQ(usage_error({"reset", "dev", "a"}), "too many arguments for 'reset'");
    EXPECT_EQ(usage_error({"snapshots"}), "'snapshots' needs an instance name");
    EXPECT_EQ(usage_error({"snapshot", "dev", "a", "--json"}), "an option given does not apply to 'snapshot'");
    EXPECT_EQ(usage_error({"restore", "dev", "a", "--json"}), "an option given does not apply to 'restore'");
}

}  // namespace
}  // namespace pgnspawn::client
