#!/usr/bin/env python3
"""Per-phase timeline of ten starts at once, read inside the test host (bench/trace.sh).

    trace_timeline.py pgnspawn T0_NS ENDS_DIR      journal since T0 + busctl end times
    trace_timeline.py bare T0_NS ENDS_DIR LOGS...  postgres logs (log_line_prefix '%n ') + ends

Prints one line per event: its offset from T0 in ms, median / min / max over the instances
that logged it, in the order of the medians.
"""
import json
import os
import re
import statistics
import subprocess
import sys


def ends(t0_ns, directory):
    out = {}
    for name in os.listdir(directory):
        with open(os.path.join(directory, name)) as f:
            out[name] = (int(f.read().strip()) - t0_ns) / 1e6
    return out


def pgnspawn_events(t0_ns):
    since = "@%d" % (t0_ns // 10**9 - 1)
    text = subprocess.run(["journalctl", "--since", since, "-o", "json", "--no-pager"],
                          capture_output=True, text=True, check=True).stdout
    events = {}
    for line in text.splitlines():
        e = json.loads(line)
        t = (int(e["__REALTIME_TIMESTAMP"]) * 1000 - t0_ns) / 1e6
        if t < 0:
            continue
        msg = e.get("MESSAGE", "")
        if isinstance(msg, list):
            continue
        unit = e.get("_SYSTEMD_UNIT", "")
        inst = e.get("PGNSPAWN_INSTANCE", "") or e.get("UNIT", "") or e.get("OBJECT_SYSTEMD_UNIT", "")
        m = re.search(r"pgnspawn-(par\d+)", inst) or re.search(r"^(par\d+)$", inst)
        if unit == "pgnspawnd.service":
            m = m or re.search(r"instance (par\d+)", msg) or re.search(r"pgnspawn-(par\d+)", msg)
            step = re.match(r"Starting instance par\d+: (.*)\.$", msg)
            if step:
                key = "daemon: " + step.group(1)
            elif msg.startswith("systemd queued the start job"):
                key = "daemon: systemd queued the start job"
            else:
                key = "daemon: " + re.sub(r"par\d+", "N", msg)[:40]
        elif unit.startswith("pgnspawn-par"):
            m = re.search(r"pgnspawn-(par\d+)", unit)
            if "ready to accept" in msg:
                key = "postgres: ready to accept connections"
            elif "starting PostgreSQL" in msg:
                key = "postgres: starting"
            else:
                continue
        elif e.get("_PID") == "1" and m:
            key = "systemd: " + re.sub(r"pgnspawn.*", "", msg)[:40]
        elif e.get("_COMM") == "systemd-machine":
            m = re.search(r"pgnspawn-(par\d+)", msg)
            key = "machined: " + re.sub(r"pgnspawn-par\d+", "M", msg)[:40]
        else:
            continue
        if not m:
            continue
        events.setdefault(key, {}).setdefault(m.group(1), t)  # first occurrence
    return events


def bare_events(t0_ns, logs):
    events = {}
    for path in logs:
        k = os.path.basename(os.path.dirname(path))
        with open(path) as f:
            for line in f:
                m = re.match(r"(\d+\.\d+) .*?(ready to accept|starting PostgreSQL)", line)
                if not m:
                    continue
                t = float(m.group(1)) * 1000 - t0_ns / 1e6
                if t < 0:
                    continue
                key = "postgres: " + ("ready to accept connections" if "ready" in m.group(2) else "starting")
                events.setdefault(key, {}).setdefault(k, t)
    return events


def main():
    kind, t0_ns, ends_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    events = pgnspawn_events(t0_ns) if kind == "pgnspawn" else bare_events(t0_ns, sys.argv[4:])
    events["client: call returned" if kind == "pgnspawn" else "client: pg_ctl returned"] = ends(t0_ns, ends_dir)
    rows = []
    for key, per in events.items():
        v = sorted(per.values())
        rows.append((statistics.median(v), v[0], v[-1], len(v), key))
    rows.sort()
    print(f"{kind}: ms after the ten were sent          median      min      max   n   step (median per instance)")
    prev = None
    for med, lo, hi, n, key in rows:
        step = ""
        if prev is not None:
            d = [events[key][i] - events[prev][i] for i in events[key] if i in events[prev]]
            step = f"{statistics.median(d):8.1f}" if d else ""
        print(f"  {key[:46]:<46} {med:8.1f} {lo:8.1f} {hi:8.1f} {n:3d} {step}")
        prev = key


main()
