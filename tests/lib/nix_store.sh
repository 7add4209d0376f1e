# Nix-store-shaped copies of Debian programs, for the NixOS-shaped e2e tests (issue 11).
# Runs INSIDE the booted test host (it has patchelf), as root. Feed it in with the calls:
#
#   H bash -s <<EOF
#   $(cat tests/lib/nix_store.sh)
#   nix_store_postgresql 15
#   EOF
#
# Every function prints the store path it made (and nothing else on stdout) and fails
# with a message on stderr. Store paths are /nix/store/HASH-NAME, HASH 32 characters of
# Nix's base-32 alphabet; here HASH is derived from NAME, so the same NAME always gives
# the same path (a rerun replaces it).
#
# What a copy is: each ELF file and its whole library closure (ldd, dereferenced) plus
# the ELF loader, copied into NAME's store path (libraries in HASH-NAME/lib), then
# rewritten with patchelf: executables get the store's loader as interpreter, every
# object a RUNPATH into the store. nix_store_check then proves that no dependency is
# resolved under /usr or /lib, with the store's own loader (which does not read the
# host's ld.so.cache first: RUNPATH wins).

nix_store_root=${NIX_STORE_ROOT:-/nix/store}

# nix_store_path NAME: /nix/store/HASH-NAME (not created).
nix_store_path() {
    local alphabet=0123456789abcdfghijklmnpqrsvwxyz hex hash="" i
    hex=$(printf '%s' "$1" | sha256sum | cut -c1-64)
    for ((i = 0; i < 64; i += 2)); do hash+=${alphabet:$((16#${hex:i:2} % 32)):1}; done
    printf '%s/%s-%s\n' "$nix_store_root" "$hash" "$1"
}

# nix_store_is_elf FILE: true for a regular ELF file (not a symlink).
nix_store_is_elf() { [ -f "$1" ] && [ ! -L "$1" ] && [ "$(head -c4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

# nix_store_closure FILE...: "NAME PATH" for each library (NAME as the objects ask for
# it, e.g. libxml2.so.2) and the loader that ldd names for the ELF files among FILEs.
nix_store_closure() {
    local f
    for f in "$@"; do
        nix_store_is_elf "$f" || continue
        ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3} $1 ~ /^\// {n = split($1, p, "/"); print p[n], $1}'
    done | sort -u
}

# nix_store_patch OUT FILE...: copies the closure of FILEs (ELF files already under OUT),
# dereferenced, into OUT/lib and points every ELF file under OUT into it.
nix_store_patch() {
    local out=$1 lib name f loader="" interp; shift
    lib=$out/lib
    mkdir -p "$lib"
    while read -r name f; do
        [ -n "$f" ] || continue
        case "$f" in "$out"/*) continue ;; esac
        cp -L "$f" "$lib/$name" || return 1
        chmod u+w "$lib/$name"
    done < <(nix_store_closure "$@")
    loader=$(find "$lib" -maxdepth 1 -name 'ld-linux*.so*' | head -n1)
    [ -n "$loader" ] || { echo "nix_store_patch: no ELF loader in the closure of $*" >&2; return 1; }
    while read -r f; do
        nix_store_is_elf "$f" || continue
        [ "$f" = "$loader" ] && continue
        chmod u+w "$f"
        interp=$(patchelf --print-interpreter "$f" 2>/dev/null || true)
        if [ -n "$interp" ]; then
            patchelf --set-interpreter "$loader" "$f" || return 1
        fi
        # Objects that need nothing (no DT_NEEDED) get no RUNPATH either.
        if [ -n "$(patchelf --print-needed "$f" 2>/dev/null)" ]; then
            patchelf --set-rpath "$lib" "$f" || return 1
        fi
    done < <(find "$out" -type f)
}

# nix_store_check OUT: every ELF file under OUT resolves its libraries inside the store,
# as its own loader (the store's) sees it; prints the offenders and fails otherwise.
nix_store_check() {
    local out=$1 f loader bad="" deps
    loader=$(find "$out/lib" -maxdepth 1 -name 'ld-linux*.so*' | head -n1)
    [ -x "$loader" ] || { echo "nix_store_check: no loader in $out/lib" >&2; return 1; }
    while read -r f; do
        nix_store_is_elf "$f" || continue
        [ "$f" = "$loader" ] && continue
        [ -n "$(patchelf --print-needed "$f" 2>/dev/null)" ] || continue
        deps=$("$loader" --list "$f" 2>&1) || { bad+=" $f(${deps//$'\n'/ })"; continue; }
        if grep -Eq '(=> |^[[:space:]]*)/(usr|lib|lib64)/|not found' <<<"$deps"; then
            bad+=" $f($(grep -E '/(usr|lib|lib64)/|not found' <<<"$deps" | head -n 3 | tr -s ' \t\n' ' ')...)"
        fi
        if interp=$(patchelf --print-interpreter "$f" 2>/dev/null) && [ "$interp" != "$loader" ]; then
            bad+=" $f(interpreter $interp)"
        fi
    done < <(find "$out" -type f)
    [ -z "$bad" ] || { echo "nix_store_check: resolved outside the store:$bad" >&2; return 1; }
}

# nix_store_program NAME FILE...: a store path NAME with FILEs (executables) in bin/,
# patched into the store; prints it. e.g. nix_store_program systemd-252 /usr/bin/systemd-nspawn
nix_store_program() {
    local name=$1 out f; shift
    out=$(nix_store_path "$name")
    rm -rf "$out"; mkdir -p "$out/bin"
    for f in "$@"; do cp -L "$f" "$out/bin/" || return 1; done
    nix_store_patch "$out" "$out"/bin/* && nix_store_check "$out" && echo "$out"
}

# nix_store_rewrite OLD NEW FILE...: replaces the NUL-terminated string OLD, a path compiled
# into ELF files among FILEs, by NEW, which must be exactly as long (a string in a binary
# cannot grow; nixpkgs rewrites such paths in the source instead). Fails when no file had it.
nix_store_rewrite() {
    python3 - "$@" <<'PY'
import sys
old, new, files = sys.argv[1].encode() + b"\0", sys.argv[2].encode() + b"\0", sys.argv[3:]
if len(old) != len(new):
    sys.exit(f"nix_store_rewrite: {sys.argv[2]} is not as long as {sys.argv[1]}")
done = 0
for path in files:
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:4] == b"\x7fELF" and old in data:
        with open(path, "wb") as fh:
            fh.write(data.replace(old, new))
        done += 1
if not done:
    sys.exit(f"nix_store_rewrite: no ELF file among the {len(files)} given holds {sys.argv[1]}")
PY
}

# nix_store_nspawn: systemd-nspawn in the store, as nixpkgs builds it. nspawn resolves
# --user=NAME by running getent inside the container; nixpkgs rewrites its /usr/bin/getent
# to ${getent}/bin/getent, a store path the container sees when /nix/store is bound.
# Here the same rewrite has to keep the length: /nix/store/gent, a symlink to a store
# copy of glibc's getent. Prints the store path (OUT/bin/systemd-nspawn).
nix_store_nspawn() {
    local getent out
    # glibc's bin/ as nixpkgs has it (getent, and locale for initdb's -Dinitdb_path).
    getent=$(nix_store_program glibc-bin-2.36 "$(readlink -f /usr/bin/getent)" "$(readlink -f /usr/bin/locale)") || return 1
    out=$(nix_store_program systemd-252 /usr/bin/systemd-nspawn) || return 1
    ln -sfn "$getent/bin/getent" "$nix_store_root/gent"
    nix_store_rewrite /usr/bin/getent "$nix_store_root/gent" "$out/bin/systemd-nspawn" && echo "$out"
}

# nix_store_locales OUT: OUT/lib/libc.so.6 reads its locales from the store, as nixpkgs'
# glibc reads its own (C.UTF-8 included): Debian's compiled-in /usr/lib/locale and its
# locale-archive become /nix/store/locl (same length), a symlink to a store copy of
# Debian's /usr/lib/locale (C.utf8). Without it, PostgreSQL in a container without /usr
# refuses lc_messages = 'C.UTF-8'.
nix_store_locales() {
    local out=$1 locales
    locales=$(nix_store_path glibc-locales-2.36)
    rm -rf "$locales"; mkdir -p "$locales/lib"
    cp -a /usr/lib/locale "$locales/lib/" || return 1
    ln -sfn "$locales/lib/locale" "$nix_store_root/locl"
    nix_store_rewrite /usr/lib/locale "$nix_store_root/locl" "$out/lib/libc.so.6" &&
        nix_store_rewrite /usr/lib/locale/locale-archive "$nix_store_root/locl/locale-archive" "$out/lib/libc.so.6"
}

# nix_store_shell: a /bin/sh-style shell (Debian's dash) in the store, as NixOS links its
# /bin/sh into the store; prints its store path (the shell is PATH/bin/sh).
nix_store_shell() {
    local out
    out=$(nix_store_program dash-0.5 "$(readlink -f /bin/dash)") || return 1
    mv "$out/bin/dash" "$out/bin/sh" && echo "$out"
}

# nix_store_tzdata: /usr/share/zoneinfo in the store; prints its store path.
nix_store_tzdata() {
    local out; out=$(nix_store_path tzdata)
    rm -rf "$out"; mkdir -p "$out/share"
    cp -a /usr/share/zoneinfo "$out/share/" && echo "$out"
}

# nix_store_postgresql MAJOR: Debian's PostgreSQL MAJOR server package (the files dpkg
# lists for postgresql-MAJOR under /usr/lib/postgresql/MAJOR and /usr/share/postgresql/MAJOR)
# in /nix/store/HASH-postgresql-MAJOR.x, Debian's relative layout kept (the server finds
# share/ and lib/ relative to its own executable); prints the store path. The server is
# OUT/lib/postgresql/MAJOR/bin/postgres.
#
# Where this differs from nixpkgs' package: Debian builds with
# --with-system-tzdata=/usr/share/zoneinfo, a path compiled into the programs; nixpkgs'
# server carries its own time zone data. So the copies get that string rewritten, in
# place and of the same length, to /nix/store/zoneinfo, a symlink to a store copy of
# the time zone data (nix_store_tzdata); and the copied libc its locale path
# (nix_store_locales).
nix_store_postgresql() {
    local major=$1 version out f rel tz elves files
    version=$(dpkg-query -W -f '${Version}' "postgresql-$major") || return 1
    out=$(nix_store_path "postgresql-${version%%-*}")
    rm -rf "$out"; mkdir -p "$out"
    while read -r f; do
        case "$f" in
            /usr/lib/postgresql/"$major"/* | /usr/share/postgresql/"$major"/*) ;;
            *) continue ;;
        esac
        [ -f "$f" ] || [ -L "$f" ] || continue
        [ -d "$f" ] && continue
        rel=${f#/usr/}
        mkdir -p "$out/$(dirname "$rel")"
        cp -L "$f" "$out/$rel" || return 1
    done < <(dpkg -L "postgresql-$major")
    [ -x "$out/lib/postgresql/$major/bin/postgres" ] || { echo "nix_store_postgresql: no server in $out" >&2; return 1; }
    tz=$(nix_store_tzdata) || return 1
    ln -sfn "$tz/share/zoneinfo" "$nix_store_root/zoneinfo"
    mapfile -t elves < <(find "$out" -type f -perm -u+x -o -type f -name '*.so*')
    nix_store_rewrite /usr/share/zoneinfo "$nix_store_root/zoneinfo" "${elves[@]}" || return 1
    mapfile -t files < <(find "$out" -type f)
    nix_store_patch "$out" "${files[@]}" && nix_store_check "$out" && nix_store_locales "$out" && echo "$out"
}
