"""Helpers shared by the benchmark harnesses bench/run.py and bench/supervisors.py.

Both harnesses compare ibex with established programs ("anchors") in the same
run, against one reference, and report medians, ratios and the ibex targets
as Markdown (and optionally JSON). What they have in common lives here:

  * messages and errors: log(), die(), BenchError;
  * the environment: root, missing Debian packages, gcc and the C helpers;
  * command line: the ibex binary, the subset of programs to compare;
  * /proc: children, executables, memory, signals;
  * statistics: summaries, ratios, paired (same-round) ratios;
  * report: shared Markdown tables, machine metadata, JSON and exit status.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Callable, NoReturn

# --------------------------------------------------------------------------
# messages and errors


class BenchError(Exception):
    """A measurement failed (the harness exits 1)."""


def die(msg: str, code: int = 2) -> NoReturn:
    """Prints an error and exits: 2 for a usage or environment problem (the
    default), 1 for a failed measurement."""
    print(f"bench: error: {msg}", file=sys.stderr)
    sys.exit(code)


def log(msg: str) -> None:
    """A progress message on stderr (stdout is reserved for the report)."""
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# environment


def require_root(reason: str) -> None:
    """Exits 2 unless running as root; `reason` says why root is needed."""
    if os.geteuid() != 0:
        die(f"must run as root ({reason}); try: sudo " + " ".join(map(shlex.quote, sys.argv)))


def apt_install(packages: list[str]) -> None:
    """apt-get installs `packages`; on failure runs apt-get update and tries
    once more. A failure after that is only a warning: the caller checks what
    it needs."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    log("installing missing packages: " + " ".join(cmd))
    # apt's chatter goes to stderr: stdout is reserved for the report
    if subprocess.run(cmd, env=env, stdout=sys.stderr, stdin=subprocess.DEVNULL).returncode == 0:
        return
    log("apt-get install failed; running apt-get update and retrying")
    subprocess.run(["apt-get", "update"], env=env, stdout=sys.stderr, stdin=subprocess.DEVNULL)
    if subprocess.run(cmd, env=env, stdout=sys.stderr, stdin=subprocess.DEVNULL).returncode != 0:
        log("warning: apt-get install failed")


def is_available(item) -> bool:
    """Whether every program of `item` (an init or a supervisor: anything with
    a programs() method) is an executable file."""
    return all(os.access(p, os.X_OK) for p in item.programs())


def missing_packages(items: list) -> list[str]:
    """The Debian packages (item.package) of the items that are not available."""
    return sorted({i.package for i in items if i.package and not is_available(i)})


def install_packages(packages: list[str], install: bool) -> bool:
    """Installs `packages`, plus gcc and libc6-dev if gcc is missing, with
    apt-get, unless `install` is false or there is no apt-get. Returns whether
    apt-get ran."""
    if shutil.which("gcc") is None:
        packages = packages + ["gcc", "libc6-dev"]
    if packages and install and shutil.which("apt-get"):
        apt_install(packages)
        return True
    return False


def require_gcc(source: Path) -> None:
    """Exits 2 if gcc, needed to build the C helper `source`, is missing."""
    if shutil.which("gcc") is None:
        die(f"gcc not found (needed to build bench/{source.name}); install gcc")


def skip_unavailable(items: list, reference: str, reference_note: str) -> list:
    """The available items. Any other is left out with a warning, except the
    reference: then it exits 2, saying `reference_note`."""
    kept = []
    for i in items:
        if is_available(i):
            kept.append(i)
        elif i.name == reference:
            die(f"{i.binary} is missing and could not be installed; {reference_note}")
        else:
            log(f"warning: {i.binary} missing; skipping {i.name}")
    return kept


def compile_c(source: Path, out: Path, defines: tuple[str, ...] = ()) -> list[str]:
    """Compiles the C helper `source` into `out` with gcc -O2, statically if it
    can (no ld.so work at start, faster forks) and dynamically if that fails
    (libc.a missing). Returns the gcc command; exits 1 if neither build works."""
    base = ["gcc", "-O2", "-Wall", "-Wextra", *defines, "-o", str(out), str(source)]
    for extra in (["-static"], []):
        cmd = base[:2] + extra + base[2:]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode == 0:
            if r.stderr.strip():
                log(f"warning: compiler output for {source.name}:\n" + r.stderr.rstrip())
            return cmd
        last = r
    die(f"compiling {source} failed:\n{last.stderr}", 1)


