#!/usr/bin/env python3
"""Boot of a 30-service s6-rc tree: `ibex init` against s6-svscan + s6-supervise.

The tree is 30 longruns in 3 layers of 10 (--services, --layers): every
service of layer k > 0 depends on two services of layer k-1 (`dependencies.d`),
every service has `notification-fd` 3 and the user bundle contains all of them.
Each service's `run` is the same two-line script,

    #!/bin/sh
    exec SERVICE

where SERVICE is bench/service.c (as in bench/supervisors.py): it records a
CLOCK_MONOTONIC time stamp in a marker file named after its directory, writes
the readiness newline to fd 3, and pause()s. In the same invocation,
interleaved round-robin:

  * ibex        `ibex init --root ROOT`, ROOT holding s6-overlay's layout:
                ROOT/etc/s6-overlay/s6-rc.d/<name>/{type,run,notification-fd,
                dependencies.d/}, ROOT/etc/s6-overlay/user-bundles.d/user/
                contents.d/<name>, an empty ROOT/run. A dependent starts once
                its dependencies are ready: three rounds of readiness.
  * ibex-flat   the same without dependencies.d (all 30 at once);
  * s6          `s6-svscan SCANDIR`, 30 service directories with the same
                `run` and `notification-fd` (Debian's s6). Debian has no s6-rc
                package, so s6 starts all 30 at once, with no dependency order:
                the comparison that is fair in work done is ibex-flat; ibex
                with the dependencies does strictly more waiting.

Boot time: from just before the supervisor is spawned until the last marker's
time stamp (every service runs; for ibex, the last dependent has started).
Also the first marker, and the supervisor tree's CPU time at that point.

    sudo bench/s6boot.py --ibex .build-release/ibex
    sudo bench/s6boot.py --quick --json /tmp/s6boot.json      # smoke test

Python 3.11 standard library only. Must run as root.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# Run as root from a checkout: leave no root-owned bench/__pycache__ behind.
sys.dont_write_bytecode = True
from common import (BenchError, add_ibex_arguments, choose, compile_c, describe_cc, die, finish,
                    fmt_ratio, fmt_spread, get, ibex_binary, install_packages, log, machine_meta,
                    missing_packages, paired_ratio, paired_table, ratio, require_gcc,
                    require_root, resolve_ibex_argument, rotate, send_signal, skip_unavailable,
                    summary, target, targets_table)
from supervisors import (SUPERVISOR_ENV, age_tree, become_subreaper, descendants, ibex_version,
                         kill_everything, package_version, strays)

BENCH_DIR = Path(__file__).resolve().parent
SERVICE_SRC = BENCH_DIR / "service.c"
REFERENCE = "s6"

DEFAULT_SERVICES = 30
DEFAULT_LAYERS = 3
DEFAULT_ROUNDS = 15
QUICK_SERVICES = 9
QUICK_ROUNDS = 2

TARGETS = {"boot_ratio_max": 1.0}  # ibex's boot of the tree (with dependencies) vs s6


@dataclass
class Booter:
    name: str
    kind: str  # ibex | s6
    binary: str
    package: str | None
    deps: bool = True
    own: tuple[str, ...] = ()
    runs: list[dict] = field(default_factory=list)

    def programs(self) -> tuple[str, ...]:
        return (self.binary, *self.own)


def booters(ibex: str | None) -> list[Booter]:
    out = []
    if ibex:
        out.append(Booter("ibex", "ibex", ibex, None, deps=True))
        out.append(Booter("ibex-flat", "ibex", ibex, None, deps=False))
    out.append(Booter("s6", "s6", "/usr/bin/s6-svscan", "s6", deps=False, own=("/usr/bin/s6-supervise",)))
    return out


def tree(services: int, layers: int) -> dict[str, list[str]]:
    """name -> dependencies: `layers` layers; each service of layer k > 0
    depends on two of layer k-1."""
    per = -(-services // layers)
    names: list[list[str]] = []
    left = services
    for k in range(layers):
        m = min(per, left)
        names.append([f"{chr(ord('a') + k)}{i:02d}" for i in range(m)])
        left -= m
    deps: dict[str, list[str]] = {}
    for k, layer in enumerate(names):
        for i, n in enumerate(layer):
            below = names[k - 1] if k else []
            deps[n] = sorted({below[i % len(below)], below[(i + 1) % len(below)]}) if below else []
    return deps


def configure(b: Booter, work: Path, service_bin: Path, deps: dict[str, list[str]]) -> list[str]:
    run = f"#!/bin/sh\nexec {service_bin}\n"
    if b.kind == "ibex":
        root = work / "root"
        rcd = root / "etc" / "s6-overlay" / "s6-rc.d"
        user = root / "etc" / "s6-overlay" / "user-bundles.d" / "user" / "contents.d"
        rcd.mkdir(parents=True)
        user.mkdir(parents=True)
        (root / "run").mkdir(mode=0o755)
        (user.parent / "type").write_text("bundle\n")
        for n, ds in deps.items():
            d = rcd / n
            d.mkdir()
            (d / "type").write_text("longrun\n")
            (d / "run").write_text(run)
            (d / "run").chmod(0o755)
            (d / "notification-fd").write_text("3\n")
            (d / "dependencies.d").mkdir()
            if b.deps:
                for x in ds:
                    (d / "dependencies.d" / x).touch()
            (user / n).touch()
        age_tree(work)
        return [b.binary, "init", "--root", str(root)]
    if b.kind == "s6":
        scan = work / "scan"
        scan.mkdir()
        for n in deps:
            d = scan / n
            d.mkdir()
            (d / "run").write_text(run)
            (d / "run").chmod(0o755)
            (d / "notification-fd").write_text("3\n")
        age_tree(work)
        return [b.binary, str(scan)]
    raise AssertionError(b.kind)


def cpu_ns(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def boot_once(b: Booter, base: Path, markers: Path, service_bin: Path,
              deps: dict[str, list[str]], timeout: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"{b.name}-", dir=base))
    for e in os.listdir(markers):
        os.unlink(markers / e)
    argv = configure(b, work, service_bin, deps)
    out = work / "output"
    actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, str(out), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
               (os.POSIX_SPAWN_DUP2, 1, 2)]
    pid = None
    try:
        t0 = time.monotonic_ns()
        pid = os.posix_spawn(argv[0], argv, SUPERVISOR_ENV, file_actions=actions, setsid=True,
                             setsigdef=(signal.SIGPIPE, signal.SIGXFSZ), setsigmask=())
        deadline = time.monotonic() + timeout
        want = len(deps)
        while True:
            got = [e for e in os.listdir(markers) if not e.startswith(".") and not e.endswith(".log")]
            if len(got) >= want:
                break
            p, status = os.waitpid(pid, os.WNOHANG)
            if p:
                pid = None
                raise BenchError(f"{b.name}: {shlex.join(argv)} exited ({status:#x}) after "
                                 f"{len(got)} of {want} services:\n{out.read_text(errors='replace')[-3000:]}")
            if time.monotonic() > deadline:
                raise BenchError(f"{b.name}: only {len(got)} of {want} services within {timeout:g} s:\n"
                                 f"{out.read_text(errors='replace')[-3000:]}")
            time.sleep(0.001)
        stamps: dict[str, int] = {}
        for n in got:
            stamps[n] = int((markers / n).read_text().split()[0]) - t0
        # the supervisor's own processes (s6: s6-svscan and the 30 s6-supervise), not the services
        svc_pids = {int((markers / n).read_text().split()[1]) for n in got}
        own = [pid] + [p for p in descendants(pid) if p not in svc_pids]
        cpu = cpu_ns(own)
        if b.deps:
            for n, ds in deps.items():
                for x in ds:
                    if stamps[n] <= stamps[x]:
                        raise BenchError(f"{b.name}: {n} started before its dependency {x}")
        return {"boot_ns": max(stamps.values()), "first_ns": min(stamps.values()),
                "cpu_ns": cpu, "services": len(stamps), "processes": len(own)}
    finally:
        try:
            kill_everything(pid)
        except BenchError as e:
            log(f"warning: {e}")
        shutil.rmtree(work, ignore_errors=True)


def analyse(bs: list[Booter]) -> dict:
    res: dict = {}
    for b in bs:
        r = {k: summary([float(s[k]) for s in b.runs]) for k in ("boot_ns", "first_ns", "cpu_ns")}
        r["dependencies"] = b.deps
        r["processes"] = b.runs[0]["processes"]
        r["samples"] = b.runs
        res[b.name] = r
    ref = res.get(REFERENCE)
    for name, r in res.items():
        r["ratios_vs_s6"] = {k: ratio(r[k]["median"], get(ref, k, "median"))
                             for k in ("boot_ns", "first_ns", "cpu_ns")}
        if ref and name != REFERENCE:
            r["paired_ratios_vs_s6"] = {k: paired_ratio(r["samples"], ref["samples"], k)
                                        for k in ("boot_ns", "cpu_ns")}
    return res


def check_targets(res: dict) -> dict | None:
    if "ibex" not in res:
        return None
    out = {}
    for name in ("ibex", "ibex-flat"):
        if name in res:
            v = res[name]["ratios_vs_s6"]["boot_ns"]
            out[name] = target(v, TARGETS["boot_ratio_max"], v is not None and v <= TARGETS["boot_ratio_max"])
    return out


def markdown(res: dict, meta: dict, targets: dict | None) -> str:
    ms = lambda ns: f"{ns / 1e6:.1f}"
    L = [f"## Boot of {meta['services']} s6 longruns in {meta['layers']} layers "
         f"({meta['rounds']} rounds, interleaved)", "",
         f"kernel {meta['kernel']}, {meta['cpus']} CPUs, service `{meta['service_cc']}` behind "
         f"`#!/bin/sh` `exec`; ratios relative to s6 (s6-svscan, no s6-rc: no dependency order); "
         "± is half the IQR", "",
         "| supervisor | dependencies | boot (ms) | x s6 | first service (ms) | supervisor CPU (ms) "
         "| x s6 | processes |",
         "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in res.items():
        rt = r["ratios_vs_s6"]
        L.append(f"| {name} | {'3 layers' if r['dependencies'] else 'none'} "
                 f"| {ms(r['boot_ns']['median'])}{fmt_spread(r['boot_ns'])} | {fmt_ratio(rt['boot_ns'])} "
                 f"| {ms(r['first_ns']['median'])} | {ms(r['cpu_ns']['median'])}{fmt_spread(r['cpu_ns'])} "
                 f"| {fmt_ratio(rt['cpu_ns'])} | {r['processes']} |")
    L += ["", "boot: from spawning the supervisor to the last service's first time stamp. "
          "supervisor CPU: on-CPU time of the supervisor's own processes (not the services) "
          "at that point."]
    L += paired_table(res, "paired_ratios_vs_s6", "supervisor", REFERENCE,
                      [("boot", "boot_ns"), ("CPU", "cpu_ns")])
    labels = {n: (f"boot, {n}, vs s6", fmt_ratio, fmt_ratio) for n in ("ibex", "ibex-flat")}
    L += targets_table(res, targets, labels)
    return "\n".join(L)


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Boot time of a tree of s6 longruns under ibex init (s6-overlay layout) "
                    "against s6-svscan. Run as root.")
    add_ibex_arguments(ap)
    ap.add_argument("--services", type=int, help=f"longruns (default {DEFAULT_SERVICES}, "
                                                 f"--quick: {QUICK_SERVICES})")
    ap.add_argument("--layers", type=int, default=DEFAULT_LAYERS,
                    help=f"dependency layers (default {DEFAULT_LAYERS})")
    ap.add_argument("--rounds", type=int, help=f"boots per supervisor (default {DEFAULT_ROUNDS}, "
                                               f"--quick: {QUICK_ROUNDS})")
    ap.add_argument("--supervisors", help="comma-separated subset (ibex,ibex-flat,s6); s6 is always included")
    ap.add_argument("--timeout", type=float, default=30, help="seconds per boot (default 30)")
    ap.add_argument("--json", metavar="PATH", help="also write full results (all samples) as JSON")
    ap.add_argument("--quick", action="store_true", help="small tree, two rounds: a smoke test")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install s6/gcc")
    ap.add_argument("--check", action="store_true", help="exit 3 if ibex misses its target")
    a = ap.parse_args(argv)
    resolve_ibex_argument(ap, a)
    a.services = a.services if a.services is not None else (QUICK_SERVICES if a.quick else DEFAULT_SERVICES)
    a.rounds = a.rounds if a.rounds is not None else (QUICK_ROUNDS if a.quick else DEFAULT_ROUNDS)
    if a.rounds < 1 or a.layers < 1 or a.services < a.layers:
        ap.error("--rounds and --layers must be >= 1, --services >= --layers")
    return a


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    require_root("running s6 and ibex as root, as in a container, and reading their /proc")
    ibex = ibex_binary(a.ibex, "s6")
    bs = choose(booters(ibex), a.supervisors, REFERENCE, bool(ibex), "supervisor(s) in --supervisors")
    install_packages(missing_packages(bs), not a.no_install)
    require_gcc(SERVICE_SRC)
    bs = skip_unavailable(bs, REFERENCE, "s6 is the reference")
    versions = {b.name: (ibex_version(b.binary) if b.kind == "ibex" else package_version(b.package)) for b in bs}
    deps = tree(a.services, a.layers)
    t_start = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="ibex-s6boot-bench-")).resolve()
    os.chmod(base, 0o755)
    failed = None
    try:
        markers = base / "markers"
        markers.mkdir()
        service_bin = base / "service"
        cc = compile_c(SERVICE_SRC, service_bin, (f"-DMARKDIR=\"{markers}\"",))
        become_subreaper()
        log(f"warm-up: one discarded boot each ({', '.join(b.name for b in bs)})")
        for b in bs:
            boot_once(b, base, markers, service_bin, deps, a.timeout)
        for rnd in range(a.rounds):
            for b in rotate(bs, rnd):
                b.runs.append(boot_once(b, base, markers, service_bin, deps, a.timeout))
            log(f"round {rnd + 1}/{a.rounds}: " + ", ".join(
                f"{b.name} {b.runs[-1]['boot_ns'] / 1e6:.1f} ms" for b in bs))
    except BenchError as e:
        failed = str(e)
    except KeyboardInterrupt:
        failed = "interrupted"
    finally:
        try:
            kill_everything()
        except BenchError as e:
            log(f"warning: cleanup: {e}")
        for p in strays(str(base)):
            send_signal(p, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)
    if failed:
        die(failed, 1)
    res = analyse(bs)
    targets = check_targets(res)
    meta = {**machine_meta(), "services": a.services, "layers": a.layers, "rounds": a.rounds,
            "tree": deps, "quick": a.quick, "versions": versions,
            "service_cc": describe_cc(cc, SERVICE_SRC),
            "duration_s": round(time.monotonic() - t_start, 1), "reference": REFERENCE,
            "s6_rc": shutil.which("s6-rc") is not None, "targets": TARGETS}
    return finish(markdown(res, meta, targets), a.json, {"meta": meta, "supervisors": res, "targets": targets},
                  meta["duration_s"], targets, a.check)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
