// --timeout's durations.

#include "client/duration.hpp"
#include "client/errors.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pgnspawn::client {
namespace {

using std::chrono::milliseconds;

TEST(ClientDuration, Units) {
    EXPECT_EQ(parse_duration("30"), milliseconds(30'000));
    EXPECT_EQ(parse_duration("30s"), milliseconds(30'000));
    EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
    EXPECT_EQ(parse_duration("2m"), milliseconds(120'000));
    EXPECT_EQ(parse_duration("2min"), milliseconds(120'000));
    EXPECT_EQ(parse_duration("1h"), milliseconds(3'600'000));
}

TEST(ClientDuration, FractionsZeroAndExponents) {
    EXPECT_EQ(parse_duration("1.5s"), milliseconds(1500));
    EXPECT_EQ(parse_duration("0.25"), milliseconds(250));
    EXPECT_EQ(parse_duration(".5m"), milliseconds(30'000));
    EXPECT_EQ(parse_duration("0"), milliseconds(0));
    EXPECT_EQ(parse_duration("1e3ms"), milliseconds(1000));
    EXPECT_EQ(parse_duration("1e12ms"), milliseconds(1'000'000'000'000));
}

TEST(ClientDuration, BadInputIsAUsageErrorNamingIt) {
    for (const std::string text :
         {"",     "soon", "s",      "30 s",       " 30s", "30s ", "+5",   "-1",  "-0.5s",    "30sec", "30S",  "1d",
          "0x10", "5mss", "1e13ms", "300000000h", "nan",  "NaN",  "nans", "inf", "infinity", "-inf",  "1e400"}) {
        try {
            parse_duration(text);
            ADD_FAILURE() << "accepted '" << text << "'";
        } catch (const UsageError& error) {
            EXPECT_EQ(std::string(error.what()), "invalid duration '" + text + "' (examples: 30s, 500ms, 2m)");
        }
    }
}

}  // namespace
}  // namespace pgnspawn::client
