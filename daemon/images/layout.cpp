#include "images/layout.hpp"

#include "core/names.hpp"

#include <fmt/format.h>

namespace pgnspawn {

namespace {

/// What every container's command line starts with: nspawn in the transient unit it runs
/// in, registered with machined under the instance's machine name, on `root`.
std::vector<std::string> nspawn_head(const InstanceConfig& c, const std::string& nspawn_binary,
                                     const std::filesystem::path& root) {
    return {nspawn_binary,
            "--quiet",
            "--keep-unit",
            "--register=yes",
            fmt::format("--machine={}", machine_name(c.name)),
            fmt::format("--directory={}", root.string())};
}

}  // namespace

InstancePaths::InstancePaths(const InstanceConfig& c)
    : state(c.state_directory), root(c.state_directory / "root"),
      data((c.ephemeral ? c.runtime_directory : c.state_directory) / "data"),
      data_tmp((c.ephemeral ? c.runtime_directory : c.state_directory) / "data.new"),
      socket_dir(c.state_directory / "run"), initdb_log(c.state_directory / "initdb.log") {}

std::vector<std::string> nspawn_argv(const InstanceConfig& c, const std::string& nspawn_binary,
                                     const std::vector<std::string>& host_binds) {
    const InstancePaths p(c);
    std::vector<std::string> argv = nspawn_head(c, nspawn_binary, p.root);
    argv.insert(argv.end(), {"--read-only", "--tmpfs=/tmp"});
    argv.insert(argv.end(), host_binds.begin(), host_binds.end());
    argv.insert(argv.end(), {
                                fmt::format("--bind={}:{}", p.data.string(), kContainerData),
                                fmt::format("--bind={}:{}", p.socket_dir.string(), kContainerSocketDir),
                                // PostgreSQL is PID 1 (no --as-pid2): nspawn's stub init would turn a stop into
                                // SIGTERM, a "smart" shutdown that waits for every client to disconnect. SIGINT
                                // is PostgreSQL's fast shutdown: clients are disconnected, a checkpoint is written.
                                "--kill-signal=SIGINT",
                                "--resolv-conf=off",
                                "--timezone=off",
                                "--link-journal=no",
                                "--console=pipe",
                                "--user=postgres",
                                "--chdir=/",
                                (c.postgresql_bindir / "postgres").string(),
                                "-D",
                                kContainerData,
                                "-c",
                                fmt::format("listen_addresses={}", c.listen_address),
                                "-c",
                                fmt::format("port={}", c.port),
                                "-c",
                                fmt::format("unix_socket_directories={}", kContainerSocketDir),
                                "-c",
                                "logging_collector=off",
                            });
    if (c.durability == Durability::Fast)
        for (const char* setting : {"fsync=off", "synchronous_commit=off", "full_page_writes=off"})
            argv.insert(argv.end(), {"-c", setting});
    for (const auto& [name, value] : c.settings)  // none of these is one of the above (config_server.cpp)
        argv.insert(argv.end(), {"-c", fmt::format("{}={}", name, value)});
    return argv;
}

SyscallConfinement host_syscall_confinement() {
    return {
        {"SYSTEMD_SECCOMP=0"},
        {"@clock", "@cpu-emulation", "@debug", "@module", "@obsolete", "@raw-io", "@reboot", "@swap", "add_key",
         "keyctl", "request_key", "bpf", "userfaultfd"},
        {"native"},
    };
}

std::filesystem::path guest_password_file(const InstanceConfig& c) {
    return (c.runtime_directory.empty() ? c.state_directory : c.runtime_directory) / kGuestPasswordCredential;
}

std::filesystem::path boot_root(const InstanceConfig& c) {
    return c.image == ImageKind::Directory ? c.directory : InstancePaths(c).root;
}

std::vector<std::string> boot_nspawn_argv(const InstanceConfig& c, const std::string& nspawn_binary,
                                          const std::filesystem::path& nix_store) {
    std::vector<std::string> argv = nspawn_head(c, nspawn_binary, boot_root(c));
    argv.insert(argv.end(), {
                                // READY=1 only once the guest's service manager has finished booting.
                                "--notify-ready=yes",
                                // The guest's init turns SIGRTMIN+3 into a clean poweroff, which stops its
                                // PostgreSQL cleanly (nspawn's default for a non --boot payload is SIGKILL).
                                "--kill-signal=SIGRTMIN+3",
                                "--console=read-only",
                                "--link-journal=no",
                            });
    argv.push_back(fmt::format("--load-credential={}:{}", kGuestPasswordCredential, guest_password_file(c).string()));
    if (c.network == NetworkMode::Private) {
        argv.emplace_back("--network-veth");
        if (c.host_port)
            argv.push_back(fmt::format("--port=tcp:{}:{}", c.host_port, c.port));
    }
    if (c.image == ImageKind::Nixos) {
        argv.push_back(fmt::format("--bind-ro={}", nix_store.string()));
        argv.push_back((c.toplevel / "init").string());
    } else {
        argv.emplace_back("--boot");
    }
    return argv;
}

std::filesystem::path spare_cluster_dir(const InstanceConfig& c) {
    return c.state_directory.parent_path() / (".spare-" + c.postgresql_version);
}

std::vector<std::string> initdb_argv(const InstanceConfig& c) {
    return initdb_argv(c.postgresql_bindir, InstancePaths(c).data_tmp);
}

std::vector<std::string> initdb_argv(const std::filesystem::path& bindir, const std::filesystem::path& pgdata) {
    return {
        (bindir / "initdb").string(), "--pgdata",        pgdata.string(),    "--username=postgres", "--auth-local=peer",
        "--auth-host=scram-sha-256",  "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions",
    };
}

std::string pg_hba_conf() {
    return "# Written by pgnspawn when the cluster was created.\n"
           "# TYPE  DATABASE  USER  ADDRESS  METHOD\n"
           "local   all       all            peer map=pgnspawn\n"
           "host    all       all   0.0.0.0/0  scram-sha-256\n"
           "host    all       all   ::/0       scram-sha-256\n";
}

std::string pg_ident_conf() {
    return "# Written by pgnspawn: the daemon (root on the host) administers the cluster\n"
           "# through the unix socket as the superuser postgres.\n"
           "# MAPNAME  SYSTEM-USERNAME  PG-USERNAME\n"
           "pgnspawn   root             postgres\n"
           "pgnspawn   postgres         postgres\n";
}

}  // namespace pgnspawn
