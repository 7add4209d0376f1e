# A NixOS-shaped host (issue 11): the daemon built with nix/package.nix's options
# (tests/e2e/nixstore-build.sh: systemd-nspawn, kill and the daemon itself in
# /nix/store/HASH-NAME paths, servers under /etc/pgnspawn/postgresql) runs a host-image
# instance of a PostgreSQL 15 whose every file, libraries and ELF loader included, lives
# in the store (tests/lib/nix_store.sh), reached the way the NixOS module links it:
# /etc/pgnspawn/postgresql/15 -> /etc/static/... -> /nix/store/...-postgresql-15.x.
# /etc/nsswitch.conf becomes such a chain too, as on NixOS.
#
# Where it is not NixOS: the rest of the host is Debian; the store copies are Debian's
# binaries rewritten by patchelf, and Debian's server has /usr/share/zoneinfo compiled in
# (nixpkgs' carries its own time zones), rewritten to /nix/store/zoneinfo (nix_store.sh).
#
# For the suite's duration Debian's /usr/bin/systemd-nspawn and Debian's postgres and
# initdb are moved out of the way, so the daemon can only have used the store's. The last
# test puts everything back and restarts the Debian-built daemon. Sourced by run.sh.

nixstore_build=${PGNSPAWN_NIXSTORE_BUILD:-$build-nixstore}
nixstore_conf=/etc/pgnspawn/pgnspawn.toml
nixstore_password='N1x-st0re-pw'
nixstore_hidden=(/usr/bin/systemd-nspawn /usr/lib/postgresql/15/bin/postgres /usr/lib/postgresql/15/bin/initdb)

# The functions of tests/lib/nix_store.sh, run inside the host: nixstore_sh 'SCRIPT'.
nixstore_sh() { H bash -c "source /tmp/nix_store.sh; set -e; $1"; }
nixstore_toml() {
    cat <<EOF
[instances.nixstore]
port = 5441
version = 15
user = "nixuser"
database = "nixdb"
password = "$nixstore_password"
EOF
}
psql_nixstore() { psql_at 127.0.0.1 5441 nixuser nixdb "$nixstore_password" "$1"; }
as_nixdev() { H setpriv --reuid=nixdev --regid=nixdev --init-groups "$@"; }