def describe_cc(cmd: list[str], source: Path) -> str:
    """The gcc command of compile_c() for the report: without the output file
    and the -D definitions, with the source's bare name."""
    words = [w for w in cmd[:-3] + cmd[-1:] if not w.startswith("-D")]
    return " ".join(words).replace(str(source), source.name)


# --------------------------------------------------------------------------
# command line


def add_ibex_arguments(ap: argparse.ArgumentParser) -> None:
    """The ibex binary: as the first argument or with --ibex."""
    ap.add_argument("ibex_pos", nargs="?", metavar="IBEX",
                    help="path to the ibex binary (same as --ibex; default: $IBEX)")
    ap.add_argument("--ibex", help="path to the ibex binary (default: $IBEX)")


def resolve_ibex_argument(ap: argparse.ArgumentParser, a: argparse.Namespace) -> None:
    """Sets a.ibex from --ibex, the first argument or $IBEX (None if none)."""
    if a.ibex and a.ibex_pos and a.ibex != a.ibex_pos:
        ap.error("ibex path given twice (positional and --ibex)")
    a.ibex = a.ibex or a.ibex_pos or os.environ.get("IBEX") or None


def ibex_binary(path: str | None, others: str) -> str | None:
    """The absolute path of the ibex binary, or None when none was given (then
    only `others` are benchmarked). Exits 2 if it is not an executable file."""
    if not path:
        log(f"no ibex binary given (--ibex PATH or IBEX=PATH): benchmarking {others} only")
        return None
    ibex = os.path.abspath(path)
    if not (os.path.isfile(ibex) and os.access(ibex, os.X_OK)):
        die(f"ibex binary {ibex!r} does not exist or is not executable")
    return ibex


def choose(items: list, subset: str | None, reference: str, ibex_given: bool,
           what: str) -> list:
    """The items named in the comma-separated `subset` (all of them if it is
    None), always with the reference. "ibex" may be named even when no ibex
    binary was given. An unknown name exits 2; `what` names the list in that
    message, e.g. "init(s) in --inits"."""
    if not subset:
        return items
    wanted = {s.strip() for s in subset.split(",") if s.strip()} | {reference}
    unknown = wanted - {i.name for i in items} - ({"ibex"} if not ibex_given else set())
    if unknown:
        die(f"unknown {what}: {', '.join(sorted(unknown))}")
    return [i for i in items if i.name in wanted]


def rotate(items: list, k: int) -> list:
    """`items` starting at index k (modulo its length): each round of the
    interleaved runs starts with another one, to cancel position effects."""
    k %= len(items)
    return items[k:] + items[:k]


# --------------------------------------------------------------------------
# /proc and signals


def children_of(pid: int) -> list[int]:
    """The child processes of `pid` ([] if it does not exist)."""
    kids: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
        return kids
    except FileNotFoundError:
        if not os.path.exists(f"/proc/{pid}"):
            return []
    # Kernel without CONFIG_PROC_CHILDREN: scan /proc for the parent pid.
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    s = f.read()
            except OSError:
                continue
            if int(s[s.rindex(")") + 2:].split()[1]) == pid:
                kids.append(int(d))
    return kids


