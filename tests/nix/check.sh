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

# 2b. The same golden file from the values as the NixOS module hands them over (issue 11):
# attrsOf submodule values, every option of module.nix present, null where unset
# (nix/tests/nixos-shaped.nix reads the options from the module itself).
shaped="import $PWD/nix/tests/nixos-shaped.nix"
rendered=$(mktemp)
why=
if ! out=$(nix_eval "import $PWD/nix/lib/toml.nix (($shaped).shape (import $PWD/nix/tests/example-instances.nix))" \
        2>&1 >"$rendered"); then
    why="the generator failed on NixOS-shaped values: $out"
elif ! diff_out=$(diff -u nix/tests/example.toml "$rendered"); then
    why="NixOS-shaped values give another TOML: $diff_out"
else
    # The shaping is not a no-op: each instance carries every option, most of them null.
    out=$(nix_eval "let s = $shaped; v = s.shape (import $PWD/nix/tests/example-instances.nix); in
        builtins.concatStringsSep \" \" (map (n: n + \":\" + toString (builtins.length (builtins.attrNames v.\${n}))
          + \":\" + toString (builtins.length (builtins.filter (k: v.\${n}.\${k} == null) (builtins.attrNames v.\${n}))))
        (builtins.attrNames v))" 2>&1)
    n=$(nix_eval "toString (builtins.length ($shaped).options)")
    # Every example instance (one per word) carries all n options, at least one of them null.
    instances=$(nix_eval "toString (builtins.length (builtins.attrNames (import $PWD/nix/tests/example-instances.nix)))")
    [ "$n" -ge 17 ] && [ "$(wc -w <<<"$out")" = "$instances" ] &&
        [ -z "$(tr ' ' '\n' <<<"$out" | grep -Ev "^[a-z0-9_-]+:$n:[1-9][0-9]*$")" ] ||
        why="shaped values (instance:options:nulls, of $n options, $instances instances): $out"
fi
rm -f "$rendered"
verdict nix_golden_toml_from_nixos_shaped_values "$([ -z "$why" ]; echo $?)" "$why"

# 2c. The module declares exactly the keys the generator knows: a declared option the
# generator did not know would pass while null and break the first configuration that
# sets it (the generator names its keys when it refuses an unknown one).
module_keys=$(nix_eval "builtins.concatStringsSep \" \" (import $PWD/nix/tests/nixos-shaped.nix).options" 2>&1)
generator_keys=$(nix_eval "import $PWD/nix/lib/toml.nix { x = { port = 1; password = \"p\"; no_such_key = 1; }; }" 2>&1 |
    sed -n 's/.*(known keys: \([^)]*\)).*/\1/p' | tr -d ',' | tr ' ' '\n' | sort | tr '\n' ' ')
module_keys=$(tr ' ' '\n' <<<"$module_keys" | sort | tr '\n' ' ')
verdict nix_module_options_are_the_generator_keys "$([ -n "$generator_keys" ] && [ "$module_keys" = "$generator_keys" ]; echo $?)" \
    "module.nix declares [$module_keys], the generator knows [$generator_keys]"

# 2d. Only where nixpkgs' lib is at hand (NIXPKGS_LIB=DIR, e.g. a checkout of
# github:nix-community/nixpkgs.lib's lib/; CI has none and cannot fetch): the module's
# instances option evaluated by lib.evalModules itself gives the golden file too.
if [ -n "${NIXPKGS_LIB:-}" ]; then
    expr="let lib = import $NIXPKGS_LIB; e = lib.evalModules { specialArgs.pkgs = { };
        modules = [ $PWD/nix/module.nix { _module.check = false;
          services.pgnspawn.instances = import $PWD/nix/tests/example-instances.nix; } ]; };
      in import $PWD/nix/lib/toml.nix e.config.services.pgnspawn.instances"
    rendered=$(mktemp)
    if ! out=$(nix_eval "$expr" 2>&1 >"$rendered"); then
        verdict nix_golden_toml_from_evalmodules 1 "lib.evalModules: $out"
    else
        diff_out=$(diff -u nix/tests/example.toml "$rendered"); verdict nix_golden_toml_from_evalmodules $? "$diff_out"
    fi
    rm -f "$rendered"
