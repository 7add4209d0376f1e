// config_fuzz: thousands of mutated configuration files through the daemon's parser.
//
//   config_fuzz [--corpus DIR] [--cases N] [--seed S] [--time-limit SECONDS]
//               [--check-config PGNSPAWND] [--exec-every K] [--save FILE] [--replay FILE]
//
// Mutates the files of a corpus of good and bad configurations (byte flips, inserted
// and deleted bytes, splices of two files, truncation, repeated lines, deep nesting,
// long dotted keys, huge strings, unicode and invalid UTF-8, files over the size limit)
// and parses each with parse_config, as --check-config and a reload do. Refusing a file
// with a ConfigError is fine; any other exception, a crash or a sanitizer report is a
// failure. With --check-config, every K-th case is also written to a file and run
// through `PGNSPAWND --check-config --config FILE`, which must exit 0 or 1 with no
// signal and no sanitizer report. The case being parsed is written to --save (default
// config_fuzz-crash.toml) if the process dies; --replay FILE parses that file alone.
//
// Exit status: 0 no failures, 1 failures, 2 usage or harness error.
#include "core/config.hpp"
#include "core/config_limits.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

namespace {

namespace fs = std::filesystem;
using Rng = std::mt19937_64;

constexpr const char* kUsage =
    "usage: config_fuzz [--corpus DIR] [--cases N] [--seed S] [--time-limit SECONDS]\n"
    "                   [--check-config PGNSPAWND] [--exec-every K] [--save FILE] [--replay FILE]\n";

struct Options {
    fs::path corpus = TEST_SOURCE_DIR "/fuzz/config_fuzz_corpus";
    long cases = 5000;
    unsigned long long seed = std::random_device{}();
    double time_limit = 60;
    std::string check_config;
    long exec_every = 25;
    std::string save = "config_fuzz-crash.toml";
    std::string replay;
};

// What the process was parsing, for the death handlers (plain pointers: read from a
// signal handler).
const std::string* g_case = nullptr;
const char* g_save = nullptr;

void save_current_case() {
    if (!g_case || !g_save)
        return;
    const int fd = open(g_save, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    for (std::size_t done = 0; done < g_case->size();) {
        const ssize_t n = write(fd, g_case->data() + done, g_case->size() - done);
        if (n <= 0)
            break;
        done += static_cast<std::size_t>(n);
    }
    close(fd);
    static const char note[] = "config_fuzz: died while parsing the case saved to --save\n";
    (void)!write(STDERR_FILENO, note, sizeof note - 1);
}

#if !defined(__SANITIZE_ADDRESS__)
void on_fatal_signal(int sig) {
    save_current_case();
    signal(sig, SIG_DFL);
    raise(sig);
}
#endif

/// Sanitizers report (and die) through their own handlers; a plain build needs ours,
/// on a stack of its own so that a stack overflow can still be handled.
void install_death_handlers() {
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_set_death_callback(save_current_case);
#else
    static std::vector<char> alt(1 << 16);
    stack_t ss{};
    ss.ss_sp = alt.data();
    ss.ss_size = alt.size();
    sigaltstack(&ss, nullptr);
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = SA_ONSTACK;
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL})
        sigaction(sig, &sa, nullptr);
#endif
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
    return s;
}

std::size_t below(Rng& rng, std::size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
}

/// A length drawn so that small, medium and huge are all common.
std::size_t some_length(Rng& rng) {
    static const std::size_t kScales[] = {4, 40, 400, 5000, 70000, 300000};
    return 1 + below(rng, kScales[below(rng, std::size(kScales))]);
}

const std::vector<std::string> kUnicode = {
    "\xc3\xa9",
    "\xf0\x9f\x90\x98",
    "\xe2\x80\xae",
    "\xef\xbb\xbf",  // é, elephant, RLO, BOM
    "\xc0\xaf",
    "\xed\xa0\x80",
    "\xff",
    "\xf4\x90\x80\x80",  // overlong, surrogate, bad
    std::string(1, '\0'),
    "\r",
    "\t",
    "\x7f",
    "\xe2\x80\xa8",
    "\xcc\x81",
    "\xf0\x9f",
    "\\u0000",
};

