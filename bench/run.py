#!/usr/bin/env python3
"""Benchmark ibex against other PID-1 inits (tini, dumb-init, catatonit).

Every init runs as PID 1 of a fresh PID namespace
(`unshare --pid --fork --mount-proc`), all in the same invocation:

  * orphan reaping: bench/orphans.c creates N orphans and measures how long
    until PID 1 has reaped them all (wall) and how much CPU PID 1 burned doing
    it (from /proc/1/schedstat);
  * idle memory: VmRSS / Pss / private memory of the init while it supervises
    `sleep 1000`;
  * binary size (and whether the binary is static / stripped).

Runs are interleaved round-robin across inits so that slow drifts of the
machine (thermal, other load, page cache) hit every init equally.

    sudo bench/run.py --ibex .build-release/ibex
    sudo bench/run.py --quick --json /tmp/bench.json      # smoke test

Python 3.11 standard library only.  Must run as root.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# Run as root from a checkout: leave no root-owned bench/__pycache__ behind.
sys.dont_write_bytecode = True
from common import (BenchError, add_ibex_arguments, at_most, children_of, choose, compile_c,
                    describe_cc, die, exe_of, finish, fmt_ratio, fmt_spread, get, ibex_binary,
                    install_packages, log, machine_meta, missing_packages, paired_ratio,
                    paired_table, ratio, read_kib, require_gcc, require_root,
                    resolve_ibex_argument, rotate, send_signal, skip_unavailable, smaps_memory,
                    summary, target, targets_table)

BENCH_DIR = Path(__file__).resolve().parent
ORPHANS_SRC = BENCH_DIR / "orphans.c"
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc"]

DEFAULT_RUNS = 15
DEFAULT_ORPHANS = 5000
QUICK_RUNS = 3
QUICK_ORPHANS = 1000
DEFAULT_IBEX_PREFIX = "{ibex} run --"
REFERENCE = "tini"
MIB = 1024 * 1024

# Targets for ibex (ratios are relative to REFERENCE).
TARGETS = {
    "reap_wall_ratio_max": 1.00,
    "init_cpu_ratio_max": 0.85,
    "idle_rss_ratio_max": 1.00,
    "stripped_static_size_max": 1 * MIB,
}


@dataclass
class Init:
    name: str
    binary: str  # the file that is exec'd as PID 1
    prefix: list[str]  # command prefix placed before PROGRAM ARGS...
    package: str | None = None  # Debian package providing it (anchors)
    reap: list[dict] = field(default_factory=list)
    memory: list[dict] = field(default_factory=list)

    def programs(self) -> tuple[str, ...]:
        """Every program of the init that the harness needs."""
        return (self.binary,)


def anchors() -> list[Init]:
    return [
        Init("tini", "/usr/bin/tini", ["/usr/bin/tini", "--"], "tini"),
        Init("tini-static", "/usr/bin/tini-static", ["/usr/bin/tini-static", "--"], "tini"),
        Init("dumb-init", "/usr/bin/dumb-init", ["/usr/bin/dumb-init"], "dumb-init"),
        Init("catatonit", "/usr/bin/catatonit", ["/usr/bin/catatonit", "--"], "catatonit"),
    ]


# --------------------------------------------------------------------------
# environment


def check_environment() -> None:
    require_root("creating PID namespaces and reading another process's schedstat/smaps need it")
    if shutil.which("unshare") is None:
        die("`unshare` (util-linux) not found in PATH")
    try:
        r = subprocess.run(UNSHARE + ["true"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        die("`unshare --pid --fork --mount-proc true` timed out")
    if r.returncode != 0:
        die("creating a PID namespace is not permitted here "
            f"(`{' '.join(UNSHARE)} true` exited {r.returncode}: {r.stderr.strip()}); "
            "a container needs CAP_SYS_ADMIN / --privileged for this benchmark")


def ensure_tools(inits: list[Init], install: bool) -> None:
    install_packages(missing_packages(inits), install)
    require_gcc(ORPHANS_SRC)


def compile_orphans(outdir: Path) -> tuple[Path, list[str]]:
    # A static workload forks faster (smaller page tables, no ld.so), which
    # puts more pressure on PID 1; compile_c falls back to dynamic if libc.a is missing.
    out = outdir / "orphans"
    return out, compile_c(ORPHANS_SRC, out)


# --------------------------------------------------------------------------
# process helpers


def kill_namespace(p: subprocess.Popen) -> None:
    """SIGKILL the namespace's PID 1 (the kernel then kills every process in
    the namespace), then reap the unshare process."""
    for init_pid in children_of(p.pid):
        send_signal(init_pid, signal.SIGKILL)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


# --------------------------------------------------------------------------
# measurements


def run_reap(init: Init, orphans_bin: Path, n: int, timeout: int) -> dict:
    cmd = UNSHARE + init.prefix + [str(orphans_bin), str(n), str(timeout)]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        kill_namespace(p)
        p.communicate()
        raise BenchError(f"{init.name}: orphan run did not finish in {timeout + 30} s")
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        raise BenchError(f"{init.name}: `{shlex.join(cmd)}` exited {p.returncode}\n"
                         f"stdout: {out.strip()}\nstderr: {err.strip()}")
    res = json.loads(lines[-1])
    if res.get("orphans") != n:
        raise BenchError(f"{init.name}: expected {n} orphans, workload reported {res}")
    if res.get("init_cpu_ns", 0) <= 0:
        raise BenchError(f"{init.name}: init_cpu_ns is {res.get('init_cpu_ns')} "
                         "(is /proc/<pid>/schedstat available?)")
    return res


def idle_memory(init: Init, settle: float) -> dict:
    p = subprocess.Popen(UNSHARE + init.prefix + ["sleep", "1000"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    want = os.path.realpath(init.binary)
    try:
        deadline = time.monotonic() + 10
        init_pid = None
        while True:
            if p.poll() is not None:
                raise BenchError(f"{init.name}: idle run exited early ({p.returncode}): "
                                 f"{p.stderr.read().strip()}")
            kids = children_of(p.pid)
            if kids:
                # exec'd into the init, and the init has started `sleep`
                if exe_of(kids[0]) == want and children_of(kids[0]):
                    init_pid = kids[0]
                    break
            if time.monotonic() > deadline:
                raise BenchError(f"{init.name}: init did not start `sleep` within 10 s")
            time.sleep(0.01)
        time.sleep(settle)
        st = read_kib(f"/proc/{init_pid}/status", ("VmRSS", "VmHWM", "RssAnon", "RssFile"))
        ro = smaps_memory(init_pid)
        return {
            "rss_kib": st["VmRSS"],
            "hwm_kib": st.get("VmHWM"),
            "rss_anon_kib": st.get("RssAnon"),
            "rss_file_kib": st.get("RssFile"),
            "pss_kib": ro["pss_kib"],
            "uss_kib": ro["uss_kib"],
        }
    finally:
        kill_namespace(p)


def elf_is_static(path: str) -> bool | None:
    """True if the ELF file has no PT_INTERP (static or static-pie)."""
    try:
        with open(path, "rb") as f:
            h = f.read(64)
            if h[:4] != b"\x7fELF":
                return None
            is64, end = h[4] == 2, "<" if h[5] == 1 else ">"
            if is64:
                phoff, = struct.unpack_from(end + "Q", h, 32)
                phentsize, phnum = struct.unpack_from(end + "HH", h, 54)
            else:
                phoff, = struct.unpack_from(end + "I", h, 28)
                phentsize, phnum = struct.unpack_from(end + "HH", h, 42)
            f.seek(phoff)
            ph = f.read(phentsize * phnum)
        for i in range(phnum):
            if struct.unpack_from(end + "I", ph, i * phentsize)[0] == 3:  # PT_INTERP
                return False
        return True
    except (OSError, struct.error):
        return None


def binary_info(path: str) -> dict:
    info: dict = {"path": path, "size": os.stat(path).st_size}
    desc = None
    if shutil.which("file"):
        r = subprocess.run(["file", "-L", "-b", path], capture_output=True, text=True)
        if r.returncode == 0:
            desc = r.stdout.strip()
    info["file"] = desc
    if desc and ("statically linked" in desc or "static-pie linked" in desc):
        info["static"] = True
    elif desc and "dynamically linked" in desc:
        info["static"] = False
    else:
        info["static"] = elf_is_static(path)
    info["stripped_size"] = None
    if shutil.which("strip"):
        with tempfile.TemporaryDirectory() as td:
            out = os.path.join(td, "s")
            r = subprocess.run(["strip", "-o", out, path], capture_output=True)
            if r.returncode == 0:
                info["stripped_size"] = os.stat(out).st_size
    if info["stripped_size"] is not None:
        info["stripped"] = info["stripped_size"] == info["size"]
    elif desc:
        info["stripped"] = "not stripped" not in desc
    else:
        info["stripped"] = None
    return info


# --------------------------------------------------------------------------
# statistics / report


def fmt_size(n: int | None) -> str:
    if n is None:
        return "–"
    return f"{n / 1024:,.0f} KiB" if n < MIB else f"{n / MIB:.2f} MiB"


def analyse(inits: list[Init], sizes: dict[str, dict]) -> dict:
    res: dict = {}
    for i in inits:
        r: dict = {"prefix": i.prefix, "binary": sizes.get(i.name)}
        if i.reap:
            r["reap"] = {k: summary([s[k] for s in i.reap])
                         for k in ("wall_ns", "init_cpu_ns", "fork_ns", "drain_ns", "init_sched_count")}
            r["reap"]["samples"] = i.reap
        if i.memory:
            r["memory"] = {k: summary([float(s[k]) for s in i.memory])
                           for k in ("rss_kib", "pss_kib", "uss_kib")}
            r["memory"]["samples"] = i.memory
        res[i.name] = r
    ref = res.get(REFERENCE, {})
    for name, r in res.items():
        r["ratios_vs_tini"] = {
            "reap_wall": ratio(get(r, "reap", "wall_ns", "median"), get(ref, "reap", "wall_ns", "median")),
            "init_cpu": ratio(get(r, "reap", "init_cpu_ns", "median"), get(ref, "reap", "init_cpu_ns", "median")),
            "idle_rss": ratio(get(r, "memory", "rss_kib", "median"), get(ref, "memory", "rss_kib", "median")),
            "idle_pss": ratio(get(r, "memory", "pss_kib", "median"), get(ref, "memory", "pss_kib", "median")),
            "binary_size": ratio(get(r, "binary", "size"), get(ref, "binary", "size")),
        }
        # Cross-check that is robust against slow drift of the machine: the
        # median over rounds of (this init / tini) measured in the same round.
        if "reap" in r and "reap" in ref:
            r["paired_ratios_vs_tini"] = {
                k: paired_ratio(r["reap"]["samples"], ref["reap"]["samples"], k)
                for k in ("wall_ns", "init_cpu_ns")
            }
    return res


def check_targets(res: dict) -> dict | None:
    r = res.get("ibex")
    if not r:
        return None
    rt = r["ratios_vs_tini"]
    b = r.get("binary") or {}
    size = b.get("stripped_size") or b.get("size")
    size_max = TARGETS["stripped_static_size_max"]
    return {
        "reap_wall_ratio": at_most(rt["reap_wall"], TARGETS["reap_wall_ratio_max"]),
        "init_cpu_ratio": at_most(rt["init_cpu"], TARGETS["init_cpu_ratio_max"]),
        "idle_rss_ratio": at_most(rt["idle_rss"], TARGETS["idle_rss_ratio_max"]),
        "stripped_static_size": target(size, size_max,
                                       size is not None and b.get("static") is True and size <= size_max),
    }


def target_labels(res: dict) -> dict:
    """Each target's label and the formats of its value and of its limit."""
    def r3(x: float | None) -> str:
        return "–" if x is None else f"{x:.3f}x"

    b = get(res, "ibex", "binary") or {}
    linkage = {True: "", False: " (dynamic!)", None: " (linkage unknown)"}[b.get("static")]
    return {
        "reap_wall_ratio": ("reap wall time vs tini", r3, fmt_ratio),
        "init_cpu_ratio": ("init CPU vs tini", r3, fmt_ratio),
        "idle_rss_ratio": ("idle RSS vs tini", r3, fmt_ratio),
        "stripped_static_size": ("stripped static binary",
                                 lambda v: fmt_size(v) + linkage, fmt_size),
    }


