"""OOM kills, and what the memory samples say about the container's use up to its death."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kcrash.core.diagnose.facts import Facts, events_with
from kcrash.core.diagnose.wording import (
    MIB,
    cmd_logs,
    cmd_spec,
    container_word,
    diagnosis,
    fmt_bytes,
    fmt_mib,
    fmt_seconds,
    log_evidence,
    merged,
    nice_mib,
    node_ref,
    ns_flag,
    pod_word,
    sh,
    termination_evidence,
    workload,
)
from kcrash.core.records import Diagnosis, Event, Evidence, MemorySample

METRICS_RESOLUTION_S = 15  # metrics-server cannot see more often than the kubelet scrapes


@dataclass(frozen=True, slots=True)
class MemoryTrend:
    """What the samples say about the container's memory up to its death."""

    count: int
    peak: int
    first: MemorySample | None
    last: MemorySample | None  # the last sample before the kill
    slope_mib_per_min: float  # least squares over the samples
    climbing: bool  # kept rising steadily until the kill


def memory_trend(
    samples: Sequence[MemorySample], start: datetime | None, end: datetime | None
) -> MemoryTrend | None:
    """The trend over the dead instance's lifetime (all samples when its times are unknown).

    Samples taken after `end` (the kill) belong to the instance that replaced it: they never stand
    for "the last sample before the kill". None when every sample came after it.
    """
    ordered = sorted(samples, key=lambda s: s.at)
    if end is not None:
        before = [s for s in ordered if s.at <= end]
        window = [s for s in before if start is None or start <= s.at]
        ordered = window or before
    if not ordered:
        return None
    slope = _slope_mib_per_min(ordered)
    rising_steps = sum(1 for a, b in itertools.pairwise(ordered) if b.bytes > a.bytes)
    span = (ordered[-1].at - ordered[0].at).total_seconds()
    climbing = (
        len(ordered) >= 4
        and span >= 60
        and slope > 0
        and rising_steps >= 0.75 * (len(ordered) - 1)
        and ordered[-1].bytes >= 1.3 * ordered[0].bytes
    )
    return MemoryTrend(
        count=len(ordered),
        peak=max(s.bytes for s in ordered),
        first=ordered[0],
        last=ordered[-1],
        slope_mib_per_min=slope,
        climbing=climbing,
    )


def _slope_mib_per_min(samples: Sequence[MemorySample]) -> float:
    if len(samples) < 2:
        return 0.0
    t0 = samples[0].at
    xs = [(s.at - t0).total_seconds() / 60 for s in samples]
    ys = [s.bytes / MIB for s in samples]
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


def container_samples(f: Facts) -> list[MemorySample]:
    return [s for s in f.inp.memory if s.container == f.container]


def memory_findings(f: Facts, limit: int | None) -> tuple[list[Evidence], list[str], MemoryTrend | None]:
    """Evidence and advice from the memory samples, honest about what they cannot show."""
    term = f.termination
    samples = container_samples(f)
    trend = memory_trend(samples, term.started_at if term else None, term.finished_at if term else None)
    if trend is None:
        why = (
            f"all {len(samples)} taken after the kill"
            if samples
            else "not in the input"
            if f.lacks("metrics")
            else "metrics.k8s.io is not available on this cluster"
            if not f.inp.metrics_available
            else "no samples yet"
        )
        return [Evidence("memory samples", f"none ({why})")], [], None
    ev: list[Evidence] = []
    notes: list[str] = []
    peak_text = fmt_bytes(trend.peak)
    if limit:
        peak_text += f" of the {fmt_bytes(limit)} limit ({trend.peak * 100 // limit}%)"
    ev.append(Evidence("memory samples", f"peak {peak_text} over {trend.count} samples"))
    if trend.climbing and trend.first and trend.last:
        ev.append(
            Evidence(
                "memory trend",
                f"{fmt_bytes(trend.first.bytes)} → {fmt_bytes(trend.last.bytes)}, "
                f"+{trend.slope_mib_per_min:.1f} Mi/min until the kill",
            )
        )
    if (
        limit
        and trend.last
        and term is not None
        and term.finished_at is not None
        and trend.last.bytes < 0.8 * limit
    ):
        gap = (term.finished_at - trend.last.at).total_seconds()
        notes.append(
            f"The last sample before the kill ({fmt_seconds(gap)} earlier) was "
            f"{fmt_bytes(trend.last.bytes)}, "
            f"well under the {fmt_bytes(limit)} limit: the spike fell between samples "
            f"(metrics resolution is {METRICS_RESOLUTION_S} s at best) - look for a burst (a large "
            "request, a file loaded whole)"
        )
    return ev, notes, trend


