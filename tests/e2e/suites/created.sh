# Instances created over D-Bus by developers (issue 12): CreateInstance/DestroyInstance,
# pgnspawnctl create/destroy/up/psql, ports from [created]'s range, the quota, who may
# destroy what, survival across daemon restarts and reloads, and the refusal of paths.
# Sourced by run.sh; restores /etc/pgnspawn/pgnspawn.toml and destroys what it created.
#
# "dev" and "dev2" are in the group pgnspawn; "stranger" is not.

created_conf=/etc/pgnspawn/pgnspawn.toml
created_dir=/var/lib/pgnspawn/instances.d

created_as() { local u=$1; shift; H setpriv --reuid="$u" --regid="$u" --init-groups "$@"; }
# created_in USER DIR CMD: CMD (sh) as USER in DIR, with USER's HOME.
created_in() { H setpriv --reuid="$1" --regid="$1" --init-groups env HOME="/home/$1" sh -c "cd '$2' && $3" 2>&1; }
created_users() {
    H sh -c 'getent group pgnspawn >/dev/null || groupadd --system pgnspawn
             for u in dev dev2; do id $u >/dev/null 2>&1 || useradd --create-home --groups pgnspawn $u; done
             id stranger >/dev/null 2>&1 || useradd --create-home stranger'
}
# Object paths escape '-' as sd_bus_path_encode does ("proj-a" -> "proj_2da").
created_prop() { prop "${1//-/_2d}" "$2"; }
created_port_of() { created_prop "$1" Port | awk '{print $2}'; }
created_wait_list() {
    local i out
    for i in $(seq 1 100); do
        out=$(call ListInstances) && grep -Eq -- "$1" <<<"$out" && return 0
        sleep 0.1
    done
    fail "ListInstances never matched /$1/ within 10 s: [$out]"
}

t_created_setup() {
    created_users
    H test -e "$created_conf.created-orig" || H cp "$created_conf" "$created_conf.created-orig"
    H sh -c "printf '\n[created]\nport_min = 54300\nport_max = 54309\nquota = 2\n' >> $created_conf"
    # Reloaded if running; otherwise the first call starts it on this file.
    H systemctl reload-or-restart pgnspawnd || fail "reload failed"
    sleep 0.5
    H test ! -e "$created_dir" || expect_eq "$(H ls -A $created_dir)" "" "no created instances before the suite"
}

t_created_create_picks_a_free_port_and_starts() {
    # Something already listens on the first port of the range: it must be skipped.
    H sh -c 'python3 -c "import socket,time; s=socket.socket(); s.bind((\"127.0.0.1\",54300)); s.listen(); time.sleep(120)" \
        >/dev/null 2>&1 & echo $! > /run/created-listener.pid'
    sleep 0.5
    local out port
    out=$(created_as dev pgnspawnctl create proj-a 2>&1) || fail "dev could not create proj-a: $out"
    expect_match "$out" '^Created proj-a on port 5430[1-9]\.$' || return 1
    port=$(created_port_of proj-a)
    expect_eq "$out" "Created proj-a on port $port." || return 1
    # Kept root-only, the same schema, the creator's uid recorded.
    expect_eq "$(H stat -c '%U %a' "$created_dir/proj-a.toml")" "root 600" || return 1
    expect_match "$(H cat "$created_dir/proj-a.toml")" "^created_by = $(H id -u dev)$" || return 1
    expect_match "$(H cat "$created_dir/proj-a.toml")" "^port = $port$" || return 1
    out=$(created_as dev pgnspawnctl start proj-a 2>&1) || fail "dev could not start proj-a: $out"
    out=$(created_as dev pgnspawnctl psql proj-a -XAtqc 'select current_user, inet_server_port()' 2>&1)
    expect_eq "$out" "proj-a|$port" "psql through pgnspawnctl psql" || return 1
    # A generated password of 24 characters, not in psql's argv (only PGPASSWORD).
    expect_match "$(call GetConnectionUri s proj-a)" "postgresql://proj-a:[A-Za-z0-9]{24}@127.0.0.1:$port/proj-a" || return 1
    H sh -c 'kill "$(cat /run/created-listener.pid)"; rm -f /run/created-listener.pid'
}

