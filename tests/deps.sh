#!/usr/bin/env bash
# Installs everything pgnspawn needs to build and test on Debian bookworm (as root).
set -euo pipefail
packages=(
    meson ninja-build pkg-config g++ python3
    libsdbus-c++-dev libsdbus-c++-bin libsystemd-dev libpq-dev libfmt-dev libtomlplusplus-dev
    libgtest-dev libgmock-dev
    nlohmann-json3-dev   # pgnspawnctl --json
    debootstrap systemd-container iproute2 util-linux
    nix-bin     # tests/nix/check.sh: nix-instantiate --parse/--eval, no nixpkgs needed
    groff-base zsh fish  # the client suite checks the man pages and the zsh and fish completions here
    patchelf    # tests/lib: the NixOS-shaped test host relocates PostgreSQL and systemd into store paths
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
