# NixOS module: services.pgnspawn. NOT EVALUATED against nixpkgs (none on the machine it
# was written on); its TOML comes from ./lib/toml.nix, which CI does evaluate.
#
#   services.pgnspawn = {
#     enable = true;
#     instances.helloworld = { port = 5433; password_file = "/etc/pgnspawn/helloworld.pass"; };
#   };
#   users.users.alice.extraGroups = [ "pgnspawn" ];   # may start, stop and read credentials
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption mkEnableOption types;
  cfg = config.services.pgnspawn;
  toToml = import ./lib/toml.nix;
  createdToml = import ./lib/created-toml.nix;
  # The package's polkit rule (60-pgnspawn.rules) names the group it was built with
  # (meson -Dpolkit_group): built with this module's `group`, so that no other group
  # ("pgnspawn" when `group` says otherwise) is granted anything.
  package =
    if cfg.group == "pgnspawn" then cfg.package
    else (cfg.package.override or (_: throw
      "services.pgnspawn.group: the package must take polkitGroup (pkgs.callPackage ./package.nix)"))
      { polkitGroup = cfg.group; };

  absolutePath = types.strMatching "/.*";
  nullable = type: description: mkOption { type = types.nullOr type; default = null; inherit description; };

  # One [instances.NAME] table; option names are the file's keys, null means "not set"
  # (the daemon's default). Paths are strings so that secrets are not copied to the store.
  instanceOptions = {
    options = {
      image = nullable (types.enum [ "host" "directory" "nixos" ])
        "host: the host's PostgreSQL; directory: an OS tree in `directory`; nixos: a NixOS system (`toplevel`). Default host.";
      port = mkOption { type = types.port; description = "TCP port PostgreSQL listens on; unique per listen_address."; };
      listen_address = nullable types.str "IPv4 or IPv6 address PostgreSQL listens on (default 127.0.0.1).";
      database = nullable types.str "Database created for `user` (default: the instance name).";
      user = nullable types.str "Login role created with the password (default: the instance name).";
      password = nullable types.str ''
        The password in clear text. It ends up in the world-readable Nix store: prefer
        `password_file`.'';
      password_file = nullable absolutePath ''
        Absolute path of a file holding the password on one line, read by pgnspawnd.
        Keep it outside the Nix store, /home, /root and /run/user (pgnspawnd runs with
        ProtectHome=yes).'';
      version = nullable (types.either types.ints.positive types.str)
        "PostgreSQL major version for the host image, e.g. 15 (default: newest in postgresqlPackages).";
      autostart = nullable types.bool "Start the instance when pgnspawnd starts (default false).";
      createdb = nullable types.bool "The role may create databases, CREATEDB (default true); applies at the next start.";
      superuser = nullable types.bool "The role is a superuser, SUPERUSER (default false); applies at the next start.";
      durability = nullable (types.enum [ "durable" "fast" ]) ''
        Host image only. "fast" turns fsync, synchronous_commit and full_page_writes off: a
        crash can lose or corrupt the data (default "durable").'';
      ephemeral = nullable types.bool ''
        Host image only. The data directory on a tmpfs (/run/pgnspawn/NAME): removed at Stop,
        a new cluster at every start (default false).'';
      settings = nullable (types.attrsOf (types.oneOf [ types.bool types.float types.int types.str ])) ''
        Host image only. PostgreSQL's configuration, as services.postgresql.settings, e.g.
        { log_statement = "all"; max_connections = 200; }. Settings pgnspawn sets itself
        (port, listen_addresses, unix_socket_*, data_directory, config/hba/ident_file,
        logging_collector, and fsync, synchronous_commit, full_page_writes: see durability)
        are refused. They are passed on the server's command line: no secrets.'';
      initial_script = nullable (types.coercedTo (types.either types.package types.path) (p: "${p}") absolutePath) ''
        Host image only. SQL run once per cluster as postgres in the instance's database,
        after the first provisioning, as services.postgresql.initialScript; e.g.
        pkgs.writeText "init.sql" "...". One transaction; psql's backslash commands are
        not understood.'';
      initial_sql = nullable types.lines ''
        Host image only. The same as initial_script, the SQL itself instead of a file (what
        an instance created over D-Bus may have; at most one of the two).'';
      databases = nullable (types.listOf types.str)
        "Host image only. More databases owned by `user`, created if missing at every start (ensureDatabases).";
      extensions = nullable (types.listOf types.str) ''
        Host image only. Extensions created (CREATE EXTENSION IF NOT EXISTS ... CASCADE) in
        `database` and each of `databases` at every start. They must be installed with the
        server: add them to postgresqlPackages, e.g.
        (pkgs.postgresql_15.withPackages (p: [ p.pgvector p.postgis ])).'';
      directory = nullable absolutePath "For image = \"directory\": the container's root, e.g. /var/lib/machines/NAME.";
      toplevel = nullable (types.coercedTo types.package toString absolutePath) ''
        For image = "nixos": a NixOS system's `config.system.build.toplevel` (a store path or
        the derivation), e.g. from ./container.nix.'';
      network = nullable (types.enum [ "private" "host" ])
        "The container's network: its own (private; the default for directory and nixos) or the host's.";
      host_port = nullable types.port "With network = \"private\": a host port forwarded to the container's `port`.";
    };
  };

  configFile = pkgs.writeText "pgnspawn.toml" (toToml cfg.instances + createdToml cfg.created);
