# image = "directory" on a private network: a debootstrapped Debian tree with
# PostgreSQL, booted with its own init inside the test host, reached at its veth address.
# Sourced by run.sh.
#
# The guest provides its PostgreSQL and provisions its own role and database at boot (a
# oneshot unit reading the password from a file), as README says a guest must; pgnspawn
# boots it, waits for boot-up and a libpq round trip, and reports its address.

guest_psql() { psql_at "$1" 5440 guest guestdb guest-pw-77 "$2"; }

directory_setup() {
    local g
    g=$(bash "$testhost" guest var/lib/machines/pgdir) || return 1
    echo pgdir >"$g/etc/hostname"
    install -d -m 0755 "$g/etc/systemd/system"
    printf 'guest-pw-77\n' >"$g/etc/guest.pass"
    cat >"$g/etc/guest-provision.sql" <<'SQL'
\set pw `cat /etc/guest.pass`
SELECT 'CREATE ROLE guest LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'guest') \gexec
ALTER ROLE guest PASSWORD :'pw';
SELECT 'CREATE DATABASE guestdb OWNER guest' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'guestdb') \gexec
SQL
    cat >"$g/etc/systemd/system/guest-provision.service" <<'UNIT'
[Unit]
Description=Provision the guest's role and database
Requires=postgresql@15-main.service
After=postgresql@15-main.service

[Service]
Type=oneshot
RemainAfterExit=yes
User=postgres
ExecStart=/usr/bin/psql -X -q -v ON_ERROR_STOP=1 -f /etc/guest-provision.sql

[Install]
WantedBy=multi-user.target
UNIT
    # The cluster, its TCP settings and the services, made inside the guest tree by a
    # throw-away (not booted) container so that its own tools and users are used.
    H systemd-nspawn --quiet --register=no -D /var/lib/machines/pgdir sh -c '
        set -e
        pg_createcluster 15 main >/dev/null
        printf "listen_addresses = '"'*'"'\nport = 5440\n" > /etc/postgresql/15/main/conf.d/pgnspawn.conf
        echo "host all all 0.0.0.0/0 scram-sha-256" >> /etc/postgresql/15/main/pg_hba.conf
        chown postgres: /etc/guest.pass; chmod 0600 /etc/guest.pass
        systemctl unmask postgresql.service >/dev/null 2>&1
        systemctl enable postgresql.service systemd-networkd.service guest-provision.service >/dev/null 2>&1
    ' || return 1
    # The test host serves DHCP on the containers' veths (80-container-ve.network).
    H systemctl enable --now systemd-networkd.service >/dev/null 2>&1 || return 1
    H sh -c 'cp /etc/pgnspawn/pgnspawn.toml /etc/pgnspawn/pgnspawn.toml.before-directory
             cat >> /etc/pgnspawn/pgnspawn.toml <<EOF

[instances.pgdir]
image = "directory"
directory = "/var/lib/machines/pgdir"
port = 5440
user = "guest"
database = "guestdb"
password = "guest-pw-77"
EOF'
    H systemctl restart pgnspawnd
}

directory_teardown() {
    call Stop s pgdir >/dev/null 2>&1
    H sh -c 'mv /etc/pgnspawn/pgnspawn.toml.before-directory /etc/pgnspawn/pgnspawn.toml && systemctl restart pgnspawnd'
}

