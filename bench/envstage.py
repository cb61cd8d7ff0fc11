#!/usr/bin/env python3
"""What the boot stage "environment" (docs/environment.md) adds to a boot.

In one invocation, interleaved round-robin, three programs are timed from spawn
to exit (wall time, and CPU time = user + system from wait4):

  * true      `/bin/true`: the anchor (fork and exec of a static-size program);
  * plain     `ibex init --root ROOT -- /bin/true` (no services: a boot that only
              runs the stage and CMD) with the environment of the bench, nothing
              for the stage to do;
  * stage20   20 more variables for the stage: TZ, 5 CONTAINER_USER_<NAME>,
              5 CONTAINER_GROUP_<NAME>, 3 CONTAINER_GROUP_ADD_<GROUP>, 3
              X_FILE secrets, and 3 from a defaults file in ROOT/etc/ibex/
              defaults. ROOT/etc/passwd, group, localtime and timezone are
              put back before every round (outside the timed part), so every
              round edits all four files (the worst case, a first boot);
  * again     the same 20 variables once the files are set (a container's
              later boots: the stage reads and checks, and writes nothing).

Reported: the medians of each, the ratios plain/true and stage20/true, and the
median over rounds of the same-round difference stage20 - plain (wall and CPU),
against the target of at most 2 ms. On a loaded machine wall times inflate (the
load average is printed); CPU times much less.

    sudo bench/envstage.py --ibex .build-release/ibex
    sudo bench/envstage.py --quick --json /tmp/envstage.json      # smoke test

Python 3.11 standard library only. Must run as root (ids and /etc edits).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
from common import (add_ibex_arguments, die, finish, ibex_binary, log, machine_meta, require_root,
                    resolve_ibex_argument, summary, target)

TARGET_MS = 2.0
ROUNDS = 200
QUICK_ROUNDS = 5
NAMES = ["alpha", "bravo", "charlie", "delta", "echo"]


def make_root(work: Path) -> tuple[Path, dict[str, str]]:
    root = work / "root"
    etc = root / "etc"
    (etc / "ibex" / "defaults").mkdir(parents=True)
    (root / "usr/share/zoneinfo/Europe").mkdir(parents=True)
    shutil.copy("/usr/share/zoneinfo/Europe/Paris", root / "usr/share/zoneinfo/Europe/Paris")
    passwd = ["root:x:0:0:root:/root:/bin/sh"]
    group = ["root:x:0:root", "audio:x:18:", "video:x:19:", "disk:x:20:"]
    for i, name in enumerate(NAMES):
        passwd.append(f"{name}:x:{1000 + i}:{1000 + i}::/home/{name}:/sbin/nologin")
        group.append(f"{name}:x:{1000 + i}:")
    (etc / "passwd").write_text("\n".join(passwd) + "\n")
    (etc / "group").write_text("\n".join(group) + "\n")
    (etc / "ibex/defaults/10-bench.env").write_text("APP_A=1\nAPP_B='two words'\nAPP_C=three\n")
    secrets = work / "secrets"
    secrets.mkdir()
    env = {"TZ": "Europe/Paris"}
    for i, name in enumerate(NAMES):
        env[f"CONTAINER_USER_{name.upper()}"] = str(2000 + i)
        env[f"CONTAINER_GROUP_{name.upper()}"] = str(3000 + i)
    for g in ["AUDIO", "VIDEO", "DISK"]:
        env[f"CONTAINER_GROUP_ADD_{g}"] = ",".join(NAMES[:3])
    for i in range(3):
        (secrets / f"s{i}").write_text(f"secret-{i}\n")
        env[f"SECRET_{i}_FILE"] = str(secrets / f"s{i}")
    for f in ["passwd", "group"]:
        shutil.copy(etc / f, work / f"{f}.orig")
    return root, env


def reset(root: Path, work: Path) -> None:
    for f in ["passwd", "group"]:
        shutil.copy(work / f"{f}.orig", root / "etc" / f)
    for f in ["localtime", "timezone"]:
        try:
            os.unlink(root / "etc" / f)
        except FileNotFoundError:
            pass


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, from wait4) of one run, in ms."""
    start = time.perf_counter_ns()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read() if process.stderr else b""
    if process.stderr:
        process.stderr.close()
    if process.returncode != 0:
        die(f"{command[0]} failed ({process.returncode}): {error.decode(errors='replace')}", 1)
    return elapsed, (usage.ru_utime + usage.ru_stime) * 1000