def oom_killed(f: Facts) -> bool:
    return f.reason == "OOMKilled"


# The kernel's OOM killer in its own words, as the node's events (SystemOOM from the kubelet,
# OOMKilling from node-problem-detector) or kernel log lines (dmesg, journalctl -k) repeat them.
_KERNEL_OOM = re.compile(
    r"System OOM encountered|(?:Memory cgroup out of memory|Out of memory): Kill(?:ed)? process|"
    r"oom-kill:constraint=|invoked oom-killer|oom_reaper: reaped process|Killed process \d+ \(",
    re.I,
)
_VICTIM = re.compile(
    r"Kill(?:ed)? process \d+ \(([^)\s]+)\)|victim process: ([^,\s]+)|\btask=([^,\s]+)", re.I
)
_MEMCG = re.compile(r"Memory cgroup out of memory|CONSTRAINT_MEMCG", re.I)
_OOM_EVENTS = ("SystemOOM", "OOMKilling", "OOMKilled")


@dataclass(frozen=True, slots=True)
class KernelOom:
    """What the node said about an OOM kill: the events and log lines, and whether a cgroup's
    limit (not the whole node) ran out."""

    events: list[Event]
    lines: list[str]

    @property
    def victim(self) -> str:
        """The process the kernel killed ("java"), as its messages name it."""
        for text in [*self.lines, *(e.message for e in self.events)]:
            named = _VICTIM.search(text)
            if named:
                return next(group for group in named.groups() if group)
        return ""

    @property
    def memcg(self) -> bool:
        return any(_MEMCG.search(text) for text in [*(e.message for e in self.events), *self.lines])


def kernel_oom(f: Facts) -> KernelOom | None:
    events = [e for e in f.events if e.reason in _OOM_EVENTS or _KERNEL_OOM.search(e.message)]
    lines = [line for line in f.log_lines if _KERNEL_OOM.search(line)]
    return KernelOom(events, lines) if events or lines else None


def unlabelled_oom(f: Facts) -> bool:
    """The kernel's OOM killer on record, but no OOMKilled reason: a SIGKILL reported as `Error` /
    137 (a system OOM, or a kill the runtime missed), or no container state pasted at all."""
    if f.reason == "OOMKilled" or kernel_oom(f) is None:
        return False
    if f.termination is None:
        return f.status is None or f.status.state.kind == "unknown"
    return f.exit_code == 137 or f.termination.signal == 9


def rule_unlabelled_oom(f: Facts) -> Diagnosis | None:
    found = kernel_oom(f)
    if found is None:
        return None
    limit = f.spec.memory_limit if f.spec else None
    ev: list[Evidence | None] = [termination_evidence(f)]
    ev.extend(
        merged([e for e in found.events if e.reason == r], r)
        for r in dict.fromkeys(e.reason for e in found.events)
    )
    ev.extend(log_evidence(f, line) for line in found.lines[-2:])
    if f.spec_known:
        ev.append(
            Evidence(f"spec {f.label} resources.limits.memory", fmt_bytes(limit) if limit else "(none)")
        )
    where = "its memory cgroup's limit" if found.memcg else "the node's memory"
    victim = f" (process {found.victim})" if found.victim else ""
    said = f"exit {f.exit_code}, reason {f.reason or '(none)'}" if f.termination else "no state in the input"
    headline = f"{f.subject} was killed by the kernel's OOM killer{victim}: {where} ran out ({said})"
    target = workload(f)
    steps = (
        [
            "A cgroup's memory limit ran out: raise the container's (or the pod's) memory limit to about "
            "1.5× what it used",
            *oom_steps_without_spec(f, target)[:1],
        ]
        if found.memcg
        else [
            "The node ran out of memory and the kernel picked this container: set memory requests "
            "(and limits) from real use so the scheduler stops overcommitting the node",
            f"Check the node's memory: `kubectl describe node {node_ref(f)}`",
        ]
    )
    steps.append(f"`{cmd_logs(f)}` shows what it was doing when it died")
    detail = "over-limit" if found.memcg and (limit or not f.spec_known) else "node-oom"
    return diagnosis("oom-killed", headline, f, ev, steps, detail=detail)


