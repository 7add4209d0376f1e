#!/usr/bin/env bash
# One command from a fresh Debian bookworm machine to a running pgnspawn instance:
# installs the build dependencies, builds, boots a throw-away systemd test host (so this
# works where PID 1 is not systemd, and touches nothing outside the build and cache
# directories), installs pgnspawn into it, starts "helloworld" over D-Bus, prints its
# address and runs a query as the configured user.
#
#   sudo bash demo.sh            # powers the test host off at the end
#   sudo bash demo.sh --keep     # leaves it running; reach it with tests/testhost.sh exec
set -euo pipefail
cd "$(dirname "$0")"
keep=${1:-}

bash tests/deps.sh
[ -f build/build.ninja ] || meson setup build --prefix=/usr --sysconfdir=/etc --localstatedir=/var >/dev/null
ninja -C build >/dev/null
[ "$keep" = --keep ] || trap 'bash tests/testhost.sh shutdown' EXIT
PGNSPAWN_TESTHOST_ETC=tests/e2e/etc bash tests/testhost.sh boot build

H() { bash tests/testhost.sh exec "$@"; }
say() { printf '\n$ %s\n' "$*"; }

say cat /etc/pgnspawn/pgnspawn.toml;  H sed -n '/helloworld\]/,/^$/p' /etc/pgnspawn/pgnspawn.toml
say busctl call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager Start s helloworld
t0=$(date +%s%N); H busctl --timeout=600 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager Start s helloworld; t1=$(date +%s%N)
echo "(returned after $(( (t1 - t0) / 1000000 )) ms, with D-Bus activation of the daemon and initdb)"
say machinectl list;                  H machinectl list
say busctl call ... GetAddress s helloworld; H busctl call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager GetAddress s helloworld
say busctl call ... HealthCheck s helloworld; H busctl call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager HealthCheck s helloworld
say pgnspawnctl uri helloworld;       uri=$(H pgnspawnctl uri helloworld); echo "$uri"
say psql "\$(pgnspawnctl uri helloworld)" -c "select current_user, version()"
H psql "$uri" -c "select current_user, version()"
say pgnspawnctl stop helloworld;      H pgnspawnctl stop helloworld
H journalctl -u pgnspawn-helloworld.service -o cat --no-pager | tail -n 3
