// tidy_pg_message: libpq's multi-line messages made into one line.

#include "pg.hpp"

#include <gtest/gtest.h>

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

TEST(TidyPgMessage, RunsOfSpacesCollapse) {
    EXPECT_EQ(tidy_pg_message("a  b   c \n\n d"), "a b c d");
}

TEST(TidyPgMessage, TrailingWhitespaceIsRemoved) {
    EXPECT_EQ(tidy_pg_message("server closed the connection unexpectedly\n\t \n"),
              "server closed the connection unexpectedly");
}

TEST(TidyPgMessage, EmptyAndBlankMessagesBecomeEmpty) {
    EXPECT_EQ(tidy_pg_message(""), "");
    EXPECT_EQ(tidy_pg_message("\n"), "");
    EXPECT_EQ(tidy_pg_message(" \t\n "), "");
}

TEST(TidyPgMessage, AlreadyTidyMessageIsUnchanged) {
    EXPECT_EQ(tidy_pg_message("out of memory"), "out of memory");
}

// Leading whitespace is trimmed too, not collapsed to one space.
TEST(TidyPgMessage, LeadingWhitespaceIsRemoved) {
    EXPECT_EQ(tidy_pg_message("\n\tFATAL:  x\n"), "FATAL: x");
    EXPECT_EQ(tidy_pg_message("  x"), "x");
}

}  // namespace
}  // namespace pgnspawn
