// The free functions of a host image start: reading postmaster.pid for readiness, and
// checking that a TCP port can be bound.

#include "images/host_start.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace pgnspawn {
namespace {

using ::testing::HasSubstr;

constexpr long long kStarted = 1700000000;

/// postmaster.pid as PostgreSQL 10+ writes it; the status is padded to 8 characters.
std::string postmaster_pid(long long start_epoch = kStarted, const std::string& status = "ready   ") {
    return "42\n"
           "/var/lib/postgresql/data\n" +
           std::to_string(start_epoch) +
           "\n"
           "5433\n"
           "/run/postgresql\n"
           "127.0.0.1\n"
           "  5433001         0\n" +
           status + "\n";
}

// --- postmaster_pid_ready --------------------------------------------------------------

TEST(PostmasterPidReady, ReadyWhenStartedAtOrAfterNotBefore) {
    EXPECT_TRUE(postmaster_pid_ready(postmaster_pid(), kStarted));
    EXPECT_TRUE(postmaster_pid_ready(postmaster_pid(), kStarted - 10));
}

TEST(PostmasterPidReady, StaleFileFromAnEarlierPostmasterIsNotReady) {
    EXPECT_FALSE(postmaster_pid_ready(postmaster_pid(), kStarted + 1));
}

TEST(PostmasterPidReady, StartingIsNotReady) {
    EXPECT_FALSE(postmaster_pid_ready(postmaster_pid(kStarted, "starting"), kStarted));
    EXPECT_FALSE(postmaster_pid_ready(postmaster_pid(kStarted, "stopping"), kStarted));
    EXPECT_FALSE(postmaster_pid_ready(postmaster_pid(kStarted, "standby "), kStarted));
}

TEST(PostmasterPidReady, UnpaddedReadyAndMissingFinalNewlineAreReady) {
    EXPECT_TRUE(postmaster_pid_ready(postmaster_pid(kStarted, "ready"), kStarted));
    std::string no_newline = postmaster_pid();
    no_newline.pop_back();
    EXPECT_TRUE(postmaster_pid_ready(no_newline, kStarted));
}

TEST(PostmasterPidReady, FewerThanEightLinesIsNotReady) {
    // Before PostgreSQL is listening the file has only the first lines.
    EXPECT_FALSE(postmaster_pid_ready("42\n/var/lib/postgresql/data\n1700000000\n5433\n", kStarted));
    const std::string full = postmaster_pid();
    const std::string seven_lines = full.substr(0, full.rfind('\n', full.size() - 2) + 1);
    EXPECT_FALSE(postmaster_pid_ready(seven_lines, kStarted));
    EXPECT_FALSE(postmaster_pid_ready("", kStarted));
}

TEST(PostmasterPidReady, GarbageStartTimeIsNotReady) {
    std::string garbage = postmaster_pid();
    garbage.replace(garbage.find("1700000000"), 10, "yesterday");
    EXPECT_FALSE(postmaster_pid_ready(garbage, 0));
    std::string empty = postmaster_pid();
    empty.replace(empty.find("1700000000"), 10, "");
    EXPECT_FALSE(postmaster_pid_ready(empty, 0));
}

TEST(PostmasterPidReady, OtherStatusTextIsNotReady) {
    EXPECT_FALSE(postmaster_pid_ready(postmaster_pid(kStarted, "readyish"), kStarted));
    EXPECT_FALSE(postmaster_pid_ready(postmaster_pid(kStarted, ""), kStarted));
}

// --- check_port_free -------------------------------------------------------------------

/// A TCP socket bound to 127.0.0.1 on an ephemeral port, closed at the end of the test.
class LoopbackSocket {
public:
    explicit LoopbackSocket(bool listen_on_it) {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0)
            return;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = 0;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(addr);
        if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) < 0 ||
            getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) < 0 || (listen_on_it && listen(fd_, 1) < 0)) {
            close();
            return;
        }
        port_ = ntohs(addr.sin_port);
    }
    ~LoopbackSocket() { close(); }
    LoopbackSocket(const LoopbackSocket&) = delete;
    LoopbackSocket& operator=(const LoopbackSocket&) = delete;

    std::uint16_t port() const { return port_; }
    void close() {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

TEST(CheckPortFree, PortWithAListenerIsInUse) {
    LoopbackSocket listener(true);
    ASSERT_NE(listener.port(), 0) << "cannot bind a loopback socket";
    const std::string error = check_port_free("127.0.0.1", listener.port());
    EXPECT_THAT(error, HasSubstr(std::to_string(listener.port())));
    EXPECT_THAT(error, HasSubstr("already in use"));
    EXPECT_EQ(error, "port " + std::to_string(listener.port()) + " on 127.0.0.1 is already in use by another process");
}

TEST(CheckPortFree, FreePortIsFree) {
    LoopbackSocket probe(false);
    const std::uint16_t port = probe.port();
    ASSERT_NE(port, 0) << "cannot bind a loopback socket";
    probe.close();
    EXPECT_EQ(check_port_free("127.0.0.1", port), "");
}

TEST(CheckPortFree, CheckingDoesNotKeepThePortBound) {
    LoopbackSocket probe(false);
    const std::uint16_t port = probe.port();
    ASSERT_NE(port, 0);
    probe.close();
    ASSERT_EQ(check_port_free("127.0.0.1", port), "");
    EXPECT_EQ(check_port_free("127.0.0.1", port), "");
}

TEST(CheckPortFree, AddressThatIsNotAnIpIsAnError) {
    const std::string error = check_port_free("not-an-ip", 5433);
    EXPECT_EQ(error, "not-an-ip is not an IP address");
    EXPECT_NE(check_port_free("localhost", 5433), "");
    EXPECT_NE(check_port_free("", 5433), "");
}

}  // namespace
}  // namespace pgnspawn
