# An example value of services.pgnspawn.instances. tests/nix/check.sh renders it with
# ../lib/toml.nix and compares the result with example.toml, the golden file; the e2e
# suite tests/e2e/suites/nix.sh runs `pgnspawnd --check-config` on that golden file in
# the test host (where the two password files below are created first).
{
  # The host's own PostgreSQL; an inline password, to exercise TOML string escaping.
  helloworld = {
    image = "host";
    port = 5433;
    database = "helloworld";
    user = "helloworld";
    password = "hello \"world\" \\ tab\there";
    version = 15;
    autostart = false;
    createdb = true;
    superuser = false;
  };

  # A NixOS system built from ../container.nix (its system.build.toplevel), booted in
  # a container with a private network; the role's password comes from a file.
  nixdev = {
    image = "nixos";
    toplevel = "/nix/store/1b9p07z77phvv2hf6gm9f28syp39f1ag-nixos-system-pgnspawn-container-24.05";
    network = "private";
    port = 5440;
    host_port = 15440;
    database = "appdb";
    user = "app";
    password_file = "/etc/pgnspawn/nixdev.pass";
  };

  # Same port on another address: allowed, ports are unique per listen address.
  scratch = {
    port = 5433;
    listen_address = "127.0.0.2";
    password_file = "/etc/pgnspawn/scratch.pass";
    autostart = true;
    durability = "fast";
    ephemeral = true;
  };

  # The declarative keys (issue 12): PostgreSQL settings (an extension's dotted one
  # stays one key), an initial script, more databases and extensions.
  declared = {
    port = 5444;
    password_file = "/etc/pgnspawn/scratch.pass";
    settings = { log_statement = "all"; max_connections = 200; random_page_cost = 1.5; jit = false; "auto_explain.log_min_duration" = "250ms"; };
    initial_script = "/etc/pgnspawn/declared-init.sql";
    databases = [ "app_test" "app-dev" ];
    extensions = [ "pg_trgm" "postgis" ];
  };
}
