#!/usr/bin/env python3
"""Scheduled jobs: `ibex init` with 20 crontab jobs against busybox crond and Debian's cron.

Each scheduler runs as PID 1 of a fresh PID namespace (`unshare --pid --fork --mount-proc`),
with the same 20 crontab lines, in the same invocation:

  * ibex        `ibex init --root ROOT`, ROOT/etc/ibex/crontab (ibex's own scheduler);
  * ibex-none   the same without the crontab: the baseline for the memory the scheduler adds;
  * busybox     `busybox crond -f -c DIR` (Debian's busybox), DIR/root;
  * cron        Debian's `cron -f` (Vixie cron), its /etc/cron.d, /etc/crontab and spool
                bind-mounted from a temporary directory in a private mount namespace.

Every job is bench/stamp.c: the first thing it does after execve is read CLOCK_REALTIME and
append it to a file.

1. Idle (all four at once): the 20 jobs are due once an hour, at a minute outside the window.
   For --idle seconds (default 65: at least one minute boundary) the scheduler's context
   switches (/proc/PID/status voluntary + nonvoluntary) are counted: its wake-ups per second.
   RSS and PSS of each; ibex - ibex-none is what the scheduler adds.
2. Delay (one scheduler at a time): the 20 jobs run every minute (`* * * * *`); over
   --minutes minute boundaries (default 2), the delay from the scheduled second (the minute's
   start) to each job's execve.

    sudo bench/timers.py --ibex .build-release/ibex
    sudo bench/timers.py --quick --ibex .build-release/ibex     # 1 minute of each, ~3 min

Python 3.11 standard library only. Must run as root.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
from common import (add_ibex_arguments, at_most, compile_c, die, finish, ibex_binary, install_packages, log,
                    machine_meta, read_kib, require_gcc, require_root, resolve_ibex_argument, smaps_memory,
                    summary, targets_table)

HERE = Path(__file__).resolve().parent
JOBS = 20
UNSHARE = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"]


def crontab_lines(stamp: str, out: str, schedule: str, user: bool) -> str:
    return "".join(f"{schedule} {'root ' if user else ''}{stamp} job{k} {out}\n" for k in range(JOBS))


def start(name: str, ibex: str | None, work: Path, schedule: str, stamp: str, out: str) -> subprocess.Popen:
    """Starts scheduler `name` with the 20 jobs on `schedule`; returns the unshare process."""
    d = work / name
    d.mkdir(parents=True)
    if name in ("ibex", "ibex-none"):
        (d / "etc/ibex").mkdir(parents=True)
        (d / "run").mkdir()
        if name == "ibex":
            (d / "etc/ibex/crontab").write_text(crontab_lines(stamp, out, schedule, user=False))
        cmd = UNSHARE + [ibex, "init", "--root", str(d)]
    elif name == "busybox":
        (d / "root").write_text(crontab_lines(stamp, out, schedule, user=False))
        cmd = UNSHARE + ["busybox", "crond", "-f", "-c", str(d), "-L", "/dev/null"]
    else:
        for sub in ("cron.d", "spool"):
            (d / sub).mkdir()
        (d / "crontab").write_text("")
        jobs = d / "cron.d" / "bench"
        jobs.write_text(crontab_lines(stamp, out, schedule, user=True))
        os.chmod(jobs, 0o644)
        binds = [(d / "cron.d", "/etc/cron.d"), (d / "crontab", "/etc/crontab")]
        if os.path.isdir("/var/spool/cron/crontabs"):
            binds.append((d / "spool", "/var/spool/cron/crontabs"))
        script = " && ".join(f"mount --bind {a} {b}" for a, b in binds) + " && exec cron -f"
        cmd = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--mount-proc", "sh", "-c", script]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def daemon_pid(p: subprocess.Popen) -> int:
    """The scheduler: the child of unshare (PID 1 of its namespace)."""
    end = time.time() + 10
    while time.time() < end:
        try:
            children = Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split()
        except OSError:
            children = []
        if children:
            pid = int(children[0])
            exe = os.readlink(f"/proc/{pid}/exe")
            if not exe.endswith("/sh") and not exe.endswith("/dash"):
                return pid
        time.sleep(0.05)
    raise SystemExit(f"bench: error: scheduler of {p.args} did not start")


def switches(pid: int) -> int:
    """Voluntary plus involuntary context switches of `pid` so far: its wake-ups."""
    return sum(read_kib(f"/proc/{pid}/status", ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")).values())


def stop(p: subprocess.Popen, pid: int) -> None:
    """Kills the scheduler (PID 1 of its namespace: everything in it goes too) and unshare."""
    os.kill(pid, signal.SIGKILL)
    p.send_signal(signal.SIGKILL)
    p.wait()


def idle_phase(names: list[str], ibex: str | None, work: Path, stamp: str, seconds: float) -> dict:
    minute = (time.gmtime().tm_min + 30) % 60
    out = str(work / "idle-stamps")
    procs = {n: start(n, ibex, work / "idle", f"{minute} * * * *", stamp, out) for n in names}
    pids = {n: daemon_pid(p) for n, p in procs.items()}
    time.sleep(2)
    before = {n: switches(pid) for n, pid in pids.items()}
    memory = {n: smaps_memory(pid) for n, pid in pids.items()}
    log(f"idle: watching {len(names)} schedulers for {seconds:.0f} s")
    time.sleep(seconds)
    after = {n: switches(pid) for n, pid in pids.items()}
    for n, p in procs.items():
        stop(p, pids[n])
    return {n: {"wakeups_per_s": (after[n] - before[n]) / seconds, "switches": after[n] - before[n], **memory[n]}
            for n in names}


def delay_phase(name: str, ibex: str | None, work: Path, stamp: str, minutes: int) -> list[float]:
    out = work / f"stamps-{name}"
    p = start(name, ibex, work / "delay", "* * * * *", stamp, str(out))
    pid = daemon_pid(p)
    # Past the first boundary that the scheduler certainly saw coming, then `minutes` more.
    now = time.time()
    first = (int(now) // 60 + 1) * 60
    end = first + 60 * (minutes - 1) + 5
    log(f"delay: {name} until {time.strftime('%H:%M:%S', time.gmtime(end))} UTC")
    time.sleep(max(0.0, end - time.time()))
    stop(p, pid)
    delays = []
    for line in out.read_text().splitlines() if out.exists() else []:
        _, stamp_text = line.split()
        t = float(stamp_text)
        scheduled = int(t) // 60 * 60
        if scheduled >= first:
            delays.append((t - scheduled) * 1000)
    return delays


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_ibex_arguments(ap)
    ap.add_argument("--idle", type=float, default=65.0, help="idle window in seconds (default 65)")
    ap.add_argument("--minutes", type=int, default=2, help="minute boundaries for the delay (default 2)")
    ap.add_argument("--quick", action="store_true", help="61 s idle, 1 minute of delay each")
    ap.add_argument("--json", help="also write the results as JSON")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install busybox and cron")
    ap.add_argument("--check", action="store_true", help="exit 3 if ibex misses a target")
    a = ap.parse_args()
    resolve_ibex_argument(ap, a)
    if a.quick:
        a.idle, a.minutes = 61.0, 1
    require_root("unshare --pid and bind mounts")
    ibex = ibex_binary(a.ibex, "busybox crond and cron")
    missing = [pkg for pkg, prog in (("busybox", "busybox"), ("cron", "cron")) if shutil.which(prog) is None]
    install_packages(missing, not a.no_install)
    require_gcc(HERE / "stamp.c")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="ibex-timers-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        stamp = str(work / "stamp")
        cc = compile_c(HERE / "stamp.c", Path(stamp))
        names = ([] if ibex is None else ["ibex", "ibex-none"]) + [n for n, prog in (("busybox", "busybox"), ("cron", "cron")) if shutil.which(prog)]
        res = idle_phase(names, ibex, work, stamp, a.idle)
        for n in [n for n in names if n != "ibex-none"]:
            d = delay_phase(n, ibex, work, stamp, a.minutes)
            if len(d) < JOBS * a.minutes:
                log(f"warning: {n}: {len(d)} runs, expected {JOBS * a.minutes}")
            res[n]["delay_ms"] = summary(d) if d else None
            res[n]["runs"] = len(d)
    targets = None
    if ibex is not None:
        added = res["ibex"]["rss_kib"] - res["ibex-none"]["rss_kib"]
        targets = {
            "idle_wakeups": at_most(res["ibex"]["wakeups_per_s"], 0.0),
            "delay_median_ms": at_most((res["ibex"].get("delay_ms") or {}).get("median"), 10.0),
            "scheduler_rss_kib": at_most(added, 64),
        }
    L = [f"## Scheduled jobs: {JOBS} crontab jobs (bench/timers.py)", "",
         f"Idle window {a.idle:.0f} s (jobs not due); delay over {a.minutes} minute boundar{'y' if a.minutes == 1 else 'ies'} "
         f"of `* * * * *` jobs, from the scheduled second to the job's execve ({describe(cc)}).", "",
         "| scheduler | idle wake-ups/s | RSS KiB | PSS KiB | delay median ms | p75 ms | max ms | runs |",
         "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for n, r in res.items():
        d = r.get("delay_ms")
        cells = [f"{d[k]:.1f}" for k in ("median", "p75", "max")] if d else ["–"] * 3
        L.append(f"| {n} | {r['wakeups_per_s']:.3f} | {r['rss_kib']} | {r['pss_kib']} | " + " | ".join(cells)
                 + f" | {r.get('runs', '–')} |")
    fmt = lambda v: "–" if v is None else f"{v:g}"
    L += targets_table(res, targets, {
        "idle_wakeups": ("ibex idle wake-ups/s", fmt, fmt),
        "delay_median_ms": ("delay to execve, median (ms)", lambda v: "–" if v is None else f"{v:.1f}", fmt),
        "scheduler_rss_kib": ("RSS the scheduler adds (KiB)", fmt, fmt),
    })
    document = {"meta": machine_meta(), "results": res, "targets": targets}
    return finish("\n".join(L), a.json, document, round(time.time() - started), targets, a.check)


def describe(cc: list[str]) -> str:
    return "bench/stamp.c, " + ("static" if "-static" in cc else "dynamic")


if __name__ == "__main__":
    sys.exit(main())