t_nixstore_setup() {
    local out f daemon
    [ -x "$nixstore_build/daemon/pgnspawnd" ] && [ -f "$nixstore_build/units/pgnspawnd.service" ] ||
        fail "no daemon built with package.nix's options in $nixstore_build (bash tests/e2e/nixstore-build.sh $nixstore_build)"
    H systemctl stop pgnspawnd || fail "stopping the Debian-built daemon failed"
    H sh -c 'cat > /tmp/nix_store.sh' <"$here/../lib/nix_store.sh" || fail "copying nix_store.sh failed"
    H sh -c 'cat > /tmp/pgnspawnd.nixstore' <"$nixstore_build/daemon/pgnspawnd" || fail "copying the daemon failed"
    # The store: PostgreSQL 15, systemd-nspawn, kill, and the daemon itself (its prefix
    # is nix_store_path pgnspawn-0.1.0, as nixstore-build.sh configured it).
    out=$(nixstore_sh '
        pg=$(nix_store_postgresql 15)
        nix_store_nspawn >/dev/null
        nix_store_program procps-4.0 /usr/bin/kill >/dev/null
        daemon=$(nix_store_path pgnspawn-0.1.0)
        rm -rf "$daemon"; mkdir -p "$daemon/sbin"
        install -m 0755 /tmp/pgnspawnd.nixstore "$daemon/sbin/pgnspawnd"
        nix_store_patch "$daemon" "$daemon/sbin/pgnspawnd"; nix_store_check "$daemon"
        # The module links /etc/pgnspawn/postgresql/MAJOR; NixOS puts /etc/static between.
        mkdir -p /etc/static/pgnspawn/postgresql /etc/pgnspawn/postgresql
        ln -sfn "$pg/lib/postgresql/15" /etc/static/pgnspawn/postgresql/15
        ln -sfn /etc/static/pgnspawn/postgresql/15 /etc/pgnspawn/postgresql/15
        etc=$(nix_store_path etc-nsswitch.conf); rm -rf "$etc"; mkdir -p "$etc"
        cp /etc/nsswitch.conf "$etc/nsswitch.conf"; mv /etc/nsswitch.conf /etc/nsswitch.conf.nixstore-orig
        ln -sfn "$etc/nsswitch.conf" /etc/static/nsswitch.conf; ln -sfn /etc/static/nsswitch.conf /etc/nsswitch.conf
        echo "$pg"' 2>&1) || fail "building the store failed: $(tail -n 5 <<<"$out")"
    for f in "${nixstore_hidden[@]}"; do
        H mv "$f" "$f.nixstore-hidden" || fail "cannot move $f out of the way"
    done
    H cp -p "$nixstore_conf" "$nixstore_conf.nixstore-orig" || fail "backup of the configuration failed"
    nixstore_toml | H sh -c "cat > $nixstore_conf" || fail "writing the configuration failed"
    # No spare cluster of Debian's initdb: the first start runs the store's.
    H sh -c 'rm -rf /var/lib/pgnspawn/.spare-15 /var/lib/pgnspawn/.spare-15.new /var/lib/pgnspawn/nixstore'
    H sh -c 'getent group pgnspawn >/dev/null || groupadd --system pgnspawn
             id nixdev >/dev/null 2>&1 || useradd --create-home --groups pgnspawn nixdev' || fail "cannot create nixdev"
    # The package's unit, as systemd.packages would install it (it overrides Debian's).
    H sh -c 'cat > /etc/systemd/system/pgnspawnd.service' <"$nixstore_build/units/pgnspawnd.service"
    H systemctl daemon-reload && H systemctl start pgnspawnd || fail "the store daemon did not start: $(H journalctl -u pgnspawnd -n 5 --no-pager -o cat)"
    daemon=$(H readlink "/proc/$(daemon_pid)/exe")
    expect_match "$daemon" '^/nix/store/[0-9a-df-np-sv-z]{32}-pgnspawn-0\.1\.0/sbin/pgnspawnd$' || return 1
    echo "daemon $daemon; server ${out##*$'\n'}"
}

t_nixstore_start_psql_stop_start() {
    local out rows since shutdown
    out=$(as_nixdev pgnspawnctl start nixstore 2>&1) || fail "pgnspawnctl start nixstore as nixdev failed: $out"
    out=$(psql_nixstore "create table t (x int); insert into t select generate_series(1, 42); select count(*) from t")
    expect_eq "$out" 42 "rows written as nixuser" || return 1
    since=$(H date +%s)
    out=$(as_nixdev pgnspawnctl stop nixstore 2>&1) || fail "pgnspawnctl stop nixstore failed: $out"
    shutdown=$(H journalctl -u pgnspawn-nixstore.service --since "@$since" -o cat --no-pager)
    expect_match "$shutdown" 'database system is shut down' || return 1
    H test ! -e /var/lib/pgnspawn/nixstore/data/postmaster.pid || fail "postmaster.pid survived the stop"
    out=$(as_nixdev pgnspawnctl start nixstore 2>&1) || fail "the second start failed: $out"
    rows=$(psql_nixstore "select count(*), sum(x) from t")
    expect_eq "$rows" "42|903" "rows after a restart" || return 1
}

t_nixstore_container_has_no_host_usr() {
    local leader exe mounts unit_exec nspawn_pid nspawn_exe pg
    leader=$(leader_of nixstore)
    [ -n "$leader" ] || fail "nixstore is not running"
    pg=$(H readlink -f /etc/pgnspawn/postgresql/15)
    exe=$(H readlink "/proc/$leader/exe")
    expect_eq "$exe" "$pg/bin/postgres" "the container's PID 1" || return 1
    expect_match "$exe" '^/nix/store/[0-9a-df-np-sv-z]{32}-postgresql-15\.[0-9]+/' || return 1
    # Field 5 of mountinfo is the mount point, as the container sees it.
    mounts=$(H awk '{print $5}' "/proc/$leader/mountinfo")
    expect_match "$mounts" '^/nix/store$' || return 1
    expect_no_match "$mounts" '^/usr(/|$)' || return 1
    H test -x "/proc/$leader/root$pg/bin/postgres" || fail "the store is not visible in the container"
    ! H test -e "/proc/$leader/root/usr/lib/postgresql" || fail "/usr/lib/postgresql is visible in the container"
    [ -z "$(H ls -A "/proc/$leader/root/usr")" ] || fail "the container's /usr is not empty: $(H ls -A "/proc/$leader/root/usr")"
    # nsswitch.conf resolved through its chain into the store, bound at /etc/nsswitch.conf.
    H cmp "/proc/$leader/root/etc/nsswitch.conf" /etc/nsswitch.conf.nixstore-orig ||
        fail "the container's /etc/nsswitch.conf is not the host's"
    # systemd ran the store's nspawn, by its store path (Debian's is moved away anyway).
    unit_exec=$(H systemctl show pgnspawn-nixstore.service -p ExecStart --value)
    expect_match "$unit_exec" 'path=/nix/store/[0-9a-df-np-sv-z]{32}-systemd-252/bin/systemd-nspawn ' || return 1
    nspawn_pid=$(H systemctl show pgnspawn-nixstore.service -p MainPID --value)
    nspawn_exe=$(H readlink "/proc/$nspawn_pid/exe")
    expect_match "$nspawn_exe" '^/nix/store/[0-9a-df-np-sv-z]{32}-systemd-252/bin/systemd-nspawn$' || return 1
    echo "PID 1 $exe"
}

t_nixstore_reload_with_the_store_kill() {
    local reload pid since out i
    reload=$(H systemctl show pgnspawnd -p ExecReload --value)
    expect_match "$reload" 'path=/nix/store/[0-9a-df-np-sv-z]{32}-procps-4\.0/bin/kill ; argv\[\]=/nix/store/[^ ]+/bin/kill -HUP ' ||
        return 1
    pid=$(daemon_pid)
    { nixstore_toml; printf '\n[instances.nixreload]\nport = 5442\npassword = "p"\n'; } | H sh -c "cat > $nixstore_conf"
    since=$(H date +%s)
    H systemctl reload pgnspawnd || fail "systemctl reload pgnspawnd failed"
    for i in $(seq 1 100); do
        out=$(call ListInstances 2>&1)
        grep -q nixreload <<<"$out" && break
        sleep 0.1
    done
    expect_match "$out" nixreload || return 1
    expect_eq "$(daemon_pid)" "$pid" "the daemon's PID after a reload" || return 1
    out=$(H journalctl -u pgnspawnd --since "@$since" -o cat --no-pager)
    expect_match "$out" 'Reloaded the configuration from /etc/pgnspawn/pgnspawn.toml: added nixreload' || return 1
    [ -n "$(leader_of nixstore)" ] || fail "the running instance did not survive the reload"
}

# A server link that dangles at Start (a rebuild removed the package after the daemon read
# its configuration) fails the start by name, and nothing is left running.
t_nixstore_dangling_link_fails_by_name() {
    local real out
    call Stop s nixstore >/dev/null || fail "Stop nixstore failed"
    real=$(H readlink /etc/static/pgnspawn/postgresql/15)
    H ln -sfn /nix/store/00000000000000000000000000000000-postgresql-15.0/lib/postgresql/15 \
        /etc/static/pgnspawn/postgresql/15
    out=$(dsend Start string:nixstore)
    H ln -sfn "$real" /etc/static/pgnspawn/postgresql/15
    expect_match "$out" '^Error org.pgnspawn1.Error.StartFailed' || return 1
    expect_match "$out" 'the PostgreSQL server directory /etc/pgnspawn/postgresql/15/bin does not resolve' || return 1
    [ -z "$(leader_of nixstore)" ] || fail "a container runs after the failed start"
}

# Always runs: stops the instance and puts the Debian host back as it was.
t_nixstore_restore() {
    local f why=""
    call Stop s nixstore >/dev/null 2>&1
    H systemctl stop pgnspawnd
    H rm -f /etc/systemd/system/pgnspawnd.service
    for f in "${nixstore_hidden[@]}"; do
        H test -e "$f.nixstore-hidden" && { H mv "$f.nixstore-hidden" "$f" || why+=" cannot restore $f;"; }
    done
    H sh -c 'test -e /etc/nsswitch.conf.nixstore-orig && mv -f /etc/nsswitch.conf.nixstore-orig /etc/nsswitch.conf'
    H sh -c "test -e $nixstore_conf.nixstore-orig && mv -f $nixstore_conf.nixstore-orig $nixstore_conf"
    H sh -c 'rm -rf /etc/pgnspawn/postgresql /etc/static /var/lib/pgnspawn/.spare-15 /var/lib/pgnspawn/.spare-15.new'
    H systemctl daemon-reload
    H systemctl start pgnspawnd || why+=" the Debian-built daemon did not start;"
    [ "$(H readlink "/proc/$(daemon_pid)/exe")" = /usr/sbin/pgnspawnd ] || why+=" pgnspawnd is not /usr/sbin/pgnspawnd;"
    for f in "${nixstore_hidden[@]}"; do H test -x "$f" || why+=" $f is missing;"; done
    [ -z "$why" ] || fail "$why"
}

suite_tests+=(nixstore_setup nixstore_start_psql_stop_start nixstore_container_has_no_host_usr
    nixstore_reload_with_the_store_kill nixstore_dangling_link_fails_by_name nixstore_restore)
