// tidy_pg_message: libpq's multi-line messages made into one line. PgConnection: the
// event loop keeps running while libpq computes a SCRAM proof, against a fake server.

#include "platform/pg.hpp"
#include "platform/event_loop.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pgnspawn {
namespace {

TEST(TidyPgMessage, RealLibpqMessageBecomesOneLine) {
    EXPECT_EQ(tidy_pg_message("connection to server at \"127.0.0.1\", port 5433 failed: FATAL:  password "
                              "authentication failed for user \"helloworld\"\n"),
              "connection to server at \"127.0.0.1\", port 5433 failed: FATAL: password authentication failed for "
              "user \"helloworld\"");
}

TEST(TidyPgMessage, NewlinesAndTabsBecomeSingleSpaces) {
    EXPECT_EQ(tidy_pg_message("ERROR:\tsyntax error\nLINE 1: SELEC 1\n\t^\n"), "ERROR: syntax error LINE 1: SELEC 1 ^");
}

TEST(TidyPgMessage, RunsOfSpacesCollapse) { EXPECT_EQ(tidy_pg_message("a  b   c \n\n d"), "a b c d"); }

TEST(TidyPgMessage, TrailingWhitespaceIsRemoved) {
    EXPECT_EQ(tidy_pg_message("server closed the connection unexpectedly\n\t \n"),
              "server closed the connection unexpectedly");
}

TEST(TidyPgMessage, EmptyAndBlankMessagesBecomeEmpty) {
    EXPECT_EQ(tidy_pg_message(""), "");
    EXPECT_EQ(tidy_pg_message("\n"), "");
    EXPECT_EQ(tidy_pg_message(" \t\n "), "");
}

TEST(TidyPgMessage, AlreadyTidyMessageIsUnchanged) { EXPECT_EQ(tidy_pg_message("out of memory"), "out of memory"); }

// Leading whitespace is trimmed too, not collapsed to one space.
TEST(TidyPgMessage, LeadingWhitespaceIsRemoved) {
    EXPECT_EQ(tidy_pg_message("\n\tFATAL:  x\n"), "FATAL: x");
    EXPECT_EQ(tidy_pg_message("  x"), "x");
}

// --- PgConnection::connect off the loop ----------------------------------------------------

using Clock = std::chrono::steady_clock;

/// A TCP socket listening on 127.0.0.1, on a port the kernel picked (stored in `port`).
int loopback_listener(int backlog, uint16_t& port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(fd, backlog), 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

/// Speaks just enough of the PostgreSQL protocol to make libpq compute a SCRAM proof with
/// a huge iteration count, noting when it asked (t1) and when the proof came (t2); then
/// it hangs up. Runs on a thread of its own.
class SlowScramServer {
public:
    static constexpr int kIterations = 4096 * 128;  // 0.5 to 1 s of PBKDF2 in libpq here

    SlowScramServer() {
        listener_ = loopback_listener(1, port_);
        thread_ = std::thread([this] { serve(); });
        pthread_setname_np(thread_.native_handle(), "fake-pg");  // not counted as a worker
    }
    ~SlowScramServer() {
        shutdown(listener_, SHUT_RDWR);
        thread_.join();
        close(listener_);
    }
    uint16_t port() const { return port_; }
    /// How libpq reaches it: TCP, a password (so SCRAM), no TLS or GSS negotiation.
    PgParams params() const {
        return {
            {"host", "127.0.0.1"},  {"port", std::to_string(port_)}, {"user", "u"}, {"password", "p"}, {"dbname", "d"},
            {"sslmode", "disable"}, {"gssencmode", "disable"}};
    }
    Clock::time_point asked() const { return asked_; }
    Clock::time_point proof() const { return proof_; }
    bool got_proof() const { return got_proof_; }
    bool was_asked() const { return was_asked_; }

private:
    static bool read_exact(int fd, void* buf, size_t n) {
        auto* p = static_cast<char*>(buf);
        while (n > 0) {
            ssize_t r = read(fd, p, n);
            if (r <= 0)
                return false;
            p += r;
            n -= static_cast<size_t>(r);
        }
        return true;
    }
    /// A message: type byte (none for the startup packet), int32 length, body.
    static bool read_message(int fd, bool typed, std::string& body) {
        char type = 0;
        uint32_t len = 0;
        if ((typed && !read_exact(fd, &type, 1)) || !read_exact(fd, &len, 4))
            return false;
        len = ntohl(len);
        if (len < 4 || len > 65536)
            return false;
        body.assign(len - 4, '\0');
        return read_exact(fd, body.data(), body.size());
    }
    static void send_auth(int fd, uint32_t code, const std::string& data) {
        std::string m = "R";
        uint32_t len = htonl(static_cast<uint32_t>(4 + 4 + data.size()));
        uint32_t c = htonl(code);
        m.append(reinterpret_cast<char*>(&len), 4).append(reinterpret_cast<char*>(&c), 4).append(data);
        EXPECT_EQ(write(fd, m.data(), m.size()), static_cast<ssize_t>(m.size()));
    }

    void serve() {
        int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0)
            return;
        timeval tv{10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::string body;
        if (read_message(fd, false, body)) {
            send_auth(fd, 10, std::string("SCRAM-SHA-256") + '\0' + '\0');  // AuthenticationSASL
            if (read_message(fd, true, body)) {                             // SASLInitialResponse
                const auto r = body.find("r=");
                const std::string client_nonce = r == std::string::npos ? "" : body.substr(r + 2);
                send_auth(fd, 11,
                          fmt("r=" + client_nonce + "srvnonce,s=c2FsdHNhbHRzYWx0c2FsdA==,i=",
                              kIterations));  // AuthenticationSASLContinue
                asked_ = Clock::now();
                was_asked_ = true;
                if (read_message(fd, true, body)) {  // SASLResponse, with the proof
                    proof_ = Clock::now();
                    got_proof_ = true;
                }
            }
        }
        close(fd);  // libpq sees the server hang up
    }
    static std::string fmt(const std::string& prefix, int n) { return prefix + std::to_string(n); }

    int listener_ = -1;
    uint16_t port_ = 0;
    std::thread thread_;
    Clock::time_point asked_{}, proof_{};
    std::atomic<bool> got_proof_{false};
    std::atomic<bool> was_asked_{false};
};

TEST(PgConnection, LoopKeepsRunningWhileLibpqComputesTheScramProof) {
    SlowScramServer server;
    EventLoop loop;
    std::vector<Clock::time_point> ticks;
    EventSource ticker;
    std::function<void()> tick = [&] {
        ticks.push_back(Clock::now());
        ticker = loop.add_timer(std::chrono::milliseconds(5), tick);
    };
    tick();
    PgConnection conn(loop, std::chrono::seconds(20));
    std::string result = "not called";
    conn.connect(server.params(), [&](const std::string& error) {
        result = error;
        loop.exit(0);
    });
    loop.run();
    ASSERT_TRUE(server.got_proof()) << "the fake server never received the proof; libpq said: " << result;
    EXPECT_NE(result, "") << "the fake server hangs up, so the connect must fail";
    const auto computing = server.proof() - server.asked();
    ASSERT_GT(computing, std::chrono::milliseconds(200)) << "the proof came too quickly to tell";
    // Well inside the time libpq spent computing, the loop must have gone on ticking; on
    // the loop itself it would have been stalled for all of it.
    int inside = 0;
    for (auto t : ticks)
        if (t > server.asked() + std::chrono::milliseconds(50) && t < server.proof() - std::chrono::milliseconds(50))
            ++inside;
    EXPECT_GT(inside, 0) << "no loop iteration during "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(computing).count()
                         << " ms of SCRAM computation";
}

TEST(PgConnection, RefusedConnectFailsWithLibpqsSentence) {
    EventLoop loop;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    close(s);  // a port nobody listens on
    PgConnection conn(loop, std::chrono::seconds(10));
    std::string result = "not called";
    conn.connect({{"host", "127.0.0.1"}, {"port", std::to_string(ntohs(a.sin_port))}, {"user", "u"}, {"dbname", "d"}},
                 [&](const std::string& error) {
                     result = error;
                     loop.exit(0);
                 });
    loop.run();
    EXPECT_NE(result.find("Connection refused"), std::string::npos) << result;
}

/// Threads of this process other than the fake server's (which is named "fake-pg").
int threads_besides_the_server() {
    int n = 0;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(task.path() / "comm");
        std::string name;
        std::getline(comm, name);
        n += name != "fake-pg";
    }
    return n;
}

/// Open file descriptors of this process, by number and what they are (without the one
/// that lists them).
std::map<int, std::string> open_fds() {
    const std::string listing = "/proc/" + std::to_string(getpid()) + "/fd";
    std::map<int, std::string> fds;
    for (const auto& fd : std::filesystem::directory_iterator(listing)) {
        std::error_code ec;
        const std::string what = std::filesystem::read_symlink(fd.path(), ec).string();
        if (what != listing)
            fds[std::stoi(fd.path().filename().string())] = what;
    }
    return fds;
}

std::string describe(const std::map<int, std::string>& fds) {
    std::string out;
    for (const auto& [fd, what] : fds)
        out += std::to_string(fd) + " -> " + what + "\n";
    return out;
}

/// Checks every 10 ms, on the loop, whether a condition holds; then (or at the time limit)
/// calls what comes next. A loop runs only once (after exit it is finished), so the steps
/// of a test chain this way, each `then` free to call until() again.
class Poll {
public:
    explicit Poll(EventLoop& loop) : loop_(loop) {}