const std::vector<std::string> kTokens = {
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ".",
    ",",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "#",
    "\n",
    "\\",
    "instances",
    "instances.x",
    "port",
    "password",
    "password_file",
    "image",
    "network",
    "host_port",
    "version",
    "directory",
    "toplevel",
    "listen_address",
    "autostart",
    "createdb",
    "superuser",
    "durability",
    "ephemeral",
    "\"fast\"",
    "true",
    "-1",
    "65536",
    "99999999999999999999",
    "0x7fffffffffffffff",
    "1e999",
    "nan",
    "inf",
    "1979-05-27T07:32:00Z",
    "\"/dev/null\"",
    "\"/dev/zero\"",
    "\"private\"",
    "\"nixos\"",
};

std::string nested(Rng& rng) {
    const std::size_t depth = some_length(rng);
    std::string open;
    switch (below(rng, 3)) {
        case 0:
            open = "[";
            break;
        case 1:
            open = "{a = ";
            break;
        default:
            open = "[{b = [";
            break;
    }
    std::string s;
    for (std::size_t i = 0; i < depth && s.size() < 2'000'000; ++i)
        s += open;
    return s;
}

std::string dotted(Rng& rng) {
    const std::size_t parts = some_length(rng);
    static const char* kParts[] = {"a", "\"q\"", "'l'", " a ", "instances", "\"\""};
    std::string s = below(rng, 4) == 0 ? "[" : "";
    const char* part = kParts[below(rng, std::size(kParts))];
    for (std::size_t i = 0; i < parts && s.size() < 2'000'000; ++i)
        s += std::string(i ? "." : "") + part;
    return s + (s.front() == '[' ? "]\n" : " = 1\n");
}

std::string huge_string(Rng& rng) {
    static const char* kQuotes[][2] = {{"\"", "\""}, {"'", "'"}, {"\"\"\"", "\"\"\""}, {"'''", "'''"}};
    const auto& q = kQuotes[below(rng, std::size(kQuotes))];
    const char fill = "x.[{\\\"'\n#"[below(rng, 9)];
    return std::string("password = ") + q[0] + std::string(some_length(rng) * 3, fill) + q[1] + "\n";
}

/// One mutation of `s`; `other` is another corpus file for splices.
void mutate(Rng& rng, std::string& s, const std::string& other) {
    const std::size_t at = below(rng, s.size() + 1);
    switch (below(rng, 12)) {
        case 0:  // flip bits in a few bytes
            for (int i = 0, n = 1 + static_cast<int>(below(rng, 8)); i < n && !s.empty(); ++i)
                s[below(rng, s.size())] ^= static_cast<char>(1u << below(rng, 8));
            break;
        case 1:  // random bytes
            s.insert(at, std::string(1 + below(rng, 16), static_cast<char>(below(rng, 256))));
            break;
        case 2:  // delete a run
            if (!s.empty())
                s.erase(below(rng, s.size()), 1 + below(rng, 64));
            break;
        case 3:  // splice: our prefix, the other file's suffix
            s = s.substr(0, at) + other.substr(below(rng, other.size() + 1));
            break;
        case 4:  // truncate
            s.resize(at);
            break;
        case 5:  // repeat a line many times
        {
            const std::size_t begin = s.rfind('\n', at == 0 ? 0 : at - 1);
            const std::size_t from = begin == std::string::npos ? 0 : begin + 1;
            const std::size_t end = s.find('\n', from);
            const std::string line = s.substr(from, end == std::string::npos ? std::string::npos : end - from + 1);
            std::string many;
            for (std::size_t i = 0, n = some_length(rng); i < n && many.size() < 1'500'000; ++i)
                many += line;
            s.insert(from, many);
            break;
        }
        case 6:
            s.insert(at, nested(rng));
            break;
        case 7:
            s.insert(at, "\n" + dotted(rng));
            break;
        case 8:
            s.insert(at, "\n" + huge_string(rng));
            break;
        case 9:
            s.insert(at, kUnicode[below(rng, kUnicode.size())]);
            break;
        case 10:
            s.insert(at, kTokens[below(rng, kTokens.size())]);
            break;
        default:  // just over, or far over, the size limit
            s.insert(at, std::string(pgnspawn::kMaxConfigBytes + 1 - std::min(s.size(), pgnspawn::kMaxConfigBytes) +
                                         below(rng, 3) * below(rng, 100000),
                                     below(rng, 2) ? '#' : '\n'));
            break;
    }
}

