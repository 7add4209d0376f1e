# Databases for tests (issue 10): the configured role may create databases (createdb,
# default true) so Django's test runner and the sqlx::test pattern work as the
# DATABASE_URL role, as an unprivileged developer in the group pgnspawn; createdb = false
# refuses, and flipping it applies on the next start (the warm-start shortcut does not
# skip it); durability = "fast" runs PostgreSQL with fsync, synchronous_commit and
# full_page_writes off; ephemeral = true keeps the data on a tmpfs (/run/pgnspawn), gone
# at Stop, a fresh cluster at every start. Its three instances are added to /etc/pgnspawn/pgnspawn.toml by
# the first test and removed by the last (the other suites count the instances).
# Sourced by run.sh.

tdb_user=tdbdev
tdb_root() { printf '%s/root' "${PGNSPAWN_TESTHOST_DIR:-/var/tmp/pgnspawn-testhost}"; }
# tdb_as_dev CMD: CMD (a shell command line) run by tdbdev with `pgnspawnctl env testdbs`
# evaluated first, as a developer's shell would.
tdb_as_dev() {
    H setpriv --reuid="$tdb_user" --regid="$tdb_user" --init-groups env HOME="/home/$tdb_user" \
        bash -c "cd \"\$HOME\" && eval \"\$(pgnspawnctl env ${2:-testdbs})\" && $1" 2>&1
}
tdb_su() { H psql -h "/var/lib/pgnspawn/$1/run" -p "$2" -U postgres -d postgres -XAtqc "$3" 2>&1; }

t_testdbs_setup() {
    H sh -c 'cp /etc/pgnspawn/pgnspawn.toml /etc/pgnspawn/pgnspawn.toml.before-testdbs
             cat >> /etc/pgnspawn/pgnspawn.toml <<EOT

[instances.testdbs]
port = 5441
user = "tdb"
database = "tdbdb"
password = "tdb-pw-8812"
durability = "fast"

[instances.nocreate]
port = 5442
password = "nocreate-pw-5521"
createdb = false

[instances.ephem]
port = 5443
password = "ephem-pw-3390"
ephemeral = true
EOT
             systemctl try-reload-or-restart pgnspawnd
             getent group pgnspawn >/dev/null || groupadd --system pgnspawn
             id tdbdev >/dev/null 2>&1 || useradd --create-home --groups pgnspawn tdbdev' ||
        fail "cannot set up the testdbs instances and user"
    local i
    for i in $(seq 1 50); do
        [ "$(prop testdbs State 2>/dev/null)" = 's "stopped"' ] && return 0
        sleep 0.1
    done
    fail "instance testdbs did not appear after the reload"
}

t_testdbs_django_test_runner() {
    local root out
    call Start s testdbs >/dev/null || fail "Start of testdbs failed"
    root=$(tdb_root)
    # A tiny project: settings from the environment, one app with a model, its migration
    # and a TestCase that writes and reads a row.
    mkdir -p "$root/home/$tdb_user/proj/shop/migrations" || fail "cannot write the project"
    cat >"$root/home/$tdb_user/proj/settings.py" <<'PY'
import os
SECRET_KEY = "testdbs-not-secret"
INSTALLED_APPS = ["shop"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": os.environ["PGDATABASE"], "USER": os.environ["PGUSER"],
    "PASSWORD": os.environ["PGPASSWORD"], "HOST": os.environ["PGHOST"], "PORT": os.environ["PGPORT"],
}}
PY
    : >"$root/home/$tdb_user/proj/shop/__init__.py"
    : >"$root/home/$tdb_user/proj/shop/migrations/__init__.py"
    cat >"$root/home/$tdb_user/proj/shop/models.py" <<'PY'
from django.db import models

class Item(models.Model):
    name = models.CharField(max_length=50)
PY
    cat >"$root/home/$tdb_user/proj/shop/migrations/0001_initial.py" <<'PY'
from django.db import migrations, models

class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [migrations.CreateModel(name="Item", fields=[
        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
        ("name", models.CharField(max_length=50)),
    ])]
PY
    cat >"$root/home/$tdb_user/proj/shop/tests.py" <<'PY'
from django.db import connection
from django.test import TestCase
from shop.models import Item

class ItemTest(TestCase):
    def test_write_and_read(self):
        Item.objects.create(name="widget")
        self.assertEqual(Item.objects.get().name, "widget")
        self.assertEqual(connection.settings_dict["NAME"], "test_tdbdb")
PY
    H chown -R "$tdb_user:" "/home/$tdb_user/proj" || fail "chown failed"
    out=$(tdb_as_dev 'cd proj && PYTHONPATH=. python3 -m django test --settings=settings -v 1') ||
        fail "django test failed: $out"
    expect_match "$out" "Creating test database for alias 'default'" || return 1
    expect_match "$out" 'Ran 1 test' || return 1
    expect_match "$out" '^OK$' || return 1
    expect_eq "$(tdb_su testdbs 5441 "SELECT count(*) FROM pg_database WHERE datname = 'test_tdbdb'")" 0 \
        "test_tdbdb left behind" || return 1
    # The password is not in the journal.
    expect_no_match "$(H journalctl -o cat --no-pager -n 500)" 'tdb-pw-8812'
}