    void until(std::function<bool()> done, std::chrono::milliseconds limit, std::function<void()> then) {
        done_ = std::move(done);
        then_ = std::move(then);
        deadline_ = Clock::now() + limit;
        check();
    }

private:
    void check() {
        if (done_() || Clock::now() > deadline_) {
            timer_.reset();
            auto then = std::move(then_);
            return then();
        }
        timer_ = loop_.add_timer(std::chrono::milliseconds(10), [this] { check(); });
    }

    EventLoop& loop_;
    EventSource timer_;
    std::function<bool()> done_;
    std::function<void()> then_;
    Clock::time_point deadline_{};
};

/// Accepts every connection and never answers: a server whose backends are slow to start.
/// Counts what it has accepted; hangs up on all of them when destroyed or told to.
class SilentServer {
public:
    SilentServer() {
        listener_ = loopback_listener(64, port_);
        thread_ = std::thread([this] {
            for (int fd; (fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) {
                // A connection counts once libpq has sent its startup packet over it.
                char byte = 0;
                if (recv(fd, &byte, 1, MSG_PEEK) == 1)
                    ++accepted_;
                std::lock_guard lock(mutex_);
                if (hung_up_)
                    close(fd);
                else
                    fds_.push_back(fd);
            }
        });
        pthread_setname_np(thread_.native_handle(), "fake-pg");
    }
    ~SilentServer() {
        hang_up();
        shutdown(listener_, SHUT_RDWR);
        thread_.join();
        close(listener_);
    }
    /// From now on every connection is closed, those to come at once.
    void hang_up() {
        std::lock_guard lock(mutex_);
        hung_up_ = true;
        for (int fd : fds_)
            close(fd);
        fds_.clear();
    }
    int accepted() const { return accepted_; }
    PgParams params() const {
        return {
            {"host", "127.0.0.1"},  {"port", std::to_string(port_)}, {"user", "u"}, {"password", "p"}, {"dbname", "d"},
            {"sslmode", "disable"}, {"gssencmode", "disable"}};
    }

private:
    int listener_ = -1;
    uint16_t port_ = 0;
    std::thread thread_;
    std::mutex mutex_;
    std::vector<int> fds_;
    bool hung_up_ = false;
    std::atomic<int> accepted_{0};
};

TEST(PgConnection, TenConnectsAtOnceAreUnderWayTogether) {
    // Ten instances that become ready together (ten Starts at once) are each checked with
    // a connect; one waiting for its server must not hold up the others.
    SilentServer server;
    EventLoop loop;
    std::vector<std::unique_ptr<PgConnection>> conns;
    int answered = 0;
    for (int i = 0; i < 10; ++i) {
        conns.push_back(std::make_unique<PgConnection>(loop, std::chrono::seconds(20)));
        conns.back()->connect(server.params(), [&](const std::string&) {
            if (++answered == 10)
                loop.exit(0);
        });
    }
    int under_way = 0;
    Poll poll(loop);
    poll.until([&] { return server.accepted() == 10; }, std::chrono::seconds(3),
               [&] {
                   under_way = server.accepted();
                   server.hang_up();  // every connect fails now, and the loop ends once all have
               });
    loop.run();
    EXPECT_EQ(under_way, 10) << "connects under way at once, within 3 s";
    EXPECT_EQ(answered, 10);
}

TEST(PgConnection, DestroyedWhileConnectingLeavesNothingBehind) {
    // Destroyed while its worker is inside libpq's connect (computing the SCRAM proof):
    // no callback; the worker finishes the connect on its own, the job then closes the
    // connection libpq made and its eventfd, and the worker thread ends.
    SlowScramServer server;
    EventLoop loop;
    // sd-event makes its timerfd with the first timer; this one only makes it exist now.
    EventSource never = loop.add_timer(std::chrono::hours(1), [] {});
    // The workers of earlier tests end on their own, a moment after their connects.
    for (auto until = Clock::now() + std::chrono::seconds(10);
         threads_besides_the_server() > 1 && Clock::now() < until;)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const int threads_before = threads_besides_the_server();
    const auto fds_before = open_fds();
    auto conn = std::make_unique<PgConnection>(loop, std::chrono::seconds(20));
    conn->connect(server.params(), [](const std::string&) { ADD_FAILURE() << "called after destruction"; });
    bool asked = false, finished = false;
    std::size_t fds_connecting = 0;
    int threads_connecting = 0;
    Poll poll(loop);
    auto gone = [&] {
        return server.got_proof() && threads_besides_the_server() == threads_before &&
               open_fds().size() == fds_before.size();
    };
    poll.until([&] { return server.was_asked(); }, std::chrono::seconds(10),
               [&] {
                   // libpq computes the proof now: a worker thread, the job's eventfd, libpq's socket.
                   asked = server.was_asked();
                   threads_connecting = threads_besides_the_server();
                   fds_connecting = open_fds().size();
                   conn.reset();
                   poll.until(gone, std::chrono::seconds(10), [&] {
                       finished = true;
                       loop.exit(0);
                   });
               });
    loop.run();
    ASSERT_TRUE(finished);
    ASSERT_TRUE(asked) << "libpq never reached the SCRAM exchange";
    EXPECT_EQ(threads_connecting, threads_before + 1) << "no worker thread while connecting";
    EXPECT_GE(fds_connecting, fds_before.size() + 2) << "no eventfd and socket while connecting";
    EXPECT_TRUE(server.got_proof()) << "the worker did not finish the connect";
    EXPECT_EQ(threads_besides_the_server(), threads_before) << "the worker thread is still there";
    EXPECT_EQ(describe(open_fds()), describe(fds_before)) << "descriptors left open";
}

}  // namespace
}  // namespace pgnspawn
