# Declarative depth (issue 12 item 3): settings take effect on the server; a value
# PostgreSQL refuses fails Start with PostgreSQL's own message; a setting pgnspawn owns
# is refused by the parser; initial_script runs exactly once per cluster, and a failing
# one fails the first Start with the script's error and runs again at the next
# (initial_sql, the script's text, runs once too); the
# databases of `databases` exist, owned by the user; extensions work in each of the
# user's databases (postgis from postgresql-15-postgis-3, pg_trgm from the server), a
# missing one names its package; a warm start applies a changed list. Its instances are
# added to /etc/pgnspawn/pgnspawn.toml by the first test and removed by the last (the
# other suites count the instances). Sourced by run.sh.

decl_pw='decl-pw-4471'
decl_seed=/etc/pgnspawn/decl-seed.sql
decl_broken=/etc/pgnspawn/decl-broken.sql
decl_conf=/etc/pgnspawn/pgnspawn.toml
decl_su() { H psql -h "/var/lib/pgnspawn/$1/run" -p "$2" -U postgres -d "${4:-postgres}" -XAtqc "$3" 2>&1; }
decl_as_user() { psql_at 127.0.0.1 5451 decl "$1" "$decl_pw" "$2"; }
# The instances; decl's databases, extensions and work_mem are $1, $2 (TOML arrays), $3.
decl_toml() {
    local databases=${1:-'["decl_a", "decl_b"]'} extensions=${2:-'["pg_trgm", "postgis"]'} work_mem=${3:-7MB}
    cat <<EOF

[instances.decl]
port = 5451
user = "decl"
database = "decldb"
password = "$decl_pw"
settings = { log_statement = "all", work_mem = "$work_mem", random_page_cost = 1.5, jit = false }
initial_script = "$decl_seed"
databases = $databases
extensions = $extensions

[instances.declbad]
port = 5452
password = "declbad-pw"
settings = { max_connections = "lots" }

[instances.declscript]
port = 5453
password = "declscript-pw"
initial_script = "$decl_broken"

[instances.declvec]
port = 5454
password = "declvec-pw"
extensions = ["vector"]

[instances.declsql]
port = 5455
password = "declsql-pw"
initial_sql = """
CREATE TABLE inline_seed (n int);
INSERT INTO inline_seed VALUES (42);
"""
EOF
}
decl_write_conf() {
    { H cat "$decl_conf.before-declare" && decl_toml "$@"; } | H sh -c "cat > $decl_conf.new && mv $decl_conf.new $decl_conf" &&
        H systemctl try-reload-or-restart pgnspawnd
}
decl_wait_instance() {
    local i
    for i in $(seq 1 50); do
        [ "$(prop "$1" State 2>/dev/null)" = 's "stopped"' ] && return 0
        sleep 0.1
    done
    fail "instance $1 did not appear (stopped) after the reload"
}

t_declare_setup() {
    H sh -c "cp $decl_conf $decl_conf.before-declare
             printf '%s\n' 'CREATE TABLE seed (n int);' 'INSERT INTO seed VALUES (1);' > $decl_seed
             printf '%s\n' 'CREATE TABLE half (n int);' 'INSERT INTO no_such_table VALUES (1);' > $decl_broken" ||
        fail "cannot write the scripts"
    decl_write_conf || fail "cannot add the declare instances"
    decl_wait_instance decl && decl_wait_instance declvec
}

t_declare_settings_take_effect() {
    local out
    out=$(call Start s decl 2>&1) || fail "Start of decl failed: $out"
    expect_eq "$(decl_as_user decldb 'SHOW log_statement')" all "log_statement" || return 1
    expect_eq "$(decl_as_user decldb 'SHOW work_mem')" 7MB "work_mem" || return 1
    expect_eq "$(decl_as_user decldb 'SHOW random_page_cost')" 1.5 "random_page_cost" || return 1
    expect_eq "$(decl_as_user decldb 'SHOW jit')" off "jit"
}

t_declare_refused_value_fails_start_with_postgresqls_message() {
    local out
    out=$(dsend Start string:declbad)
    expect_match "$out" 'org.pgnspawn1.Error.StartFailed' || return 1
    expect_match "$out" 'invalid value for parameter \\?"max_connections\\?": \\?"lots\\?"' || return 1
    expect_eq "$(prop declbad State)" 's "failed"' "declbad's state"
}

t_declare_owned_setting_refused_by_check_config() {
    local out
    H sh -c "printf '%s\n' '[instances.x]' 'port = 5459' 'password = \"x\"' 'settings = { listen_addresses = \"*\" }' > /tmp/decl-owned.toml" ||
        fail "cannot write /tmp/decl-owned.toml"
    if out=$(H pgnspawnd --check-config --config /tmp/decl-owned.toml 2>&1); then fail "accepted: $out"; fi
    expect_eq "$out" '/tmp/decl-owned.toml:4:33: setting "listen_addresses" is set by pgnspawn: use the instance'"'"'s "listen_address"'
}