t_created_second_gets_another_port_both_run() {
    local out a b
    out=$(created_as dev pgnspawnctl create proj-b --database app --user appuser --durability fast 2>&1) ||
        fail "dev could not create proj-b: $out"
    a=$(created_port_of proj-a); b=$(created_port_of proj-b)
    [ "$a" != "$b" ] || fail "both got port $a"
    created_as dev pgnspawnctl start proj-b >/dev/null 2>&1 || fail "could not start proj-b"
    expect_eq "$(created_prop proj-a State)" 's "running"' || return 1
    expect_eq "$(created_as dev pgnspawnctl psql proj-b -XAtqc 'select current_user, current_database(), current_setting($$fsync$$)' 2>&1)" \
        "appuser|app|off" || return 1
    expect_eq "$(created_as dev pgnspawnctl psql proj-a -XAtqc 'select 1' 2>&1)" 1
}

t_created_up_in_a_project_twice() {
    local out
    H sh -c 'mkdir -p /home/dev2/Shop_App/src /home/dev2/other-proj/.git /home/dev2/other-proj/lib && chown -R dev2: /home/dev2'
    # No .git: the current directory names it.
    out=$(created_in dev2 /home/dev2/Shop_App 'eval "$(pgnspawnctl up)" && psql -XAtqc "select current_database()"')
    expect_match "$out" 'instance shop-app \(named after the current directory /home/dev2/Shop_App\)' || return 1
    expect_match "$out" 'created shop-app on port 543' || return 1
    expect_match "$out" '^shop-app$' || return 1
    out=$(created_in dev2 /home/dev2/Shop_App 'eval "$(pgnspawnctl up)" && psql -XAtqc "select current_database()"')
    expect_no_match "$out" 'created' || return 1
    expect_match "$out" '^shop-app$' || return 1
    # In a git project's subdirectory: the top level names it.
    out=$(created_in dev2 /home/dev2/other-proj/lib 'eval "$(pgnspawnctl up)" && psql -XAtqc "select inet_server_port()"')
    expect_match "$out" 'instance other-proj \(named after the git top-level directory /home/dev2/other-proj\)' || return 1
    expect_match "$out" "^$(created_port_of other-proj)$" || return 1
    [ "$(created_port_of other-proj)" != "$(created_port_of shop-app)" ] || fail "the two projects share a port"
}

t_created_outsider_cannot_create() {
    local out
    out=$(created_as stranger pgnspawnctl create intruder 2>&1) && fail "the stranger created an instance: $out"
    expect_match "$out" 'permission denied: Access denied: org\.pgnspawn1\.create (is not allowed|requires authentication)' || return 1
    expect_no_match "$(call ListInstances)" '"intruder"' || return 1
    H test ! -e "$created_dir/intruder.toml" || fail "a file was written for the refused create"
}

t_created_other_member_cannot_destroy() {
    local out
    out=$(created_as dev2 pgnspawnctl destroy proj-a --yes 2>&1) && fail "dev2 destroyed dev's instance: $out"
    expect_match "$out" 'instance proj-a was created by uid [0-9]+; only that user, root' || return 1
    expect_eq "$(created_prop proj-a State)" 's "running"' "the refused destroy changed nothing" || return 1
    H test -e "$created_dir/proj-a.toml" || fail "the file is gone"
}

t_created_quota_holds() {
    local out
    out=$(created_as dev pgnspawnctl create proj-c 2>&1) && fail "dev got a third instance with quota = 2: $out"
    expect_match "$out" 'already has 2 created instance\(s\), the most allowed \(\[created\] quota = 2\)' || return 1
    H test ! -e "$created_dir/proj-c.toml" || fail "a file was written over the quota"
}

t_created_bad_input_is_refused() {
    local out key
    # No path, image or address: nothing is created.
    for key in "directory s /etc" "password_file s /etc/shadow" "toplevel s /nix/store/x" "listen_address s 0.0.0.0"; do
        out=$(created_as dev busctl call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager CreateInstance \
            'sa{sv}' evil 1 $key 2>&1) && fail "created with $key: $out"
        expect_match "$out" "\"${key%% *}\" is not allowed for a created instance" || return 1
    done
    out=$(created_as dev busctl call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager CreateInstance \
        'sa{sv}' evil 1 image s directory 2>&1) && fail "created a directory image: $out"
    expect_match "$out" 'can only have image = "host"' || return 1
    out=$(created_as dev busctl call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager CreateInstance \
        'sa{sv}' evil 1 colour s red 2>&1)
    expect_match "$out" 'unknown key "colour"' || return 1
    # Server settings that would run a program or load a library as postgres, and a script
    # the daemon would read as root: refused by name, nothing created.
    for key in "archive_command s cp%20/etc/shadow%20/tmp" "shared_preload_libraries s /tmp/evil.so" \
        "ssl_passphrase_command s /bin/true"; do
        set -- $key
        out=$(created_as dev busctl call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager CreateInstance \
            'sa{sv}' evil 1 settings 'a{sv}' 1 "$1" "$2" "${3//%20/ }" 2>&1) && fail "created with setting $1: $out"
        expect_match "$out" "setting \"$1\" is not allowed for an instance created over D-Bus" ||
            return 1
    done
    out=$(created_as dev busctl call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager CreateInstance \
        'sa{sv}' evil 1 initial_script s /etc/shadow 2>&1) && fail "created with an initial_script path: $out"
    expect_match "$out" '"initial_script" names a file the daemon would read as root' || return 1
    out=$(created_as dev busctl call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager CreateInstance \
        'sa{sv}' evil 1 port d 1.5 2>&1)
    expect_match "$out" 'setting "port" has the D-Bus type "d"' || return 1
    out=$(H pgnspawnctl create evil --port 5433 2>&1)
    expect_match "$out" 'port 5433 is outside the range for created instances, 54300-54309' || return 1
    out=$(created_as dev2 pgnspawnctl create helloworld 2>&1)
    expect_match "$out" 'an instance named helloworld already exists \(in the configuration file\)' || return 1
    expect_no_match "$(call ListInstances)" '"evil"' || return 1
    H test ! -e "$created_dir/evil.toml" || fail "a file was written for a refused create"
}

