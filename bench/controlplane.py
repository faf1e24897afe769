"""What the real control plane costs: to build, on disk, to start and stop, and in memory.

    .venv/bin/python bench/controlplane.py [--runs 3] [--idle 15] [--cold]

Printed, for `make controlplane`'s build of the pinned release:
- no-op build: `controlplane/build.sh` when its stamp matches (what every later `make controlplane` costs);
- binaries: the size of each one in the cache directory;
- per run: start to ready (etcd /health, apiserver /readyz, both controllers' /healthz), the resident
  memory of each part after `--idle` seconds, and the time `stop` takes; median and range.
`--cold` first builds from nothing: empty module and build caches (GOMODCACHE, GOCACHE) and an empty
XDG_CACHE_HOME in a temporary directory, timed; then a warm rebuild with the same caches (binaries
removed), timed; the sizes of the module cache, build cache and binaries are printed and all of it is
deleted. That takes minutes on two cores and downloads the modules from the Go module proxy.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tui"))

from kcrash.lab.realcp.binaries import COMPONENTS, MissingBinaries, find_binaries  # noqa: E402
from kcrash.lab.realcp.controlplane import ControlPlane  # noqa: E402

BUILD = ROOT / "controlplane" / "build.sh"
MIB = 1024 * 1024


def timed_build(env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(["bash", str(BUILD)], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def disk_use(path: Path) -> int:
    """Bytes in files under `path`, as `du` would count them (allocated blocks)."""
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
    return total


def cold_and_warm() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="kcrash-cp-bench-"))
    env = {
        **os.environ,
        "GOMODCACHE": str(scratch / "mod"),
        "GOCACHE": str(scratch / "build"),
        "XDG_CACHE_HOME": str(scratch / "xdg"),
    }
    try:
        print(f"cold build      {timed_build(env):8.1f} s  (empty module and build caches)", flush=True)
        for stamp in (scratch / "xdg").glob("kcrash/controlplane/*/.stamp"):
            shutil.rmtree(stamp.parent)
        print(f"warm build      {timed_build(env):8.1f} s  (caches full, binaries removed)")
        for label, path in (("module cache", "mod"), ("build cache", "build"), ("binaries", "xdg")):
            print(f"{label:<15} {disk_use(scratch / path) / MIB:8.0f} MiB")
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(scratch)], check=False)  # the module cache is read-only
        shutil.rmtree(scratch, ignore_errors=True)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def one_run(idle: float) -> dict[str, float]:
    binaries = find_binaries()
    cp = ControlPlane(binaries)
    started = time.monotonic()
    try:
        cp.start()
        figures = {"start to ready (s)": time.monotonic() - started}
        time.sleep(idle)
        for part in cp.supervisor.parts:
            figures[f"{part.name} RSS (MiB)"] = rss_mib(part.pid)
        figures["all parts RSS (MiB)"] = sum(v for k, v in figures.items() if k.endswith("RSS (MiB)"))
    finally:
        stopping = time.monotonic()
        cp.stop()
    figures["stop (s)"] = time.monotonic() - stopping
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=15.0, help="seconds before memory is read")
    parser.add_argument("--cold", action="store_true", help="also time a build from empty caches")
    options = parser.parse_args()
    if options.cold:
        cold_and_warm()
    print(f"no-op build     {timed_build(dict(os.environ)):8.2f} s  (stamp matches)")
    try:
        binaries = find_binaries()
    except MissingBinaries as exc:
        print(f"controlplane: {exc}", file=sys.stderr)
        return 1
    for name in COMPONENTS:
        print(f"{name:<24} {binaries.path(name).stat().st_size / MIB:6.0f} MiB  ({binaries.version})")
    runs = [one_run(options.idle) for _ in range(options.runs)]
    print(f"\n{'figure':<34} {'median':>8}  range over {len(runs)} runs")
    for key in runs[0]:
        values = [run[key] for run in runs]
        print(f"{key:<34} {statistics.median(values):8.1f}  {min(values):.1f}..{max(values):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
