# pgnspawn as a flake, from the repository root:
#
#   nix build ./nix#pgnspawn                  the package (meson; sdbus-c++ 1.x)
#   nix build ./nix#nixosConfigurations.pgnspawn-container.config.system.build.toplevel
#                                             a NixOS system for an image = "nixos" instance
#   nix develop ./nix                         a shell with the build and test tools
#   imports = [ pgnspawn.nixosModules.default ];   services.pgnspawn in a NixOS configuration
#
# NOT BUILT OR EVALUATED against nixpkgs: the machine this was written on has no access to
# it (see README, "Nix"). The flake sits in nix/, so `./nix` means the git repository with
# dir=nix: the whole repository (files git tracks) is the source, and ../ reaches its root.
{
  description = "pgnspawn: development PostgreSQL instances in systemd-nspawn containers";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      # nixpkgs before 24.11 has no `libpq` of its own: PostgreSQL provides it.
      callPgnspawn = pkgs: pkgs.callPackage ./package.nix { libpq = pkgs.libpq or pkgs.postgresql; };
    in
    {
      packages = forAllSystems (pkgs: rec {
        pgnspawn = callPgnspawn pkgs;
        default = pgnspawn;
      });

      nixosModules.default = { pkgs, lib, ... }: {
        imports = [ ./module.nix ];
        services.pgnspawn.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.pgnspawn;
      };
      # The container system on its own, for `toplevel`; set pgnspawn.container.* to taste.
      # A module, not a bare path: older Nix rejects a path as a module value.
      nixosModules.container = { imports = [ ./container.nix ]; };

      nixosConfigurations.pgnspawn-container = nixpkgs.lib.nixosSystem {
        system = "x86_64-linux";
        modules = [
          ./container.nix
          { pgnspawn.container = { port = 5440; user = "app"; database = "appdb"; }; }
        ];
      };

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ (callPgnspawn pkgs) ];
          packages = [ pkgs.gdb pkgs.clang-tools pkgs.postgresql pkgs.nix ];
        };
      });

      # The same check CI runs (tests/nix/check.sh): the module's TOML for the example
      # instances equals the golden file.
      checks = forAllSystems (pkgs: {
        golden-toml = pkgs.runCommand "pgnspawn-golden-toml" { } ''
          diff -u ${./tests/example.toml} ${pkgs.writeText "example.toml" (import ./lib/toml.nix (import ./tests/example-instances.nix))}
          touch $out
        '';
      });
    };
}
