// The bash, zsh and fish completions and the man page offer exactly what the parser
// accepts: every option they name for a command is accepted for it, and every option a
// command accepts is offered for it (issue 9, bug 2: start --wait was offered as "show
// progress on a terminal" and did nothing).

#include "client/args.hpp"
#include "client/errors.hpp"
#include "client_test_files.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace pgnspawn::client {
namespace {

using Offers = std::map<std::string, std::set<std::string>>;  // command -> options

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, separator))
        if (!part.empty())
            parts.push_back(part);
    return parts;
}

std::set<std::string> option_tokens(const std::string& text) {
    static const std::regex token(R"re((?:^|[\s'{,(\[|"])(--?[a-z][a-z-]*))re");
    std::set<std::string> found;
    for (std::sregex_iterator it(text.begin(), text.end(), token), end; it != end; ++it)
        found.insert((*it)[1]);
    return found;
}

void add(Offers& offers, const std::string& commands, char separator, const std::set<std::string>& options) {
    for (const auto& command : split(commands, separator))
        offers[command].insert(options.begin(), options.end());
}

/// bash: `case $command in ... CMD|CMD) options="..." ;;`
Offers bash_offers(const std::string& text) {
    Offers offers;
    static const std::regex line(R"re(\n\s+([a-z|]+)\) options="([^"]*)")re");
    for (std::sregex_iterator it(text.begin(), text.end(), line), end; it != end; ++it)
        add(offers, (*it)[1], '|', option_tokens((*it)[2]));
    return offers;
}

/// zsh: `CMD|CMD) _arguments ... ;;`, continuation lines joined.
Offers zsh_offers(std::string text) {
    text = std::regex_replace(text, std::regex(R"(\\\n)"), " ");
    Offers offers;
    static const std::regex line(R"(\n\s+([a-z|]+)\) _arguments([^\n]*))");
    for (std::sregex_iterator it(text.begin(), text.end(), line), end; it != end; ++it)
        add(offers, (*it)[1], '|', option_tokens((*it)[2]));
    return offers;
}

/// fish: `complete -c pgnspawnctl -n "__fish_seen_subcommand_from CMD CMD" ... -s X -l LONG`
Offers fish_offers(const std::string& text) {
    Offers offers;
    static const std::regex line(R"re(__fish_seen_subcommand_from ([a-z ]+)"([^\n]*))re");
    static const std::regex short_option(R"(\s-s ([a-z]))");
    static const std::regex long_option(R"(\s-l ([a-z][a-z-]*))");
    for (std::sregex_iterator it(text.begin(), text.end(), line), end; it != end; ++it) {
        const std::string rest = (*it)[2];
        std::set<std::string> options;
        for (std::sregex_iterator o(rest.begin(), rest.end(), short_option); o != end; ++o)
            options.insert("-" + (*o)[1].str());
        for (std::sregex_iterator o(rest.begin(), rest.end(), long_option); o != end; ++o)
            options.insert("--" + (*o)[1].str());
        add(offers, (*it)[1], ' ', options);
    }
    return offers;
}

/// man page: the `.BI`/`.BR` line that opens each command in COMMANDS.
Offers man_offers(const std::string& text) {
    std::string plain = std::regex_replace(text, std::regex(R"(\\f[BIR])"), "");
    plain = std::regex_replace(plain, std::regex(R"(\\-)"), "-");
    Offers offers;
    static const std::regex line(R"re(\n\.B[IR] "?([a-z]+)"? ([^\n]*))re");
    for (const auto& spec : command_specs())
        offers[std::string(spec.name)];
    for (std::sregex_iterator it(plain.begin(), plain.end(), line), end; it != end; ++it)
        if (offers.contains((*it)[1]))
            add(offers, (*it)[1], ' ', option_tokens((*it)[2]));
    return offers;
}

/// Whether the parser takes `COMMAND [NAME] OPTION [VALUE]`.
bool accepted(const CommandSpec& spec, const std::string& option) {
    static const std::map<std::string, std::string> samples{
        {"--timeout", "30s"}, {"--shell", "fish"}, {"-n", "5"}, {"--lines", "5"}};
    std::vector<std::string> words{std::string(spec.name)};
    if (spec.min_args > 0)
        words.emplace_back("dev");
    words.push_back(option);
    if (samples.contains(option))
        words.push_back(samples.at(option));
    std::vector<const char*> args;
    for (const auto& word : words)
        args.push_back(word.c_str());
    try {
        resolve_command(parse_arguments(args));
        return true;
    } catch (const UsageError&) {
        return false;
    }
}

/// Every option the parser takes for the command, long and short forms.
std::set<std::string> parser_options(const CommandSpec& spec) {
    std::set<std::string> options;
    for (const auto& option : option_specs()) {
        if ((spec.options & option.flag) == 0)
            continue;
        options.emplace(option.long_name);
        if (!option.short_name.empty())
            options.emplace(option.short_name);
    }
    return options;
}

void expect_same_as_parser(const Offers& offers, const std::string& file) {
    for (const auto& spec : command_specs()) {
        SCOPED_TRACE(file + ": " + std::string(spec.name));
        const auto found = offers.find(std::string(spec.name));
        const std::set<std::string> offered = found == offers.end() ? std::set<std::string>{} : found->second;
        for (const auto& option : offered)
            EXPECT_TRUE(accepted(spec, option)) << option << " is offered but the parser refuses it";
        for (const auto& option : parser_options(spec)) {
            EXPECT_TRUE(accepted(spec, option)) << option << " is in the table but the parser refuses it";
            EXPECT_TRUE(offered.contains(option)) << option << " is accepted but not offered";
        }
    }
}

TEST(ClientCompletions, BashOffersWhatTheParserAccepts) {
    expect_same_as_parser(bash_offers(read_source("client/completions/pgnspawnctl.bash")), "bash");
}

TEST(ClientCompletions, ZshOffersWhatTheParserAccepts) {
    expect_same_as_parser(zsh_offers(read_source("client/completions/_pgnspawnctl")), "zsh");
}

TEST(ClientCompletions, FishOffersWhatTheParserAccepts) {
    expect_same_as_parser(fish_offers(read_source("client/completions/pgnspawnctl.fish")), "fish");
}

TEST(ClientCompletions, ManPageShowsWhatTheParserAccepts) {
    expect_same_as_parser(man_offers(read_source("docs/man/pgnspawnctl.1")), "man");
}

TEST(ClientCompletions, EveryFileNamesEveryCommand) {
    for (const auto* file : {"client/completions/pgnspawnctl.bash", "client/completions/_pgnspawnctl",
                             "client/completions/pgnspawnctl.fish", "docs/man/pgnspawnctl.1"}) {
        const std::string text = read_source(file);
        for (const auto& spec : command_specs())
            EXPECT_TRUE(std::regex_search(text, std::regex("\\b" + std::string(spec.name) + "\\b")))
                << file << " does not name " << spec.name;
    }
}

TEST(ClientCompletions, TheExtractionFindsWhatIsThere) {
    const auto bash = bash_offers("\n        wait) options=\"--timeout\" ;;\n        a|b) options=\"-f --json\" ;;");
    EXPECT_EQ(bash.at("wait"), std::set<std::string>{"--timeout"});
    EXPECT_EQ(bash.at("b"), (std::set<std::string>{"-f", "--json"}));
    const auto zsh = zsh_offers("\n    logs) _arguments '(-f --follow)'{-f,--follow}'[x]' \\\n  '1: :y' ;;");
    EXPECT_EQ(zsh.at("logs"), (std::set<std::string>{"-f", "--follow"}));
    const auto fish = fish_offers("complete -c pgnspawnctl -n \"__fish_seen_subcommand_from logs\" -s n -l lines -x");
    EXPECT_EQ(fish.at("logs"), (std::set<std::string>{"-n", "--lines"}));
    const auto man = man_offers("\n.BI start \" NAME\" \" \\fR[\\fB\\-\\-wait\\fR]\"\n");
    EXPECT_EQ(man.at("start"), std::set<std::string>{"--wait"});
}

}  // namespace
}  // namespace pgnspawn::client