t_declare_databases_owned_by_the_user() {
    local out
    out=$(decl_su decl 5451 "SELECT string_agg(datname || ':' || pg_get_userbyid(datdba), ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'decl%'")
    expect_eq "$out" 'decl_a:decl,decl_b:decl,decldb:decl' "databases and owners" || return 1
    out=$(decl_as_user decl_b 'SELECT current_database()') && expect_eq "$out" decl_b "the user in decl_b"
}

t_declare_extensions_in_each_database() {
    local db out
    for db in decldb decl_a decl_b; do
        out=$(decl_as_user "$db" "SELECT postgis_version() IS NOT NULL, similarity('postgres', 'postgis') > 0")
        expect_eq "$out" 't|t' "postgis_version() and similarity() in $db" || return 1
    done
    out=$(decl_as_user decl_a "SELECT ST_AsText(ST_MakePoint(1, 2))") && expect_eq "$out" 'POINT(1 2)' "PostGIS in decl_a"
}

t_declare_initial_script_ran_once() {
    local out
    expect_eq "$(decl_su decl 5451 'SELECT count(*) FROM seed' decldb)" 1 "seed rows after the first start" || return 1
    expect_eq "$(decl_su decl 5451 "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'seed'" decldb)" \
        postgres "the script ran as postgres" || return 1
    call Stop s decl >/dev/null || fail "Stop of decl failed"
    out=$(call Start s decl 2>&1) || fail "second Start of decl failed: $out"
    expect_eq "$(decl_su decl 5451 'SELECT count(*) FROM seed' decldb)" 1 "seed rows after the second start"
}

t_declare_initial_sql_ran_once() {
    local out i
    for i in 1 2; do
        out=$(call Start s declsql 2>&1) || fail "Start $i of declsql failed: $out"
        expect_eq "$(decl_su declsql 5455 'SELECT string_agg(n::text, $$,$$) FROM inline_seed' declsql)" 42 \
            "rows of inline_seed after start $i" || return 1
        call Stop s declsql >/dev/null || fail "Stop of declsql failed"
    done
}

t_declare_failing_script_fails_start_then_runs_again() {
    local out
    out=$(dsend Start string:declscript)
    expect_match "$out" 'org.pgnspawn1.Error.StartFailed' || return 1
    expect_match "$out" "initial_script $decl_broken failed: .*relation \\\\?\"no_such_table\\\\?\" does not exist" || return 1
    H test ! -e /var/lib/pgnspawn/declscript/data/pgnspawn-initial-script.done || fail "marker written after a failure"
    H sh -c "printf '%s\n' 'CREATE TABLE half (n int);' 'INSERT INTO half VALUES (2);' > $decl_broken" || fail "cannot fix the script"
    out=$(call Start s declscript 2>&1) || fail "Start after fixing the script failed: $out"
    # The failed run left nothing (one transaction); the fixed one ran.
    expect_eq "$(decl_su declscript 5453 'SELECT string_agg(n::text, $$,$$) FROM half' declscript)" 2 "rows of half" || return 1
    call Stop s declscript >/dev/null || fail "Stop of declscript failed"
}

t_declare_missing_extension_names_its_package() {
    local out
    out=$(dsend Start string:declvec)
    expect_match "$out" 'org.pgnspawn1.Error.StartFailed' || return 1
    expect_match "$out" 'cannot create extension \\?"vector\\?" in database \\?"declvec\\?"' || return 1
    expect_match "$out" 'pgvector is not packaged in Debian bookworm.*p.pgvector'
}

t_declare_warm_start_applies_changed_lists() {
    local out
    call Stop s decl >/dev/null || fail "Stop of decl failed"
    decl_write_conf '["decl_a", "decl_b", "decl_c"]' '["pg_trgm", "postgis", "hstore"]' 9MB ||
        fail "cannot change decl's lists"
    out=$(H pgnspawnd --check-config 2>&1) || fail "the changed configuration is refused: $out"
    sleep 1  # the reload is applied when the daemon handles SIGHUP
    out=$(call Start s decl 2>&1) || fail "warm Start of decl failed: $out"
    expect_eq "$(decl_su decl 5451 "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'decl_c'")" decl \
        "decl_c owned by decl" || return 1
    out=$(decl_as_user decl_c "SELECT 'a=>1'::hstore -> 'a', postgis_version() IS NOT NULL")
    expect_eq "$out" '1|t' "hstore and postgis in decl_c" || return 1
    expect_eq "$(decl_as_user decldb 'SHOW work_mem')" 9MB "work_mem after the warm start"
}

t_declare_teardown() {
    local i
    for i in decl declbad declscript declvec declsql; do call Stop s "$i" >/dev/null 2>&1; done
    H sh -c "mv $decl_conf.before-declare $decl_conf && rm -f $decl_seed $decl_broken /tmp/decl-owned.toml && systemctl try-reload-or-restart pgnspawnd" ||
        fail "cannot restore the configuration"
}

suite_tests+=(declare_setup declare_settings_take_effect declare_refused_value_fails_start_with_postgresqls_message
    declare_owned_setting_refused_by_check_config declare_databases_owned_by_the_user
    declare_extensions_in_each_database declare_initial_script_ran_once declare_initial_sql_ran_once
    declare_failing_script_fails_start_then_runs_again declare_missing_extension_names_its_package
    declare_warm_start_applies_changed_lists declare_teardown)
