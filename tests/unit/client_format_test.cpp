// What pgnspawnctl prints: sh and fish assignments (checked by evaluating them), the
// --json documents of docs/client-json.md (byte for byte) and the text forms.

#include "client/format.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace pgnspawn::client {
namespace {

const std::vector<std::string> kAdversarial = {
    "",
    "plain",
    "it's",
    "''",
    "'\\''",
    "\"double\"",
    "back\\slash\\",
    "\\'",
    "$HOME $(id) `id` ${x:-y} !!",
    "line\nbreak\n",
    "tab\tcarriage\rreturn",
    "semi;colon && amp | pipe > gt < lt",
    "glob * ? [a-z] ~",
    "# not a comment",
    "p@ss:w/rd%",
    "unicode é ✓ 😀",
    std::string("\x01\x1f\x7f", 3),
    "-n",
};

/// Runs `sh -c SCRIPT sh ARG` and returns its standard output.
std::string run_sh(const std::string& script, const std::string& arg) {
    int fds[2];
    if (::pipe(fds) != 0)
        throw std::runtime_error("pipe failed");
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::close(fds[0]);
        ::close(fds[1]);
        ::execl("/bin/sh", "sh", "-c", script.c_str(), "sh", arg.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(fds[1]);
    std::string out;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0)
        out.append(buffer, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << script << " with " << arg;
    return out;
}

/// fish's rules for a single-quoted word, written out independently: only a backslash
/// before a quote or a backslash escapes it; nothing else is special. Fails the test on anything that is not one word.
std::string fish_unquote(const std::string& word) {
    EXPECT_GE(word.size(), 2u);
    EXPECT_EQ(word.front(), '\'');
    EXPECT_EQ(word.back(), '\'');
    std::string out;
    for (std::size_t i = 1; i + 1 < word.size(); ++i) {
        if (word[i] == '\\' && i + 2 < word.size() && (word[i + 1] == '\'' || word[i + 1] == '\\')) {
            out += word[++i];
            continue;
        }
        EXPECT_NE(word[i], '\'') << "unescaped quote in " << word;
        out += word[i];
    }
    return out;
}

TEST(ClientShellQuoting, ShExamples) {
    EXPECT_EQ(sh_quote(""), "''");
    EXPECT_EQ(sh_quote("abc"), "'abc'");
    EXPECT_EQ(sh_quote("it's"), "'it'\\''s'");
    EXPECT_EQ(sh_quote("$x\\"), "'$x\\'");
    EXPECT_EQ(env_assignment("PGPASSWORD", "a'b", false), "export PGPASSWORD='a'\\''b'");
}

TEST(ClientShellQuoting, ShEvaluatesBackToTheSameString) {
    for (const auto& value : kAdversarial) {
        const std::string line = env_assignment("V", value, false);
        EXPECT_EQ(run_sh("eval \"$1\" && printf %s \"$V\"", line), value) << line;
    }
}

TEST(ClientShellQuoting, FishExamples) {
    EXPECT_EQ(fish_quote(""), "''");
    EXPECT_EQ(fish_quote("it's"), "'it\\'s'");
    EXPECT_EQ(fish_quote("back\\slash"), "'back\\\\slash'");
    EXPECT_EQ(fish_quote("$x \"y\"\n"), "'$x \"y\"\n'");
    EXPECT_EQ(env_assignment("PGUSER", "app", true), "set -gx PGUSER 'app';");
}

TEST(ClientShellQuoting, FishUnquotesBackToTheSameString) {
    for (const auto& value : kAdversarial)
        EXPECT_EQ(fish_unquote(fish_quote(value)), value) << fish_quote(value);
}

// The examples of docs/client-json.md, joined onto one line as the client prints them.
TEST(ClientJson, DocumentedExamplesByteForByte) {
    EXPECT_EQ(instances_json({{"helloworld", "running", "/org/pgnspawn1/instance/helloworld"},
                              {"second", "stopped", "/org/pgnspawn1/instance/second"}}),
              "{\"instances\":[{\"name\":\"helloworld\",\"state\":\"running\",\"object_path\":\"/org/pgnspawn1/"
              "instance/helloworld\"},{\"name\":\"second\",\"state\":\"stopped\",\"object_path\":\"/org/pgnspawn1/"
              "instance/second\"}]}");
    const InstanceDetails details{"helloworld",          "running", "helloworld",
                                  "helloworld",          "host",    "pgnspawn-helloworld.service",
                                  "pgnspawn-helloworld", "",        5433};
    const LiveDetails live{"127.0.0.1", 5433, {true, "SELECT 1 succeeded", 1234}};
    EXPECT_EQ(details_json(details, live),
              "{\"name\":\"helloworld\",\"state\":\"running\",\"port\":5433,\"database\":\"helloworld\",\"user\":"
              "\"helloworld\",\"image\":\"host\",\"unit\":\"pgnspawn-helloworld.service\",\"machine\":\"pgnspawn-"
              "helloworld\",\"last_error\":\"\",\"address\":{\"host\":\"127.0.0.1\",\"port\":5433},\"health\":{"
              "\"healthy\":true,\"detail\":\"SELECT 1 succeeded\",\"latency_usec\":1234}}");
    EXPECT_EQ(address_json("127.0.0.1", 5433), "{\"host\":\"127.0.0.1\",\"port\":5433}");
    EXPECT_EQ(health_json({true, "SELECT 1 succeeded", 1234}),
              "{\"healthy\":true,\"detail\":\"SELECT 1 succeeded\",\"latency_usec\":1234}");
    EXPECT_EQ(uri_json("postgresql://helloworld:helloworld@127.0.0.1:5433/helloworld"),
              "{\"uri\":\"postgresql://helloworld:helloworld@127.0.0.1:5433/helloworld\"}");
    EXPECT_EQ(monitor_event_json("initial", "helloworld", "stopped", 1764000000000000),
              "{\"event\":\"initial\",\"name\":\"helloworld\",\"state\":\"stopped\",\"time_usec\":1764000000000000}");
    EXPECT_EQ(monitor_event_json("added", "third", "", 1764000003000000),
              "{\"event\":\"added\",\"name\":\"third\",\"state\":null,\"time_usec\":1764000003000000}");
}

TEST(ClientJson, NullsEmptiesAndLargeNumbers) {
    InstanceDetails stopped;
    stopped.name = "second";
    stopped.state = "stopped";
    EXPECT_EQ(details_json(stopped, std::nullopt),
              "{\"name\":\"second\",\"state\":\"stopped\",\"port\":0,\"database\":\"\",\"user\":\"\",\"image\":\"\","
              "\"unit\":\"\",\"machine\":\"\",\"last_error\":\"\",\"address\":null,\"health\":null}");
    EXPECT_EQ(instances_json({}), "{\"instances\":[]}");
    EXPECT_EQ(health_json({false, "", std::numeric_limits<std::uint64_t>::max()}),
              "{\"healthy\":false,\"detail\":\"\",\"latency_usec\":18446744073709551615}");
    EXPECT_EQ(address_json("::1", 65535), "{\"host\":\"::1\",\"port\":65535}");
    EXPECT_EQ(monitor_event_json("state", "a", "running", -1),
              "{\"event\":\"state\",\"name\":\"a\",\"state\":"
              "\"running\",\"time_usec\":-1}");
}

TEST(ClientJson, EscapesQuotesBackslashesAndEveryControlCharacter) {
    EXPECT_EQ(uri_json("a\"b\\c/d"), "{\"uri\":\"a\\\"b\\\\c/d\"}");
    EXPECT_EQ(uri_json("\n\r\t\b\f"), "{\"uri\":\"\\n\\r\\t\\b\\f\"}");
    EXPECT_EQ(uri_json(std::string("\0\x01\x1f", 3)), "{\"uri\":\"\\u0000\\u0001\\u001f\"}");
    for (int c = 0; c < 0x20; ++c) {
        const std::string out = uri_json(std::string(1, static_cast<char>(c)));
        for (const char byte : out)
            EXPECT_GE(static_cast<unsigned char>(byte), 0x20) << "raw control character " << c << " in " << out;
    }
    EXPECT_EQ(uri_json("\x7f"), "{\"uri\":\"\x7f\"}");
}

TEST(ClientJson, UnicodeStaysUtf8AndInvalidBytesCannotBreakTheDocument) {
    EXPECT_EQ(uri_json("é ✓ 😀"), "{\"uri\":\"é ✓ 😀\"}");
    EXPECT_EQ(uri_json("a\xff"
                       "b"),
              "{\"uri\":\"a\xef\xbf\xbd"
              "b\"}");
    EXPECT_EQ(uri_json("\xc3"), "{\"uri\":\"\xef\xbf\xbd\"}");
}

TEST(ClientJson, AdversarialStringsParseBack) {
    for (const auto& value : kAdversarial) {
        const auto parsed = nlohmann::json::parse(monitor_event_json("state", value, value, 1));
        EXPECT_EQ(parsed.at("name").get<std::string>(), value);
        if (value.empty())
            EXPECT_TRUE(parsed.at("state").is_null());
        else
            EXPECT_EQ(parsed.at("state").get<std::string>(), value);
        EXPECT_EQ(nlohmann::json::parse(uri_json(value)).at("uri").get<std::string>(), value);
    }
}

TEST(ClientText, StatusTableIsAligned) {
    EXPECT_EQ(status_table_text({{"a", "running", "/x"}, {"longer-name", "stopped", "/y"}}),
              "NAME         STATE\n"
              "a            running\n"
              "longer-name  stopped\n");
    EXPECT_EQ(status_table_text({}), "NAME  STATE\n");
}

TEST(ClientText, DetailsAndHealth) {
    InstanceDetails details{"dev", "running", "app", "app", "host", "pgnspawn-dev.service", "pgnspawn-dev", "", 5433};
    EXPECT_EQ(details_text(details, LiveDetails{"127.0.0.1", 5433, {true, "SELECT 1 succeeded", 1234}}),
              "     Name: dev\n"
              "    State: running\n"
              "     Port: 5433\n"
              " Database: app\n"
              "     User: app\n"
              "    Image: host\n"
              "     Unit: pgnspawn-dev.service\n"
              "  Machine: pgnspawn-dev\n"
              "LastError: -\n"
              "  Address: 127.0.0.1 5433\n"
              "   Health: healthy: SELECT 1 succeeded (1.2 ms)\n");
    EXPECT_EQ(health_text({false, "instance dev is stopped", 0}), "unhealthy: instance dev is stopped");
}

TEST(ClientJson, SnapshotsDocumentedExample) {
    EXPECT_EQ(snapshots_json({{"migrated", 1764000000000000, 7930403}}),
              "{\"snapshots\":[{\"name\":\"migrated\",\"created_usec\":1764000000000000,\"size_bytes\":7930403}]}");
    EXPECT_EQ(snapshots_json({}), "{\"snapshots\":[]}");
}

TEST(ClientText, SnapshotsTable) {
    EXPECT_EQ(snapshots_text({{"migrated", 1764000000000000, 7930403}, {"a", 0, 1}}),
              "SNAPSHOT  CREATED               SIZE\n"
              "migrated  2025-11-24T16:00:00Z  7930403\n"
              "a         1970-01-01T00:00:00Z  1\n");
}

}  // namespace
}  // namespace pgnspawn::client
