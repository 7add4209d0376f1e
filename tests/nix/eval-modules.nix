# Evaluates nix/module.nix and nix/container.nix through nixpkgs' real module system
# (lib.evalModules of nixpkgs' lib/), with the NixOS options they use declared as stubs and
# the container profile's one relevant definition (useHostResolvConf) reproduced. Needs a
# copy of nixpkgs' lib, so CI (no network) does not run it; by hand, with a checkout of
# github:nix-community/nixpkgs.lib at LIBREPO:
#
#   nix-instantiate --store dummy:// --eval --strict --json --expr \
#     'import ./tests/nix/eval-modules.nix { lib = import LIBREPO/lib; repo = ./.; }'
#
# prints the polkit group the package is built with (default and group = "devs"), the
# module's /etc links, useHostResolvConf and the container's port.
{ lib, repo, containerFile ? repo + "/nix/container.nix" }:
let
  fakePkg = group: {
    type = "derivation"; name = "pgnspawn-0.1.0"; outPath = "/nix/store/fake-pgnspawn-${group}";
    polkitGroup = group;
    override = args: fakePkg args.polkitGroup;
  };
  fakePg = { type = "derivation"; name = "postgresql-15.8"; version = "15.8"; outPath = "/nix/store/fake-postgresql-15.8"; };
  stubs = { lib, ... }: let
    any = lib.mkOption { type = lib.types.anything; default = null; };
    attrs = lib.mkOption { type = lib.types.attrsOf lib.types.anything; default = { }; };
    list = lib.mkOption { type = lib.types.listOf lib.types.anything; default = [ ]; };
    free = lib.mkOption { type = lib.types.submodule { freeformType = lib.types.attrsOf lib.types.anything; }; default = { }; };
  in {
    options = {
      warnings = list; ids = any; system.stateVersion = any; boot.isContainer = any;
      environment = { systemPackages = list; etc = attrs; };
      systemd = { packages = list; services = attrs; };
      services.dbus.packages = list;
      services.postgresql = lib.mkOption { type = lib.types.submodule { freeformType = lib.types.attrsOf lib.types.anything;
        options.enable = lib.mkOption { type = lib.types.bool; default = false; };
        options.authentication = lib.mkOption { type = lib.types.lines; default = ""; }; }; default = { }; };
      security.polkit = { enable = any; extraConfig = lib.mkOption { type = lib.types.lines; default = ""; }; };
      users = { groups = attrs; users = attrs; };
      networking = { hostName = any; firewall = free; };
    };
    config.ids = { uids.postgres = 71; gids.postgres = 71; };
  };
  pkgs = { callPackage = _: _: fakePkg "pgnspawn"; postgresql = fakePg; libpq = fakePg; postgresql_15 = fakePg; coreutils = fakePg; };
  host = group: (lib.evalModules {
    modules = [ stubs (repo + "/nix/module.nix") {
      _module.args.pkgs = pkgs;
      services.pgnspawn = { enable = true; package = fakePkg "pgnspawn"; postgresqlPackages = [ fakePg ];
        instances.hw = { port = 5433; password_file = "/etc/pgnspawn/hw.pass"; version = 15; }; }
      // lib.optionalAttrs (group != null) { inherit group; };
    } ];
  }).config;
  # nixpkgs' container profile: boot.isContainer sets useHostResolvConf = mkDefault true.
  containerProfile = { lib, config, ... }: {
    options.networking.useHostResolvConf = lib.mkOption { type = lib.types.bool; default = false; };
    config.networking.useHostResolvConf = lib.mkIf (config.boot.isContainer or false) (lib.mkDefault true);
  };
  container = (lib.evalModules {
    modules = [ stubs containerProfile containerFile { _module.args.pkgs = pkgs; pgnspawn.container.port = 5440; } ];
  }).config;
in {
  defaultGroup = map (p: p.polkitGroup) (host null).environment.systemPackages;
  devsGroup = map (p: p.polkitGroup) (host "devs").environment.systemPackages;
  devsSystemd = map (p: p.polkitGroup) (host "devs").systemd.packages;
  devsRule = (host "devs").security.polkit.extraConfig;
  etcLinks = builtins.attrNames (host "devs").environment.etc;
  pg15 = (host null).environment.etc."pgnspawn/postgresql/15".source.outPath;
  useHostResolvConf = container.networking.useHostResolvConf;
  pgPort = container.services.postgresql.settings.port;
}
