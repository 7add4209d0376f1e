# A NixOS system to run as an image = "nixos" instance: PostgreSQL listening on TCP, one
# role and one database, the role's password read at boot from a file (no password or
# hash in the repository or the Nix store). NOT BUILT (no nixpkgs here); see README.
#
# The flake builds it as nixosConfigurations.pgnspawn-container; its
# config.system.build.toplevel is what an instance's `toplevel` names. The settings are
# options, so one file serves every instance:
#
#   pgnspawn.container = { port = 5440; user = "app"; database = "appdb"; };
#
# The password: a file at `passwordFile` inside the container. By default that is the
# system credential "pgnspawn.password" (systemd-nspawn --load-credential=pgnspawn.password:FILE
# or --set-credential), which systemd places under /run/credentials/@system.
{ config, lib, pkgs, ... }:
let
  cfg = config.pgnspawn.container;
  # Role and database names as pgnspawnd allows them: safe inside double quotes.
  sqlName = types.strMatching "[A-Za-z_][A-Za-z0-9_-]{0,62}";
  inherit (lib) mkOption types;
in
{
  options.pgnspawn.container = {
    port = mkOption { type = types.port; default = 5432; description = "TCP port PostgreSQL listens on."; };
    user = mkOption { type = sqlName; default = "app"; description = "The login role."; };
    database = mkOption { type = sqlName; default = "app"; description = "The database, owned by `user`."; };
    passwordFile = mkOption {
      type = types.strMatching "/.*";
      default = "/run/credentials/@system/pgnspawn.password";
      description = "File inside the container holding the role's password on one line.";
    };
    package = mkOption {
      type = types.package;
      default = pkgs.postgresql_15;
      defaultText = lib.literalExpression "pkgs.postgresql_15";
      description = "The PostgreSQL server.";
    };
  };

  config = {
    boot.isContainer = true;
    networking.hostName = lib.mkDefault "pgnspawn";
    # networking.useHostResolvConf is left to nixpkgs' container profile (boot.isContainer
    # sets it mkDefault true, as nixos-container runs its guests). A second mkDefault here
    # was a conflicting definition at the same priority, so the system did not evaluate;
    # mkForce false would start resolvconf in a guest whose PostgreSQL needs no resolver.
    networking.firewall.allowedTCPPorts = [ cfg.port ];

    services.postgresql = {
      enable = true;
      package = cfg.package;
      enableTCPIP = true;   # listen_addresses = '*': the container's own network
      # settings.port, not services.postgresql.port: nixpkgs moved the port into `settings`
      # (NixOS/nixpkgs#296616, before the 24.05 branch the flake pins); the old name only
      # warns as a renamed option.
      settings = {
        port = cfg.port;
        password_encryption = "scram-sha-256";
      };
      # Superuser only over the unix socket by peer; everyone over TCP with a password.
      authentication = lib.mkForce ''
        local all all              peer
        host  all all 0.0.0.0/0    scram-sha-256
        host  all all ::/0         scram-sha-256
      '';
      ensureDatabases = [ cfg.database ];
      ensureUsers = [ { name = cfg.user; ensureClauses.login = true; } ];
    };

    # Sets the role's password from the file on every boot (so a changed file wins) and
    # gives it the database. The password goes file -> psql variable -> server: never in
    # argv, the environment or the journal (statement logging is off for the session).
    systemd.services.pgnspawn-role-password = {
      description = "Set the password of PostgreSQL role ${cfg.user} from ${cfg.passwordFile}";
      wantedBy = [ "multi-user.target" ];
      # ensureUsers/ensureDatabases run in postgresql.service's postStart or, in newer
      # nixpkgs, in postgresql-setup.service: after both (ordering on a missing unit is a no-op).
      after = [ "postgresql.service" "postgresql-setup.service" ];
      requires = [ "postgresql.service" ];
      path = [ cfg.package pkgs.coreutils ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        User = "postgres";
        LoadCredential = "password:${cfg.passwordFile}";
      };
      script = ''
        pw="$CREDENTIALS_DIRECTORY/password"
        if [ "$(tr -d '\r\n' < "$pw" | wc -c)" -eq 0 ]; then
          echo "${cfg.passwordFile} is empty; not setting a password for ${cfg.user}" >&2
          exit 1
        fi
        if [ "$(tr -d '\r' < "$pw" | sed -e '$a\' | wc -l)" -ne 1 ]; then
          echo "${cfg.passwordFile} must hold the password on a single line" >&2
          exit 1
        fi
        psql -X -q -v ON_ERROR_STOP=1 --port=${toString cfg.port} --dbname=postgres <<'SQL'
        SET log_statement = 'none';
        SET log_min_error_statement = 'panic';
        SET password_encryption = 'scram-sha-256';
        \set password `tr -d '\r\n' < "$CREDENTIALS_DIRECTORY/password"`
        ALTER ROLE "${cfg.user}" WITH LOGIN PASSWORD :'password';
        ALTER DATABASE "${cfg.database}" OWNER TO "${cfg.user}";
        SQL
      '';
    };

    system.stateVersion = "24.05";
  };
}
