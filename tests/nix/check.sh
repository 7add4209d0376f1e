#!/usr/bin/env bash
# What CI can check of nix/ without nixpkgs (issue 4): every .nix file parses, the TOML
# the NixOS module would write for nix/tests/example-instances.nix equals the golden file
# nix/tests/example.toml, that file is valid TOML, the generator refuses bad input, and
# daemon/ and units/ name no FHS path outside the build options (tests/nix/fhs_paths.py).
# (pgnspawnd --check-config on the golden file runs in the test host: tests/e2e/suites/nix.sh.)
#
#   bash tests/nix/check.sh RESULTS_FILE        appends "pass NAME" / "fail NAME" lines
#   bash tests/nix/check.sh --update            rewrites the golden file from the generator
#
# Needs Debian's nix-bin; no nix daemon, no store: "--store dummy://" evaluates without one.
set -uo pipefail
cd "$(dirname "$0")/../.."

nix_eval() {  # nix_eval EXPR: the string EXPR evaluates to, on stdout
    nix-instantiate --store dummy:// --eval --strict --json --expr "$1" |
        python3 -c 'import json, sys; sys.stdout.write(json.load(sys.stdin))'
}
render_example() { nix_eval "import $PWD/nix/lib/toml.nix (import $PWD/nix/tests/example-instances.nix)"; }

if [ "${1:-}" = --update ]; then
    render_example >nix/tests/example.toml && echo "wrote nix/tests/example.toml"
    exit
fi
results=${1:?usage: check.sh RESULTS_FILE | --update}
failed=0
# shellcheck source=../lib/verdict.sh
source tests/lib/verdict.sh

if ! command -v nix-instantiate >/dev/null; then
    verdict nix_tools 1 "nix-instantiate not found (apt-get install nix-bin; tests/deps.sh lists it)"
    exit 1
fi

# 1. Every .nix file parses.
mapfile -t files < <(find nix -name '*.nix' | sort)
bad=()
for f in "${files[@]}"; do
    nix-instantiate --store dummy:// --parse "$f" >/dev/null 2>/tmp/nix-parse.$$ || bad+=("$f: $(head -n 3 /tmp/nix-parse.$$)")
done
rm -f /tmp/nix-parse.$$
[ "${#files[@]}" -ge 6 ] || bad+=("only ${#files[@]} .nix files found under nix/")
verdict nix_files_parse "${#bad[@]}" "${bad[*]}"

# 2. The generator's output for the example equals the golden file.
rendered=$(mktemp)
if ! out=$(render_example 2>&1 >"$rendered"); then
    verdict nix_golden_toml_matches 1 "the generator failed: $out"
elif ! diff_out=$(diff -u nix/tests/example.toml "$rendered"); then
    verdict nix_golden_toml_matches 1 "$diff_out (if the change is intended: bash tests/nix/check.sh --update)"
else
    verdict nix_golden_toml_matches 0
fi
rm -f "$rendered"

# 3. The golden file is TOML, and holds what the example says (independent of the generator).
why=$(python3 - nix/tests/example.toml <<'PY' 2>&1
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    doc = tomllib.load(f)
inst = doc["instances"]
assert list(doc) == ["instances"], list(doc)
assert sorted(inst) == ["helloworld", "nixdev", "scratch"], sorted(inst)
assert inst["helloworld"]["password"] == 'hello "world" \\ tab\there', repr(inst["helloworld"]["password"])
assert inst["helloworld"]["version"] == 15 and inst["helloworld"]["autostart"] is False
n = inst["nixdev"]
assert n["image"] == "nixos" and n["network"] == "private" and n["port"] == 5440 and n["host_port"] == 15440, n
assert n["toplevel"].startswith("/nix/store/") and n["password_file"] == "/etc/pgnspawn/nixdev.pass", n
assert "password" not in n and "image" not in inst["scratch"], "null or unset keys must be left out"
assert inst["helloworld"]["createdb"] is True and inst["helloworld"]["superuser"] is False, inst["helloworld"]
assert inst["scratch"]["durability"] == "fast" and inst["scratch"]["ephemeral"] is True and "createdb" not in n, (inst["scratch"], n)
PY
)
verdict nix_golden_toml_is_valid $? "$why"

# 4. The generator refuses what the daemon would refuse, before anything is built.
refusals=(
    '{ "-x" = { port = 1; password = "p"; }; }'                    'instance name "-x" must be'
    '{ x = { port = 1; password = "p"; pasword = "q"; }; }'        'unknown key "pasword"'
    '{ x = { password = "p"; }; }'                                 'has no "port"'
    '{ x = { port = 1; }; }'                                       'exactly one of "password" and "password_file"'
    '{ x = { port = 1; password = "p"; password_file = "/f"; }; }' 'exactly one of "password" and "password_file"'
    '{ x = { port = 70000; password = "p"; }; }'                   '"port" must be an integer between 1 and 65535'
    '{ x = { port = 1; password = "p"; image = "docker"; }; }'     '"image" must be one of'
    '{ x = { port = 1; password = "p"; network = "bridge"; }; }'   '"network" must be one of'
    '{ x = { port = 1; password_file = "relative"; }; }'           '"password_file" must be an absolute path'
    '{ x = { port = 1; password = "p"; autostart = "yes"; }; }'    '"autostart" must be true or false'
    '{ x = { port = 1; password = "p"; createdb = "yes"; }; }'     '"createdb" must be true or false'
    '{ x = { port = 1; password = "p"; superuser = 1; }; }'        '"superuser" must be true or false'
    '{ x = { port = 1; password = "p"; durability = "unsafe"; }; }' '"durability" must be one of'
    '{ x = { port = 1; password = "p"; ephemeral = "yes"; }; }'    '"ephemeral" must be true or false'
)
why=
for ((i = 0; i < ${#refusals[@]}; i += 2)); do
    if out=$(nix_eval "import $PWD/nix/lib/toml.nix ${refusals[i]}" 2>&1); then
        why+="accepted ${refusals[i]}; "
    elif ! grep -qF -- "${refusals[i + 1]}" <<<"$out"; then
        why+="${refusals[i]}: expected '${refusals[i + 1]}', got: $(head -n 1 <<<"$out"); "
    fi
done
# ... and escapes every control character, so no value can break out of its string.
ctl='{ x = { port = 1; password = builtins.fromJSON "\"a\\u0001\\u001f\\u007f\\n\\\"b\""; }; }'
out=$(nix_eval "import $PWD/nix/lib/toml.nix $ctl" 2>&1)
grep -qF 'password = "a\u0001\u001F\u007F\n\"b"' <<<"$out" || why+="control characters not escaped: $out; "
verdict nix_toml_generator_refuses_bad_input "$([ -z "$why" ]; echo $?)" "$why"

# 5. No FHS path in daemon/ or units/ that is not a build option, and nix/package.nix sets
#    the program options to store paths (issue 11).
why=$(python3 tests/nix/fhs_paths.py 2>&1)
verdict no_fhs_paths_in_daemon_or_units $? "$why"

exit "$failed"
