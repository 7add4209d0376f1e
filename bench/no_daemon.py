#!/usr/bin/env python3
"""Ten containers started as pgnspawnd starts them, without pgnspawnd (bench/trace.sh).

    no_daemon.py STOPPED_INSTANCE_UNIT_DIR T0_FILE ENDS_DIR USER PASSWORD DATABASE INSTANCE...

For each INSTANCE (stopped, but started by the daemon before): the transient unit the daemon
last ran (its /run/systemd/transient/pgnspawn-INSTANCE.service, copied by trace.sh into
STOPPED_INSTANCE_UNIT_DIR while it ran) is started again under another unit and machine
name with `systemd-run`, with the same command line and properties. Then, as Start does:
wait for "ready" in postmaster.pid (polled every 2 ms), and make a round trip as the user over
TCP (psycopg2; SCRAM, SELECT 1). Each instance's end time goes to ENDS_DIR/INSTANCE. What
this leaves out is pgnspawnd itself: its D-Bus calls, its leftover checks, its bookkeeping.
"""
import os
import shlex
import subprocess
import sys
import threading
import time

import psycopg2


def unit_command(path, instance):
    """systemd-run arguments for the unit file the daemon wrote for `instance`."""
    props, argv = [], None
    for line in open(path):
        line = line.strip()
        if "=" not in line or line.startswith("#"):
            continue
        key, value = line.split("=", 1)
        if key == "ExecStart" and value:
            argv = shlex.split(value)
        elif key in ("Type", "NotifyAccess", "KillMode", "Delegate", "Slice", "Environment", "SystemCallFilter",
                     "SystemCallArchitectures", "SystemCallErrorNumber", "TimeoutStopSec"):
            props += ["-p", f"{key}={value}"]
    if not argv:
        raise SystemExit(f"no ExecStart= in {path}")
    argv = [a.replace(f"--machine=pgnspawn-{instance}", f"--machine=nodaemon-{instance}") for a in argv]
    return ["systemd-run", "--quiet", "--no-block", f"--unit=nodaemon-{instance}", "-p",
            "CollectMode=inactive-or-failed"] + props + argv


def data_dir(argv):
    for a in argv:
        if a.startswith("--bind=") and a.endswith(":/var/lib/postgresql/data"):
            return a[len("--bind="):-len(":/var/lib/postgresql/data")]
    raise SystemExit("no data directory bind in the unit's command line")


def port(argv):
    for i, a in enumerate(argv):
        if a == "-c" and argv[i + 1].startswith("port="):
            return int(argv[i + 1][len("port="):])
    raise SystemExit("no port in the unit's command line")


def main():
    units, t0_file, ends, user, password, database, *instances = sys.argv[1:]
    commands = {i: unit_command(os.path.join(units, f"pgnspawn-{i}.service"), i) for i in instances}
    t0 = time.time_ns()
    with open(t0_file, "w") as f:
        f.write("%d\n" % t0)
    for command in commands.values():
        subprocess.Popen(command)
    not_before = t0 // 10**9

    def start(instance):
        argv = commands[instance]
        pid_file = os.path.join(data_dir(argv), "postmaster.pid")
        while True:
            try:
                lines = open(pid_file).read().split("\n")
                if len(lines) > 7 and lines[7].strip() == "ready" and int(lines[2]) >= not_before:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.002)
        conn = psycopg2.connect(host="127.0.0.1", port=port(argv), user=user, password=password, dbname=database,
                                sslmode="disable", gssencmode="disable")
        conn.cursor().execute("SELECT 1")
        conn.close()
        with open(os.path.join(ends, instance), "w") as f:
            f.write("%d\n" % time.time_ns())

    threads = [threading.Thread(target=start, args=(i,)) for i in instances]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
