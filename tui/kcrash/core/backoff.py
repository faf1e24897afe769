"""The kubelet's crash-loop back-off, modelled so the console can say when the next restart comes.

How the kubelet does it (pkg/kubelet/kuberuntime `doBackOff` with client-go `flowcontrol.Backoff`,
10 s initial, 300 s cap): when a container exits, the kubelet restarts it at once the first time
and records a 10 s back-off; each further exit waits the recorded back-off, counted from the
exit's `finishedAt`, then doubles it up to the cap. So with `restartCount` N (N >= 1) a container
waiting in CrashLoopBackOff waits 10 s * 2^(N-1), capped. The record expires, and the next exit
restarts at once with the back-off back at 10 s, when the exit came more than 2 x cap (600 s)
after the restart that started the instance - "ten minutes of clean running".

This is an estimate and always says so: restart counts survive a reset while the back-off does
not, nodes may lower the cap (KubeletCrashLoopBackOffMax, beta in Kubernetes 1.35) or use the
faster 1 s -> 60 s curve (ReduceDefaultCrashLoopBackOffDecay). When the waiting message carries
the kubelet's own figure ("back-off 40s restarting failed container=..."), that figure wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from kcrash.core.humanize import countdown, human_duration, parse_go_duration, short_duration
from kcrash.core.records import ContainerStatus

INITIAL_BACKOFF = 10.0
MAX_BACKOFF = 300.0
RESET_AFTER = 600.0
CAP_CAVEAT = (
    "estimate: nodes may set a lower cap (KubeletCrashLoopBackOffMax, Kubernetes 1.35) "
    "and a reset back-off is not visible in the restart count"
)

Phase = Literal["backoff", "exited", "running", "waiting", "stopped", "unknown"]
Source = Literal["kubelet", "model", "none"]

_MESSAGE = re.compile(r"back-off (\S+) restarting failed container", re.IGNORECASE)


def kubelet_delay(message: str) -> float | None:
    """The back-off the kubelet wrote in a CrashLoopBackOff waiting message, in seconds."""
    match = _MESSAGE.search(message)
    if match is None:
        return None
    try:
        return parse_go_duration(match.group(1))
    except ValueError:
        return None


def model_delay(restart_count: int, *, initial: float = INITIAL_BACKOFF, cap: float = MAX_BACKOFF) -> float:
    """The wait before the next restart after an exit, given restarts so far (no reset assumed)."""
    if restart_count <= 0:
        return 0.0  # the first exit is restarted at once
    # Cap before exponentiating so a restart count in the thousands cannot overflow.
    doublings = min(restart_count - 1, 64)
    return min(cap, initial * 2.0**doublings)


@dataclass(frozen=True, slots=True)
class BackoffEstimate:
    """Where one container stands in the kubelet's restart back-off, as of `now`."""

    container: str
    phase: Phase
    restart_count: int
    delay: float | None = None  # the back-off now in force (before the next restart), seconds
    source: Source = "none"  # "kubelet" when read from the waiting message
    next_restart_at: datetime | None = None
    remaining: float | None = None  # seconds until next_restart_at, never negative
    running_for: float | None = None  # seconds the current instance has been running
    next_delay: float | None = None  # while running: the wait if it exited now
    reset_after: float = RESET_AFTER
    waiting_reason: str = ""

    @property
    def next_restart(self) -> int:
        """The number the next restart will carry (restartCount + 1)."""
        return self.restart_count + 1

    @property
    def stable(self) -> bool:
        """Running long enough that an exit now would be restarted at once with a fresh back-off."""
        return self.running_for is not None and self.running_for > self.reset_after

    def describe(self) -> str:
        """One line for the status bar, always marked as an estimate."""
        reset = human_duration(self.reset_after)
        if self.phase in ("backoff", "exited"):
            return self._describe_pending(reset)
        if self.phase == "running":
            return self._describe_running(reset)
        if self.phase == "waiting":
            return f"waiting ({self.waiting_reason or 'no reason given'}); no restart countdown"
        if self.phase == "stopped":
            return "exited; the restart policy does not restart it"
        return "no restart expected"

    def _describe_pending(self, reset: str) -> str:
        delay = short_duration(self.delay or 0.0)
        origin = "kubelet's figure, estimate" if self.source == "kubelet" else "estimate"
        if self.remaining is None:
            when = "time unknown"
        elif self.remaining <= 0:
            when = "due now"
        else:
            when = f"in {countdown(self.remaining)}"
        return (
            f"restart {self.next_restart} {when} (back-off {delay}, {origin}); "
            f"resets after {reset} of clean running"
        )

    def _describe_running(self, reset: str) -> str:
        if self.running_for is None:
            return f"running; back-off resets after {reset} of clean running (estimate)"
        ran = human_duration(self.running_for)
        if self.stable:
            return f"running {ran}; back-off has reset, an exit now restarts at once (estimate)"
        wait = short_duration(self.next_delay or 0.0)
        return f"stable for {ran} of {reset} before reset; an exit now would wait {wait} (estimate)"


