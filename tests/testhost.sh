#!/usr/bin/env bash
# Booted systemd test host for pgnspawn's end-to-end tests.
#
#   tests/testhost.sh base               debootstrap the cached bookworm rootfs (once)
#   tests/testhost.sh boot BUILDDIR      copy the base, install BUILDDIR into it, boot it
#   tests/testhost.sh exec CMD...        run CMD inside the booted host (all namespaces)
#   tests/testhost.sh shutdown           power the host off and reap it
#   tests/testhost.sh reboot             reboot the host: the same root boots again, as it is
#   tests/testhost.sh guest DIR          copy the cached base (an OS tree with PostgreSQL) to
#                                        DIR inside the host; prints its path outside
#
# The host runs in its own network namespace (--private-network), so everything the
# tests send stays inside it. State lives in $PGNSPAWN_TESTHOST_DIR.
# boot: PGNSPAWN_TESTHOST_ETC is copied to the host's /etc/pgnspawn; the contents of
# PGNSPAWN_TESTHOST_HOST_ETC, if set, over the host's /etc (e.g. unit drop-ins).
# exec: ASAN_OPTIONS and UBSAN_OPTIONS, if set, are passed to CMD.
set -euo pipefail

CACHE=${PGNSPAWN_TESTHOST_CACHE:-/var/cache/pgnspawn-testhost}
RUN=${PGNSPAWN_TESTHOST_DIR:-/var/tmp/pgnspawn-testhost}
BASE_VERSION=6   # bump when the package list changes so caches are rebuilt
PACKAGES=systemd,systemd-sysv,libpam-systemd,dbus,systemd-container,polkitd,postgresql,postgresql-client,iproute2,procps,psmisc,libsdbus-c++1,libsystemd0,libpq5,libfmt9,libtomlplusplus3,ca-certificates,libasan8,libubsan1,python3-django,python3-psycopg2,patchelf,postgresql-15-postgis-3

log() { printf 'testhost: %s\n' "$*" >&2; }

# The mirror comes from this machine's own apt configuration, never from this file.
mirror() {
    local uri
    uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1)
    if [ -z "$uri" ]; then
        uri=$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
    fi
    [ -n "$uri" ] || { log "no Debian mirror found in /etc/apt"; exit 1; }
    printf '%s\n' "$uri"
}

cmd_base() {
    local base="$CACHE/base-$BASE_VERSION"
    if [ -f "$base/.complete" ]; then log "base cached at $base"; return 0; fi
    rm -rf "$base" "$base.tmp"
    mkdir -p "$CACHE"
    log "debootstrapping bookworm into $base (about 2 minutes)"
    debootstrap --variant=minbase --include="$PACKAGES" bookworm "$base.tmp" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 \
        || { tail -n 30 "$CACHE/debootstrap.log" >&2; exit 1; }
    # A fresh machine id on every boot; no cluster started by the package's own service.
    : >"$base.tmp/etc/machine-id"
    chroot "$base.tmp" systemctl mask postgresql.service systemd-networkd-wait-online.service getty@tty1.service console-getty.service >/dev/null 2>&1 || true
    chroot "$base.tmp" systemctl set-default multi-user.target >/dev/null 2>&1 || true
    # The distribution's default cluster is not ours; remove it so only pgnspawn's run.
    chroot "$base.tmp" pg_dropcluster --stop 15 main >/dev/null 2>&1 || true
    echo pgnspawn-testhost >"$base.tmp/etc/hostname"
    touch "$base.tmp/.complete"
    mv "$base.tmp" "$base"
}

leader_pid() { cat "$RUN/leader.pid" 2>/dev/null; }
host_pid1() {
    # PID 1 of the booted host is the only child of systemd-nspawn.
    local leader; leader=$(leader_pid) || return 1
    pgrep -P "$leader" | head -n1
}

cmd_boot() {
    local build=${1:?usage: boot BUILDDIR}
    build=$(cd "$build" && pwd)
    cmd_base
    cmd_shutdown >/dev/null 2>&1 || true
    rm -rf "$RUN"; mkdir -p "$RUN"
    log "copying base to $RUN/root"
    cp -a --reflink=auto "$CACHE/base-$BASE_VERSION" "$RUN/root"
    rm -f "$RUN/root/.complete"
    log "installing $build into the host"
    DESTDIR="$RUN/root" meson install -C "$build" --quiet --no-rebuild >/dev/null
    if [ -n "${PGNSPAWN_TESTHOST_ETC:-}" ]; then
        # The test's configuration directory becomes /etc/pgnspawn, readable by root only.
        install -d -m 0750 "$RUN/root/etc/pgnspawn"
        cp -r "$PGNSPAWN_TESTHOST_ETC/." "$RUN/root/etc/pgnspawn/"
        chmod -R go-rwx "$RUN/root/etc/pgnspawn"
    fi
    if [ -n "${PGNSPAWN_TESTHOST_HOST_ETC:-}" ]; then
        cp -r "$PGNSPAWN_TESTHOST_HOST_ETC/." "$RUN/root/etc/"
    fi
    launch
}

