// Instance names and what is derived from them: validation, D-Bus object path, unit
// and machine names, and the quoting of untrusted input.

#include "core/names.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace pgnspawn {
namespace {

using ::testing::HasSubstr;
using namespace std::string_literals;

// --- instance_name_problem -------------------------------------------------------------

TEST(InstanceName, OrdinaryNamesAreValid) {
    for (const char* name : {"helloworld", "a", "A", "7", "db1", "my-app", "My-App-2", "0-x"}) {
        EXPECT_EQ(instance_name_problem(name), std::nullopt) << name;
        EXPECT_TRUE(is_valid_instance_name(name)) << name;
    }
}

TEST(InstanceName, EmptyIsInvalid) {
    const auto problem = instance_name_problem("");
    ASSERT_TRUE(problem.has_value());
    EXPECT_EQ(*problem, "the instance name is empty");
    EXPECT_FALSE(is_valid_instance_name(""));
}

TEST(InstanceName, FortyEightCharactersIsTheMaximum) {
    EXPECT_EQ(kMaxInstanceNameLength, 48u);
    EXPECT_TRUE(is_valid_instance_name(std::string(48, 'x')));
    const auto problem = instance_name_problem(std::string(49, 'x'));
    ASSERT_TRUE(problem.has_value());
    EXPECT_EQ(*problem, "the instance name is 49 bytes long; at most 48 are allowed");
}

TEST(InstanceName, LeadingDashIsInvalid) {
    const auto problem = instance_name_problem("-x");
    ASSERT_TRUE(problem.has_value());
    EXPECT_EQ(*problem, "the instance name \"-x\" must start with a letter or digit");
}

TEST(InstanceName, PathCharactersAreInvalid) {
    for (const char* name : {"a/b", "/", "..", ".", "a.b", "a..b", "x/../y"})
        EXPECT_FALSE(is_valid_instance_name(name)) << name;
    const auto problem = instance_name_problem("a/b");
    ASSERT_TRUE(problem.has_value());
    EXPECT_EQ(*problem, "the instance name \"a/b\" may contain only letters, digits and '-'");
}

TEST(InstanceName, UnderscoreAndSpaceAreInvalid) {
    for (const char* name : {"a_b", "_a", "a b", " a", "a ", "a:b", "a@b", "a\\b", "a\"b"})
        EXPECT_FALSE(is_valid_instance_name(name)) << name;
}

TEST(InstanceName, NonAsciiBytesAreInvalid) {
    EXPECT_FALSE(is_valid_instance_name("caf\xc3\xa9"));  // "café" in UTF-8
    EXPECT_FALSE(is_valid_instance_name("\xc3\xa9t\xc3\xa9"));
    EXPECT_FALSE(is_valid_instance_name("a\xff"));
}

TEST(InstanceName, ControlCharactersAreInvalidAndEscapedInTheMessage) {
    EXPECT_FALSE(is_valid_instance_name("a\nb"));
    EXPECT_FALSE(is_valid_instance_name("a\tb"));
    EXPECT_FALSE(is_valid_instance_name("a\x7f"));
    EXPECT_FALSE(is_valid_instance_name("a\0b"s));
    const auto problem = instance_name_problem("a\nb");
    ASSERT_TRUE(problem.has_value());
    EXPECT_THAT(*problem, HasSubstr("\"a\\x0ab\""));
    EXPECT_EQ(problem->find('\n'), std::string::npos);
}

// --- derived names ---------------------------------------------------------------------

TEST(DerivedNames, ObjectPathOfPlainName) {
    EXPECT_EQ(instance_object_path("helloworld"), "/org/pgnspawn1/instance/helloworld");
    EXPECT_EQ(instance_object_path("Db2"), "/org/pgnspawn1/instance/Db2");
}

TEST(DerivedNames, ObjectPathEscapesDashAsSdBusPathEncodeDoes) {
    EXPECT_EQ(instance_object_path("a-b"), "/org/pgnspawn1/instance/a_2db");
    EXPECT_EQ(instance_object_path("a-b-c"), "/org/pgnspawn1/instance/a_2db_2dc");
}

TEST(DerivedNames, ObjectPathEscapesALeadingDigit) {
    EXPECT_EQ(instance_object_path("1db"), "/org/pgnspawn1/instance/_31db");
    EXPECT_EQ(instance_object_path("db1"), "/org/pgnspawn1/instance/db1");
}

TEST(DerivedNames, UnitName) {
    EXPECT_EQ(unit_name("helloworld"), "pgnspawn-helloworld.service");
    EXPECT_EQ(unit_name("a-b"), "pgnspawn-a-b.service");
}

TEST(DerivedNames, MachineName) {
    EXPECT_EQ(machine_name("helloworld"), "pgnspawn-helloworld");
    EXPECT_EQ(machine_name("a-b"), "pgnspawn-a-b");
}

// --- quote_untrusted -------------------------------------------------------------------

TEST(QuoteUntrusted, PlainTextIsWrappedInQuotes) {
    EXPECT_EQ(quote_untrusted("hello world"), "\"hello world\"");
    EXPECT_EQ(quote_untrusted(""), "\"\"");
}

TEST(QuoteUntrusted, QuotesAndBackslashesAreEscaped) {
    EXPECT_EQ(quote_untrusted("a\"b"), "\"a\\\"b\"");
    EXPECT_EQ(quote_untrusted("a\\b"), "\"a\\\\b\"");
}

TEST(QuoteUntrusted, ControlAndNonAsciiBytesAreHexEscaped) {
    EXPECT_EQ(quote_untrusted("a\nb"), "\"a\\x0ab\"");
    EXPECT_EQ(quote_untrusted("\t\r\x1b"), "\"\\x09\\x0d\\x1b\"");
    EXPECT_EQ(quote_untrusted("\x7f"), "\"\\x7f\"");
    EXPECT_EQ(quote_untrusted("\xc3\xa9"), "\"\\xc3\\xa9\"");
    EXPECT_EQ(quote_untrusted("a\0b"s), "\"a\\x00b\"");
}

TEST(QuoteUntrusted, SixtyFourBytesAreShownInFull) {
    const std::string s(64, 'x');
    EXPECT_EQ(quote_untrusted(s), "\"" + s + "\"");
}

TEST(QuoteUntrusted, LongerInputIsCutAfterSixtyFourBytes) {
    const std::string s = std::string(64, 'x') + std::string(936, 'y');
    EXPECT_EQ(quote_untrusted(s), "\"" + std::string(64, 'x') + "\" (and 936 more bytes)");
}

TEST(QuoteUntrusted, OutputNeverContainsRawControlCharacters) {
    std::string all;
    for (int c = 0; c < 256; ++c)
        all += static_cast<char>(c);
    for (std::size_t i = 0; i < all.size(); i += 32) {
        const std::string quoted = quote_untrusted(std::string_view(all).substr(i, 32));
        for (char ch : quoted) {
            const auto u = static_cast<unsigned char>(ch);
            EXPECT_TRUE(u >= 0x20 && u < 0x7f) << "byte " << int(u) << " in " << quoted;
        }
    }
}

}  // namespace
}  // namespace pgnspawn
