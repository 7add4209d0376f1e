// D-Bus errors as the sentence pgnspawnctl prints after "what failed: ", and the bus
// names of dbus/bus_names.hpp against the XML, the bus policy and the daemon's errors.

#include "bus_names.hpp"
#include "client/bus_calls.hpp"
#include "client/errors.hpp"
#include "client_test_files.hpp"
#include "core/errors.hpp"
#include "core/names.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace pgnspawn::client {
namespace {

TEST(ClientDescribe, ErrorsBecomeSentences) {
    struct Case {
        const char* name;
        const char* message;
        const char* expected;
    };
    const Case cases[] = {
        {"org.freedesktop.DBus.Error.ServiceUnknown", "whatever",
         "the pgnspawn daemon is not running (org.pgnspawn1 is not on the system bus)"},
        {"org.freedesktop.DBus.Error.NameHasNoOwner", "whatever",
         "the pgnspawn daemon is not running (org.pgnspawn1 is not on the system bus)"},
        {"org.freedesktop.DBus.Error.NoReply", "Remote peer disconnected", "the daemon exited without answering"},
        {"org.freedesktop.DBus.Error.NoReply", "Method call timed out", "the daemon did not answer in time"},
        {"org.freedesktop.DBus.Error.Timeout", "x", "the daemon did not answer in time"},
        {"org.freedesktop.DBus.Error.AccessDenied", "polkit said no", "permission denied: polkit said no"},
        // The daemon's own sentence, or the error's name when it has none.
        {"org.pgnspawn1.Error.NotRunning", "instance dev is not running", "instance dev is not running"},
        {"org.pgnspawn1.Error.NotRunning", "", "org.pgnspawn1.Error.NotRunning"},
    };
    for (const auto& [name, message, expected] : cases)
        EXPECT_EQ(describe(sdbus::Error(name, message)), expected) << name << ": " << message;
}

TEST(ClientAttempt, ADBusErrorBecomesCommandFailedWithWhatFailed) {
    try {
        attempt("cannot stop dev", []() -> int { throw sdbus::Error("org.pgnspawn1.Error.StopFailed", "it hung"); });
        ADD_FAILURE() << "no exception";
    } catch (const CommandFailed& error) {
        EXPECT_EQ(std::string(error.what()), "cannot stop dev: it hung");
    }
    EXPECT_EQ(attempt("x", [] { return 42; }), 42);
}

TEST(BusNames, MatchTheXmlThePolicyAndTheDaemon) {
    using namespace pgnspawn::bus;
    EXPECT_NE(
        read_source("dbus/org.pgnspawn1.Manager.xml").find(fmt::format("<interface name=\"{}\">", kManagerInterface)),
        std::string::npos);
    EXPECT_NE(
        read_source("dbus/org.pgnspawn1.Instance.xml").find(fmt::format("<interface name=\"{}\">", kInstanceInterface)),
        std::string::npos);
    EXPECT_NE(read_source("dbus/org.pgnspawn1.conf").find(fmt::format("<allow own=\"{}\"/>", kBusName)),
              std::string::npos);
    EXPECT_EQ(pgnspawn::instance_object_path("dev"), std::string(kInstancePathPrefix) + "/dev");
    EXPECT_STREQ(pgnspawn::kManagerObjectPath, kManagerPath);
    for (const auto* name : {pgnspawn::error_name::NoSuchInstance, pgnspawn::error_name::NotRunning,
                             pgnspawn::error_name::StartFailed, pgnspawn::error_name::StopFailed})
        EXPECT_TRUE(std::string_view(name).starts_with(kErrorPrefix)) << name;
    EXPECT_EQ(kErrorPrefix, std::string(kBusName) + ".Error.");
}

}  // namespace
}  // namespace pgnspawn::client