t_created_survive_restart_and_reload() {
    local out
    H systemctl restart pgnspawnd || fail "restart failed"
    created_wait_list '"proj-a" "running" .*"proj-b" "running" ' || return 1
    expect_eq "$(created_as dev pgnspawnctl psql proj-a -XAtqc 'select 1' 2>&1)" 1 "proj-a after the restart" || return 1
    # The admin adds an instance of a created name to the file: the created one stays.
    H sh -c "printf '\n[instances.proj-a]\nport = 5499\npassword = \"x\"\n' >> $created_conf"
    local since; since=$(date +%s)
    H systemctl reload pgnspawnd || fail "reload failed"
    sleep 1
    expect_match "$(H journalctl -u pgnspawnd -o cat --no-pager --since "@$since")" \
        'Instance proj-a in /etc/pgnspawn/pgnspawn.toml is ignored: a created instance of that name exists' || return 1
    expect_eq "$(created_port_of proj-b)" "$(H sed -n 's/^port = //p' $created_dir/proj-b.toml)" || return 1
    out=$(call ListInstances)
    for n in proj-a proj-b shop-app other-proj; do expect_match "$out" "\"$n\" \"running\"" || return 1; done
    expect_eq "$(created_prop proj-a Port)" "q $(H sed -n 's/^port = //p' $created_dir/proj-a.toml)" || return 1
}

t_created_destroy_removes_everything() {
    local out
    out=$(created_as dev sh -c 'pgnspawnctl destroy proj-a </dev/null' 2>&1) && fail "destroyed without --yes off a terminal"
    expect_match "$out" 'add --yes' || return 1
    out=$(created_as dev pgnspawnctl destroy proj-a --yes 2>&1) || fail "dev could not destroy proj-a: $out"
    expect_eq "$out" "Destroyed proj-a." || return 1
    H test ! -e /var/lib/pgnspawn/proj-a || fail "the state directory is still there"
    H test ! -e "$created_dir/proj-a.toml" || fail "the file is still there"
    H busctl introspect org.pgnspawn1 /org/pgnspawn1/instance/proj_2da >/dev/null 2>&1 && fail "the object is still there"
    expect_no_match "$(call ListInstances)" '"proj-a"' || return 1
    expect_no_match "$(H machinectl list --no-legend)" 'pgnspawn-proj-a' || return 1
    # Root may destroy anyone's.
    for n in proj-b shop-app other-proj; do
        out=$(H pgnspawnctl destroy "$n" --yes 2>&1) || fail "root could not destroy $n: $out"
    done
    expect_eq "$(H ls -A $created_dir)" "" || return 1
}

t_created_restore() {
    H test -e "$created_conf.created-orig" || fail "no backup of $created_conf"
    H mv "$created_conf.created-orig" "$created_conf"
    H systemctl reload pgnspawnd || fail "reload failed"
    created_wait_list '^a\(sso\) 2 "helloworld" "stopped" "/org/pgnspawn1/instance/helloworld" "second" "stopped"' || return 1
    expect_no_match "$(H machinectl list --no-legend)" 'pgnspawn-'
}

suite_tests+=(created_setup created_create_picks_a_free_port_and_starts created_second_gets_another_port_both_run
    created_up_in_a_project_twice created_outsider_cannot_create created_other_member_cannot_destroy
    created_quota_holds created_bad_input_is_refused created_survive_restart_and_reload
    created_destroy_removes_everything created_restore)