t_directory_image_private_network() {
    local t0 t1 addr out host port
    directory_setup || fail "cannot prepare the guest tree"
    t0=$(now_ms); out=$(call Start s pgdir 2>&1) || { directory_teardown; fail "Start failed: $out"; }; t1=$(now_ms)
    out=$(call GetAddress s pgdir)
    host=$(printf '%s' "$out" | awk '{print $2}' | tr -d '"'); port=$(printf '%s' "$out" | awk '{print $3}')
    expect_eq "$port" 5440 "port" || { directory_teardown; return 1; }
    expect_match "$host" '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' || { directory_teardown; return 1; }
    expect_no_match "$host" '^(127\.|169\.254\.)' || { directory_teardown; return 1; }
    # The address is the container's, on its veth, as the guest itself sees it.
    local leader; leader=$(H machinectl show pgnspawn-pgdir -p Leader --value)
    expect_match "$(H nsenter -t "$leader" -n ip -4 -o addr show dev host0)" "inet $host/" ||
        { directory_teardown; fail "$host is not the guest's address on its veth (host0)"; }
    expect_eq "$(guest_psql "$host" 'select current_user, current_database()')" "guest|guestdb" ||
        { directory_teardown; return 1; }
    expect_eq "$(guest_psql "$host" 'create table kept(id int); insert into kept select generate_series(1, 300); select count(*) from kept')" 300 ||
        { directory_teardown; return 1; }
    expect_match "$(call HealthCheck s pgdir)" '^bst true' || { directory_teardown; return 1; }
    expect_match "$(H machinectl list --no-legend)" '^pgnspawn-pgdir +container +systemd-nspawn' || { directory_teardown; return 1; }
    local uri; uri=$(call GetConnectionUri s pgdir); uri=${uri#s \"}; uri=${uri%\"}
    expect_eq "$uri" "postgresql://guest:guest-pw-77@$host:5440/guestdb" || { directory_teardown; return 1; }
    echo "Start to ready with boot: $((t1 - t0)) ms at $host"
}

t_directory_image_stops_cleanly_and_keeps_data() {
    local log host
    call Stop s pgdir >/dev/null || { directory_teardown; fail "Stop failed"; }
    expect_eq "$(prop pgdir State)" 's "stopped"' || { directory_teardown; return 1; }
    expect_no_match "$(H machinectl list --no-legend)" "pgnspawn-pgdir" || { directory_teardown; return 1; }
    expect_match "$(dsend GetAddress string:pgdir)" 'org.pgnspawn1.Error.NotRunning' || { directory_teardown; return 1; }
    log=$(H tail -n 30 /var/lib/machines/pgdir/var/log/postgresql/postgresql-15-main.log)
    expect_match "$log" "database system is shut down" || { directory_teardown; return 1; }
    call Start s pgdir >/dev/null || { directory_teardown; fail "second Start failed"; }
    host=$(call GetAddress s pgdir | awk '{print $2}' | tr -d '"')
    expect_eq "$(guest_psql "$host" 'select count(*) from kept')" 300 || { directory_teardown; return 1; }
    log=$(H tail -n 30 /var/lib/machines/pgdir/var/log/postgresql/postgresql-15-main.log)
    expect_no_match "$log" "not properly shut down|automatic recovery in progress" || { directory_teardown; return 1; }
}

# A private network's address exists only while the container runs, so GetConnectionUri
# answers NotRunning until then, and the API's documentation says so (it used to say
# "answered whatever the state").
t_directory_connection_uri_needs_the_container() {
    local out doc
    call Stop s pgdir >/dev/null || { directory_teardown; fail "Stop failed"; }
    out=$(dsend GetConnectionUri string:pgdir)
    directory_teardown
    expect_match "$out" '^Error org.pgnspawn1.Error.NotRunning: instance pgdir is on a private network, whose address is known only while it runs' ||
        return 1
    expect_no_match "$out" 'guest-pw-77' || return 1
    # The comment above <method name="GetConnectionUri"> in the installed interface XML.
    doc=$(H awk '/<!--/ { doc = "" } { doc = doc " " $0 } /<method name="GetConnectionUri"/ { print doc; exit }' \
        /usr/share/dbus-1/interfaces/org.pgnspawn1.Manager.xml | tr -s ' ')
    expect_match "$doc" 'network = "private" has an address only while its container runs' &&
        expect_match "$doc" 'Errors: NoSuchInstance, NotRunning' || return 1
    # A host-network instance still answers while stopped.
    expect_match "$(prop helloworld State)" 'stopped' &&
        expect_eq "$(call GetConnectionUri s helloworld)" 's "postgresql://helloworld:helloworld@127.0.0.1:5433/helloworld"'
}

suite_tests+=(directory_image_private_network directory_image_stops_cleanly_and_keeps_data
    directory_connection_uri_needs_the_container)
