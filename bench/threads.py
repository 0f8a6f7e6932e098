#!/usr/bin/env python3
"""Runs a command and prints the CPU each of its threads used.

    bench/threads.py [--every MS] COMMAND [ARG ...]

Samples /proc/<pid>/task/*/schedstat while the command runs (every 2 ms by
default) and prints, per thread still seen at its last sample, the CPU time,
the time it waited runnable for a core, and its number of timeslices, with
the thread's name (flowlua names its own: flowlua.driver, flowlua.lua,
flowlua.recorder). With --every, also a timeline: the CPU each thread used
in each interval. Exits with the command's status.
"""
import os
import subprocess
import sys
import time


def snapshot(pid):
    threads = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return threads
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                cpu, wait, slices = (int(x) for x in f.read().split())
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except (OSError, ValueError):
            continue  # the thread ended meanwhile
        threads[tid] = (name, cpu, wait, slices)
    return threads


def main(argv):
    every, timeline = 0.002, False
    if len(argv) > 2 and argv[1] == "--every":
        every, timeline, argv = float(argv[2]) / 1000, True, argv[2:]
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    start = time.monotonic()
    child = subprocess.Popen(argv[1:])
    last, previous = {}, {}
    while child.poll() is None:
        now = snapshot(child.pid)
        if timeline and now:
            line = " ".join(f"{v[0][:15]}={(v[1] - previous.get(t, (0, 0))[1]) / 1e6:.1f}"
                            for t, v in sorted(now.items()) if v[1] - previous.get(t, (0, 0))[1] > 0)
            print(f"{time.monotonic() - start:7.3f}s {line}")
            previous = now
        last.update(now)
        time.sleep(every)
    print(f"wall {time.monotonic() - start:.3f} s")
    for tid, (name, cpu, wait, slices) in sorted(last.items(), key=lambda item: -item[1][1]):
        if cpu >= 1e6:
            print(f"{tid:>8} {name:<16} cpu {cpu / 1e6:8.1f} ms  waited {wait / 1e6:7.1f} ms  slices {slices:6d}")
    return child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