def markdown(res: dict, meta: dict, targets: dict | None) -> str:
    L: list[str] = []
    L.append(f"## Init benchmark ({meta['orphans']} orphans x {meta['runs']} runs, "
             f"interleaved; idle memory median of {meta['mem_samples']})")
    L.append("")
    L.append(f"kernel {meta['kernel']}, {meta['cpus']} CPUs, workload `{meta['workload_cc']}`; "
             f"ratios relative to {REFERENCE}; ± is half the IQR")
    L.append("")
    L.append("| init | reap wall (ms) | x tini | init CPU (ms) | x tini | drain (µs) "
             "| idle RSS (KiB) | x tini | idle PSS (KiB) | binary | x tini | linkage |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, r in res.items():
        rt = r["ratios_vs_tini"]
        b = r.get("binary") or {}
        if "reap" in r:
            w, c, d = r["reap"]["wall_ns"], r["reap"]["init_cpu_ns"], r["reap"]["drain_ns"]
            wall = f"{w['median'] / 1e6:.1f}{fmt_spread(w)}"
            cpu = f"{c['median'] / 1e6:.2f}{fmt_spread(c)}"
            drain = f"{d['median'] / 1e3:.0f}"
        else:
            wall = cpu = drain = "–"
        if "memory" in r:
            rss = f"{r['memory']['rss_kib']['median']:,.0f}"
            pss = f"{r['memory']['pss_kib']['median']:,.0f}"
        else:
            rss = pss = "–"
        link = "?" if b.get("static") is None else ("static" if b["static"] else "dynamic")
        if b.get("stripped") is False:
            link += f", unstripped (stripped {fmt_size(b.get('stripped_size'))})"
        L.append(f"| {name} | {wall} | {fmt_ratio(rt['reap_wall'])} | {cpu} | {fmt_ratio(rt['init_cpu'])} "
                 f"| {drain} | {rss} | {fmt_ratio(rt['idle_rss'])} | {pss} "
                 f"| {fmt_size(b.get('size'))} | {fmt_ratio(rt['binary_size'])} | {link} |")
    L.append("")
    L.append("Dynamic binaries' sizes exclude the shared libraries they load.")
    L += paired_table(res, "paired_ratios_vs_tini", "init", REFERENCE,
                      [("reap wall", "wall_ns"), ("init CPU", "init_cpu_ns")])
    L += targets_table(res, targets, target_labels(res))
    return "\n".join(L)


# --------------------------------------------------------------------------
# main


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Compare ibex with tini, dumb-init and catatonit as PID 1 of a fresh "
                    "PID namespace (orphan reaping time and CPU, idle memory, binary size). "
                    "Run as root.")
    add_ibex_arguments(ap)
    # Hidden: command prefix template for the ibex row, {ibex} is replaced by
    # the binary path.  Lets another init stand in for ibex, e.g.
    #   --ibex /usr/bin/tini --ibex-prefix '{ibex} --'
    ap.add_argument("--ibex-prefix", default=os.environ.get("IBEX_PREFIX", DEFAULT_IBEX_PREFIX),
                    help=argparse.SUPPRESS)
    ap.add_argument("--runs", type=int, help=f"orphan runs per init (default {DEFAULT_RUNS}, "
                                             f"--quick: {QUICK_RUNS})")
    ap.add_argument("--orphans", type=int, help=f"orphans per run (default {DEFAULT_ORPHANS}, "
                                                f"--quick: {QUICK_ORPHANS})")
    ap.add_argument("--mem-samples", type=int, help="idle-memory samples per init (default 3, --quick: 1)")
    ap.add_argument("--settle", type=float, default=0.5,
                    help="seconds to let the idle init settle before reading memory (default 0.5)")
    ap.add_argument("--inits", help="comma-separated subset of inits to run "
                                    "(ibex,tini,tini-static,dumb-init,catatonit); tini is always included")
    ap.add_argument("--json", metavar="PATH", help="also write full results (all samples) as JSON")
    ap.add_argument("--quick", action="store_true", help="few short runs: a smoke test, not a measurement")
    ap.add_argument("--timeout", type=int, default=60, help="per-run reap timeout in seconds (default 60)")
    ap.add_argument("--no-install", action="store_true",
                    help="do not apt-get install missing tini/dumb-init/catatonit")
    ap.add_argument("--check", action="store_true",
                    help="exit 3 if ibex misses one of its targets")
    a = ap.parse_args(argv)
    resolve_ibex_argument(ap, a)
    a.runs = a.runs if a.runs is not None else (QUICK_RUNS if a.quick else DEFAULT_RUNS)
    a.orphans = a.orphans if a.orphans is not None else (QUICK_ORPHANS if a.quick else DEFAULT_ORPHANS)
    a.mem_samples = a.mem_samples if a.mem_samples is not None else (1 if a.quick else 3)
    if a.runs < 1 or a.orphans < 1 or a.mem_samples < 1:
        ap.error("--runs, --orphans and --mem-samples must be >= 1")
    return a


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    check_environment()

    inits: list[Init] = []
    ibex = ibex_binary(a.ibex, "the anchors")
    if ibex:
        prefix = [t.replace("{ibex}", ibex) for t in shlex.split(a.ibex_prefix)]
        inits.append(Init("ibex", ibex, prefix))
        if a.ibex_prefix != DEFAULT_IBEX_PREFIX:
            log(f"ibex row uses custom prefix: {shlex.join(prefix)}")
    inits = choose(inits + anchors(), a.inits, REFERENCE, bool(ibex), "init(s) in --inits")

    ensure_tools(inits, install=not a.no_install)
    inits = skip_unavailable(inits, REFERENCE, "it is the reference init")

    sizes = {i.name: binary_info(i.binary) for i in inits}
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ibex-bench-") as td:
        orphans_bin, cc_cmd = compile_orphans(Path(td))
        # the namespace's init must be able to exec it
        os.chmod(td, 0o755)
        try:
            log(f"warm-up: one discarded run per init ({', '.join(i.name for i in inits)})")
            for i in inits:
                run_reap(i, orphans_bin, a.orphans, a.timeout)
            for rnd in range(a.runs):
                for i in rotate(inits, rnd):  # who goes first changes each round
                    i.reap.append(run_reap(i, orphans_bin, a.orphans, a.timeout))
                log(f"round {rnd + 1}/{a.runs} done ({time.monotonic() - t_start:.0f} s)")
            for rnd in range(a.mem_samples):
                for i in rotate(inits, rnd):
                    i.memory.append(idle_memory(i, a.settle))
            log(f"idle memory: {a.mem_samples} sample(s) per init done")
        except BenchError as e:
            die(str(e), 1)

    res = analyse(inits, sizes)
    targets = check_targets(res)
    meta = {
        **machine_meta(),
        "runs": a.runs,
        "orphans": a.orphans,
        "mem_samples": a.mem_samples,
        "settle_s": a.settle,
        "quick": a.quick,
        "workload_cc": describe_cc(cc_cmd, ORPHANS_SRC),
        "duration_s": round(time.monotonic() - t_start, 1),
        "reference": REFERENCE,
        "targets": TARGETS,
    }
    return finish(markdown(res, meta, targets), a.json, {"meta": meta, "inits": res, "targets": targets},
                  meta["duration_s"], targets, a.check)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
