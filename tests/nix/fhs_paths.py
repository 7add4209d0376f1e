#!/usr/bin/env python3
"""No FHS paths in daemon/ or units/ outside the build options (issue 11).

Every program the daemon runs and every host path it binds comes from a meson option
(meson_options.txt, passed as pgnspawn-config.h defines); nix/package.nix sets the
program options to store paths. This check fails on a string literal in daemon/*.cpp,
*.hpp that names a distribution path (/usr, /bin, /sbin, /lib, /lib64, /etc, /opt,
/var, /srv, /nix), on an Exec*= line of units/*.in whose command is not an absolute or
@substituted@ path, and on a program option that nix/package.nix does not set.
Kernel and runtime paths (/dev, /proc, /sys, /run, /tmp) are not distribution paths.

    python3 tests/nix/fhs_paths.py [ROOT]     prints the offences; exit status 1 if any
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
FHS = re.compile(r'(?<![\w.@-])/(usr|bin|sbin|lib|lib64|etc|opt|var|srv|nix)(?=/|$)')
LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)*"')
# Literals that name a path *inside* a container or a guest tree, not on the host; each
# is allowed in exactly one file.
ALLOWED = {
    ("daemon/images/layout.hpp", '"/var/lib/postgresql/data"'),  # the container's PGDATA
    ("daemon/images/boot_backend.cpp",  # a message about the guest tree's files
     '"directory {} is not an OS tree (it has no /etc/os-release or /usr/lib/os-release)"'),
}
PROGRAM_OPTIONS = ("nspawn_path", "kill_path", "initdb_path")

offences = []
for path in sorted((root / "daemon").rglob("*")):
    if path.suffix not in (".cpp", ".hpp"):
        continue
    rel = path.relative_to(root).as_posix()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("//", 1)[0] if line.lstrip().startswith("//") else line
        for literal in LITERAL.findall(code):
            if FHS.search(literal[1:-1]) and (rel, literal) not in ALLOWED:
                offences.append(f"{rel}:{number}: {literal} (make it a meson option, see meson_options.txt)")

for path in sorted((root / "units").glob("*.in")):
    rel = path.relative_to(root).as_posix()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("#"):
            continue
        m = re.match(r"(Exec\w*)=[-:+!]*(\S+)", line)
        if m and not (m.group(2).startswith("/") or m.group(2).startswith("@")):
            offences.append(f"{rel}:{number}: {m.group(1)}= runs {m.group(2)!r} by PATH lookup (NixOS has no "
                            "such PATH): substitute an absolute path from a meson option")
        for word in line.split("=", 1)[-1].split():
            if FHS.match(word):
                offences.append(f"{rel}:{number}: {word} (substitute it from a meson option)")

package = (root / "nix/package.nix").read_text()
for option in PROGRAM_OPTIONS:
    if f'mesonOption "{option}"' not in package:
        offences.append(f"nix/package.nix: does not set -D{option} to a store path")

print("\n".join(offences))
sys.exit(1 if offences else 0)
