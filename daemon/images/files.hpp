// The file operations the image kinds share: directories created with an owner and mode,
// files written durably, and reading what a tool left behind. Errors are thrown as
// std::runtime_error with a sentence naming the path.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace pgnspawn {

/// The whole file; empty when it cannot be read.
std::string read_file(const std::filesystem::path& p);
/// The last n non-empty lines of text, joined with " | ".
std::string tail_lines(const std::string& text, std::size_t n);

/// Creates a directory with `mode` unless it exists; an existing one is left as it is.
void ensure_dir(const std::filesystem::path& p, mode_t mode);
/// Creates a directory unless it exists, then (re-)asserts its owner and mode.
void make_dir(const std::filesystem::path& p, mode_t mode, uid_t uid, gid_t gid);
/// Creates an empty file (0644, whatever the umask) unless something of that name exists
/// (a symlink is not followed).
void make_empty_file(const std::filesystem::path& p);
/// Creates a symlink unless something of that name exists.
void make_symlink(const char* target, const std::filesystem::path& link);
/// Writes a file durably: temporary file, fsync, rename.
void write_file_durably(const std::filesystem::path& p, const std::string& contents, uid_t uid, gid_t gid, mode_t mode);
/// Makes a rename in this directory durable (errors are ignored).
void fsync_dir(const std::filesystem::path& p);

}  // namespace pgnspawn
