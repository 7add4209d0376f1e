// The client's tests read files of the source tree (completions, man page, XML).
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace pgnspawn::client {

/// The file at `path` below the top of the source tree; a test failure if it cannot be read.
inline std::string read_source(const std::string& path) {
    std::ifstream in(std::string(TEST_SOURCE_DIR) + "/../" + path);
    EXPECT_TRUE(in) << "cannot read " << path;
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace pgnspawn::client
