#!/usr/bin/env python3
"""Process-tree CPU for benches/peers/run.sh, read from /proc.

    cpu.py seconds PID...   CPU seconds (user + system) the trees rooted at
                            these PIDs have used so far: each live process's
                            utime+stime, plus cutime+cstime (the children it
                            has already reaped), so a worker or backend that
                            exited is still counted, once.
    cpu.py tree PID...      the PIDs of those trees, roots first
    cpu.py listener PORT    the PID of the PostgreSQL postmaster (or other
                            server) started with `port=PORT` / `--port PORT`
                            in its command line
"""

import os
import re
import sys

TICK = os.sysconf("SC_CLK_TCK")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    # comm may hold spaces and parentheses: the fields start after the last ')'.
    rest = s[s.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); ppid is field 4, utime..cstime fields 14..17.
    return int(rest[1]), sum(int(x) for x in rest[11:15])


def snapshot():
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                procs[int(d)] = stat(d)
            except (OSError, ValueError):
                pass  # gone meanwhile
    return procs


def tree(roots, procs):
    children = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [r for r in roots if r in procs]
    while todo:
        pid = todo.pop(0)
        if pid not in out:
            out.append(pid)
            todo.extend(children.get(pid, []))
    return out


def listener(port):
    pattern = re.compile(rf"(port=|--port ){port}\b")
    mentions = pattern.search
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if mentions(" ".join(args)):
            try:
                ppid, _ = stat(d)
                with open(f"/proc/{ppid}/cmdline", "rb") as f:
                    parent = f.read().decode(errors="replace").replace("\0", " ")
            except OSError:
                parent = ""
            if not mentions(parent):
                return int(d)
    return None


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "listener":
        pid = listener(args[0])
        if pid is None:
            sys.exit(f"cpu.py: no process started with port {args[0]}")
        print(pid)
        return
    roots = [int(a) for a in args if a]
    procs = snapshot()
    pids = tree(roots, procs)
    if cmd == "tree":
        print(" ".join(map(str, pids)))
    elif cmd == "seconds":
        print(f"{sum(procs[p][1] for p in pids) / TICK:.2f}")
    else:
        sys.exit(f"cpu.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
