# The sandbox of pgnspawnd.service really applies to the running daemon, and state is not
# world-readable (issue 3). Sourced by run.sh.

t_service_hardened() {
    local pid show status ns_out
    call ListInstances >/dev/null || fail "the daemon does not answer" || return 1
    pid=$(H systemctl show pgnspawnd -p MainPID --value)
    [ -n "$pid" ] && [ "$pid" != 0 ] || fail "pgnspawnd is not running" || return 1

    show=$(H systemctl show pgnspawnd -p ProtectSystem,ProtectHome,PrivateTmp,PrivateDevices,NoNewPrivileges,ProtectKernelTunables,ProtectControlGroups,RestrictNamespaces,MemoryDenyWriteExecute,UMask,StateDirectoryMode,KillMode,Restart)
    local want
    for want in ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes NoNewPrivileges=yes \
                ProtectKernelTunables=yes ProtectControlGroups=yes RestrictNamespaces=yes \
                MemoryDenyWriteExecute=yes UMask=0077 StateDirectoryMode=0711 KillMode=control-group Restart=on-failure; do
        expect_match "$show" "^$want\$" || return 1
    done

    # What the kernel enforces on the process itself: exactly CAP_CHOWN, CAP_DAC_OVERRIDE,
    # CAP_FOWNER, CAP_SETGID, CAP_SETUID; no new privileges; a seccomp filter.
    status=$(H cat "/proc/$pid/status")
    expect_match "$status" $'CapBnd:\t00000000000000cb' || return 1
    expect_match "$status" $'NoNewPrivs:\t1' || return 1
    expect_match "$status" $'Seccomp:\t2' || return 1

    # Its mount namespace: the OS is read-only, homes are hidden, only the state directory is writable.
    ns_out=$(H nsenter -t "$pid" -m sh -c '
        touch /etc/pgnspawn-probe 2>/dev/null && echo "etc writable"
        touch /usr/pgnspawn-probe 2>/dev/null && echo "usr writable"
        [ -z "$(ls -A /root 2>/dev/null)" ] || echo "/root visible"
        [ -z "$(ls -A /home 2>/dev/null)" ] || echo "/home visible"
        touch /var/lib/pgnspawn/.probe && rm /var/lib/pgnspawn/.probe || echo "state not writable"' 2>&1)
    expect_eq "$ns_out" "" "inside the daemon's mount namespace" || return 1
    H test ! -e /etc/pgnspawn-probe -a ! -e /usr/pgnspawn-probe ||
        { H rm -f /etc/pgnspawn-probe /usr/pgnspawn-probe; fail "a probe file escaped"; return 1; }

    # State is not world-readable: the top directory can only be traversed (postgres needs
    # that to reach its instance), nothing below it is open to others except each
    # container's skeleton root, which sits inside a 0750 instance directory.
    expect_eq "$(H stat -c '%a %U %G' /var/lib/pgnspawn)" "711 root root" "/var/lib/pgnspawn" || return 1
    expect_eq "$(H stat -c '%a %U %G' /var/lib/pgnspawn/helloworld)" "750 root postgres" "instance directory" || return 1
    expect_eq "$(H stat -c '%a %U' /var/lib/pgnspawn/helloworld/run)" "700 postgres" "socket directory" || return 1
    expect_eq "$(H stat -c '%a %U' /var/lib/pgnspawn/helloworld/data)" "700 postgres" "data directory" || return 1
    local open
    open=$(H find /var/lib/pgnspawn -mindepth 1 -maxdepth 2 -perm /o+rwx ! -path '/var/lib/pgnspawn/*/root')
    expect_eq "$open" "" "state open to others" || return 1

    # The sandbox is the daemon's, not the containers': they run in units of their own.
    call Start s helloworld >/dev/null || fail "Start failed" || return 1
    local unit_ps
    unit_ps=$(H systemctl show pgnspawn-helloworld.service -p ProtectSystem,NoNewPrivileges)
    call Stop s helloworld >/dev/null || fail "Stop failed" || return 1
    expect_eq "$unit_ps" $'ProtectSystem=no\nNoNewPrivileges=no' "container unit" &&
        echo "CapBnd 0xcb, NoNewPrivs 1, seccomp on, OS read-only, state 0711"
}

# The host image's container runs under the system call filter systemd applies to its
# unit (instead of nspawn's slower generic one): calls an unprivileged process could
# otherwise make are refused inside the container, while the same calls are not refused
# by the test host itself, so the filter is what refuses them.
hardening_probe='for ([keyctl => 250, 0, -1, 0, 0, 0], [perf_event_open => 298, 0, 0, 0, -1, 0], [add_key => 248, 0, 0, 0, 0, 0]) { my ($n, $nr, @a) = @$_; my $r = syscall($nr, @a); print "$n:", ($r < 0 && $!{EPERM} ? "refused" : "not-refused"), " " }'

t_container_syscall_filter() {
    local show leader outside inside
    call Start s helloworld >/dev/null || fail "Start failed" || return 1
    show=$(H systemctl show pgnspawn-helloworld.service -p Environment,SystemCallArchitectures,SystemCallErrorNumber,SystemCallFilter)
    expect_match "$show" '^Environment=SYSTEMD_SECCOMP=0$' && expect_match "$show" '^SystemCallArchitectures=native$' &&
        expect_match "$show" '^SystemCallErrorNumber=1$' && expect_match "$show" '^SystemCallFilter=~.* keyctl .*perf_event_open' || return 1
    leader=$(H machinectl show pgnspawn-helloworld -p Leader --value)
    expect_match "$(H cat "/proc/$leader/status")" $'Seccomp:\t2' || return 1
    expect_match "$(H cat "/proc/$leader/cmdline" | tr '\0' ' ')" '/postgres ' || return 1
    outside=$(H runuser -u postgres -- perl -e "$hardening_probe")
    # Inside: PostgreSQL runs the probe itself (COPY FROM PROGRAM, as the superuser over the socket).
    inside=$(H psql -h /var/lib/pgnspawn/helloworld/run -p 5433 -U postgres -d postgres -XAtq 2>&1 <<SQL
CREATE TEMP TABLE probe(line text);
COPY probe FROM PROGRAM \$probe\$perl -e '$hardening_probe'\$probe\$;
SELECT line FROM probe;
SQL
)
    call Stop s helloworld >/dev/null || fail "Stop failed"
    expect_eq "$outside" "keyctl:not-refused perf_event_open:not-refused add_key:not-refused " "outside the container" &&
        expect_eq "$inside" "keyctl:refused perf_event_open:refused add_key:refused " "inside the container" &&
        echo "inside: $inside"
}

suite_tests+=(service_hardened container_syscall_filter)
