# A NixOS-system-toplevel-shaped store path for the `nixos` image's e2e test (issue 11),
# built from Debian's systemd and PostgreSQL copied into /nix/store with
# tests/lib/nix_store.sh (whose functions it uses: feed both in, that one first).
# Runs INSIDE the booted test host, as root:
#
#   H bash -s <<EOF
#   $(cat tests/lib/nix_store.sh tests/lib/nixos_toplevel.sh)
#   nixos_toplevel pgtest 5441 nixuser nixdb
#   EOF
#
# prints /nix/store/HASH-nixos-system-pgtest-…, whose `init` pgnspawn runs as PID 1 in
# its empty root with /nix/store bound read-only. What it holds follows a real toplevel:
#
#   init       stage 2 (nixos/modules/system/boot/stage-2-init.sh): runs `activate`,
#              links /run/booted-system, execs the toplevel's systemd
#   activate   the activation script: /etc/static -> the etc store path and /etc/NAME ->
#              /etc/static/NAME (setup-etc.pl), /etc/passwd and /etc/group written as files
#              (update-users-groups.pl), /bin/sh -> the store's shell, /var/run -> /run,
#              /run/current-system
#   systemd    -> systemd's store path (lib/systemd/systemd and the helpers it runs)
#   etc        -> the etc store path: systemd/system (units with store paths, .wants
#              links), systemd/network, os-release, nsswitch.conf
#
# The guest does what nix/container.nix declares: postgresql.service as NixOS writes it
# (StateDirectory /var/lib/postgresql/15, initdb in preStart, postgresql.conf linked from
# the store, hba_file in the store, ensureDatabases/ensureUsers in postStart, SIGINT and
# KillMode=mixed), and pgnspawn-role-password.service setting the role's password at
# every boot from the system credential pgnspawn.password (which pgnspawnd hands to a
# booted guest); networkd's DHCP client on host0.
#
# Where it must differ from a real toplevel (say so when it matters):
# - The programs are Debian's, relocated: Debian's systemd has /lib/systemd/systemd-shutdown
#   compiled in (nixpkgs' has its store path), so `activate` also links that one path
#   in the container's root; nothing else outside /nix/store is linked or bound.
# - Locales: Debian's C.utf8 directory in the store, reached through LOCPATH in systemd's
#   DefaultEnvironment (NixOS sets LOCALE_ARCHIVE to glibcLocales' archive there).
# - Debian's systemd has /bin/umount compiled in: unmounting at shutdown logs a failure
#   (harmless in a container, whose mounts go with it).
# - /etc is linked entry by entry at the top level (setup-etc.pl links each file).
# - The users are written whole, not merged with existing ones; no /etc/shadow.
# - No dbus, nscd, logind, firewall or resolved in the guest: only journald, networkd and
#   the two PostgreSQL units (a NixOS container runs more; none is on pgnspawn's path).
# - The store paths' hashes come from their names, not from their contents.

# nixos_text_file OUT REL MODE: stdin into OUT/REL (OUT a store path being made).
nixos_text_file() {
    mkdir -p "$(dirname "$1/$2")" && cat >"$1/$2" && chmod "$3" "$1/$2"
}

# nixos_systemd: Debian's systemd (PID 1 and the helpers this guest runs) in the store,
# lib/systemd/ as in nixpkgs; prints its store path.
nixos_systemd() {
    local out f
    out=$(nix_store_path systemd-252.39) || return 1
    rm -rf "$out"; mkdir -p "$out/lib/systemd" "$out/bin"
    for f in systemd systemd-shutdown systemd-journald systemd-networkd; do
        cp -L "/lib/systemd/$f" "$out/lib/systemd/" || return 1
    done
    cp -L /bin/systemctl "$out/bin/" || return 1
    nix_store_patch "$out" "$out"/lib/systemd/systemd* "$out/bin/systemctl" && nix_store_check "$out" && echo "$out"
}

