# The TOML the NixOS module writes (nix/lib/toml.nix, golden file nix/tests/example.toml,
# kept equal to the generator by tests/nix/check.sh) is accepted by the daemon's own
# parser (issue 4). Runs in the test host, which has PostgreSQL 15. Sourced by run.sh.

nix_golden="$here/../../nix/tests/example.toml"

t_nix_golden_config_valid() {
    local out rc bad_out bad_rc
    [ -f "$nix_golden" ] || fail "no $nix_golden"
    H sh -c 'cat > /tmp/nix.toml' <"$nix_golden"
    # The example's password files, as an administrator would provide them.
    H sh -c 'umask 077; echo nixdev-secret > /etc/pgnspawn/nixdev.pass; echo scratch-secret > /etc/pgnspawn/scratch.pass'
    out=$(H pgnspawnd --check-config --config /tmp/nix.toml 2>&1); rc=$?
    # The same file with one key misspelt must be refused: --check-config really parses it.
    H sed -i 's/^host_port =/hostport =/' /tmp/nix.toml
    bad_out=$(H pgnspawnd --check-config --config /tmp/nix.toml 2>&1); bad_rc=$?
    H rm -f /tmp/nix.toml /etc/pgnspawn/nixdev.pass /etc/pgnspawn/scratch.pass
    expect_eq "$rc" 0 "pgnspawnd --check-config on the golden file: $out" || return 1
    expect_match "$out" 'OK, 4 instance\(s\): declared .*, helloworld .*, nixdev .*, scratch ' || return 1
    expect_eq "$bad_rc" 1 "a misspelt key must be refused: $bad_out" || return 1
    expect_match "$bad_out" '^/tmp/nix.toml:[0-9]+:1: unknown key "hostport" in instance "nixdev"' || return 1
    echo "${out#/tmp/nix.toml: }"
}

suite_tests+=(nix_golden_config_valid)
