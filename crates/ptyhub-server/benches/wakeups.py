#!/usr/bin/env python3
"""Who wakes whom, per keystroke and per ping, in a `load` bench run recorded
with `perf sched record -k CLOCK_MONOTONIC -a`: for the relay's and ptyhub's
timed loops (their windows and pids are on the bench's `run N windows:`
lines), each kind of wake-up per step, how often the woken thread ran on
another CPU than its waker's, and how long it waited for a CPU; then each
thread's runs, waits and run time per step.

    perf sched record -k CLOCK_MONOTONIC -a -o sched.data -- \\
        env LOAD_RUNS=1 LOAD_BYTES=1000000 LOAD_KEYS=5000 PTYHUB_BIN=... \\
        target/release/deps/load-<hash> --bench > load.out
    perf sched timehist -i sched.data -w -M > timehist.txt
    python3 crates/ptyhub-server/benches/wakeups.py load.out timehist.txt

Threads are named by role: `client` (the bench's thread), `kworker` (the
kernel's workqueue threads: a PTY hands bytes between its two sides in
them), and a server's threads as `relay#k` / `ptyhub#k`, k their rank by
thread id in the process: #0 is the main thread, #1 and #2 are tokio's
two workers (started first), higher ones tokio's blocking pool.
"""

import collections
import re
import sys

WINDOWS = re.compile(
    r"^run (\d+) windows: client pid (\d+) \| relay pid (\d+) keys ([\d.]+)-([\d.]+) "
    r"pings ([\d.]+)-([\d.]+) \| ptyhub pid (\d+) keys ([\d.]+)-([\d.]+) pings ([\d.]+)-([\d.]+)"
)
STEPS = re.compile(r"(\d+) keystrokes and (\d+) pings each")
TASK = r"(\S.*?)\[(\d+)(?:/(\d+))?\]"
WAKE = re.compile(r"^\s*([\d.]+)\s+\[(\d+)\]\s+" + TASK + r"\s+awakened: " + TASK)
RUN = re.compile(
    r"^\s*([\d.]+)\s+\[(\d+)\]\s+" + TASK + r"\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$"
)


def events(timehist):
    """(time, kind, fields) for every wake-up and every switch-out."""
    for line in open(timehist):
        m = WAKE.match(line)
        if m:
            yield float(m.group(1)), "wake", m
            continue
        m = RUN.match(line)
        if m:
            yield float(m.group(1)), "run", m


def report(lines, client, servers, window, steps):
    """The tables for one loop: `servers` maps a pid to its name."""
    t0, t1 = window
    # Every thread of the server in the whole recording, for their ranks.
    tids = collections.defaultdict(set)
    for t, kind, m in lines:
        if kind == "run" and m.group(5) in servers:
            tids[m.group(5)].add(int(m.group(4)))
    rank = {}
    for pid, seen in tids.items():
        for tid in seen:
            # The main thread's id is the pid; the others in order of birth.
            rank[str(tid)] = f"{servers[pid]}#{sum(1 for t in seen | {int(pid)} if t < tid)}"

    def role(name, tid, pid):
        if tid == client:
            return "client"
        if tid in rank:
            return rank[tid]
        if pid in servers:
            return f"{servers[pid]}#?"
        if name.startswith("kworker"):
            return "kworker"
        return name

    pending = {}
    wakes = collections.defaultdict(lambda: [0, 0, 0.0])
    runs = collections.defaultdict(lambda: [0, 0.0, 0.0])
    for t, kind, m in lines:
        if not t0 <= t <= t1:
            continue
        if kind == "wake":
            pending[m.group(7)] = (
                role(m.group(3), m.group(4), m.group(5)),
                int(m.group(2)),
                role(m.group(6), m.group(7), m.group(8)),
            )
            continue
        tid, cpu = m.group(4), int(m.group(2))
        who = role(m.group(3), tid, m.group(5))
        if who == "<idle>":
            continue
        delay, ran = float(m.group(7)) * 1000, float(m.group(8)) * 1000
        r = runs[who]
        r[0] += 1
        r[1] += delay
        r[2] += ran
        woken = pending.pop(tid, None)
        if woken:
            w = wakes[(woken[0], woken[2])]
            w[0] += 1
            w[1] += cpu != woken[1]
            w[2] += delay
    print("| waker → woken | per step | of which on another CPU | woken's wait for a CPU, µs |")
    print("| --- | --- | --- | --- |")
    for (waker, woken), (n, other, delay) in sorted(wakes.items(), key=lambda kv: -kv[1][0]):
        if n / steps >= 0.05:
            print(f"| {waker} → {woken} | {n / steps:.2f} | {other / steps:.2f} | {delay / n:.1f} |")
    print()
    print("| thread | runs per step | waits for a CPU, µs per step | runs, µs per step |")
    print("| --- | --- | --- | --- |")
    for who, (n, delay, ran) in sorted(runs.items(), key=lambda kv: -kv[1][2]):
        if n / steps >= 0.05:
            print(f"| {who} | {n / steps:.2f} | {delay / steps:.1f} | {ran / steps:.1f} |")
    print()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out, timehist = sys.argv[1], sys.argv[2]
    text = open(out).read()
    keys, pings = (int(n) for n in STEPS.search(text).groups())
    lines = list(events(timehist))
    for line in text.splitlines():
        m = WINDOWS.match(line)
        if not m:
            continue
        run, client = m.group(1), m.group(2)
        g = [float(x) if "." in x else x for x in m.groups()]
        relay, hub = {m.group(3): "relay"}, {m.group(8): "ptyhub"}
        for name, servers, window, steps in [
            ("relay, keystrokes", relay, (g[3], g[4]), keys),
            ("relay, pings", relay, (g[5], g[6]), pings),
            ("ptyhub, keystrokes", hub, (g[8], g[9]), keys),
            ("ptyhub, pings", hub, (g[10], g[11]), pings),
        ]:
            print(f"### run {run}, {name} ({steps} steps)")
            print()
            report(lines, client, servers, window, steps)


main()
