# Sanitizer pass of the e2e tests (E2E_EXTRA=tests/e2e/sanitizers, see tests/run-all.sh).
# Sourced by tests/e2e/run.sh after the host has booted with BUILDDIR built with
# -Db_sanitize=address,undefined; etc/ has been copied over the host's /etc: a drop-in
# that gives pgnspawnd its sanitizer options, and the world-writable report directory.
# Every other process the tests run in the host (pgnspawnctl, pgnspawnd --check-config,
# as root or as nobody) gets the same options through testhost.sh exec, so a report
# from a client is kept even when the test would not notice it.
# ASan (and LeakSanitizer) reports go to files in $sanitizer_log_dir; UBSan reports to
# syslog, i.e. the host's journal: GCC 12's libubsan is a library of its own next to
# libasan and ignores log_path (it still prints to stderr as well).
# The last test, sanitizer_reports, stops the daemon (LeakSanitizer checks at exit) and
# fails on any report file or journal line of a sanitizer, printing them.
sanitizer_log_dir=/var/log/pgnspawn-sanitizer
export ASAN_OPTIONS="log_path=$sanitizer_log_dir/asan:log_exe_name=1:detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="log_to_syslog=1:print_stacktrace=1:halt_on_error=1"
# LeakSanitizer stops the daemon's threads with ptrace(2) at exit; a SystemCallFilter=
# in the unit (@system-service has no ptrace) makes it die with "LeakSanitizer has
# encountered a fatal error". Allow ptrace in that case only: a drop-in saying
# SystemCallFilter=ptrace to a unit without a filter would allow nothing else (systemd
# shows no filter as "~", an empty deny list).
case "$(H systemctl show pgnspawnd -p SystemCallFilter --value)" in
    "" | "~") ;;
    *)
        H sh -c 'printf "[Service]\nSystemCallFilter=ptrace\n" >/etc/systemd/system/pgnspawnd.service.d/sanitizers-ptrace.conf' &&
        H systemctl daemon-reload ;;
esac

t_sanitizer_reports() {
    local bin env result reports journal f
    for bin in /usr/sbin/pgnspawnd /usr/bin/pgnspawnctl; do
        H ldd "$bin" | grep -q 'libasan\.so' && H ldd "$bin" | grep -q 'libubsan\.so' ||
            fail "$bin is not built with ASan and UBSan" || return 1
    done
    env=$(H systemctl show pgnspawnd -p Environment --value)
    expect_match "$env" "ASAN_OPTIONS=log_path=$sanitizer_log_dir/" || return 1
    expect_match "$env" "UBSAN_OPTIONS=log_to_syslog=1" || return 1
    H test -d "$sanitizer_log_dir" || fail "$sanitizer_log_dir is missing" || return 1
    # LeakSanitizer runs when the daemon exits; SIGTERM makes it leave its event loop.
    H systemctl stop pgnspawnd || fail "stopping pgnspawnd failed" || return 1
    result=$(H systemctl show pgnspawnd -p Result --value)
    reports=$(H find "$sanitizer_log_dir" -type f | sort)
    journal=$(H journalctl -b --no-pager -o short-monotonic |
        grep -E -A 30 'runtime error: |Sanitizer|==[0-9]+==ERROR' | head -n 300)
    if [ -n "$reports" ] || [ -n "$journal" ]; then
        echo "sanitizer reports in the test host:"
        for f in $reports; do
            echo "==> $f <=="
            H head -n 200 "$f"
        done
        [ -z "$journal" ] || printf '==> journal <==\n%s\n' "$journal"
        return 1
    fi
    expect_eq "$result" success "pgnspawnd's result after stop" &&
        echo "no reports from pgnspawnd or the clients; LeakSanitizer checked the daemon's exit"
}
final_tests+=(sanitizer_reports)
