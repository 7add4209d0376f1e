#include "images/server_location.hpp"

#include "pgnspawn-config.h"

#include <fmt/format.h>

#include <system_error>

namespace fs = std::filesystem;

namespace pgnspawn {

namespace {

/// canonical(), or ServerLocationError with `what` and the configured path in it.
fs::path resolved(const fs::path& p, const char* what) {
    std::error_code ec;
    fs::path real = fs::canonical(p, ec);
    if (ec)
        throw ServerLocationError(
            fmt::format("{} {} does not resolve ({}): a dangling symbolic link, or it was "
                        "removed (on NixOS: rebuilt without it?)",
                        what, p.string(), ec.message()));
    return real;
}

/// Whether `p` (canonical) is `dir` or below it.
bool is_under(const fs::path& p, const fs::path& dir) {
    const auto rel = p.lexically_relative(dir.lexically_normal());
    return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

HostPaths configured_host_paths() {
    return {
        PGNSPAWN_NIX_STORE_DIR, PGNSPAWN_HOST_USR_DIR, {PGNSPAWN_HOST_USR_COMPANIONS}, {PGNSPAWN_HOST_ACCOUNT_FILES}};
}

ServerLocation locate_server(const fs::path& configured_bindir, const HostPaths& host) {
    ServerLocation s;
    s.bindir = resolved(configured_bindir, "the PostgreSQL server directory");
    // Checked too: bin/ may be a directory of links (nixpkgs' buildEnv), and the container
    // needs whatever the server itself resolves to.
    const fs::path postgres = resolved(configured_bindir / "postgres", "the PostgreSQL server");
    std::error_code ec;
    const fs::path store = fs::weakly_canonical(host.nix_store, ec);
    s.in_store = !ec && is_under(s.bindir, store) && is_under(postgres, store);
    return s;
}

std::vector<std::string> host_bind_args(const ServerLocation& server, const HostPaths& host) {
    std::vector<std::string> args;
    args.push_back(fmt::format("--bind-ro={}", (server.in_store ? host.nix_store : host.usr).string()));
    if (!server.in_store)
        for (const auto& dir : host.usr_companions)
            if (fs::is_directory(dir))
                args.push_back(fmt::format("--bind-ro={}", dir.string()));
    for (const auto& file : host.account_files) {
        const fs::path real = resolved(file, "the account file");
        args.push_back(real == file ? fmt::format("--bind-ro={}", file.string())
                                    : fmt::format("--bind-ro={}:{}", real.string(), file.string()));
    }
    return args;
}

}  // namespace pgnspawn
