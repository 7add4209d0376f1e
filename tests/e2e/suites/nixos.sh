# image = "nixos", run for the first time (issue 11): a NixOS-toplevel-shaped store path
# (tests/lib/nixos_toplevel.sh, built on tests/lib/nix_store.sh) started in pgnspawn's
# empty root with /nix/store read-only on a private network. Sourced by run.sh.
#
# The toplevel is made inside the test host from Debian's systemd, shell, coreutils and
# PostgreSQL 15 copied into /nix/store/HASH-NAME paths and relocated with patchelf (their
# loader, libraries and RUNPATHs in the store), so the container needs nothing outside
# /nix/store: its root starts as pgnspawn's empty directory, and what is in it after boot
# is what the toplevel's activation made (links into the store, /etc/passwd, /var).
# The guest's units do what nix/container.nix declares (PostgreSQL at boot, listening on
# TCP, ensureUsers/ensureDatabases, the role's password set at every boot from the system
# credential pgnspawn.password, which pgnspawnd hands over); pgnspawn boots it, waits
# for boot-up, takes the address from machined and makes a round trip as the user.
# How the simulation differs from a real NixOS toplevel: see nixos_toplevel.sh's header
# (Debian's programs relocated rather than nixpkgs' builds; Debian's systemd needs one
# link outside the store, /lib/systemd/systemd-shutdown, made by the activation script;
# only journald, networkd and PostgreSQL's units; /etc linked at the top level).
# It is built once per run, by the first test: 36 to 57 s in the test host on the shared
# 2-core machine (most of it copying and patching the ELF files and their libraries).

nixos_pw=nix-pw-91
nixos_psql() { psql_at "$1" 5441 nixuser nixdb "${3:-$nixos_pw}" "$2"; }
nixos_data=/var/lib/pgnspawn/nixpg/root/var/lib/postgresql/15

nixos_setup() {
    local top
    top=$(H bash -s <<EOF
$(cat "$here/../lib/nix_store.sh" "$here/../lib/nixos_toplevel.sh")
nixos_toplevel pgtest 5441 nixuser nixdb
EOF
    ) || { echo "cannot build the toplevel: $top"; return 1; }
    case "$top" in /nix/store/*-nixos-system-pgtest-*) ;; *) echo "not a toplevel path: $top"; return 1 ;; esac
    H systemctl enable --now systemd-networkd.service >/dev/null 2>&1 || return 1
    H sh -c "cp /etc/pgnspawn/pgnspawn.toml /etc/pgnspawn/pgnspawn.toml.before-nixos
             cat >> /etc/pgnspawn/pgnspawn.toml <<EOF

[instances.nixpg]
image = \"nixos\"
toplevel = \"$top\"
network = \"private\"
port = 5441
user = \"nixuser\"
database = \"nixdb\"
password = \"$nixos_pw\"
EOF" && H systemctl restart pgnspawnd
}

nixos_teardown() {
    call Stop s nixpg >/dev/null 2>&1
    # The instance leaves the configuration: its state goes too (later suites check that
    # /var/lib/pgnspawn holds only configured instances).
    H rm -rf /var/lib/pgnspawn/nixpg
    H sh -c 'mv /etc/pgnspawn/pgnspawn.toml.before-nixos /etc/pgnspawn/pgnspawn.toml && systemctl restart pgnspawnd'
}

# nixos_address: the instance's address as GetAddress gives it.
nixos_address() { call GetAddress s nixpg | awk '{print $2}' | tr -d '"'; }

t_nixos_image_starts_in_an_empty_root() {
    local t0 t1 out host leader
    nixos_setup || { nixos_teardown; fail "cannot prepare the toplevel"; }
    t0=$(now_ms); out=$(call Start s nixpg 2>&1) || { nixos_teardown; fail "Start failed: $out"; }; t1=$(now_ms)
    host=$(nixos_address)
    expect_match "$host" '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' && expect_no_match "$host" '^(127\.|169\.254\.)' ||
        { nixos_teardown; return 1; }
    leader=$(leader_of nixpg)
    expect_match "$(H nsenter -t "$leader" -n ip -4 -o addr show dev host0)" "inet $host/" ||
        { nixos_teardown; fail "$host is not the guest's address on its veth"; }
    # pgnspawnctl env: the same address, and psql connects with nothing else given.
    out=$(H sh -c 'eval "$(pgnspawnctl env nixpg)" && echo "$PGHOST" &&
        psql -XAtqc "select current_user, current_database(), inet_server_addr()"' 2>&1)
    expect_eq "$out" "$host"$'\n'"nixuser|nixdb|$host" "pgnspawnctl env, then psql" || { nixos_teardown; return 1; }
    expect_eq "$(nixos_psql "$host" 'create table kept(id int); insert into kept select generate_series(1, 250); select count(*) from kept')" 250 ||
        { nixos_teardown; return 1; }
    # The guest is the toplevel's: its PID 1 is the store's systemd, its PostgreSQL the
    # store's; the container's /usr is pgnspawn's empty skeleton (nspawn wants one, as
    # nixos-container makes it) plus the activation's links into the store (/bin is
    # nspawn's link to usr/bin), and nothing is mounted there: nothing of the host's but
    # /nix/store.
    expect_match "$(H readlink "/proc/$leader/exe")" '^/nix/store/[0-9a-z]{32}-systemd-252\.39/lib/systemd/systemd$' ||
        { nixos_teardown; return 1; }
    expect_match "$(H sh -c 'for p in $(pgrep -x postgres); do
            [ "$(readlink /proc/$p/ns/pid)" = "$(readlink /proc/$0/ns/pid)" ] && readlink /proc/$p/exe; done' "$leader")" \
        '^/nix/store/[0-9a-z]{32}-postgresql-15[^/]*/lib/postgresql/15/bin/postgres$' || { nixos_teardown; return 1; }
    expect_eq "$(H find "/proc/$leader/root/usr" -mindepth 1 -not -type d -not -lname '/nix/store/*')" "" \
        "under the guest's /usr, anything but directories and links into the store" &&
        expect_eq "$(H findmnt -N "$leader" -no TARGET -R /usr)" "" "mounts on the guest's /usr" ||
        { nixos_teardown; return 1; }
    expect_match "$(H readlink "/proc/$leader/root/run/current-system")" '-nixos-system-pgtest-' ||
        { nixos_teardown; return 1; }
    expect_match "$(H findmnt -N "$leader" -no OPTIONS /nix/store)" '(^|,)ro(,|$)' || { nixos_teardown; return 1; }
    # The password went as a credential: not in nspawn's command line, nor the unit.
    expect_no_match "$(H cat "/proc/$(H systemctl show -p MainPID --value pgnspawn-nixpg.service)/cmdline" | tr '\0' ' ')" "$nixos_pw" &&
        expect_no_match "$(H systemctl show pgnspawn-nixpg.service)" "$nixos_pw" || { nixos_teardown; return 1; }
    echo "Start to ready, NixOS-shaped guest: $((t1 - t0)) ms at $host"
}

