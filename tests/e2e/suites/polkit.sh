# Who may do what, decided by the real polkitd in the test host (issue 3). Sourced by run.sh.
#
# "dev" is in the group pgnspawn (granted by the shipped rules file); "stranger" is not.
# Neither has a logind session or a polkit agent, as for a script or an IDE plugin.

as_user() { local u=$1; shift; H setpriv --reuid="$u" --regid="$u" --init-groups "$@"; }
user_send() {
    local u=$1 m=$2; shift 2
    as_user "$u" dbus-send --system --print-reply --reply-timeout=600000 --dest=org.pgnspawn1 /org/pgnspawn1 \
        "org.pgnspawn1.Manager.$m" "$@" 2>&1
}

polkit_users() {
    H sh -c 'getent group pgnspawn >/dev/null || groupadd --system pgnspawn
             id dev >/dev/null 2>&1 || useradd --create-home --groups pgnspawn dev
             id stranger >/dev/null 2>&1 || useradd --create-home stranger'
}

t_polkit_files_installed() {
    H test -f /usr/share/polkit-1/actions/org.pgnspawn1.policy || fail "no action file"
    H test -f /usr/share/polkit-1/rules.d/60-pgnspawn.rules || fail "no rules file"
    local actions; actions=$(H pkaction) || fail "pkaction failed"
    expect_match "$actions" '^org\.pgnspawn1\.manage$' && expect_match "$actions" '^org\.pgnspawn1\.read-credentials$'
}

t_polkit_group_member_may_manage() {
    polkit_users
    local out
    out=$(user_send dev Start string:second) || fail "dev could not start: $out"
    expect_eq "$(prop second State)" 's "running"' || return 1
    out=$(user_send dev GetConnectionUri string:second) || fail "dev could not read the URI: $out"
    expect_match "$out" 'string "postgresql://app:' || return 1
    # pgnspawnctl as the same user, for the sentence rather than the D-Bus dump.
    out=$(as_user dev pgnspawnctl stop second 2>&1) || fail "dev could not stop with pgnspawnctl: $out"
    expect_eq "$(prop second State)" 's "stopped"'
}

t_polkit_stranger_denied() {
    polkit_users
    local out m
    call Stop s helloworld >/dev/null || fail "Stop (as root) failed"
    for m in Start Stop GetConnectionUri; do
        out=$(user_send stranger "$m" string:helloworld)
        expect_match "$out" '^Error org.freedesktop.DBus.Error.AccessDenied: Access denied: org\.pgnspawn1\.(manage|read-credentials) ' ||
            return 1
        expect_no_match "$out" 'helloworld:helloworld|S3cond' || return 1
    done
    expect_eq "$(prop helloworld State)" 's "stopped"' "a denied Start changed nothing" || return 1
    out=$(as_user stranger pgnspawnctl start helloworld 2>&1); local rc=$?
    expect_eq "$rc" 1 "pgnspawnctl exit status" && expect_match "$out" '^pgnspawnctl: .*Access denied' || return 1
    # Reading stays open to everyone.
    expect_match "$(user_send stranger HealthCheck string:helloworld)" 'boolean false' &&
        expect_match "$(user_send stranger ListInstances)" '"helloworld"' &&
        expect_match "$(user_send stranger GetAddress string:helloworld)" 'org.pgnspawn1.Error.NotRunning'
}

t_polkit_unknown_instance_before_auth() {
    # A bad or unknown name is refused for everyone alike, before polkit is asked.
    polkit_users
    expect_match "$(user_send stranger Start string:../etc)" '^Error org.freedesktop.DBus.Error.InvalidArgs' &&
        expect_match "$(user_send stranger Start string:nosuch)" '^Error org.pgnspawn1.Error.NoSuchInstance'
}

t_no_password_in_journal_fields() {
    # Every field of every journal entry since boot, not just MESSAGE.
    call Start s second >/dev/null || fail "Start failed"
    call GetConnectionUri s second >/dev/null
    call Stop s second >/dev/null
    expect_no_match "$(H journalctl -b --no-pager -o export | tr -d '\0')" 'S3cond|p@ss:w'
}

t_bus_policy_allows_exactly_the_api() {
    # The policy's allow-list for the Manager interface is exactly the XML's methods.
    local api allowed out
    api=$(H sed -n 's/.*<method name="\([A-Za-z]*\)".*/\1/p' /usr/share/dbus-1/interfaces/org.pgnspawn1.Manager.xml | sort | tr '\n' ' ')
    allowed=$(H sed -n 's/.*send_interface="org.pgnspawn1.Manager" send_member="\([A-Za-z]*\)".*/\1/p' \
        /usr/share/dbus-1/system.d/org.pgnspawn1.conf | sort | tr '\n' ' ')
    [ -n "$api" ] || fail "no methods found in the interface XML"
    expect_eq "$allowed" "$api" "policy allow-list vs API" || return 1
    # Anything else is stopped by the bus itself, before the daemon sees it.
    polkit_users
    out=$(as_user dev dbus-send --system --print-reply --dest=org.pgnspawn1 /org/pgnspawn1/instance/helloworld \
        org.freedesktop.DBus.Properties.Set string:org.pgnspawn1.Instance string:Port variant:uint16:1 2>&1)
    expect_match "$out" '^Error org.freedesktop.DBus.Error.AccessDenied: Rejected send message' || return 1
    out=$(as_user dev dbus-send --system --print-reply --dest=org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager.Frobnicate 2>&1)
    expect_match "$out" '^Error org.freedesktop.DBus.Error.AccessDenied: Rejected send message'
}

suite_tests+=(bus_policy_allows_exactly_the_api polkit_files_installed polkit_group_member_may_manage polkit_stranger_denied
              polkit_unknown_instance_before_auth no_password_in_journal_fields)