def exe_of(pid: int) -> str | None:
    """The resolved path of the program that `pid` runs, or None."""
    try:
        return os.path.realpath(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return None


def send_signal(pid: int, sig: int) -> bool:
    """Sends `sig` to `pid`; False if the process no longer exists."""
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def read_kib(path: str, keys: tuple[str, ...]) -> dict[str, int]:
    """The `keys` of a /proc file of "Key: N kB" lines (status, smaps_rollup)."""
    vals: dict[str, int] = {}
    with open(path) as f:
        for line in f:
            k, _, rest = line.partition(":")
            if k in keys:
                vals[k] = int(rest.split()[0])  # kB
    return vals


def smaps_memory(pid: int) -> dict[str, int]:
    """RSS, PSS and USS (private pages) of `pid` in KiB, from smaps_rollup."""
    ro = read_kib(f"/proc/{pid}/smaps_rollup", ("Rss", "Pss", "Private_Clean", "Private_Dirty"))
    return {"rss_kib": ro["Rss"], "pss_kib": ro["Pss"],
            "uss_kib": ro.get("Private_Clean", 0) + ro.get("Private_Dirty", 0)}


# --------------------------------------------------------------------------
# statistics


def summary(xs: list[float]) -> dict:
    """Median, min, max, quartiles and count of the samples `xs`."""
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=4, method="inclusive") if len(xs) > 1 else [xs[0]] * 3
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1],
            "p25": q[0], "p75": q[2], "n": len(xs)}


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None if either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def paired_ratio(samples: list[dict], ref_samples: list[dict], key: str) -> float | None:
    """The median over rounds of samples[i][key] / ref_samples[i][key]: the
    same-round ratio, robust against slow drift of the machine. Rounds where
    the reference is 0 are left out; None if no round is left."""
    ratios = [a[key] / b[key] for a, b in zip(samples, ref_samples) if b[key]]
    return statistics.median(ratios) if ratios else None


def get(d: dict | None, *path: str):
    """d[path[0]][path[1]]..., or None where a level is missing."""
    for p in path:
        d = d.get(p) if isinstance(d, dict) else None
    return d


# --------------------------------------------------------------------------
# targets and report


def target(value, limit, ok) -> dict:
    """One ibex target in the results: the value, its limit, and whether it passed."""
    return {"value": value, "limit": limit, "pass": bool(ok)}


def at_most(value: float | None, limit: float) -> dict:
    """The target value <= limit (a missing value fails)."""
    return target(value, limit, value is not None and value <= limit)


def fmt_ratio(r: float | None) -> str:
    return "–" if r is None else f"{r:.2f}x"


def fmt_spread(s: dict) -> str:
    """Half the inter-quartile range of summary `s`, relative to its median."""
    if s["median"] == 0:
        return ""
    return f" ±{(s['p75'] - s['p25']) / 2 / s['median'] * 100:.0f}%"


def paired_table(res: dict, field: str, row: str, reference: str,
                 columns: list[tuple[str, str]]) -> list[str]:
    """Report lines for the cross-check table of paired ratios: one line for
    each entry of `res` that has `field`, one column for each (heading, key)
    of `columns`. `row` names the rows ("init", "supervisor")."""
    paired = {n: r[field] for n, r in res.items() if field in r}
    if not paired:
        return []
    L = ["", f"Cross-check, median over rounds of the same-round ratio {row}/{reference}:", ""]
    L.append(f"| {row} | " + " | ".join(f"{h} x {reference} (paired)" for h, _ in columns) + " |")
    L.append("|---|" + "---:|" * len(columns))
    for n, p in paired.items():
        L.append(f"| {n} | " + " | ".join(f"{p[k]:.2f}x" for _, k in columns) + " |")
    return L


def targets_table(res: dict, targets: dict | None,
                  labels: dict[str, tuple[str, Callable, Callable]]) -> list[str]:
    """Report lines for the PASS/FAIL table of the ibex targets. `labels` maps
    each target to its label and the formats of its value and of its limit.
    Without ibex in `res`: a note on how to include it."""
    if targets:
        L = ["", "### ibex targets", "", "| target | value | limit | result |", "|---|---:|---:|---|"]
        for k, t in targets.items():
            label, fmt_value, fmt_limit = labels[k]
            L.append(f"| {label} | {fmt_value(t['value'])} | {t.get('op', '≤')} {fmt_limit(t['limit'])} | "
                     f"{'PASS' if t['pass'] else 'FAIL'} |")
        return L
    if "ibex" not in res:
        return ["", "(ibex not benchmarked: pass --ibex PATH or set IBEX=PATH)"]
    return []


def machine_meta() -> dict:
    """The first entries of a report's metadata: date, kernel, machine, CPUs."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def finish(report: str, json_path: str | None, document: dict, duration_s: float,
           targets: dict | None, check: bool) -> int:
    """Prints the Markdown report, writes `document` to json_path (if given)
    and returns the exit status: 3 if `check` is set and ibex missed a
    target, else 0."""
    print(report)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(document, f, indent=2)
            f.write("\n")
        log(f"wrote {json_path}")
    log(f"total {duration_s} s")
    if check and targets and not all(t["pass"] for t in targets.values()):
        return 3
    return 0
