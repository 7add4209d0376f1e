// Where an instance's files live and how its container is assembled: the paths under its
// state directory, the container's command line, and the transient unit's settings.
// Pure functions of the configuration, so they are unit-tested without a container.
#pragma once

#include "core/config.hpp"
#include "pgnspawn-config.h"

#include <filesystem>
#include <string>
#include <vector>

namespace pgnspawn {

/// Paths of one instance on the host.
struct InstancePaths {
    std::filesystem::path state;       ///< STATE            (0750 root:postgres)
    std::filesystem::path root;        ///< STATE/root       the container's tiny root directory
    std::filesystem::path data;        ///< STATE/data       PGDATA (0700 postgres); ephemeral: RUNTIME/data
    std::filesystem::path data_tmp;    ///< STATE/data.new   initdb target, renamed when complete (ephemeral: RUNTIME/)
    std::filesystem::path socket_dir;  ///< STATE/run        PostgreSQL's unix socket (0750)
    std::filesystem::path initdb_log;  ///< STATE/initdb.log

    explicit InstancePaths(const InstanceConfig& c);
};

/// Paths as the container sees them.
inline constexpr const char* kContainerData = "/var/lib/postgresql/data";
inline constexpr const char* kContainerSocketDir = "/run/postgresql";

/// The systemd-nspawn command line (argv[0] included) that runs PostgreSQL as PID 1 of a
/// container registered with machined, so that nspawn's --kill-signal=SIGINT reaches the
/// postmaster directly and requests a fast, clean shutdown. durability = "fast" adds
/// fsync, synchronous_commit and full_page_writes off; `settings` add their -c flags. `host_binds` are what the
/// container needs of the host (host_bind_args in server_location.hpp: /usr or the Nix store, the account files); the
/// server is c.postgresql_bindir/postgres, so pass a resolved one.
std::vector<std::string> nspawn_argv(const InstanceConfig& c, const std::string& nspawn_binary,
                                     const std::vector<std::string>& host_binds = {});

/// The host image's system call confinement, applied by systemd to the transient unit
/// instead of nspawn's own filter. nspawn compiles a generic allow list for three
/// architectures on every container start (about 80 ms of a warm start, measured in the
/// test host); systemd applies this deny list, native architecture only, at no measurable
/// cost. The payload is PostgreSQL running as postgres with no capabilities, so the list
/// holds what such a process could otherwise still reach: the kernel keyring, ptrace and
/// perf, bpf, obsolete and foreign-architecture calls; the rest of nspawn's list needs
/// capabilities it does not have. It covers nspawn itself too, which uses none of these
/// (a refused keyring is expected and ignored).
struct SyscallConfinement {
    std::vector<std::string> environment;    ///< for nspawn: SYSTEMD_SECCOMP=0
    std::vector<std::string> denied;         ///< names and @groups, denied with EPERM
    std::vector<std::string> architectures;  ///< "native"
};
SyscallConfinement host_syscall_confinement();

/// The systemd-nspawn command line for a booted image ("directory" or "nixos"): the guest's
/// own init is PID 1 and reports boot-up (--notify-ready), a stop is SIGRTMIN+3 (the
/// guest's clean poweroff), and network "private" gives it a veth pair (plus host_port
/// forwarding). A NixOS toplevel runs as nixos-container runs it: an empty root of the
/// daemon's with /nix/store bound read-only, and TOPLEVEL/init as the command.
/// `nix_store` is the store bound for a toplevel (-Dnix_store_dir).
std::vector<std::string> boot_nspawn_argv(const InstanceConfig& c, const std::string& nspawn_binary,
                                          const std::filesystem::path& nix_store = PGNSPAWN_NIX_STORE_DIR);

/// The root directory a booted image runs from: the configured tree for "directory", the
/// daemon's own skeleton (STATE/root) for "nixos".
std::filesystem::path boot_root(const InstanceConfig& c);

/// A booted guest gets the instance's password as the system credential
/// "pgnspawn.password" (nspawn --load-credential from this file, which the daemon writes
/// 0600 root before each start; the guest's systemd places it in
/// /run/credentials/@system/, where nix/container.nix reads it): RUNTIME/pgnspawn.password,
/// or STATE/pgnspawn.password in a build without a runtime directory.
inline constexpr const char* kGuestPasswordCredential = "pgnspawn.password";
std::filesystem::path guest_password_file(const InstanceConfig& c);

/// The initdb command line (argv[0] included).
std::vector<std::string> initdb_argv(const InstanceConfig& c);
std::vector<std::string> initdb_argv(const std::filesystem::path& bindir, const std::filesystem::path& pgdata);

/// A spare cluster, initialised ahead of time for the next first start of an instance of
/// this PostgreSQL version (as pg_tmp keeps one): STATE_ROOT/.spare-VERSION. A first
/// start renames it into place instead of running initdb on the critical path.
std::filesystem::path spare_cluster_dir(const InstanceConfig& c);

/// pg_hba.conf and pg_ident.conf written into a fresh cluster: peer authentication on the
/// socket (root maps to the postgres superuser), scram-sha-256 for every TCP client.
std::string pg_hba_conf();
std::string pg_ident_conf();

}  // namespace pgnspawn