# Boots $RUN/root as it is and waits until systemd says the host is up.
launch() {
    log "booting"
    setsid systemd-nspawn --quiet --register=no --keep-unit --private-network \
        --machine=pgnspawn-testhost -D "$RUN/root" --boot \
        </dev/null >"$RUN/console.log" 2>&1 &
    echo $! >"$RUN/leader.pid"
    local i pid1=""
    for i in $(seq 1 300); do
        pid1=$(host_pid1 || true)
        if [ -n "$pid1" ]; then
            state=$(nsenter -t "$pid1" -a systemctl is-system-running 2>/dev/null || true)
            case "$state" in running|degraded) break ;; esac
        fi
        kill -0 "$(leader_pid)" 2>/dev/null || { log "test host died"; tail -n 30 "$RUN/console.log" >&2; exit 1; }
        sleep 0.2
    done
    [ -n "$pid1" ] || { log "test host did not boot"; exit 1; }
    echo "$pid1" >"$RUN/pid1"
    log "booted, PID 1 is $pid1 (state: ${state:-unknown})"
}

cmd_exec() {
    local pid1 v sanitizer_env=(); pid1=$(cat "$RUN/pid1")
    for v in ASAN_OPTIONS UBSAN_OPTIONS; do
        if [ -n "${!v:-}" ]; then sanitizer_env+=("$v=${!v}"); fi
    done
    exec nsenter -t "$pid1" -a -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        "${sanitizer_env[@]}" "$@"
}

cmd_shutdown() {
    local leader; leader=$(leader_pid) || return 0
    if kill -0 "$leader" 2>/dev/null; then
        local pid1; pid1=$(cat "$RUN/pid1" 2>/dev/null || true)
        [ -n "$pid1" ] && nsenter -t "$pid1" -a systemctl poweroff >/dev/null 2>&1 || true
        for _ in $(seq 1 150); do kill -0 "$leader" 2>/dev/null || break; sleep 0.2; done
        if kill -0 "$leader" 2>/dev/null; then
            log "host did not power off in 30 s; terminating nspawn (PID $leader)"
            kill -TERM "$leader" 2>/dev/null || true
            sleep 2; kill -KILL "$leader" 2>/dev/null || true
        fi
        wait "$leader" 2>/dev/null || true
    fi
    rm -f "$RUN/leader.pid" "$RUN/pid1"
}

# A clean shutdown of everything in the host (systemctl reboot), then its root boots
# again without being copied or reinstalled. nspawn --boot exits when its container
# reboots, so it is started again here.
cmd_reboot() {
    local leader pid1
    leader=$(leader_pid) && kill -0 "$leader" 2>/dev/null || { log "no booted host to reboot"; exit 1; }
    pid1=$(cat "$RUN/pid1")
    log "rebooting"
    nsenter -t "$pid1" -a systemctl reboot >/dev/null 2>&1 || true
    for _ in $(seq 1 300); do kill -0 "$leader" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$leader" 2>/dev/null; then log "host did not shut down within 60 s"; exit 1; fi
    rm -f "$RUN/leader.pid" "$RUN/pid1"
    launch
}

# A second OS tree for nested booted containers (image = "directory" tests).
cmd_guest() {
    local dir=${1:?usage: guest DIR}
    case "$dir" in /*|*..*) log "guest DIR is relative to the host's root, without .."; exit 2 ;; esac
    cmd_base
    rm -rf "${RUN:?}/root/$dir"
    mkdir -p "$(dirname "$RUN/root/$dir")"
    cp -a --reflink=auto "$CACHE/base-$BASE_VERSION" "$RUN/root/$dir"
    rm -f "$RUN/root/$dir/.complete"
    printf '%s\n' "$RUN/root/$dir"
}

case "${1:-}" in
    base) cmd_base ;;
    guest) shift; cmd_guest "$@" ;;
    boot) shift; cmd_boot "$@" ;;
    exec) shift; cmd_exec "$@" ;;
    shutdown) cmd_shutdown ;;
    reboot) cmd_reboot ;;
    *) echo "usage: $0 base|boot BUILDDIR|exec CMD...|shutdown|reboot|guest DIR" >&2; exit 2 ;;
esac
