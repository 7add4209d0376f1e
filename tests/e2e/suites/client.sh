# pgnspawnctl: list, address, health, env, --json, wait, monitor, logs, start progress,
# completions, man pages and the autostart user unit. Sourced by run.sh; every test
# leaves every instance stopped.
#
# The test host has no python3, groff, zsh or fish: JSON is captured here and checked by
# python3 on the outer machine (c5_json), and the man pages and the zsh and fish files by
# groff, zsh and fish there (tests/deps.sh installs them; a missing one fails the test).

c5_stop_all() { call Stop s helloworld >/dev/null 2>&1; call Stop s second >/dev/null 2>&1; }

# c5_need TOOL...: fails, naming them, unless the outer machine has every TOOL.
c5_need() {
    local tool missing=""
    for tool in "$@"; do command -v "$tool" >/dev/null || missing+=" $tool"; done
    [ -z "$missing" ] || fail "not installed on the outer machine:$missing (bash tests/deps.sh installs them)"
}

# c5_json 'PYTHON EXPRESSION over d' JSON: fails unless JSON parses and the assertion holds.
c5_json() {
    local check=$1 doc=$2 out
    command -v python3 >/dev/null || fail "python3 is needed on the outer machine to check JSON"
    out=$(printf '%s' "$doc" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert ('"$check"'), "assertion failed: " + sys.argv[1]
' "$check" 2>&1) || fail "JSON check failed: $out; document: $doc"
}

# Waits (the test, not the client) until FILE in the host matches REGEX.
c5_wait_file() {
    local file=$1 regex=$2 i
    for i in $(seq 1 100); do
        H grep -Eq -- "$regex" "$file" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "$file never matched /$regex/: [$(H cat "$file" 2>&1)]"
}

t_client_basics() {
    local out rc
    call Start s helloworld >/dev/null || fail "Start failed"
    out=$(H pgnspawnctl list) && expect_match "$out" "helloworld +running" || return 1
    out=$(H pgnspawnctl address helloworld) && expect_eq "$out" "127.0.0.1 5433" || return 1
    out=$(H pgnspawnctl health helloworld) && expect_match "$out" "^healthy" || return 1
    out=$(H pgnspawnctl health second); rc=$?
    expect_eq "$rc" 3 "health of a stopped instance" || return 1
    out=$(H pgnspawnctl address nosuch 2>&1); rc=$?
    expect_eq "$rc" 1 && expect_match "$out" '^pgnspawnctl: .*no instance named "nosuch"' || return 1
    out=$(H pgnspawnctl frobnicate 2>&1); rc=$?
    expect_eq "$rc" 2 "usage error" || return 1
    # Unprivileged callers reach the daemon through the policy's allow-list.
    out=$(H setpriv --reuid=nobody --regid=nogroup --clear-groups pgnspawnctl list)
    call Stop s helloworld >/dev/null || fail "Stop failed"
    expect_match "$out" "helloworld +running"
}

t_client_files_installed() {
    local f out
    for f in /usr/share/man/man1/pgnspawnctl.1 /usr/share/man/man8/pgnspawnd.8 /usr/share/man/man5/pgnspawn.toml.5 \
             /usr/share/bash-completion/completions/pgnspawnctl /usr/share/zsh/vendor-completions/_pgnspawnctl \
             /usr/share/fish/vendor_completions.d/pgnspawnctl.fish /usr/share/doc/pgnspawn/client-json.md \
             /usr/lib/systemd/user/pgnspawn-autostart@.service; do
        H test -s "$f" || fail "$f is not installed" || return 1
    done
    # The outer machine's tools check what the test host has no tools for.
    c5_need groff zsh fish || return 1
    # The installed pages render without warnings.
    for f in man1/pgnspawnctl.1 man8/pgnspawnd.8 man5/pgnspawn.toml.5; do
        out=$(H cat "/usr/share/man/$f" | groff -man -ww -z 2>&1)
        expect_eq "$out" "" "groff warnings for $f" || return 1
    done
    # bash completion, run for real: instance names come from the daemon.
    out=$(H bash -c 'source /usr/share/bash-completion/completions/pgnspawnctl
        COMP_WORDS=(pgnspawnctl status h); COMP_CWORD=2; _pgnspawnctl; echo "${COMPREPLY[*]}"
        COMP_WORDS=(pgnspawnctl st); COMP_CWORD=1; _pgnspawnctl; echo "${COMPREPLY[*]}"
        COMP_WORDS=(pgnspawnctl env --shell f); COMP_CWORD=3; _pgnspawnctl; echo "${COMPREPLY[*]}"')
    expect_eq "$out" $'helloworld\nstart stop status\nfish' "bash completions" || return 1
    # zsh and fish: the files name the same commands and ask pgnspawnctl list.
    for f in /usr/share/zsh/vendor-completions/_pgnspawnctl /usr/share/fish/vendor_completions.d/pgnspawnctl.fish; do
        out=$(H cat "$f")
        expect_match "$out" "pgnspawnctl list" || return 1
        for c in start stop wait status list address health uri env monitor logs; do
            expect_match "$out" "\\b$c\\b" || return 1
        done
    done
    expect_match "$(H head -n1 /usr/share/zsh/vendor-completions/_pgnspawnctl)" '^#compdef pgnspawnctl$' || return 1
    # Syntax, by the shells of the outer machine (the test host has neither).
    out=$(H cat /usr/share/zsh/vendor-completions/_pgnspawnctl | zsh -n 2>&1) || fail "zsh -n: $out" || return 1
    out=$(H cat /usr/share/fish/vendor_completions.d/pgnspawnctl.fish | fish -n 2>&1) || fail "fish -n: $out" || return 1
}

t_client_env_sh() {
    local out
    call Start s helloworld >/dev/null || fail "Start helloworld failed" || return 1
    call Start s second >/dev/null || fail "Start second failed" || return 1
    out=$(H pgnspawnctl env helloworld) || fail "env failed: $out" || return 1
    expect_match "$out" "^export DATABASE_URL='postgresql://helloworld:helloworld@127.0.0.1:5433/helloworld'" || return 1
    expect_eq "$(printf '%s\n' "$out" | sed 's/=.*//')" \
        $'export DATABASE_URL\nexport PGHOST\nexport PGPORT\nexport PGUSER\nexport PGDATABASE\nexport PGPASSWORD' || return 1
    # Evaluated by sh, used by psql through the URI and through the PG* variables alone.
    out=$(H sh -c 'eval "$(pgnspawnctl env helloworld)" && psql "$DATABASE_URL" -XAtqc "select 1"' 2>&1)
    expect_eq "$out" 1 "psql \$DATABASE_URL" || return 1
    out=$(H sh -c 'eval "$(pgnspawnctl env second)" && psql -XAtqc "select current_user, current_database()" &&
        psql "$DATABASE_URL" -XAtqc "select inet_server_port()" &&
        [ "$PGPASSWORD" = "S3cond p@ss:w/rd%" ] && echo password-decoded' 2>&1)
    expect_eq "$out" $'app|appdb\n5434\npassword-decoded' "second (password with space, @, :, /, %)" || return 1
    # bash too (what direnv runs), and a stopped instance is an error, not half an environment.
    out=$(H bash -c 'eval "$(pgnspawnctl env --shell bash second)"; echo "$PGHOST $PGPORT $PGUSER $PGDATABASE"')
    expect_eq "$out" "127.0.0.1 5434 app appdb" || return 1
    c5_stop_all
    local rc; out=$(H pgnspawnctl env helloworld 2>&1); rc=$?
    expect_eq "$rc" 1 "env of a stopped instance" && expect_match "$out" '^pgnspawnctl: cannot get the environment of helloworld: .*not running' &&
        expect_no_match "$out" 'export'
}

t_client_env_fish() {
    local out line rc
    call Start s second >/dev/null || fail "Start second failed" || return 1
    out=$(H pgnspawnctl env second --shell fish); rc=$?
    call Stop s second >/dev/null
    expect_eq "$rc" 0 "env --shell fish" || return 1
    expect_eq "$(printf '%s\n' "$out" | wc -l)" 6 "lines" || return 1
    while IFS= read -r line; do
        # fish: set -gx NAME 'value'; inside single quotes only \\ and \' are escapes.
        expect_match "$line" "^set -gx (DATABASE_URL|PGHOST|PGPORT|PGUSER|PGDATABASE|PGPASSWORD) '([^'\\\\]|\\\\['\\\\])*';\$" || return 1
    done <<<"$out"
    expect_match "$out" "^set -gx PGPASSWORD 'S3cond p@ss:w/rd%';\$" || return 1
    c5_need fish || return 1
    expect_eq "$(printf '%s\n' "$out" | fish -c 'source; echo $PGUSER $PGPORT')" "app 5434" "fish" || return 1
    out=$(H pgnspawnctl env second --shell tcsh 2>&1); rc=$?
    expect_eq "$rc" 2 "unknown shell is a usage error"
}

t_client_json() {
    local out rc
    call Start s helloworld >/dev/null || fail "Start failed" || return 1
    out=$(H pgnspawnctl list --json) || fail "list --json failed" || return 1
    c5_json 'd == {"instances": [{"name": "helloworld", "state": "running", "object_path": "/org/pgnspawn1/instance/helloworld"}, {"name": "second", "state": "stopped", "object_path": "/org/pgnspawn1/instance/second"}]}' "$out" || return 1
    out=$(H pgnspawnctl status --json) || fail "status --json failed" || return 1
    c5_json '[i["name"] for i in d["instances"]] == ["helloworld", "second"]' "$out" || return 1
    out=$(H pgnspawnctl status helloworld --json) || fail "status NAME --json failed" || return 1
    c5_json 'd["name"] == "helloworld" and d["state"] == "running" and d["port"] == 5433 and d["database"] == "helloworld" and d["user"] == "helloworld" and d["image"] == "host" and d["unit"] == "pgnspawn-helloworld.service" and d["machine"] == "pgnspawn-helloworld" and d["last_error"] == "" and d["address"] == {"host": "127.0.0.1", "port": 5433} and d["health"]["healthy"] is True and isinstance(d["health"]["latency_usec"], int)' "$out" || return 1
    out=$(H pgnspawnctl status second --json) || fail "status second --json failed" || return 1
    c5_json 'd["state"] == "stopped" and d["address"] is None and d["health"] is None and d["user"] == "app"' "$out" || return 1
    out=$(H pgnspawnctl address helloworld --json) || fail "address --json failed" || return 1
    c5_json 'd == {"host": "127.0.0.1", "port": 5433}' "$out" || return 1
    out=$(H pgnspawnctl health helloworld --json) || fail "health --json failed" || return 1
    c5_json 'd["healthy"] is True and d["detail"] == "SELECT 1 succeeded" and d["latency_usec"] > 0' "$out" || return 1
    out=$(H pgnspawnctl health second --json); rc=$?
    expect_eq "$rc" 3 "health --json of a stopped instance" || return 1
    c5_json 'd["healthy"] is False and "stopped" in d["detail"]' "$out" || return 1
    out=$(H pgnspawnctl uri helloworld --json) || fail "uri --json failed" || return 1
    c5_json 'd == {"uri": "postgresql://helloworld:helloworld@127.0.0.1:5433/helloworld"}' "$out" || return 1
    # Errors stay a sentence on stderr with exit 1; stdout stays empty.
    out=$(H pgnspawnctl address second --json 2>/dev/null); rc=$?
    expect_eq "$rc" 1 "address --json of a stopped instance" && expect_eq "$out" "" "stdout on error" || return 1
    out=$(H pgnspawnctl stop helloworld --json 2>&1); rc=$?
    expect_eq "$rc" 2 "--json on stop is a usage error" && expect_eq "$(prop helloworld State)" 's "running"' || return 1
    call Stop s helloworld >/dev/null
}

t_client_wait_started_by_other() {
    local pid a b rc
    c5_stop_all
    H rm -f /tmp/c5wait.rc /tmp/c5wait.out
    # As nobody: signals reach an unprivileged client through the bus policy.
    pid=$(H sh -c '(setpriv --reuid=nobody --regid=nogroup --clear-groups pgnspawnctl wait helloworld --timeout 60s >/tmp/c5wait.out 2>&1; echo $? >/tmp/c5wait.rc) >/dev/null 2>&1 &
        sleep 0.5; pgrep -f "^pgnspawnctl wait helloworld"')
    [ -n "$pid" ] || fail "the waiting client is not running: $(H cat /tmp/c5wait.out /tmp/c5wait.rc 2>&1)" || return 1
    # It sleeps on the bus instead of polling: no context switch for a second.
    a=$(H grep ctxt_switches "/proc/$pid/status" | awk '{s += $2} END {print s}')
    sleep 1
    b=$(H grep ctxt_switches "/proc/$pid/status" | awk '{s += $2} END {print s}')
    expect_eq "$b" "$a" "context switches of the waiting client over 1 s" || return 1
    H test ! -e /tmp/c5wait.rc || fail "wait returned before anything started: $(H cat /tmp/c5wait.rc /tmp/c5wait.out)" || return 1
    call Start s helloworld >/dev/null || fail "Start failed" || return 1
    c5_wait_file /tmp/c5wait.rc . || return 1
    rc=$(H cat /tmp/c5wait.rc)
    call Stop s helloworld >/dev/null
    expect_eq "$rc" 0 "exit status of wait: $(H cat /tmp/c5wait.out)" &&
        expect_eq "$(H cat /tmp/c5wait.out)" "" "wait is quiet when not on a terminal" || return 1
    # Already running: at once.
    call Start s helloworld >/dev/null
    H timeout 5 pgnspawnctl wait helloworld; rc=$?
    call Stop s helloworld >/dev/null
    expect_eq "$rc" 0 "wait for a running instance"
}

t_client_wait_timeout() {
    local out rc t0 t1
    c5_stop_all
    t0=$(now_ms); out=$(H pgnspawnctl wait helloworld --timeout 1500ms 2>&1); rc=$?; t1=$(now_ms)
    expect_eq "$rc" 4 "exit status on timeout" || return 1
    expect_match "$out" '^pgnspawnctl: timed out waiting for helloworld to be running \(it is stopped\)$' || return 1
    [ $((t1 - t0)) -ge 1400 ] && [ $((t1 - t0)) -lt 5000 ] || fail "timed out after $((t1 - t0)) ms, expected about 1500" || return 1
    out=$(H pgnspawnctl wait nosuch --timeout 1s 2>&1); rc=$?
    expect_eq "$rc" 1 "wait for an unknown instance" && expect_match "$out" 'no instance named "nosuch"' || return 1
    out=$(H pgnspawnctl wait helloworld --timeout soon 2>&1); rc=$?
    expect_eq "$rc" 2 "a bad duration is a usage error" || return 1
    expect_eq "$(prop helloworld State)" 's "stopped"' && echo "timed out after $((t1 - t0)) ms"
}

t_client_wait_failed() {
    local conf=/var/lib/pgnspawn/second/data/postgresql.conf rc out
    c5_stop_all
    H test -e "$conf" || { call Start s second >/dev/null && call Stop s second >/dev/null; }
    H rm -f /tmp/c5wait.rc /tmp/c5wait.out
    H sh -c '(pgnspawnctl wait second --timeout 60s >/tmp/c5wait.out 2>&1; echo $? >/tmp/c5wait.rc) >/dev/null 2>&1 &'
    sleep 0.5
    H mv "$conf" "$conf.c5away"
    dsend Start string:second >/dev/null
    H mv "$conf.c5away" "$conf"
    c5_wait_file /tmp/c5wait.rc . || return 1
    rc=$(H cat /tmp/c5wait.rc); out=$(H cat /tmp/c5wait.out)
    expect_eq "$rc" 1 "wait while the start fails" || return 1
    expect_match "$out" '^pgnspawnctl: second failed: .*postgresql.conf' || return 1
    # Already failed: at once, with LastError.
    out=$(H timeout 5 pgnspawnctl wait second 2>&1); rc=$?
    expect_eq "$rc" 1 "wait for a failed instance" && expect_match "$out" 'second failed: .*postgresql.conf' || return 1
    call Start s second >/dev/null || fail "Start after repair failed" || return 1
    call Stop s second >/dev/null
}

t_client_monitor() {
    local text json
    c5_stop_all
    H rm -f /tmp/c5mon.txt /tmp/c5mon.json
    H sh -c 'timeout 60 pgnspawnctl monitor >/tmp/c5mon.txt 2>&1 & echo $! >/tmp/c5mon.pid
             timeout 60 pgnspawnctl monitor --json >/tmp/c5mon.json 2>&1 & echo $! >>/tmp/c5mon.pid'
    # The initial snapshot is printed after subscribing, so from then on nothing is missed.
    c5_wait_file /tmp/c5mon.txt '^second ' && c5_wait_file /tmp/c5mon.json '"name":"second"' || return 1
    call Start s helloworld >/dev/null || fail "Start failed" || return 1
    call Stop s helloworld >/dev/null || fail "Stop failed" || return 1
    c5_wait_file /tmp/c5mon.txt '^helloworld stopped$' || return 1
    # Two initial "stopped" lines, then the one after Stop.
    local i; for i in $(seq 1 100); do
        [ "$(H grep -c '"state":"stopped"' /tmp/c5mon.json)" -ge 3 ] && break
        sleep 0.1
    done
    sleep 0.3
    H sh -c 'kill $(cat /tmp/c5mon.pid)'
    text=$(H cat /tmp/c5mon.txt); json=$(H cat /tmp/c5mon.json)
    expect_eq "$text" $'helloworld stopped\nsecond stopped\nhelloworld starting\nhelloworld running\nhelloworld stopping\nhelloworld stopped' \
        "monitor text" || return 1
    c5_json 'True' "[$(printf '%s\n' "$json" | paste -sd, -)]" || return 1
    c5_json '[(e["event"], e["name"], e["state"]) for e in d] == [("initial", "helloworld", "stopped"), ("initial", "second", "stopped"), ("state", "helloworld", "starting"), ("state", "helloworld", "running"), ("state", "helloworld", "stopping"), ("state", "helloworld", "stopped")] and all(isinstance(e["time_usec"], int) for e in d) and d[2]["time_usec"] <= d[3]["time_usec"]' \
        "[$(printf '%s\n' "$json" | paste -sd, -)]"
}

t_client_start_progress() {
    local out rc
    c5_stop_all
    H sh -c 'command -v script' >/dev/null || fail "no script(1) in the test host to give the client a terminal" || return 1
    # On a terminal (script gives it one): every state with the elapsed time.
    out=$(H script -qec 'pgnspawnctl start helloworld' /dev/null | tr -d '\r')
    expect_match "$out" '^helloworld: stopped \(0\.0 s\)$' && expect_match "$out" '^helloworld: starting \([0-9]+\.[0-9] s\)$' &&
        expect_match "$out" '^helloworld: running \([0-9]+\.[0-9] s\)$' && expect_match "$out" '^Started helloworld\.$' || return 1
    # The phases of the start, from the daemon's Phase property, between the states (a warm
    # start of a provisioned cluster connects as the user without provisioning).
    expect_match "$out" '^helloworld: creating \([0-9]+\.[0-9] s\)$' &&
        expect_match "$out" '^helloworld: connecting \([0-9]+\.[0-9] s\)$' || return 1
    expect_eq "$(prop helloworld State)" 's "running"' && expect_eq "$(prop helloworld Phase)" 's "ready"' || return 1
    local shown; shown=$(printf '%s\n' "$out" | grep '^helloworld:' | paste -sd';' -)
    call Stop s helloworld >/dev/null
    expect_eq "$(prop helloworld Phase)" 's ""' "Phase once stopped" || return 1
    # Not a terminal: no progress at all.
    out=$(H pgnspawnctl start helloworld 2>&1); rc=$?
    expect_eq "$rc" 0 && expect_eq "$out" "Started helloworld." "output without a terminal" || return 1
    call Stop s helloworld >/dev/null
    # start always waits: there is no --wait option (it used to be accepted and ignored).
    out=$(H pgnspawnctl start --wait helloworld 2>&1); rc=$?
    expect_eq "$rc" 2 "start --wait" && expect_match "$out" "^pgnspawnctl: unknown option '--wait'" &&
        expect_eq "$(prop helloworld State)" 's "stopped"' "after start --wait" || return 1
    # A failure on a terminal is still the daemon's sentence and exit 1.
    out=$(H script -qec 'pgnspawnctl start nosuch; echo "rc=$?"' /dev/null | tr -d '\r')
    expect_match "$out" '^pgnspawnctl: cannot start nosuch: no instance named "nosuch"' && expect_match "$out" '^rc=1$' &&
        echo "$shown"
}

t_client_logs() {
    local out rc
    c5_stop_all
    call Start s helloworld >/dev/null && call Stop s helloworld >/dev/null || fail "start/stop failed" || return 1
    out=$(H pgnspawnctl logs helloworld -n 200 2>&1) || fail "logs failed: $out" || return 1
    expect_match "$out" 'database system is ready to accept connections' &&
        expect_match "$out" 'database system is shut down' || return 1
    # -f follows: still running after 2 s (timeout's 124), having printed the lines so far.
    out=$(H timeout 2 pgnspawnctl logs helloworld -f -n 5 2>&1); rc=$?
    expect_eq "$rc" 124 "logs -f keeps following" && expect_match "$out" 'database system is shut down' || return 1
    for name in nosuch ../etc "-u sshd"; do
        out=$(H pgnspawnctl logs -- "$name" 2>&1); rc=$?
        expect_eq "$rc" 1 "logs of [$name]" && expect_match "$out" '^pgnspawnctl: cannot show the logs of ' || return 1
    done
}

# The daemon's own lines about an instance are among PostgreSQL's in pgnspawnctl logs
# (journalctl -u pgnspawn-NAME.service): they carry OBJECT_SYSTEMD_UNIT=, which
# journalctl matches for a root sender, not UNIT=, which it matches only from PID 1.
t_client_logs_show_the_daemons_lines() {
    local out
    c5_stop_all
    call Start s helloworld >/dev/null && call Stop s helloworld >/dev/null || fail "start/stop failed" || return 1
    out=$(H pgnspawnctl logs helloworld -n 400 2>&1) || fail "logs failed: $out" || return 1
    expect_match "$out" 'Starting instance helloworld\.' && expect_match "$out" 'Instance helloworld is now running' &&
        expect_match "$out" 'Stopping instance helloworld\.' || return 1
    # ...beside PostgreSQL's own, and in order: the daemon starts it, PostgreSQL is ready.
    expect_match "$out" 'database system is ready to accept connections' || return 1
    local order; order=$(printf '%s\n' "$out" | grep -E 'Starting instance helloworld\.|ready to accept connections|Stopping instance helloworld\.' | tail -n 3 |
        sed -E 's/.*(Starting instance|ready to accept|Stopping instance).*/\1/' | paste -sd'|' -)
    expect_eq "$order" "Starting instance|ready to accept|Stopping instance" "order of the last start and stop" || return 1
    # Another instance's lines are not there.
    expect_no_match "$out" 'instance second'
}

t_client_autostart_unit() {
    local rc
    c5_autostart_unit; rc=$?
    H loginctl disable-linger c5dev >/dev/null 2>&1
    c5_stop_all
    return "$rc"
}

c5_autostart_unit() {
    local uid out
    c5_stop_all
    out=$(H sh -c 'cp /usr/lib/systemd/user/pgnspawn-autostart@.service /tmp/pgnspawn-autostart@helloworld.service &&
        systemd-analyze verify --man=no /tmp/pgnspawn-autostart@helloworld.service 2>&1')
    expect_eq "$out" "" "systemd-analyze verify" || return 1
    # A developer in the group pgnspawn: enabling the unit starts helloworld when the user
    # manager starts (login), and stopping the user manager (logout) stops nothing.
    H sh -c 'getent group pgnspawn >/dev/null || groupadd --system pgnspawn
             id c5dev >/dev/null 2>&1 || useradd --create-home --groups pgnspawn c5dev' || fail "cannot create c5dev" || return 1
    uid=$(H id -u c5dev)
    H loginctl enable-linger c5dev || fail "enable-linger failed" || return 1
    c5_user_manager_active() { local i; for i in $(seq 1 100); do [ "$(H systemctl is-active "user@$uid.service")" = active ] && return 0; sleep 0.1; done; return 1; }
    c5_user_manager_active || fail "user@$uid.service did not start" || return 1
    out=$(H setpriv --reuid=c5dev --regid=c5dev --init-groups env XDG_RUNTIME_DIR="/run/user/$uid" \
        systemctl --user enable pgnspawn-autostart@helloworld.service 2>&1) || fail "systemctl --user enable failed: $out" || return 1
    expect_eq "$(prop helloworld State)" 's "stopped"' "enable alone starts nothing" || return 1
    H systemctl restart "user@$uid.service" || fail "restarting the user manager failed" || return 1
    out=$(H pgnspawnctl wait helloworld --timeout 60s 2>&1) || fail "helloworld did not start at login: $out; $(H journalctl --no-pager -n 20 _UID="$uid" 2>&1)" || return 1
    H systemctl stop "user@$uid.service"
    sleep 0.5
    expect_eq "$(prop helloworld State)" 's "running"' "after logout"
}

suite_tests+=(client_basics client_files_installed client_env_sh client_env_fish client_json client_wait_started_by_other
    client_wait_timeout client_wait_failed client_monitor client_start_progress client_logs
    client_logs_show_the_daemons_lines client_autostart_unit)