t_testdbs_sqlx_pattern() {
    local out name="_sqlx_test_$$"
    call Start s testdbs >/dev/null || fail "Start of testdbs failed"
    # #[sqlx::test]: one database per test, created and dropped as the DATABASE_URL role.
    out=$(tdb_as_dev "psql \"\$DATABASE_URL\" -XAtqc 'CREATE DATABASE \"$name\"' &&
        psql \"\$DATABASE_URL\" -XAtqc \"SELECT count(*) FROM pg_database WHERE datname = '$name'\" &&
        psql \"\$DATABASE_URL\" -XAtqc 'DROP DATABASE \"$name\"' &&
        psql \"\$DATABASE_URL\" -XAtqc \"SELECT count(*) FROM pg_database WHERE datname = '$name'\"") ||
        fail "create/drop as the DATABASE_URL role failed: $out"
    expect_eq "$out" $'1\n0' "the database existed, then not"
}

t_testdbs_fast_durability() {
    local out
    call Start s testdbs >/dev/null || fail "Start of testdbs failed"
    out=$(tdb_as_dev "psql -XAtqc 'SHOW fsync' -c 'SHOW synchronous_commit' -c 'SHOW full_page_writes'") ||
        fail "SHOW failed: $out"
    expect_eq "$out" $'off\noff\noff' "fsync, synchronous_commit, full_page_writes of a fast instance" || return 1
    # The default stays durable.
    call Start s second >/dev/null || fail "Start of second failed"
    out=$(psql_second 'SHOW fsync')
    call Stop s second >/dev/null
    expect_eq "$out" on "fsync of a durable instance"
}

t_testdbs_createdb_false_then_true() {
    local out t
    call Start s nocreate >/dev/null || fail "Start of nocreate failed"
    out=$(tdb_as_dev "psql -XAtqc 'CREATE DATABASE nc_x'" nocreate)
    expect_match "$out" 'permission denied to create database' || return 1
    # What Django's test runner said before createdb existed (the project of the Django test).
    out=$(tdb_as_dev 'cd proj && PYTHONPATH=. python3 -m django test --settings=settings --noinput' nocreate) &&
        fail "django test passed without CREATEDB: $out"
    expect_match "$out" 'Got an error creating the test database: permission denied to create database' || return 1
    call Stop s nocreate >/dev/null || fail "Stop of nocreate failed"
    H sed -i 's/^createdb = false$/createdb = true/' /etc/pgnspawn/pgnspawn.toml || fail "cannot edit the configuration"
    H systemctl reload pgnspawnd || fail "reload failed"
    sleep 1
    t=$(date +%s)
    call Start s nocreate >/dev/null || fail "Start of nocreate with createdb = true failed"
    out=$(tdb_as_dev "psql -XAtqc 'CREATE DATABASE nc_x' -c 'DROP DATABASE nc_x' -c 'SELECT 1'" nocreate)
    expect_eq "$out" 1 "CREATE DATABASE after createdb = true, a reload and a restart" || return 1
    expect_match "$(H journalctl -u pgnspawnd -o cat --no-pager --since "@$t")" \
        'Provisioning the role and database of instance nocreate again: the role lacks CREATEDB' || return 1
    # And back: a warm start takes CREATEDB away again.
    call Stop s nocreate >/dev/null || fail "Stop of nocreate failed"
    H sed -i 's/^createdb = true$/createdb = false/' /etc/pgnspawn/pgnspawn.toml || fail "cannot edit the configuration"
    H systemctl reload pgnspawnd || fail "reload failed"
    sleep 1
    call Start s nocreate >/dev/null || fail "Start of nocreate with createdb = false again failed"
    expect_eq "$(tdb_su nocreate 5442 "SELECT rolcreatedb, rolsuper FROM pg_roles WHERE rolname = 'nocreate'")" 'f|f' \
        "nocreate's attributes"
}

t_testdbs_ephemeral() {
    local out
    call Start s ephem >/dev/null || fail "Start of ephem failed"
    out=$(tdb_as_dev "psql -XAtqc 'CREATE TABLE t (x int)' -c 'INSERT INTO t VALUES (42)' -c 'SELECT x FROM t'" ephem)
    expect_eq "$out" 42 "a row written to the ephemeral instance" || return 1
    expect_eq "$(H findmnt -n -o FSTYPE -T /run/pgnspawn/ephem/data)" tmpfs "the data directory's file system" || return 1
    H test -f /run/pgnspawn/ephem/data/PG_VERSION || fail "no cluster in /run/pgnspawn/ephem/data"
    H test ! -e /var/lib/pgnspawn/ephem/data || fail "/var/lib/pgnspawn/ephem/data exists"
    call Stop s ephem >/dev/null || fail "Stop of ephem failed"
    H test ! -e /run/pgnspawn/ephem/data || fail "the data directory is still there after Stop"
    out=$(H find /var/lib/pgnspawn/ephem /run/pgnspawn/ephem \( -name PG_VERSION -o -name base -o -name pg_wal \) -print)
    expect_eq "$out" "" "cluster files left after Stop" || return 1
    call Start s ephem >/dev/null || fail "second Start of ephem failed"
    out=$(tdb_as_dev "psql -XAtqc 'SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()'" ephem)
    call Stop s ephem >/dev/null
    expect_eq "$out" 0 "tables after Stop and Start"
}

t_testdbs_teardown() {
    call Stop s testdbs >/dev/null 2>&1
    call Stop s nocreate >/dev/null 2>&1
    call Stop s ephem >/dev/null 2>&1
    H sh -c 'mv /etc/pgnspawn/pgnspawn.toml.before-testdbs /etc/pgnspawn/pgnspawn.toml && systemctl reload pgnspawnd' ||
        fail "cannot restore the configuration"
}

suite_tests+=(testdbs_setup testdbs_django_test_runner testdbs_sqlx_pattern testdbs_fast_durability
    testdbs_createdb_false_then_true testdbs_ephemeral testdbs_teardown)