# nixos_units OUT SYSTEMD: Debian's units this guest needs, copied into OUT with their
# programs' paths pointed into SYSTEMD's store path.
nixos_units() {
    local out=$1 sd=$2 u
    mkdir -p "$out"
    for u in basic.target sysinit.target sockets.target timers.target paths.target local-fs.target \
        local-fs-pre.target swap.target slices.target multi-user.target network.target network-pre.target \
        network-online.target shutdown.target umount.target final.target poweroff.target halt.target \
        reboot.target exit.target systemd-poweroff.service systemd-halt.service systemd-reboot.service \
        systemd-exit.service systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket \
        systemd-networkd.service systemd-networkd.socket; do
        sed -e "s|/lib/systemd/|$sd/lib/systemd/|g" -e '/^ExecReload=networkctl/d' -e "s|^ExecStart=systemctl |ExecStart=$sd/bin/systemctl |" \
            -e 's/ systemd-journald-audit.socket//g' "/lib/systemd/system/$u" >"$out/$u" || return 1
    done
    ln -s multi-user.target "$out/default.target"
}

# nixos_toplevel NAME PORT USER DATABASE: the toplevel; prints its store path.
nixos_toplevel() {
    local name=$1 port=$2 user=$3 database=$4
    local sh cu pg pgc sd loc etc units conf scripts top
    sh=$(nix_store_shell) || return 1
    cu=$(nix_store_program coreutils-9.1 /bin/cat /bin/chmod /bin/chown /bin/cp /bin/ln /bin/mkdir /bin/rm \
        /bin/sleep /bin/touch /usr/bin/tr /usr/bin/wc /bin/sed /bin/grep) || return 1
    pg=$(nix_store_postgresql 15) || return 1
    pgc=$(nix_store_program postgresql-client-15 /usr/lib/postgresql/15/bin/psql) || return 1
    sd=$(nixos_systemd) || return 1
    # Debian's C.UTF-8 locale (initdb needs a usable one). NixOS points LOCALE_ARCHIVE at
    # glibcLocales' archive; Debian's C.utf8 is a directory, so LOCPATH points at it.
    loc=$(nix_store_path glibc-locales-C.utf8) || return 1
    rm -rf "$loc"; mkdir -p "$loc/lib/locale"
    cp -a /usr/lib/locale/C.utf8 "$loc/lib/locale/" || return 1
    local pgbin=$pg/lib/postgresql/15/bin path="PATH=$pg/lib/postgresql/15/bin:$pgc/bin:$cu/bin"

    # PostgreSQL's configuration as nixpkgs' module writes it: postgresql.conf and
    # pg_hba.conf in the store (nix/container.nix's authentication and settings).
    conf=$(nix_store_path "postgresql-config-$name")
    rm -rf "$conf"
    nixos_text_file "$conf" pg_hba.conf 0444 <<EOF
local all all              peer
host  all all 0.0.0.0/0    scram-sha-256
host  all all ::/0         scram-sha-256
EOF
    nixos_text_file "$conf" postgresql.conf 0444 <<EOF
hba_file = '$conf/pg_hba.conf'
listen_addresses = '*'
log_destination = 'stderr'
password_encryption = 'scram-sha-256'
port = $port
unix_socket_directories = '/run/postgresql'
EOF

    # The units' scripts (nixpkgs: /nix/store/…-unit-script-NAME/bin/NAME).
    scripts=$(nix_store_path "unit-scripts-$name")
    rm -rf "$scripts"
    nixos_text_file "$scripts" bin/postgresql-pre-start 0555 <<EOF
#!$sh/bin/sh
set -e
if ! test -e "\$PGDATA/PG_VERSION"; then
  rm -f "\$PGDATA"/*.conf
  initdb -U postgres
  touch "\$PGDATA/.first_startup"
fi
ln -sfn "$conf/postgresql.conf" "\$PGDATA/postgresql.conf"
EOF
    # ensureDatabases/ensureUsers as nixpkgs' postStart does them (psql -tAc … | grep -q 1 || …).
    nixos_text_file "$scripts" bin/postgresql-post-start 0555 <<EOF
#!$sh/bin/sh
set -e
PSQL="psql --port=$port"
while ! \$PSQL -d postgres -c "" 2>/dev/null; do
  if ! kill -0 "\$MAINPID"; then exit 1; fi
  sleep 0.1
done
rm -f "\$PGDATA/.first_startup"
\$PSQL -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1 || \$PSQL -tAc 'CREATE DATABASE "$database"'
\$PSQL -tAc "SELECT 1 FROM pg_roles WHERE rolname='$user'" | grep -q 1 || \$PSQL -tAc 'CREATE USER "$user"'
\$PSQL -tAc 'ALTER ROLE "$user" LOGIN'
EOF
    # nix/container.nix's pgnspawn-role-password script, with its paths resolved.
    nixos_text_file "$scripts" bin/pgnspawn-role-password-start 0555 <<EOF
#!$sh/bin/sh
set -e
pw="\$CREDENTIALS_DIRECTORY/password"
if [ "\$(tr -d '\r\n' < "\$pw" | wc -c)" -eq 0 ]; then
  echo "/run/credentials/@system/pgnspawn.password is empty; not setting a password for $user" >&2
  exit 1
fi
if [ "\$(tr -d '\r' < "\$pw" | sed -e '\$a\\' | wc -l)" -ne 1 ]; then
  echo "/run/credentials/@system/pgnspawn.password must hold the password on a single line" >&2
  exit 1
fi
psql -X -q -v ON_ERROR_STOP=1 --port=$port --dbname=postgres <<'SQL'
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SET password_encryption = 'scram-sha-256';
\set password \`tr -d '\r\n' < "\$CREDENTIALS_DIRECTORY/password"\`
ALTER ROLE "$user" WITH LOGIN PASSWORD :'password';
ALTER DATABASE "$database" OWNER TO "$user";
SQL
EOF

    units=$(nix_store_path "system-units-$name")
    rm -rf "$units"
    nixos_units "$units" "$sd" || return 1
    nixos_text_file "$units" postgresql.service 0444 <<EOF
[Unit]
Description=PostgreSQL Server
After=network.target

[Service]
Type=notify
User=postgres
Group=postgres
Environment="$path" "PGDATA=/var/lib/postgresql/15"
StateDirectory=postgresql postgresql/15
StateDirectoryMode=0750
RuntimeDirectory=postgresql
ExecStartPre=$scripts/bin/postgresql-pre-start
ExecStart=$pgbin/postgres
ExecStartPost=$scripts/bin/postgresql-post-start
KillSignal=SIGINT
KillMode=mixed
TimeoutSec=120
EOF
    nixos_text_file "$units" pgnspawn-role-password.service 0444 <<EOF
[Unit]
Description=Set the password of PostgreSQL role $user from /run/credentials/@system/pgnspawn.password
After=postgresql.service postgresql-setup.service
Requires=postgresql.service

[Service]
Type=oneshot
RemainAfterExit=true
User=postgres
Environment="$path"
LoadCredential=password:/run/credentials/@system/pgnspawn.password
ExecStart=$scripts/bin/pgnspawn-role-password-start
EOF
    mkdir -p "$units/multi-user.target.wants" "$units/sockets.target.wants" "$units/sysinit.target.wants"
    ln -s ../postgresql.service ../pgnspawn-role-password.service ../systemd-networkd.service \
        "$units/multi-user.target.wants/"
    ln -s ../systemd-journald.socket ../systemd-journald-dev-log.socket ../systemd-networkd.socket \
        "$units/sockets.target.wants/"
    ln -s ../systemd-journald.service "$units/sysinit.target.wants/"

    etc=$(nix_store_path "etc-$name")
    rm -rf "$etc"; mkdir -p "$etc/etc/systemd/network"
    ln -s "$units" "$etc/etc/systemd/system"
    cp /lib/systemd/network/80-container-host0.network "$etc/etc/systemd/network/"
    printf 'NAME=NixOS\nID=nixos\nVERSION_ID="24.05"\nPRETTY_NAME="NixOS 24.05 (simulated from Debian by pgnspawn tests)"\n' |
        nixos_text_file "$etc" etc/os-release 0444
    printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' | nixos_text_file "$etc" etc/nsswitch.conf 0444
    echo "$name" | nixos_text_file "$etc" etc/hostname 0444
    echo "LANG=C.UTF-8" | nixos_text_file "$etc" etc/locale.conf 0444
    printf '[Manager]\nDefaultEnvironment="LOCPATH=%s/lib/locale" "PATH=%s/bin"\n' "$loc" "$cu" |
        nixos_text_file "$etc" etc/systemd/system.conf 0444
    # NixOS's fixed ids: postgres 71, systemd-network 152, systemd-journal 190.
    printf '%s\n' "root:x:0:0:System administrator:/root:$sh/bin/sh" \
        "postgres:x:71:71:PostgreSQL server user:/var/lib/postgresql:$sh/bin/sh" \
        "systemd-network:x:152:152:systemd-networkd daemon user:/var/empty:/run/current-system/sw/bin/nologin" \
        "nobody:x:65534:65534:Unprivileged account:/var/empty:/run/current-system/sw/bin/nologin" |
        nixos_text_file "$etc" users/passwd 0444
    printf '%s\n' root:x:0: postgres:x:71: systemd-network:x:152: systemd-journal:x:190: nogroup:x:65534: |
        nixos_text_file "$etc" users/group 0444

    top=$(nix_store_path "nixos-system-$name-24.05.20260101.debian")
    rm -rf "$top"; mkdir -p "$top"
    ln -s "$etc/etc" "$top/etc"
    ln -s "$sd" "$top/systemd"
    echo "24.05.20260101.debian" >"$top/nixos-version"
    nixos_text_file "$top" activate 0555 <<EOF
#!$sh/bin/sh
# The activation script (a NixOS one is generated from system.activationScripts).
set -e
systemConfig=$top
export PATH=$cu/bin
mkdir -p -m 0755 /etc /bin /lib/systemd /var/lib /var/log /run
mkdir -p -m 1777 /tmp
# etc: /etc/static -> the etc store path, each entry linked from /etc.
ln -sfn "\$systemConfig/etc" /etc/static
for f in /etc/static/*; do
  n=\${f##*/}
  rm -rf "/etc/\$n"
  ln -s "/etc/static/\$n" "/etc/\$n"
done
# users: written as files.
cp $etc/users/passwd /etc/passwd; cp $etc/users/group /etc/group
chmod 0644 /etc/passwd /etc/group
# binsh, var.
ln -sfn $sh/bin/sh /bin/sh
ln -sfn /run /var/run
# Not NixOS: Debian's systemd execs this compiled-in path to power off.
ln -sfn $sd/lib/systemd/systemd-shutdown /lib/systemd/systemd-shutdown
ln -sfn "\$systemConfig" /run/current-system
EOF
    nixos_text_file "$top" init 0555 <<EOF
#!$sh/bin/sh
# Stage 2 of a NixOS boot, as far as a container needs it (nspawn has mounted /proc,
# /sys, /dev and /run): activate, then systemd as PID 1.
systemConfig=$top
export PATH=$cu/bin
echo "<<< NixOS Stage 2 >>>"
"\$systemConfig/activate" || echo "Activation script failed" >&2
ln -sfn "\$systemConfig" /run/booted-system
exec "\$systemConfig/systemd/lib/systemd/systemd" "\$@"
EOF
    echo "$top"
}
