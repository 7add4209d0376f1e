#include "images/files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace fs = std::filesystem;

namespace pgnspawn {

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string tail_lines(const std::string& text, std::size_t n) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            lines.push_back(line);
    std::string out;
    for (std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
        out += (out.empty() ? "" : " | ") + lines[i];
    return out;
}

void ensure_dir(const fs::path& p, mode_t mode) {
    if (mkdir(p.c_str(), mode) < 0 && errno != EEXIST)
        throw std::runtime_error(fmt::format("cannot create {}: {}", p.string(), std::strerror(errno)));
}

void make_dir(const fs::path& p, mode_t mode, uid_t uid, gid_t gid) {
    ensure_dir(p, mode);
    if (chown(p.c_str(), uid, gid) < 0 || chmod(p.c_str(), mode) < 0)
        throw std::runtime_error(fmt::format("cannot set the owner of {}: {}", p.string(), std::strerror(errno)));
}

void make_empty_file(const fs::path& p) {
    // O_EXCL: whatever is there already, a symlink included (a NixOS guest links its
    // /etc/os-release into the store), is left alone and not followed.
    int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && errno == EEXIST)
        return;
    if (fd < 0)
        throw std::runtime_error(fmt::format("cannot create {}: {}", p.string(), std::strerror(errno)));
    // 0644 whatever the daemon's umask: a guest's users read /etc/machine-id.
    const int r = fchmod(fd, 0644);
    const int saved = errno;
    close(fd);
    if (r < 0)
        throw std::runtime_error(fmt::format("cannot set the mode of {}: {}", p.string(), std::strerror(saved)));
}

void make_symlink(const char* target, const fs::path& link) {
    if (symlink(target, link.c_str()) < 0 && errno != EEXIST)
        throw std::runtime_error(fmt::format("cannot create {}: {}", link.string(), std::strerror(errno)));
}

void write_file_durably(const fs::path& p, const std::string& contents, uid_t uid, gid_t gid, mode_t mode) {
    const fs::path tmp = p.string() + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        throw std::runtime_error(fmt::format("cannot write {}: {}", p.string(), std::strerror(errno)));
    bool ok = write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()) &&
              fchown(fd, uid, gid) == 0 && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp.c_str(), p.c_str()) < 0)
        throw std::runtime_error(fmt::format("cannot write {}: {}", p.string(), std::strerror(errno)));
}

void fsync_dir(const fs::path& p) {
    int fd = open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

}  // namespace pgnspawn