def _restarts_at_all(policy: str, exit_code: int | None) -> bool:
    if policy == "Never":
        return False
    return not (policy == "OnFailure" and exit_code == 0)


def estimate_backoff(
    status: ContainerStatus,
    now: datetime,
    *,
    initial: float = INITIAL_BACKOFF,
    cap: float = MAX_BACKOFF,
    reset_after: float = RESET_AFTER,
    restart_policy: str = "Always",
) -> BackoffEstimate:
    """Estimate the container's back-off: delay in force, next restart time and time left.

    `restart_policy` is the pod's (or a sidecar's "Always"); with Never, or OnFailure after exit 0,
    an exited container is not restarted.
    """
    state, last = status.state, status.last_state
    base = BackoffEstimate(status.name, "unknown", status.restart_count, reset_after=reset_after)

    if state.kind == "running":
        running_for = None if state.started_at is None else max(0.0, (now - state.started_at).total_seconds())
        return replace(
            base,
            phase="running",
            running_for=running_for,
            next_delay=model_delay(status.restart_count, initial=initial, cap=cap),
            source="model",
        )

    if state.kind == "waiting" and state.reason == "CrashLoopBackOff":
        finished = last.finished_at if last is not None and last.kind == "terminated" else None
        from_kubelet = kubelet_delay(state.message)
        source: Source = "model" if from_kubelet is None else "kubelet"
        if from_kubelet is None:
            delay = model_delay(status.restart_count, initial=initial, cap=cap)
        else:
            delay = from_kubelet
        return _pending(base, "backoff", delay, source, finished, now)

    if state.kind == "terminated":
        if not _restarts_at_all(restart_policy, state.exit_code):
            return replace(base, phase="stopped")
        ran = _ran_for(state.started_at, state.finished_at)
        long_run = ran is not None and ran > reset_after
        delay = 0.0 if long_run else model_delay(status.restart_count, initial=initial, cap=cap)
        return _pending(base, "exited", delay, "model", state.finished_at, now)

    if state.kind == "waiting":
        return replace(base, phase="waiting", waiting_reason=state.reason)
    return base


def _ran_for(started: datetime | None, finished: datetime | None) -> float | None:
    if started is None or finished is None:
        return None
    return (finished - started).total_seconds()


def _pending(
    base: BackoffEstimate,
    phase: Phase,
    delay: float,
    source: Source,
    finished: datetime | None,
    now: datetime,
) -> BackoffEstimate:
    if finished is None:
        return replace(base, phase=phase, delay=delay, source=source)
    next_at = finished + timedelta(seconds=delay)
    remaining = max(0.0, (next_at - now).total_seconds())
    return replace(
        base, phase=phase, delay=delay, source=source, next_restart_at=next_at, remaining=remaining
    )
