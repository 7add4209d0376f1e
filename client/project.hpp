// `up` without NAME: the instance is named after the project, the git top-level
// directory (a worktree's own directory) or else the current one.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace pgnspawn::client {

inline constexpr std::size_t kMaxProjectNameLength = 48;  // the daemon's instance name limit

/// A directory's name made a valid instance name: lower case, every character outside
/// [a-z0-9-] a '-', runs of '-' as one, no '-' at either end, at most 48 characters.
/// Empty when nothing is left.
std::string instance_name_from(std::string_view directory_name);

/// The nearest directory from `start` upwards that holds .git (a directory, or the file
/// a worktree has); empty if there is none.
std::filesystem::path git_top_level(const std::filesystem::path& start);

}  // namespace pgnspawn::client
