"""`kubectl get pods` printed again and again in one paste (`-w`, or the command run a few times).

The newest row of a pod stands for it; the older ones tell how it got there. Their STATUS and
RESTARTS over time become a remark ("OOMKilled → Running → CrashLoopBackOff; restarts 3 → 5"),
and a termination an older row shows ("OOMKilled", "Error", "ExitCode:2") is the last state of
a container the newest row shows waiting or running with none: the rows are what kubectl saw.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from msgspec.structs import replace

from kcrash.cluster.paste.model import PodFacts
from kcrash.cluster.paste.table import state_from_status

TREND = "get pods over time"


def newest_rows(pods: Sequence[PodFacts]) -> list[PodFacts]:
    """The pods in their order, a pod's `get pods` rows folded into its newest one."""
    rows: dict[tuple[str, str], list[PodFacts]] = {}
    for facts in pods:
        if facts.rank == 1:
            rows.setdefault((facts.pod.namespace, facts.pod.name), []).append(facts)
    kept: list[PodFacts] = []
    for facts in pods:
        same = rows.get((facts.pod.namespace, facts.pod.name)) if facts.rank == 1 else None
        if same is None:
            kept.append(facts)
        elif facts is same[0]:
            kept.append(_folded(same))
    return kept


def _folded(rows: list[PodFacts]) -> PodFacts:
    newest = rows[-1]
    if len(rows) == 1:
        return newest
    statuses = [row.status_text for row in rows]
    shown = [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]
    restarts = [_restarts(row) for row in rows]
    trend = " → ".join(shown)
    if restarts[0] != restarts[-1]:
        trend += f"; restarts {restarts[0]} → {restarts[-1]}"
    trend += f" ({len(rows)} rows)"
    # Once Terminating, a pod stays deleted: the rows after it (Error, Completed) are its containers
    # ending on the deletion's signal.
    deleting = newest.terminating or any(row.terminating for row in rows[:-1])
    folded = dataclasses.replace(newest, remarks=((TREND, trend),), terminating=deleting)
    return _with_last_termination(folded, rows[:-1])


def _restarts(row: PodFacts) -> int:
    return max((s.restart_count for s in row.pod.container_statuses), default=0)


def _with_last_termination(newest: PodFacts, older: list[PodFacts]) -> PodFacts:
    """The newest row's container, running again or waiting, last ended as the latest older row
    that shows it terminated says."""
    statuses = newest.pod.container_statuses
    subject = next((i for i, s in enumerate(statuses) if not s.name), None)
    if subject is None or statuses[subject].last_state is not None:
        return newest
    if statuses[subject].state.kind == "terminated":
        return newest
    for row in reversed(older):
        state = state_from_status(row.status_text)
        if state is None or state.kind != "terminated":
            continue
        line = row.sources.get("status", "")
        updated = list(statuses)
        updated[subject] = replace(statuses[subject], last_state=state)
        sources = dict(newest.sources)
        told = {"reason": state.reason, "exitCode": state.exit_code, "signal": state.signal}
        sources.update({f"/lastState.terminated.{k}": line for k, v in told.items() if v not in (None, "")})
        pod = replace(newest.pod, container_statuses=tuple(updated))
        return dataclasses.replace(newest, pod=pod, sources=sources)
    return newest
