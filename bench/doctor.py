#!/usr/bin/env python3
"""Cost of `ibex doctor` and of the boot-time policy check (IBEX_POLICY), in one run.

A busybox root filesystem (Debian's busybox-static, its applet links, the ibex
under test at /sbin/ibex, /etc/passwd and /etc/group) gets its own /proc and
/sys mounted and a /dev holding only null; every program is started with
`chroot ROOT ...`, interleaved round-robin, --rounds times:

  * true          `chroot ROOT /bin/true`: the anchor (fork, exec, chroot);
  * doctor        `chroot ROOT /sbin/ibex doctor --format json --fail-on never`
                  (every probe, the file-system walk included);
  * init          `chroot ROOT /sbin/ibex init /bin/true` (boot and exit, no services);
  * init+policy   the same with IBEX_POLICY=restricted IBEX_POLICY_MODE=warn (every
                  control is evaluated and logged; the boot goes on).

Reported: medians of wall time and of CPU time (user + system, from wait4);
doctor's cost = doctor - true (target <= 20 ms); the boot check's cost =
(init+policy) - init, paired per round (target <= 5 ms). On a loaded machine
wall times inflate (the load average is printed); CPU times do not.

    sudo bench/doctor.py --ibex .build-release/ibex
    sudo bench/doctor.py --quick --json /tmp/doctor.json

Python 3.11 standard library only. Must run as root (mounts, chroot).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import die, log, require_root  # noqa: E402

DOCTOR_TARGET_MS = 20.0
BOOT_CHECK_TARGET_MS = 5.0


def build_root(ibex: Path) -> Path:
    root = Path(tempfile.mkdtemp(prefix="ibex-doctor-bench-"))
    for d in ["bin", "sbin", "proc", "sys", "dev", "etc", "tmp", "run"]:
        (root / d).mkdir()
    os.chmod(root / "tmp", 0o1777)
    shutil.copy2("/bin/busybox", root / "bin/busybox")
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (root / "bin" / applet).symlink_to("busybox")
    shutil.copy2(ibex, root / "sbin/ibex")
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    (root / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    (root / "dev/null").touch()
    mounts = [
        ["mount", "-t", "proc", "proc", str(root / "proc")],
        ["mount", "-t", "sysfs", "sysfs", str(root / "sys")],
        ["mount", "--bind", "/dev/null", str(root / "dev/null")],
    ]
    for command in mounts:
        subprocess.run(command, check=True)
    return root


def remove_root(root: Path) -> None:
    for path in ["dev/null", "sys", "proc"]:
        subprocess.run(["umount", "-l", str(root / path)], check=False)
    shutil.rmtree(root, ignore_errors=True)


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, from wait4) of one run, in ms."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"bench: error: {' '.join(command)} exited {process.returncode}")
    return elapsed, (usage.ru_utime + usage.ru_stime) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ibex", default=os.environ.get("IBEX", ".build-release/ibex"))
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="10 rounds")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    args = parser.parse_args()
    require_root("mounts /proc and /sys for the chroot")
    ibex = Path(args.ibex).resolve()
    if not ibex.is_file():
        die(f"no ibex at {ibex}: run scripts/build-release.sh")
    if not Path("/bin/busybox").is_file():
        die("no /bin/busybox: apt-get install busybox-static")
    rounds = 10 if args.quick else args.rounds
    root = build_root(ibex)
    base_env = {"PATH": "/bin:/sbin", "HOME": "/"}
    variants = {
        "true": (["chroot", str(root), "/bin/true"], base_env),
        "doctor": (["chroot", str(root), "/sbin/ibex", "doctor", "--format", "json", "--fail-on", "never"], base_env),
        "init": (["chroot", str(root), "/sbin/ibex", "init", "/bin/true"], base_env),
        "init+policy": (["chroot", str(root), "/sbin/ibex", "init", "/bin/true"],
                        base_env | {"IBEX_POLICY": "restricted", "IBEX_POLICY_MODE": "warn"}),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for name, (command, env) in variants.items():  # warm-up
            timed(command, env)
        log(f"{rounds} rounds of {', '.join(variants)}")
        for _ in range(rounds):
            for name, (command, env) in variants.items():
                wall, used = timed(command, env)
                samples[name].append(wall)
                cpu[name].append(used)
    finally:
        remove_root(root)
    median = {name: statistics.median(values) for name, values in samples.items()}
    cpu_median = {name: statistics.median(values) for name, values in cpu.items()}
    doctor_cost = median["doctor"] - median["true"]
    check_cost = statistics.median(p - i for p, i in zip(samples["init+policy"], samples["init"]))
    load = os.getloadavg()[0]
    print(f"load average at the end: {load:.1f} on {os.cpu_count()} CPUs (wall times inflate with load; CPU times do not)")
    print()
    print("| program | median wall (ms) | median CPU, user+system (ms) |")
    print("|---|---|---|")
    for name in variants:
        print(f"| {name} | {median[name]:.2f} | {cpu_median[name]:.2f} |")
    print()
    print(f"CPU: doctor {cpu_median['doctor'] - cpu_median['true']:.2f} ms beyond /bin/true; "
          f"boot check {cpu_median['init+policy'] - cpu_median['init']:.2f} ms")
    print(f"ibex doctor: {doctor_cost:.2f} ms beyond /bin/true (target <= {DOCTOR_TARGET_MS:.0f} ms): "
          f"{'met' if doctor_cost <= DOCTOR_TARGET_MS else 'MISSED'}")
    print(f"boot check (IBEX_POLICY=restricted): {check_cost:.2f} ms added to the boot, paired median "
          f"(target <= {BOOT_CHECK_TARGET_MS:.0f} ms): {'met' if check_cost <= BOOT_CHECK_TARGET_MS else 'MISSED'}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "rounds": rounds, "median_ms": median, "median_cpu_ms": cpu_median, "load": load,
            "doctor_cost_ms": doctor_cost, "boot_check_cost_ms": check_cost,
            "targets_ms": {"doctor": DOCTOR_TARGET_MS, "boot_check": BOOT_CHECK_TARGET_MS},
        }, indent=2))
    if doctor_cost > DOCTOR_TARGET_MS or check_cost > BOOT_CHECK_TARGET_MS:
        sys.exit(1)


if __name__ == "__main__":
    main()
