"""What an hour of memory history costs the metrics sampler at scale, without a cluster.

    .venv/bin/python bench/metrics_memory.py [--pods 20000] [--rounds 240] [--interesting 100]

Every round hands the sampler one PodMetrics list (what `list_pod_metrics` returns after its LIST:
decoded JSON, one container per pod, timestamps spread over a hundred nodes, a new working set
per pod), the way `sample_once` records it. `--interesting` pods are marked for the chart's full
history. Printed: the growth of the process's resident memory (VmRSS) over all rounds, the peak
(VmHWM), and the time per round (median and slowest), which the console's memory reads wait on.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))

from kcrash.cluster.metrics import DEFAULT_INTERVAL, MetricsSampler

NODES = 100
START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


class Replay:
    """The two calls the sampler makes of the API, answered from memory."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def metrics_api_available(self) -> bool:
        return True

    def list_pod_metrics(self, namespace: str | None) -> list[dict[str, Any]]:
        return self.items


def pod_metrics(pods: int) -> list[dict[str, Any]]:
    return [
        {
            "kind": "PodMetrics",
            "metadata": {"namespace": f"team-{i % 10}", "name": f"app-{i:05d}-7c9d8f6b5-x2k4p"},
            "timestamp": "",
            "window": "15s",
            "containers": [{"name": "app", "usage": {"cpu": "12m", "memory": "0Ki"}}],
        }
        for i in range(pods)
    ]


def next_round(items: list[dict[str, Any]], round_no: int) -> None:
    """The same pods a scrape later: a new timestamp per node and a new working set per pod."""
    scrape = START + timedelta(seconds=round_no * DEFAULT_INTERVAL)
    stamps = [(scrape + timedelta(seconds=node / 10)).strftime(STAMP) for node in range(NODES)]
    for i, item in enumerate(items):
        item["timestamp"] = stamps[i % NODES]
        item["containers"][0]["usage"]["memory"] = f"{40_000 + (i * 7 + round_no * 13) % 90_000}Ki"


def rss_kib(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=240)
    parser.add_argument("--interesting", type=int, default=100)
    args = parser.parse_args()

    api = Replay()
    sampler = MetricsSampler(api, None)
    items = pod_metrics(args.pods)
    sampler.keep_history(
        (str(item["metadata"]["namespace"]), str(item["metadata"]["name"]))
        for item in items[: args.interesting]
    )
    next_round(items, 0)
    api.items = items
    before = rss_kib()
    timings: list[float] = []
    for round_no in range(args.rounds):
        next_round(items, round_no)
        started = time.perf_counter()
        if not sampler.sample_once():
            raise SystemExit(f"round {round_no} recorded nothing: {sampler.note}")
        timings.append(time.perf_counter() - started)
    after = rss_kib()
    print(
        f"{args.pods} pods x {args.rounds} rounds ({args.interesting} with full history): "
        f"RSS +{(after - before) / 1024:.1f} MiB (peak VmHWM {rss_kib('VmHWM') / 1024:.1f} MiB), "
        f"per round median {statistics.median(timings) * 1000:.1f} ms, slowest {max(timings) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