def rule_oom(f: Facts) -> Diagnosis | None:
    limit = f.spec.memory_limit if f.spec else None
    mem_ev, notes, trend = memory_findings(f, limit)
    ev: list[Evidence | None] = [termination_evidence(f)]
    shown = fmt_bytes(limit) if limit else "(none)" if f.spec_known else "(not in the input)"
    ev.append(Evidence(f"spec {f.label} resources.limits.memory", shown))
    ev.extend(mem_ev)
    if f.log_cut and f.log_lines:
        ev.append(log_evidence(f, f.log_lines[-1] + " [log ends mid-line]"))
    ev.extend(e for e in [merged(events_with(f, "OOMKilling"), "OOMKilling")] if e)
    target = workload(f)
    peak = trend.peak if trend else 0
    steps: list[str] = []
    if not f.spec_known:
        headline = f"{f.subject} was OOM-killed; its memory limit is not in the input"
        steps.extend(oom_steps_without_spec(f, target))
    elif limit is None:
        headline = f"{f.subject} was OOM-killed with no memory limit: the node ran out of memory"
        base = peak or 0
        steps.append(
            "Set a memory request and limit from observed use"
            + (f": request {fmt_mib(nice_mib(base))}, limit {fmt_mib(nice_mib(base * 1.5))}" if base else "")
        )
        steps.append(f"Check the node's memory pressure: `kubectl describe node {node_ref(f)}`")
    else:
        new_limit = fmt_mib(nice_mib(max(peak, limit) * 1.5))
        if trend is not None and trend.climbing:
            headline = (
                f"{f.subject} was OOM-killed at its {fmt_bytes(limit)} limit after memory climbed "
                f"steadily (+{trend.slope_mib_per_min:.1f} Mi/min): looks like a leak"
            )
            minutes = (nice_mib(max(peak, limit) * 1.5) - limit / MIB) / max(trend.slope_mib_per_min, 0.01)
            steps.append(
                f"Investigate the leak: memory rose {trend.slope_mib_per_min:.1f} Mi/min until the "
                "kill; a bigger limit only "
                f"delays it (at this rate {new_limit} adds about {fmt_seconds(minutes * 60)}); take a "
                "heap profile"
            )
            steps.append(_set_memory(f, target, new_limit, "a stop-gap while the leak is found"))
        else:
            headline = f"{f.subject} was OOM-killed: it needs more than its {fmt_bytes(limit)} memory limit"
            basis = (
                f"observed peak {fmt_bytes(peak)}"
                if trend and peak >= limit * 0.8
                else f"the {fmt_bytes(limit)} limit it hit"
            )
            steps.append(_set_memory(f, target, new_limit, f"{basis} ×1.5"))
            steps.append(
                "If usage keeps climbing after the raise, investigate a leak rather than raising again"
            )
    steps.extend(notes)
    if trend is None:
        steps.append(
            "No memory samples to size the limit from: watch it after the change with "
            f"`kubectl top pod {pod_word(f)}{ns_flag(f)} --containers`"
        )
    if f.exit_code == 0:
        steps.insert(
            0,
            "Exit 0 with reason OOMKilled: the kernel killed a process in the container (often a child, "
            "such as a worker or a shell command) and the main process then exited by itself",
        )
    steps.append(f"`{cmd_logs(f)}` shows what it was doing when it died")
    return diagnosis("oom-killed", headline, f, ev, steps, detail=oom_detail(f, limit, trend))


def oom_detail(f: Facts, limit: int | None, trend: MemoryTrend | None) -> str:
    """Which OOM kill this is, as far as the spec and the samples tell."""
    if f.exit_code == 0:
        return "oom-exit-0"
    if not f.spec_known:
        return ""  # the limit it hit is unknown
    if limit is None:
        return "node-oom"
    return "memory-leak" if trend is not None and trend.climbing else "over-limit"


def oom_steps_without_spec(f: Facts, target: str) -> list[str]:
    """What to do about an OOM kill when the limit it hit is unknown: look it up first."""
    raise_it = (
        "If it has one, raise it to about 1.5× what it hit: `kubectl set resources "
        f"{sh(target)}{ns_flag(f)} -c {container_word(f)} --limits=memory=<new-limit>`"
        if target
        else f"If it has one, raise resources.limits.memory of {f.label} to about 1.5× what it hit"
    )
    return [
        f"See its memory limit: `{cmd_spec(f, 'resources')}`",
        raise_it,
        f"If it has none, the node ran out of memory: `kubectl describe node {node_ref(f)}`",
    ]


def _set_memory(f: Facts, target: str, new_limit: str, why: str) -> str:
    if target:
        return (
            f"Raise the memory limit to {new_limit} ({why}): `kubectl set resources {sh(target)} "
            f"{ns_flag(f)} -c {container_word(f)} --limits=memory={new_limit}`"
        )
    return f"Raise resources.limits.memory of {f.label} to {new_limit} ({why})"
