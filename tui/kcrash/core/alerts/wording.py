"""An alert's words: its owner, what happened, the likely cause the diagnosis names, dying words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kcrash.core.alerts.model import RuleName
from kcrash.core.diagnose import diagnose, memory_trend
from kcrash.core.humanize import human_duration
from kcrash.core.quantity import format_bytes
from kcrash.core.records import ContainerState, ContainerStatus, DiagnosisInput, MemorySample, Pod
from kcrash.core.sanitize import clean_line

QUOTE = 240  # characters of a quote an alert carries


def owner_of(pod: Pod) -> str:
    """ "Deployment/web" for a pod of a Deployment's ReplicaSet (the name less its
    pod-template-hash), the controller's Kind/name otherwise, "Pod/name" for a bare pod."""
    ref = pod.controller
    if ref is None:
        return f"Pod/{pod.name}"
    if ref.kind == "ReplicaSet":
        template_hash = dict(pod.labels).get("pod-template-hash", "")
        if template_hash and ref.name.endswith("-" + template_hash):
            return f"Deployment/{ref.name[: -len(template_hash) - 1]}"
    return f"{ref.kind}/{ref.name}"


@dataclass(frozen=True, slots=True)
class Explained:
    exit_code: int | None
    restart_count: int
    message: str
    dying_words: str
    cause: str
    likely_cause: str
    evidence: tuple[tuple[str, str], ...]


def explain(
    rule: RuleName,
    pod: Pod,
    container: str,
    reason: str,
    now: datetime,
    memory: Sequence[MemorySample] = (),
) -> Explained:
    """The words of an alert: what the pod says and what the diagnosis makes of it, from the pod
    and the memory samples kcrash holds (no events, no logs: alerts make no requests)."""
    status = pod.status_for(container)
    term = _termination(status)
    exit_code = term.exit_code if term is not None else None
    dying = clean_line(term.message, max_len=QUOTE) if term is not None and term.message else ""
    diag = diagnose(DiagnosisInput(pod=pod, now=now, memory=tuple(memory), absent=frozenset({"events"})))
    evidence = tuple((clean_line(e.source), clean_line(e.quote, max_len=QUOTE)) for e in diag.evidence[:4])
    known = diag.cause not in ("unknown", "healthy")
    likely = clean_line(diag.headline, max_len=QUOTE) if known else ""
    if rule == "oom-killed" or diag.cause == "oom-killed":
        likely = _oom_words(pod, container, memory, term.finished_at if term else None) or likely
    if not dying:
        dying = next((q for source, q in evidence if "log" in source), "")
    return Explained(
        exit_code=exit_code,
        restart_count=status.restart_count if status is not None else 0,
        message=_what_happened(rule, container, reason, status, exit_code),
        dying_words=dying,
        cause=diag.cause if known else "",
        likely_cause=likely,
        evidence=evidence,
    )


def _termination(status: ContainerStatus | None) -> ContainerState | None:
    if status is None:
        return None
    if status.state.kind == "terminated":
        return status.state
    last = status.last_state
    return last if last is not None and last.kind == "terminated" else None


def _oom_words(pod: Pod, container: str, memory: Sequence[MemorySample], finished: datetime | None) -> str:
    """ "OOMKilled — memory limit 256Mi, grew 58Mi/min" (the growth when samples show it)."""
    spec = pod.spec_for(container)
    limit = spec.memory_limit if spec is not None else None
    words = "OOMKilled — " + (f"memory limit {format_bytes(limit)}" if limit else "no memory limit")
    samples = [s for s in memory if s.container == container]
    trend = memory_trend(samples, None, finished) if len(samples) >= 2 else None
    if trend is not None and trend.slope_mib_per_min > 0.5:
        words += f", grew {trend.slope_mib_per_min:.0f}Mi/min"
    return words


def _what_happened(
    rule: RuleName, container: str, reason: str, status: ContainerStatus | None, exit_code: int | None
) -> str:
    restarts = status.restart_count if status is not None else 0
    code = f" (exit {exit_code})" if exit_code is not None else ""
    if rule == "oom-killed":
        return f"container {container} was OOM-killed{code}, {_times(restarts)}"
    if rule == "restarted":
        why = f" after {reason}" if reason and reason != "Restarted" else ""
        return f"container {container} restarted{why}{code}, {_times(restarts)}"
    if rule == "crash-loop":
        return f"container {container} is in CrashLoopBackOff, {_times(restarts)}"
    if rule == "stuck-waiting":
        return f"container {container} has been waiting in {reason}"
    return f"container {container}: {reason}"


def _times(restarts: int) -> str:
    return f"{restarts} restart" if restarts == 1 else f"{restarts} restarts"


def rate_words(count: int, period: float) -> str:
    return f"{count} restarts in {human_duration(period)}"