else
    echo "# not run: nix_golden_toml_from_evalmodules (needs NIXPKGS_LIB=path to nixpkgs' lib/)"
fi

# 3. The golden file is TOML, and holds what the example says (independent of the generator).
why=$(python3 - nix/tests/example.toml <<'PY' 2>&1
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    doc = tomllib.load(f)
inst = doc["instances"]
assert list(doc) == ["instances"], list(doc)
assert sorted(inst) == ["declared", "helloworld", "nixdev", "scratch"], sorted(inst)
assert inst["helloworld"]["password"] == 'hello "world" \\ tab\there', repr(inst["helloworld"]["password"])
assert inst["helloworld"]["version"] == 15 and inst["helloworld"]["autostart"] is False
n = inst["nixdev"]
assert n["image"] == "nixos" and n["network"] == "private" and n["port"] == 5440 and n["host_port"] == 15440, n
assert n["toplevel"].startswith("/nix/store/") and n["password_file"] == "/etc/pgnspawn/nixdev.pass", n
assert "password" not in n and "image" not in inst["scratch"], "null or unset keys must be left out"
assert inst["helloworld"]["createdb"] is True and inst["helloworld"]["superuser"] is False, inst["helloworld"]
assert inst["scratch"]["durability"] == "fast" and inst["scratch"]["ephemeral"] is True and "createdb" not in n, (inst["scratch"], n)
d = inst["declared"]
assert d["settings"] == {"auto_explain.log_min_duration": "250ms", "jit": False, "log_statement": "all", "max_connections": 200, "random_page_cost": 1.5}, d
assert d["initial_script"] == "/etc/pgnspawn/declared-init.sql" and d["databases"] == ["app_test", "app-dev"] and d["extensions"] == ["pg_trgm", "postgis"], d
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
    '{ x = { port = 1; password = "p"; initial_script = "i.sql"; }; }' '"initial_script" must be an absolute path'
    '{ x = { port = 1; password = "p"; databases = [ "a;b" ]; }; }' '"databases" must be a list of names'
    '{ x = { port = 1; password = "p"; extensions = "postgis"; }; }' '"extensions" must be a list of names'
    '{ x = { port = 1; password = "p"; settings = [ ]; }; }'       '"settings" must be an attribute set'
    '{ x = { port = 1; password = "p"; settings = { "a b" = 1; }; }; }' 'setting "a b" must be named like'
    '{ x = { port = 1; password = "p"; settings = { jit = [ ]; }; }; }' 'setting "jit" must be a string, an integer'
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

# 5. The [created] table (port range and quota of created instances).
why=
out=$(nix_eval "import $PWD/nix/lib/created-toml.nix { port_min = 6000; port_max = null; quota = 2; }" 2>&1)
[ "$out" = $'\n[created]\nport_min = 6000\nquota = 2' ] || why+="rendered [$out]; "
out=$(nix_eval "import $PWD/nix/lib/created-toml.nix { port_min = null; port_max = null; quota = null; }" 2>&1)
[ -z "$out" ] || why+="all null rendered [$out]; "
for bad in '{ quota = -1; }' '{ port_min = 0; }' '{ ports = 1; }' '{ port_min = 7000; port_max = 6000; }'; do
    nix_eval "import $PWD/nix/lib/created-toml.nix $bad" >/dev/null 2>&1 && why+="accepted $bad; "
done
verdict nix_created_table "$([ -z "$why" ]; echo $?)" "$why"

# 6. No FHS path in daemon/ or units/ that is not a build option, and nix/package.nix sets
#    the program options to store paths (issue 11).
why=$(python3 tests/nix/fhs_paths.py 2>&1)
verdict no_fhs_paths_in_daemon_or_units $? "$why"

exit "$failed"