t_nixos_image_stops_cleanly_and_keeps_data() {
    local out host state invocation
    invocation=$(H systemctl show -p InvocationID --value pgnspawn-nixpg.service)
    out=$(call Stop s nixpg 2>&1) || { nixos_teardown; fail "Stop failed: $out"; }
    expect_eq "$(prop nixpg State)" 's "stopped"' || { nixos_teardown; return 1; }
    expect_no_match "$(H machinectl list --no-legend)" "pgnspawn-nixpg" || { nixos_teardown; return 1; }
    # PostgreSQL shut down cleanly (its control file says so), and the guest's systemd
    # went the whole way down (SIGRTMIN+3 is systemd's halt, which ends a container; its
    # console is the unit's journal on the host).
    state=$(H /usr/lib/postgresql/15/bin/pg_controldata "$nixos_data" | sed -n 's/^Database cluster state: *//p')
    expect_eq "$state" "shut down" "pg_controldata of the guest's cluster" || { nixos_teardown; return 1; }
    out=$(H journalctl -q -o cat "_SYSTEMD_INVOCATION_ID=$invocation")
    expect_match "$out" 'Stopped postgresql.service - PostgreSQL Server' && expect_match "$out" '^Halting system\.' &&
        expect_no_match "$out" 'Failed to start (postgresql|systemd-halt)' || { nixos_teardown; return 1; }
    out=$(call Start s nixpg 2>&1) || { nixos_teardown; fail "second Start failed: $out"; }
    host=$(nixos_address)
    expect_eq "$(nixos_psql "$host" 'select count(*) from kept')" 250 || { nixos_teardown; return 1; }
}

# The password in pgnspawn's configuration reaches the guest at every start: changed
# there, the guest's role has the new one after the next Start (nix/container.nix's
# "a changed file wins"), and the old one is refused.
t_nixos_image_password_follows_the_configuration() {
    local out host
    call Stop s nixpg >/dev/null || { nixos_teardown; fail "Stop failed"; }
    H sed -i "s/^password = \"$nixos_pw\"\$/password = \"nix-pw-92\"/" /etc/pgnspawn/pgnspawn.toml
    H systemctl restart pgnspawnd
    out=$(call Start s nixpg 2>&1) || { nixos_teardown; fail "Start with the new password failed: $out"; }
    host=$(nixos_address)
    out=$(nixos_psql "$host" 'select count(*) from kept' nix-pw-92)
    local old; old=$(nixos_psql "$host" 'select 1')
    nixos_teardown
    expect_eq "$out" 250 "with the new password" || return 1
    expect_match "$old" 'password authentication failed for user "nixuser"' || return 1
}

suite_tests+=(nixos_image_starts_in_an_empty_root nixos_image_stops_cleanly_and_keeps_data
    nixos_image_password_follows_the_configuration)
