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
#include <set>
#include <sstream>
#include <string>
#include <string_view>
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

/// Every `-x` or `--xyz` that starts a word (after a space, quote, brace, comma, bracket or bar).
std::set<std::string> option_tokens(const std::string& text) {
    std::set<std::string> found;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '-' || (i > 0 && std::string_view(" \t'{,([|\"").find(text[i - 1]) == std::string_view::npos))
            continue;
        std::size_t end = i + (i + 1 < text.size() && text[i + 1] == '-' ? 2 : 1);
        if (end >= text.size() || text[end] < 'a' || text[end] > 'z')
            continue;
        while (end < text.size() && ((text[end] >= 'a' && text[end] <= 'z') || text[end] == '-'))
            ++end;
        found.insert(text.substr(i, end - i));
        i = end;
    }
    return found;
}

bool is_command_list(std::string_view text) {
    return !text.empty() && text.find_first_not_of("abcdefghijklmnopqrstuvwxyz| ") == std::string_view::npos;
}

void add(Offers& offers, const std::string& commands, char separator, const std::set<std::string>& options) {
    for (const auto& command : split(commands, separator))
        offers[command].insert(options.begin(), options.end());
}

std::string trimmed(const std::string& line) {
    const auto begin = line.find_first_not_of(" \t");
    return begin == std::string::npos ? "" : line.substr(begin);
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

/// Lines of the form `CMD|CMD) MARKER REST`: the commands and REST.
Offers case_offers(const std::string& text, std::string_view marker) {
    Offers offers;
    for (const auto& raw : split(text, '\n')) {
        const std::string line = trimmed(raw);
        const auto close = line.find(')');
        if (close == std::string::npos || !is_command_list(line.substr(0, close)) ||
            line.compare(close + 1, marker.size(), marker) != 0)
            continue;
        add(offers, line.substr(0, close), '|', option_tokens(line.substr(close + 1 + marker.size())));
    }
    return offers;
}

/// bash: `case $command in ... CMD|CMD) options="..." ;;`
Offers bash_offers(const std::string& text) { return case_offers(text, " options=\""); }

/// zsh: `CMD|CMD) _arguments ... ;;`, continuation lines joined.
Offers zsh_offers(const std::string& text) { return case_offers(replace_all(text, "\\\n", " "), " _arguments"); }

/// fish: `complete -c pgnspawnctl -n "__fish_seen_subcommand_from CMD CMD" ... -s X -l LONG`
Offers fish_offers(const std::string& text) {
    Offers offers;
    constexpr std::string_view kCondition = "__fish_seen_subcommand_from ";
    for (const auto& line : split(text, '\n')) {
        const auto at = line.find(kCondition);
        const auto quote = at == std::string::npos ? at : line.find('"', at);
        if (quote == std::string::npos)
            continue;
        const std::string commands = line.substr(at + kCondition.size(), quote - at - kCondition.size());
        if (!is_command_list(commands))
            continue;
        const auto words = split(line.substr(quote + 1), ' ');
        std::set<std::string> options;
        for (std::size_t i = 0; i + 1 < words.size(); ++i) {
            if (words[i] == "-s")
                options.insert("-" + words[i + 1]);
            else if (words[i] == "-l")
                options.insert("--" + words[i + 1]);
        }
        add(offers, commands, ' ', options);
    }
    return offers;
}

/// man page: the `.BI`/`.BR` line that opens each command in COMMANDS.
Offers man_offers(const std::string& text) {
    std::string plain = text;
    for (const auto* font : {"\\fB", "\\fI", "\\fR"})
        plain = replace_all(plain, font, "");
    plain = replace_all(plain, "\\-", "-");
    Offers offers;
    for (const auto& spec : command_specs())
        offers[std::string(spec.name)];
    for (const auto& line : split(plain, '\n')) {
        if (!line.starts_with(".BI ") && !line.starts_with(".BR "))
            continue;
        const auto words = split(replace_all(line.substr(4), "\"", " "), ' ');
        if (!words.empty() && offers.contains(words[0]))
            add(offers, words[0], ' ', option_tokens(line.substr(4)));
    }
    return offers;
}

/// Whether `word` stands in `text` on its own (not inside a longer name).
bool names_word(const std::string& text, const std::string& word) {
    const auto is_name_char = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; };
    for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
        const bool before = at == 0 || !is_name_char(text[at - 1]);
        const bool after = at + word.size() == text.size() || !is_name_char(text[at + word.size()]);
        if (before && after)
            return true;
    }
    return false;
}

/// Whether the parser takes `COMMAND [NAME] OPTION [VALUE]`.
bool accepted(const CommandSpec& spec, const std::string& option) {
    static const std::map<std::string, std::string> samples{
        {"--timeout", "30s"}, {"--shell", "fish"}, {"-n", "5"},     {"--lines", "5"},    {"--from", "m"},
        {"--port", "54300"},  {"--database", "d"}, {"--user", "u"}, {"--version", "15"}, {"--durability", "fast"}};
    std::vector<std::string> words{std::string(spec.name)};
    if (spec.min_args > 0)
        words.emplace_back("dev");
    words.push_back(option);
    if (samples.contains(option))
        words.push_back(samples.at(option));
    if (option == "--from")
        words.emplace_back("--scratch");  // --from is accepted only with --scratch
    if (spec.min_args > 1)
        words.insert(words.end(), {"--", "true"});  // run: NAME then a command
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
            EXPECT_TRUE(names_word(text, std::string(spec.name))) << file << " does not name " << spec.name;
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
