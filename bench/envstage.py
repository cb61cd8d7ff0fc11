#!/usr/bin/env python3
"""What the boot stage "environment" (docs/environment.md) adds to a boot.

In one invocation, interleaved round-robin, `ibex init --root ROOT -- /bin/true`
(no services: a boot that only runs the stage and CMD) is timed from spawn to
exit:

  * plain     the environment of the bench, nothing for the stage to do;
  * stage20   20 more variables for the stage: TZ, 5 CONTAINER_USER_<NAME>,
              5 CONTAINER_GROUP_<NAME>, 3 CONTAINER_GROUP_ADD_<GROUP>, 3
              X_FILE secrets, and 3 from a defaults file in ROOT/etc/ibex/
              defaults. ROOT/etc/passwd, group, localtime and timezone are
              put back before every round (outside the timed part), so every
              round edits all four files (the worst case: the second boot of
              a real container edits nothing).

Reported: the median of each, and the median over rounds of the same-round
difference stage20 - plain, against the target of at most 2 ms.

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


def boot(ibex: str, root: Path, env: dict[str, str]) -> float:
    start = time.perf_counter_ns()
    r = subprocess.run([ibex, "init", "--root", str(root), "--", "/bin/true"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    if r.returncode != 0:
        die(f"ibex init failed ({r.returncode}): {r.stderr.decode(errors='replace')}", 1)
    return elapsed


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
        samples: dict[str, list[float]] = {"plain": [], "stage20": []}
        for k in range(rounds):
            order = ["plain", "stage20"] if k % 2 == 0 else ["stage20", "plain"]
            for name in order:
                reset(root, work)
                env = dict(base) if name == "plain" else {**base, **stage_env}
                samples[name].append(boot(ibex, root, env))
        # The stage really ran: the last round's edits are there.
        if "2000" not in (root / "etc/passwd").read_text() and samples["stage20"]:
            reset(root, work)
            boot(ibex, root, {**base, **stage_env})
            if "2000" not in (root / "etc/passwd").read_text():
                die("the stage did not edit /etc/passwd", 1)
    diffs = [s - p for s, p in zip(samples["stage20"], samples["plain"])]
    added = statistics.median(diffs)
    results = {name: summary(xs) for name, xs in samples.items()}
    targets = {"stage_added_ms": target(round(added, 3), TARGET_MS, added <= TARGET_MS)}
    report = "\n".join([
        f"# Environment stage: boot with 20 variables vs none ({rounds} rounds)", "",
        "| boot | median ms | p25 | p75 |", "|---|---|---|---|",
        *[f"| {n} | {r['median']:.2f} | {r['p25']:.2f} | {r['p75']:.2f} |" for n, r in results.items()], "",
        f"Added by the stage (median of same-round differences): **{added:.2f} ms** "
        f"(target <= {TARGET_MS} ms: {'met' if added <= TARGET_MS else 'MISSED'})", "",
    ])
    document = {"meta": {**machine_meta(), "rounds": rounds, "variables": len(stage_env) + 3},
                "boots": {n: {"samples": xs, "summary": results[n]} for n, xs in samples.items()},
                "added_ms": added, "targets": targets}
    return finish(report, a.json, document, round(time.monotonic() - began, 1), targets, a.check)


if __name__ == "__main__":
    sys.exit(main())
