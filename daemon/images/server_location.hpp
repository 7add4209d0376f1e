// Where a host-image container's PostgreSQL really lives, and so what of the host the
// container must see. On NixOS the configured server (/etc/pgnspawn/postgresql/MAJOR, as
// the module links it) is a chain of symlinks (→ /etc/static/… → /nix/store/…) that the
// container cannot follow: it sees neither /etc/pgnspawn nor /etc/static. So the server is
// resolved on the host first, and a server in the Nix store gets the store bound read-only
// instead of the host's /usr (its libraries and ELF loader are in the store too).
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace pgnspawn {

/// The host paths a host-image container is assembled from (build options, see
/// meson_options.txt: nix_store_dir, host_usr_dir, host_usr_companions, host_account_files).
struct HostPaths {
    std::filesystem::path nix_store;                    ///< bound read-only for a server in the store
    std::filesystem::path usr;                          ///< bound read-only for any other server
    std::vector<std::filesystem::path> usr_companions;  ///< bound with usr, where they exist
    std::vector<std::filesystem::path> account_files;   ///< bound read-only at their own paths
};

/// HostPaths as this build was configured.
HostPaths configured_host_paths();

/// A server resolved to its real location.
struct ServerLocation {
    std::filesystem::path bindir;  ///< canonical: no symlink left in it
    bool in_store = false;         ///< under HostPaths::nix_store
};

/// The server's location could not be resolved (a dangling link, no bin/postgres).
class ServerLocationError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Resolves a configured bin directory (e.g. /etc/pgnspawn/postgresql/15/bin) with
/// std::filesystem::canonical. The server is in the store when both the directory and
/// its postgres resolve there. Throws ServerLocationError naming the configured path
/// when it, or the postgres in it, does not resolve.
ServerLocation locate_server(const std::filesystem::path& configured_bindir, const HostPaths& host);

/// nspawn's bind options for a host-image container running `server`: the Nix store
/// read-only for a store server, else the host's /usr and those of its companions that
/// exist; then each account file read-only
/// at its own path, from where it resolves (on NixOS /etc/nsswitch.conf is a symlink into
/// the store: nspawn would follow it too, but binding the resolved file says what is
/// bound, and a dangling one fails here, by name). Throws ServerLocationError.
std::vector<std::string> host_bind_args(const ServerLocation& server, const HostPaths& host);

}  // namespace pgnspawn
