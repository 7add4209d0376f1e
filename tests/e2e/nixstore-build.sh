#!/usr/bin/env bash
# The daemon built the way nix/package.nix builds it (issue 11), for the "nixstore" e2e
# suite: every program it runs and its own prefix are Nix-store paths (those that
# tests/lib/nix_store.sh makes inside the test host), PostgreSQL servers under
# /etc/pgnspawn/postgresql. Only the daemon and its unit are built.
#
#   bash tests/e2e/nixstore-build.sh BUILDDIR      (run.sh's suite looks for BUILDDIR-nixstore)
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:?usage: nixstore-build.sh NIXSTORE_BUILDDIR}
# shellcheck source=../lib/nix_store.sh
source tests/lib/nix_store.sh
options=(
    --prefix="$(nix_store_path pgnspawn-0.1.0)" --sysconfdir=/etc --localstatedir=/var -Dwerror=true -Dtests=false
    -Dnspawn_path="$(nix_store_path systemd-252)/bin/systemd-nspawn"
    -Dkill_path="$(nix_store_path procps-4.0)/bin/kill"
    -Dinitdb_path="$(nix_store_path glibc-bin-2.36)/bin"
    -Dpostgresql_libdir=/etc/pgnspawn/postgresql
    -Dnix_store_dir="$nix_store_root"
)
# --reconfigure: options added to meson_options.txt since the last setup are known too.
if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "${options[@]}" >/dev/null
else
    meson setup "$dir" "${options[@]}" >/dev/null
fi
# The unit is written by meson setup (configure_file); the daemon is the only target.
ninja -C "$dir" daemon/pgnspawnd
grep -q "^ExecReload=$(nix_store_path procps-4.0)/bin/kill " "$dir/units/pgnspawnd.service"
