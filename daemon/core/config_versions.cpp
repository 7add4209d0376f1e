// What PostgreSQL servers this machine has installed, for the configuration's defaults.
#include "core/config.hpp"

#include <algorithm>
#include <cctype>

namespace pgnspawn {

std::string newest_postgresql_version(const std::filesystem::path& libdir) {
    std::error_code ec;
    int best = -1;
    for (const auto& entry : std::filesystem::directory_iterator(libdir, ec)) {
        const auto name = entry.path().filename().string();
        if (name.empty() || name.size() > 4 || !std::all_of(name.begin(), name.end(), ::isdigit))
            continue;
        if (!std::filesystem::exists(entry.path() / "bin/postgres", ec))
            continue;
        best = std::max(best, std::stoi(name));
    }
    return best < 0 ? std::string() : std::to_string(best);
}

}  // namespace pgnspawn