/// Runs `pgnspawnd --check-config --config FILE`; an empty string when it behaved.
std::string check_with_daemon(const std::string& binary, const fs::path& file) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return "pipe failed";
    const pid_t pid = fork();
    if (pid < 0)
        return "fork failed";
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(out[1], STDERR_FILENO);
        execl(binary.c_str(), binary.c_str(), "--check-config", "--config", file.c_str(), nullptr);
        _exit(127);
    }
    close(out[1]);
    std::string output;
    char buf[4096];
    for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;)
        if (output.size() < 65536)
            output.append(buf, static_cast<std::size_t>(n));
    close(out[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        return "killed by signal " + std::to_string(WTERMSIG(status)) + ": " + output;
    if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
        return "exit status " + std::to_string(WEXITSTATUS(status)) + ": " + output;
    if (output.find("Sanitizer") != std::string::npos || output.find("runtime error:") != std::string::npos)
        return "sanitizer report: " + output;
    return {};
}

bool parse_args(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (!v)
            return false;
        ++i;
        if (a == "--corpus")
            o.corpus = v;
        else if (a == "--cases")
            o.cases = std::atol(v);
        else if (a == "--seed")
            o.seed = std::strtoull(v, nullptr, 10);
        else if (a == "--time-limit")
            o.time_limit = std::atof(v);
        else if (a == "--check-config")
            o.check_config = v;
        else if (a == "--exec-every")
            o.exec_every = std::max(1L, std::atol(v));
        else if (a == "--save")
            o.save = v;
        else if (a == "--replay")
            o.replay = v;
        else
            return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse_args(argc, argv, o))
        return std::fputs(kUsage, stderr), 2;
    // A scratch directory: PostgreSQL 13 and 15 (empty files), a password file, the case
    // file for --check-config.
    char tmpl[] = "/tmp/config_fuzz-XXXXXX";
    if (!mkdtemp(tmpl)) {
        std::perror("config_fuzz: mkdtemp");
        return 2;
    }
    const fs::path dir = tmpl;
    for (const char* v : {"13", "15"}) {
        fs::create_directories(dir / "lib" / v / "bin");
        std::ofstream(dir / "lib" / v / "bin/postgres").put('\n');
    }
    std::ofstream(dir / "secret.pass") << "s3cret pass\n";
    const pgnspawn::ConfigEnvironment env{dir / "state", dir / "lib"};

    std::vector<std::string> corpus;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(o.corpus, ec))
        if (entry.path().extension() == ".toml")
            corpus.push_back(replace_all(read_file(entry.path()), "@DIR@", dir.string()));
    if (!o.replay.empty())
        corpus = {read_file(o.replay)};
    if (corpus.empty()) {
        std::fprintf(stderr, "config_fuzz: no .toml files in %s\n", o.corpus.c_str());
        fs::remove_all(dir, ec);
        return 2;
    }

    std::printf("config_fuzz: seed %llu, %zu corpus files\n", o.seed, corpus.size());
    std::fflush(stdout);
    g_save = o.save.c_str();
    install_death_handlers();
    Rng rng(o.seed);
    const auto t0 = std::chrono::steady_clock::now();
    long cases = 0, refused = 0, execs = 0, failures = 0;
    std::string text;
    g_case = &text;
    for (; cases < (o.replay.empty() ? o.cases : 1); ++cases) {
        if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > o.time_limit)
            break;
        text = corpus[below(rng, corpus.size())];
        if (o.replay.empty())
            for (std::size_t m = 0, n = 1 + below(rng, 4); m < n; ++m)
                mutate(rng, text, corpus[below(rng, corpus.size())]);
        try {
            (void)pgnspawn::parse_config(text, "fuzz.toml", env);
        } catch (const pgnspawn::ConfigError&) {
            ++refused;
        } catch (const std::exception& e) {
            ++failures;
            save_current_case();
            std::fprintf(stderr, "config_fuzz: case %ld: not a ConfigError but %s\n", cases, e.what());
        }
        if (!o.check_config.empty() && cases % o.exec_every == 0) {
            ++execs;
            std::ofstream(dir / "case.toml", std::ios::binary | std::ios::trunc) << text;
            if (const auto why = check_with_daemon(o.check_config, dir / "case.toml"); !why.empty()) {
                ++failures;
                save_current_case();
                std::fprintf(stderr, "config_fuzz: case %ld: %s --check-config: %.2000s\n", cases,
                             o.check_config.c_str(), why.c_str());
            }
        }
    }
    g_case = nullptr;
    fs::remove_all(dir, ec);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (failures) {
        std::printf("config_fuzz: FAILED, %ld failure(s) in %ld cases (seed %llu); the last is in %s\n", failures,
                    cases, o.seed, o.save.c_str());
        return 1;
    }
    std::printf("config_fuzz: OK, %ld cases (%ld refused, %ld through --check-config) in %.1f s, seed %llu\n", cases,
                refused, execs, secs, o.seed);
    return 0;
}
