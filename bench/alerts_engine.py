"""The alert engine's cost on a busy cluster: 20,000 pods, churn at 200 events/s.

Pure CPU, in-process: the engine makes no request (its only inputs are the pod versions the
console and `kcrash watch` already hold), so what it adds is the time `AlertEngine.update` takes
per watch event. The churn is what a large cluster sends: mostly readiness flips and new
resourceVersions (which no rule reads), with a share of restarts, crash loops and OOM kills that
fire or fold into open alerts. Prints the cost per event and the share of one core at the rate.

    .venv/bin/python bench/alerts_engine.py [--pods 20000] [--rate 200] [--seconds 60] [--batch 8]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from msgspec.structs import replace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))

from kcrash.core.alerts import AlertEngine
from kcrash.core.records import (
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    OwnerRef,
    Pod,
    PodCondition,
)

T0 = datetime(2025, 3, 1, tzinfo=UTC)
MI = 1024 * 1024


def make_pod(n: int) -> Pod:
    app = f"app-{n // 5}"
    template = "7d9f8c6b5"
    return Pod(
        namespace=f"team-{n % 40}",
        name=f"{app}-{template}-{n:05d}",
        resource_version=str(n),
        labels=(("app", app), ("pod-template-hash", template)),
        owners=(OwnerRef("ReplicaSet", f"{app}-{template}", controller=True),),
        phase="Running",
        start_time=T0,
        conditions=(PodCondition("Ready", "True", last_transition=T0),),
        containers=(ContainerSpec("app", "registry/app:1", memory_limit=256 * MI),),
        container_statuses=(
            ContainerStatus(
                "app", ready=True, restart_count=0, state=ContainerState("running", started_at=T0)
            ),
        ),
    )


def churn(pod: Pod, rng: random.Random, version: int, now: datetime) -> Pod:
    """One watch event's new version: 95 % readiness flips, 4 % restarts, 1 % OOM kills."""
    status = pod.container_statuses[0]
    roll = rng.random()
    if roll < 0.95:
        status = replace(status, ready=not status.ready)
    else:
        reason, code = ("OOMKilled", 137) if roll >= 0.99 else ("Error", 1)
        last = ContainerState("terminated", reason=reason, exit_code=code, finished_at=now)
        waiting = ContainerState("waiting", reason="CrashLoopBackOff")
        status = replace(status, restart_count=status.restart_count + 1, last_state=last, state=waiting)
    return replace(pod, resource_version=str(version), container_statuses=(status,))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=200.0, help="watch events per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="simulated seconds of churn")
    parser.add_argument("--batch", type=int, default=8, help="events per delivery (the console coalesces)")
    args = parser.parse_args()
    rng = random.Random(1)
    pods = [make_pod(n) for n in range(args.pods)]
    engine = AlertEngine()
    began = time.process_time()
    engine.baseline(pods, T0)
    baseline_s = time.process_time() - began

    events = int(args.rate * args.seconds)
    step = timedelta(seconds=1 / args.rate)
    now = T0
    spent = 0.0
    fired = 0
    version = args.pods
    for start in range(0, events, args.batch):
        batch: list[Pod] = []
        for _ in range(min(args.batch, events - start)):
            index = rng.randrange(args.pods)
            version += 1
            now += step
            pods[index] = churn(pods[index], rng, version, now)
            batch.append(pods[index])
        began = time.process_time()
        fired += len(engine.update(batch, (), now))
        if start % int(args.rate) < args.batch:
            fired += len(engine.tick(now))
        spent += time.process_time() - began

    per_event_us = spent / events * 1e6
    share = spent / args.seconds * 100
    print(f"pods                      {args.pods:>10,}")
    rate = f"{args.rate:.0f}/s for {args.seconds:.0f} s, batches of {args.batch}"
    print(f"events                    {events:>10,}  ({rate})")
    print(f"baseline (first list)     {baseline_s * 1000:>10.1f} ms")
    print(f"engine time per event     {per_event_us:>10.1f} µs")
    print(f"alerts fired              {fired:>10,}  (the rest folded into open alerts)")
    print(f"share of one core         {share:>10.3f} %  (target < 1 %)")
    print(f"requests made             {0:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
