// Test helpers: a temporary directory removed at the end of the test, and a fake
// PostgreSQL library directory (LIBDIR/VERSION/bin/postgres as empty files).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <system_error>

namespace pgnspawn::test {

class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "pgnspawn-test-XXXXXX").string();
        if (!mkdtemp(tmpl.data()))
            throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    /// Writes `contents` to path()/relative, creating parent directories.
    std::filesystem::path write(const std::filesystem::path& relative, const std::string& contents) const {
        const auto p = path_ / relative;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream out(p, std::ios::binary);
        out << contents;
        return p;
    }

private:
    std::filesystem::path path_;
};

/// A temporary PostgreSQL libdir holding the given major versions, e.g. {"13", "15"}.
class FakeLibdir {
public:
    FakeLibdir(std::initializer_list<const char*> versions) {
        for (const char* v : versions)
            dir_.write(std::filesystem::path(v) / "bin/postgres", "");
    }
    const std::filesystem::path& path() const { return dir_.path(); }

private:
    TempDir dir_;
};

}  // namespace pgnspawn::test
