# pgnspawn built with meson. Call with pkgs.callPackage ./package.nix { }.
# NOT BUILT: there is no nixpkgs on the machine this was written on; see README, "Nix".
{
  lib,
  stdenv,
  fetchFromGitHub,
  meson,
  ninja,
  pkg-config,
  sdbus-cpp,
  systemdLibs,
  libpq,
  fmt,
  tomlplusplus,
  nlohmann_json,
  gtest,
  systemd,
  coreutils,
  glibc,
  # The group the polkit rule (share/polkit-1/rules.d/60-pgnspawn.rules) lets manage
  # instances; the NixOS module overrides it with its `group` option.
  polkitGroup ? "pgnspawn",
  doCheck ? true,
}:
let
  # The code is written against sdbus-c++ 1.x (meson asks for >= 1.2.0, < 2.0.0; 2.0
  # changed the API). Some nixpkgs revisions call 1.x `sdbus-cpp` (and 2.x `sdbus-cpp_2`),
  # later ones may make `sdbus-cpp` 2.x: then build 1.5.0 from the same expression.
  # The hash is the one nixpkgs' own sdbus-cpp 1.5.0 expression uses; not verified here.
  sdbus-cpp_1 =
    if lib.versions.major sdbus-cpp.version == "1" then
      sdbus-cpp
    else
      sdbus-cpp.overrideAttrs (old: rec {
        version = "1.5.0";
        src = fetchFromGitHub {
          owner = "Kistler-Group";
          repo = "sdbus-cpp";
          rev = "v${version}";
          hash = "sha256-oO8QNffwNI245AEPdutOGqxj4qyusZYK3bZWLh2Lcag=";
        };
        # 1.x names its code generator switch BUILD_CODE_GEN (2.x: SDBUSCPP_BUILD_CODEGEN);
        # sdbus-c++-xml2cpp is needed at build time.
        cmakeFlags = (old.cmakeFlags or [ ]) ++ [ (lib.cmakeBool "BUILD_CODE_GEN" true) ];
      });
in
stdenv.mkDerivation {
  pname = "pgnspawn";
  version = "0.1.0";

  # The repository root, without build directories and editor leftovers. (With the flake,
  # only files git tracks are there in the first place.)
  src = lib.cleanSourceWith {
    src = lib.cleanSource ../.;
    filter = path: type:
      let base = baseNameOf path; in
      !(type == "directory" && (lib.hasPrefix "build" base || base == "result"));
  };

  # sdbus-c++-xml2cpp runs at build time: the same package as a native input.
  nativeBuildInputs = [ meson ninja pkg-config sdbus-cpp_1 ];
  buildInputs = [ sdbus-cpp_1 systemdLibs libpq fmt tomlplusplus nlohmann_json ] ++ lib.optional doCheck gtest;

  # Everything under $out; runtime paths stay where NixOS puts them. PostgreSQL servers
  # for the "host" image are looked up under /etc/pgnspawn/postgresql/MAJOR/bin, which
  # the NixOS module (module.nix) fills from services.pgnspawn.postgresqlPackages.
  mesonFlags = [
    (lib.mesonOption "systemdsystemunitdir" "${placeholder "out"}/lib/systemd/system")
    (lib.mesonOption "systemduserunitdir" "${placeholder "out"}/lib/systemd/user")
    (lib.mesonOption "dbus_system_services_dir" "${placeholder "out"}/share/dbus-1/system-services")
    (lib.mesonOption "dbus_policy_dir" "${placeholder "out"}/share/dbus-1/system.d")
    (lib.mesonOption "dbus_interfaces_dir" "${placeholder "out"}/share/dbus-1/interfaces")
    (lib.mesonOption "polkit_actions_dir" "${placeholder "out"}/share/polkit-1/actions")
    (lib.mesonOption "polkit_rules_dir" "${placeholder "out"}/share/polkit-1/rules.d")
    (lib.mesonOption "pgnspawn_statedir" "/var/lib/pgnspawn")
    (lib.mesonOption "postgresql_libdir" "/etc/pgnspawn/postgresql")
    # The programs the daemon and its unit run: store paths, never looked up in PATH or
    # under /usr (NixOS has neither /usr/bin/systemd-nspawn nor a "kill" in systemd's
    # search path). A host-image server the module links into /etc/pgnspawn/postgresql
    # resolves into the store, and its container then gets the store bound instead of /usr.
    (lib.mesonOption "nspawn_path" "${systemd}/bin/systemd-nspawn")
    (lib.mesonOption "kill_path" "${coreutils}/bin/kill")
    (lib.mesonOption "initdb_path" "${lib.getBin glibc}/bin")   # locale -a, for initdb's collations
    (lib.mesonOption "nix_store_dir" builtins.storeDir)
    (lib.mesonOption "polkit_group" polkitGroup)
    (lib.mesonOption "sysconfdir" "/etc")
    (lib.mesonBool "tests" doCheck)
  ];

  inherit doCheck;

  meta = {
    description = "Development PostgreSQL instances in systemd-nspawn containers, one D-Bus call away";
    license = lib.licenses.mit;
    platforms = lib.platforms.linux;
    mainProgram = "pgnspawnctl";
  };
}
