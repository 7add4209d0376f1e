#include "client/project.hpp"

namespace pgnspawn::client {

std::string instance_name_from(std::string_view directory_name) {
    std::string name;
    for (char c : directory_name) {
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (ok)
            name += c;
        else if (!name.empty() && name.back() != '-')
            name += '-';
    }
    if (name.size() > kMaxProjectNameLength)
        name.resize(kMaxProjectNameLength);
    while (!name.empty() && name.back() == '-')
        name.pop_back();
    return name;
}

std::filesystem::path git_top_level(const std::filesystem::path& start) {
    std::error_code ec;
    for (auto dir = start; !dir.empty(); dir = dir.parent_path()) {
        if (std::filesystem::exists(dir / ".git", ec))
            return dir;
        if (dir == dir.parent_path())
            break;
    }
    return {};
}

}  // namespace pgnspawn::client