def boot(ibex: str, root: Path, env: dict[str, str]) -> tuple[float, float]:
    return timed([ibex, "init", "--root", str(root), "--", "/bin/true"], env)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_ibex_arguments(ap)
    ap.add_argument("--rounds", type=int, help=f"rounds (default {ROUNDS}; --quick {QUICK_ROUNDS})")
    ap.add_argument("--quick", action="store_true", help="a smoke test: few rounds")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--check", action="store_true", help="exit 3 when ibex misses the target")
    a = ap.parse_args()
    resolve_ibex_argument(ap, a)
    ibex = ibex_binary(a.ibex, "nothing")
    if not ibex:
        die("give the ibex binary (--ibex PATH)")
    require_root("the stage edits /etc/passwd and gives ids")
    rounds = a.rounds or (QUICK_ROUNDS if a.quick else ROUNDS)
    began = time.monotonic()
    base = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    with tempfile.TemporaryDirectory(prefix="ibex-envstage-") as tmp:
        work = Path(tmp)
        root, stage_env = make_root(work)
        names = ["true", "plain", "stage20", "again"]
        walls: dict[str, list[float]] = {n: [] for n in names}
        cpus: dict[str, list[float]] = {n: [] for n in names}
        for k in range(rounds):
            order = names[k % 3:] + names[:k % 3]
            for name in order:
                if name == "stage20":
                    reset(root, work)
                if name == "true":
                    wall, cpu = timed(["/bin/true"], dict(base))
                else:
                    if name == "again" and k == 0 and order.index("again") < order.index("stage20"):
                        boot(ibex, root, {**base, **stage_env})  # the files as a first boot left them
                    wall, cpu = boot(ibex, root, dict(base) if name == "plain" else {**base, **stage_env})
                walls[name].append(wall)
                cpus[name].append(cpu)
        # The stage really ran: the last round's edits are there.
        reset(root, work)
        boot(ibex, root, {**base, **stage_env})
        if "2000" not in (root / "etc/passwd").read_text():
            die("the stage did not edit /etc/passwd", 1)
    added = statistics.median([s - p for s, p in zip(walls["stage20"], walls["plain"])])
    added_cpu = statistics.median([s - p for s, p in zip(cpus["stage20"], cpus["plain"])])
    again = statistics.median([s - p for s, p in zip(walls["again"], walls["plain"])])
    again_cpu = statistics.median([s - p for s, p in zip(cpus["again"], cpus["plain"])])
    results = {name: summary(xs) for name, xs in walls.items()}
    cpu_medians = {name: statistics.median(xs) for name, xs in cpus.items()}
    anchor = results["true"]["median"]
    targets = {"stage_added_ms": target(round(added, 3), TARGET_MS, added <= TARGET_MS),
               "stage_added_cpu_ms": target(round(added_cpu, 3), TARGET_MS, added_cpu <= TARGET_MS),
               "stage_again_ms": target(round(again, 3), TARGET_MS, again <= TARGET_MS)}
    load = os.getloadavg()[0]
    report = "\n".join([
        f"# Environment stage: boot with 20 variables vs none ({rounds} rounds, load {load:.1f})", "",
        "| program | median wall ms | p25 | p75 | wall / true | median CPU ms |", "|---|---|---|---|---|---|",
        *[f"| {n} | {r['median']:.2f} | {r['p25']:.2f} | {r['p75']:.2f} | {r['median'] / anchor:.2f} | {cpu_medians[n]:.2f} |"
          for n, r in results.items()], "",
        f"Added by the stage (median of same-round differences): **{added:.2f} ms** wall, "
        f"**{added_cpu:.2f} ms** CPU (target <= {TARGET_MS} ms: "
        f"{'met' if added <= TARGET_MS else 'MISSED'} in wall time, {'met' if added_cpu <= TARGET_MS else 'MISSED'} in CPU time). "
        "The four files are each flushed (fsync) before the rename: most of the wall time on a busy disk.", "",
        f"A second boot with the same 20 variables (files already set, nothing written): **{again:.2f} ms** wall, "
        f"**{again_cpu:.2f} ms** CPU (target <= {TARGET_MS} ms: {'met' if again <= TARGET_MS else 'MISSED'}).", "",
    ])
    document = {"meta": {**machine_meta(), "rounds": rounds, "variables": len(stage_env) + 3, "load": load},
                "runs": {n: {"wall": walls[n], "cpu": cpus[n], "summary": results[n], "cpu_median": cpu_medians[n]}
                         for n in names},
                "added_ms": added, "added_cpu_ms": added_cpu, "again_ms": again, "again_cpu_ms": again_cpu,
                "targets": targets}
    return finish(report, a.json, document, round(time.monotonic() - began, 1), targets, a.check)


if __name__ == "__main__":
    sys.exit(main())
