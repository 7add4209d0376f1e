// Booted images: "directory" (a full OS tree) and "nixos" (a NixOS system toplevel).
// The guest's own init is PID 1 and its own service manager runs PostgreSQL; the daemon
// starts the container, waits for the guest to report boot-up, finds its address (on a
// private network, from machined) and proves readiness with a libpq round trip as the
// configured user. A stop is the guest's own clean poweroff.
#pragma once

#include "images/container_backend.hpp"
#include "images/container_start.hpp"

#include <map>
#include <memory>
#include <string>

namespace pgnspawn {

/// A booted image's container: nspawn's command line (layout.hpp). The steps of a start
/// are left empty here.
ContainerDescription boot_container(const InstanceConfig& c, const BackendSettings& settings);

class BootBackend : public ContainerBackend {
public:
    BootBackend(EventLoop& loop, Systemd& systemd, BackendSettings settings = {});
    ~BootBackend() override;

    void start(const InstanceConfig& config, Done done, Progress progress) override;
    void stop(const InstanceConfig& config, Done done) override;
    /// Also learns the address of a container on a private network that was not started by
    /// this daemon (one adopted at start-up), asking machined synchronously (bounded).
    void watch(const InstanceConfig& config, std::function<void(const std::string& why)> on_exit) override;
    std::pair<std::string, uint16_t> address(const InstanceConfig& config) override;

private:
    class Steps;

    std::map<std::string, std::string> addresses_;  ///< private network: name -> container address
};

/// Why a booted image cannot be started as configured (no OS tree, no NixOS init), or an
/// empty string.
std::string boot_image_problem(const InstanceConfig& config);

/// The empty root a NixOS toplevel runs in, made as nixos-container makes it: nspawn
/// refuses a root without usr/ for a command that is not --boot, and wants an os-release
/// file; an empty etc/machine-id lets the guest's systemd use the container's id. The
/// toplevel's activation script fills in the rest (links into /nix/store, /etc/passwd).
void prepare_nixos_root(const InstanceConfig& config);

/// Writes the file nspawn hands to a booted guest as its pgnspawn.password credential
/// (guest_password_file in layout.hpp; 0600 root in a 0700 directory), at every start so
/// that a changed password reaches the guest.
void write_guest_password(const InstanceConfig& config);

/// Whether a failed libpq connection attempt is worth retrying while the guest comes up
/// (nothing listening yet, still starting) rather than final (wrong password, no role).
bool pg_connect_error_is_transient(const std::string& error);

}  // namespace pgnspawn