in
{
  options.services.pgnspawn = {
    enable = mkEnableOption "pgnspawnd, development PostgreSQL instances in systemd-nspawn containers";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ./package.nix { libpq = pkgs.libpq or pkgs.postgresql; };
      defaultText = lib.literalExpression "pkgs.callPackage ./package.nix { }";
      description = "The pgnspawn package.";
    };

    created = {
      port_min = nullable types.port "Lowest port picked for instances developers create (pgnspawnctl create/up); default 54300.";
      port_max = nullable types.port "Highest port picked for created instances; default 54399.";
      quota = nullable types.ints.unsigned "Created instances per user; default 10.";
    };

    instances = mkOption {
      type = types.attrsOf (types.submodule instanceOptions);
      default = { };
      description = "Instances, written to /etc/pgnspawn/pgnspawn.toml as [instances.NAME] tables.";
    };

    group = mkOption {
      type = types.strMatching "[a-z_][a-z0-9_-]*";
      default = "pgnspawn";
      description = ''
        Members may start and stop instances, read their connection URIs and create instances
        of their own without authenticating (polkit actions org.pgnspawn1.manage,
        org.pgnspawn1.read-credentials and org.pgnspawn1.create).'';
    };

    postgresqlPackages = mkOption {
      type = types.listOf types.package;
      default = [ pkgs.postgresql ];
      defaultText = lib.literalExpression "[ pkgs.postgresql ]";
      description = ''
        PostgreSQL servers for the host image, linked as /etc/pgnspawn/postgresql/MAJOR
        (where the package looks for MAJOR/bin/postgres).'';
    };

    configFile = mkOption {
      type = types.path;
      readOnly = true;
      default = configFile;
      description = "The generated pgnspawn.toml.";
    };
  };

  config = lib.mkIf cfg.enable {
    warnings = lib.concatLists (lib.mapAttrsToList (name: i:
      lib.optional (i.password != null)
        "services.pgnspawn.instances.${name}.password is copied to the world-readable Nix store; use password_file.")
      cfg.instances);

    environment.systemPackages = [ package ];   # pgnspawnctl; polkit actions and rules under share/
    environment.etc =
      { "pgnspawn/pgnspawn.toml".source = configFile; }
      // lib.listToAttrs (map (p: {
        name = "pgnspawn/postgresql/${lib.versions.major p.version}";
        value.source = p;
      }) cfg.postgresqlPackages);

    systemd.packages = [ package ];             # pgnspawnd.service
    systemd.services.pgnspawnd = {
      # systemd.packages ignores [Install]; start at boot when an instance asks for it.
      wantedBy = lib.mkIf (lib.any (i: i.autostart == true) (lib.attrValues cfg.instances)) [ "multi-user.target" ];
      # The unit's ExecReload sends SIGHUP: the daemon re-reads the file, running
      # instances keep running.
      reloadTriggers = [ configFile ];
    };
    services.dbus.packages = [ package ];       # bus policy and activation file

    security.polkit.enable = true;
    # The package's share/polkit-1/rules.d/60-pgnspawn.rules is built for `group` (see
    # `package` above: NixOS's polkit reads /run/current-system/sw/share/polkit-1/rules.d).
    # The same rule in /etc/polkit-1/rules.d as well, for a polkit that reads only /etc.
    security.polkit.extraConfig = ''
      polkit.addRule(function(action, subject) {
        if ((action.id == "org.pgnspawn1.manage" ||
             action.id == "org.pgnspawn1.read-credentials" ||
             action.id == "org.pgnspawn1.create") &&
            subject.isInGroup(${builtins.toJSON cfg.group})) {
          return polkit.Result.YES;
        }
      });
    '';
    users.groups.${cfg.group} = { };

    # The host image runs initdb and postgres as "postgres".
    users.users.postgres = lib.mkIf (!config.services.postgresql.enable) {
      isSystemUser = true;
      uid = config.ids.uids.postgres;
      group = "postgres";
      description = "PostgreSQL server user";
    };
    users.groups.postgres = lib.mkIf (!config.services.postgresql.enable) { gid = config.ids.gids.postgres; };
  };
}
