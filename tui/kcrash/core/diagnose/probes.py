"""Probe kills: a startup or liveness probe that fails until the kubelet restarts the container."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from msgspec.structs import replace

from kcrash.core.diagnose.facts import Facts, dying_words, events_with, latest, total, when
from kcrash.core.diagnose.wording import (
    cmd_describe,
    cmd_logs,
    diagnosis,
    edit_target,
    fmt_seconds,
    merged,
    quote,
    termination_evidence,
)
from kcrash.core.records import Cause, Diagnosis, Event, Evidence, Probe, ProbeKind

_STARTUP_TIME = re.compile(
    r"\b(?:started|ready|listening|startup (?:complete|finished)|initiali[sz]ed)\b[^\n]*?"
    r"\b(?:in|after|took)\s+(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds)\b",
    re.IGNORECASE,
)


def probe_window(probe: Probe) -> int:
    """The kubelet's budget: the seconds after the container started by which a probe that always
    fails has failed failureThreshold times in a row. The first probe runs at initialDelaySeconds,
    the others a period apart, so the last failure lands (failureThreshold - 1) periods after it
    (10 s delay, period 5 s, threshold 3: probes at 10, 15, 20 s, killed at 20 s). The prober's
    ticker can put the first probe up to a period later, so a kill may come that much after."""
    return probe.initial_delay_seconds + probe.period_seconds * max(0, probe.failure_threshold - 1)


def probe_numbers(probe: Probe) -> str:
    return (
        f"initialDelaySeconds {probe.initial_delay_seconds} + periodSeconds {probe.period_seconds} × "
        f"(failureThreshold {probe.failure_threshold} - 1) = {probe_window(probe)} s"
    )


def startup_seconds_from_logs(lines: Iterable[str]) -> float | None:
    """ "Started App in 48.3 seconds", "ready after 45s": the app's own account of its startup."""
    for line in lines:
        match = _STARTUP_TIME.search(line)
        if match:
            value = float(match.group(1))
            return value / 1000 if match.group(2).lower() == "ms" else value
    return None


STARTUP_PERIOD_S = 10  # the period suggested for a new startupProbe
DEFAULT_GRACE_S = 30  # terminationGracePeriodSeconds when the pod spec leaves it out


def startup_allowance(observed: float | None, lower_bound: float | None) -> tuple[float, str]:
    """Seconds a startup check should allow, and why: twice the real startup, or generous when unknown."""
    if observed is not None:
        return 2 * observed, f"observed startup {fmt_seconds(observed)} ×2"
    if lower_bound:
        return (
            max(120.0, 2 * lower_bound),
            f"it was still not up after {fmt_seconds(lower_bound)}: measure the real startup and keep ×2",
        )
    return 120.0, "measure the real startup and keep ×2"


def startup_steps(kind: str, probe: Probe, observed: float | None, lower_bound: float | None) -> list[str]:
    """The probe change that lets a slow starter finish, with numbers."""
    allow, basis = startup_allowance(observed, lower_bound)
    if kind == "startup":
        # The budget is initialDelaySeconds + (failureThreshold - 1) periods (see probe_window).
        threshold = math.ceil(max(0.0, allow - probe.initial_delay_seconds) / probe.period_seconds) + 1
        allowed = probe_window(replace(probe, failure_threshold=threshold))
        return [
            f"Give the startupProbe more time: failureThreshold {threshold} with periodSeconds "
            f"{probe.period_seconds} allows {allowed} s instead of {probe_window(probe)} s ({basis})"
        ]
    threshold = math.ceil(allow / STARTUP_PERIOD_S)
    return [
        f"Add a startupProbe with the liveness check ({probe.handler}), periodSeconds {STARTUP_PERIOD_S}, "
        f"failureThreshold {threshold}: it allows {threshold * STARTUP_PERIOD_S} s ({basis}), and "
        "liveness only starts once it passes",
        f"Or raise the liveness initialDelaySeconds from {probe.initial_delay_seconds} to at least "
        f"{math.ceil(allow)}",
    ]


@dataclass(frozen=True, slots=True)
class ProbeKill:
    kind: ProbeKind  # "liveness" or "startup"
    killing: list[Event]
    unhealthy: list[Event]


def _near_death(f: Facts, events: Sequence[Event]) -> bool:
    """True unless timestamps show the last such event predates the dead instance's start."""
    term = f.termination
    last = latest(events)
    if last is None or term is None or term.started_at is None or when(last) == 0.0:
        return True
    # Event times counted back from an uncertain `now` can't be set against the container's start.
    return f.lacks("as-of") or when(last) >= term.started_at.timestamp() - 1


def probe_complaints(f: Facts, kind: ProbeKind) -> tuple[list[Event], list[Event]]:
    """The Killing and Unhealthy events this kind of probe left, oldest first."""
    killing = events_with(f, "Killing", contains=f"failed {kind} probe")
    unhealthy = sorted(
        events_with(f, "Unhealthy", f"{kind.capitalize()} probe failed")
        + events_with(f, "Unhealthy", f"{kind.capitalize()} probe errored"),
        key=when,
    )
    return killing, unhealthy


def find_probe_kill(f: Facts, kind: ProbeKind) -> ProbeKill | None:
    """A kill by this probe: a Killing event, or repeated failures before a death by signal."""
    killing, unhealthy = probe_complaints(f, kind)
    if killing and _near_death(f, killing):
        return ProbeKill(kind, killing, unhealthy)
    # Older servers and expired events: repeated failures still explain a death by signal. With
    # no container state pasted and no error in the log, the failure pasted is the only account.
    signalled = f.exit_code in (137, 143) or f.termination is None
    enough = total(unhealthy) >= 2 or (_state_unknown(f) and not dying_words(f.log_lines))
    if unhealthy and signalled and enough and _near_death(f, unhealthy):
        return ProbeKill(kind, [], unhealthy)
    return None


def _state_unknown(f: Facts) -> bool:
    return f.termination is None and (f.status is None or f.status.state.kind == "unknown")


def complained(f: Facts, kind: ProbeKind) -> bool:
    """This probe failed or killed, and the kernel's OOM kill (a stronger label) did not intervene."""
    killing, unhealthy = probe_complaints(f, kind)
    return f.reason != "OOMKilled" and bool(killing or unhealthy)


def startup_probe_complained(f: Facts) -> bool:
    return complained(f, "startup")


def liveness_probe_complained(f: Facts) -> bool:
    return complained(f, "liveness")


def rule_startup_probe_kill(f: Facts) -> Diagnosis | None:
    return probe_kill_verdict(f, "startup")


def rule_liveness_probe_kill(f: Facts) -> Diagnosis | None:
    return probe_kill_verdict(f, "liveness")


def kill_delay(f: Facts, kill: ProbeKill) -> tuple[float | None, float]:
    """Seconds from the dead instance's start to the kill, and how much of that may be grace period."""
    term = f.termination
    ran = f.run_seconds
    last_kill = latest(kill.killing)
    # Event times counted back from an uncertain `now` say nothing about the kill's moment.
    if (
        last_kill is not None
        and when(last_kill)
        and not f.lacks("as-of")
        and term is not None
        and term.started_at is not None
    ):
        decided = when(last_kill) - term.started_at.timestamp()
        if 0 <= decided <= (ran if ran is not None else decided) + 5:
            return decided, 0.0
    if ran is None:
        return None, 0.0
    # After SIGTERM the kubelet waits out the grace period before SIGKILL (exit 137).
    return ran, float(DEFAULT_GRACE_S) if f.exit_code == 137 else 0.0


def probe_failure(message: str) -> tuple[str, str]:
    """(detail, words) for what a probe failure says: ("refused", "nothing answered ...")."""
    text = message.lower()
    if "connection refused" in text:
        return "refused", "nothing answered on the probe port (connection refused)"
    if "deadline exceeded" in text or "timeout" in text or "timed out" in text:
        return "timeout", "the endpoint answered too slowly (probe timeout)"
    match = _HTTP_STATUS.search(text)
    if match:
        return "http-status", f"the endpoint answered HTTP {match.group(1)}"
    return "", ""


# The kubelet's "HTTP probe failed with statuscode: 503" (any kubelet since 1.0).
_HTTP_STATUS = re.compile(r"statuscode: (\d{3})", re.I)


def failure_steps(message: str) -> list[str]:
    """What the probe's own failure message points at, before any timing."""
    failure, _ = probe_failure(message)
    match = _HTTP_STATUS.search(message)
    code = int(match.group(1)) if match else 0
    if code == 404:
        return ["The probe's httpGet path is not served (HTTP 404): point it at a path the app serves"]
    if code in (401, 403):
        return [f"The probe's path asks for credentials (HTTP {code}): probe an endpoint open to the kubelet"]
    if code >= 500:
        return [
            f"The endpoint reports itself unhealthy (HTTP {code}): read why in the app's log; a liveness "
            "check must not fail because a dependency (a database) is down"
        ]
    if failure == "refused":
        return ["Nothing listens on the probe's port: check it against the port the app listens on"]
    if failure == "timeout":
        return ["The endpoint answers slower than timeoutSeconds: raise it, or make the check cheaper"]
    return []


def probe_evidence(f: Facts, kill: ProbeKill, probe: Probe | None, observed: float | None) -> list[Evidence]:
    ev: list[Evidence | None] = [
        merged(kill.unhealthy, "Unhealthy"),
        merged(kill.killing, "Killing"),
        termination_evidence(f),
    ]
    if f.run_seconds is not None:
        ev.append(
            Evidence(f"{f.termination_source} startedAt→finishedAt", f"ran {fmt_seconds(f.run_seconds)}")
        )
    if probe is not None:
        ev.append(
            Evidence(f"spec {f.label} {kill.kind}Probe", quote(f"{probe.handler}; {probe_numbers(probe)}"))
        )
    if observed is not None:
        ev.append(
            Evidence(f.log_source or "log", f"the app reports its startup took {fmt_seconds(observed)}")
        )
    return [e for e in ev if e is not None]


def killed_while_starting(f: Facts, kill: ProbeKill, probe: Probe, delay: float, slack: float) -> bool:
    """A startup probe kill, or a liveness kill within the probe's window of a start with no
    startupProbe to hold it back."""
    return kill.kind == "startup" or (
        f.spec is not None
        and f.spec.startup is None
        and delay - slack <= probe_window(probe) + 2 * probe.period_seconds
    )


def hang_steps(f: Facts, probe: Probe, delay: float, failure: str) -> list[str]:
    """What to look at when a probe kills a container that had been up and answering."""
    steps = [
        f"It was up for {fmt_seconds(delay)} before failing {probe.handler}: look for a hang, a deadlock "
        f"or overload at the end of `{cmd_logs(f)}`"
    ]
    if failure == "timeout":
        steps.append(
            f"timeoutSeconds is {probe.timeout_seconds}: raise it if the endpoint is only slow under load"
        )
    if failure == "refused":
        steps.append(f"Check that {probe.handler} is the port the app listens on")
    steps.append("Keep the liveness check local: it must not fail because a dependency is down")
    return steps


def probe_kill_verdict(f: Facts, kind: ProbeKind) -> Diagnosis | None:
    kill = find_probe_kill(f, kind)
    if kill is None:
        return None
    probe = (f.spec.startup if kind == "startup" else f.spec.liveness) if f.spec else None
    what = f"{kind} probe"
    last_failure = latest(kill.unhealthy)
    failure, flavour = probe_failure(last_failure.message) if last_failure else ("", "")
    detail = failure
    observed = startup_seconds_from_logs(f.log_lines)
    delay, slack = kill_delay(f, kill)
    steps: list[str] = []
    if probe is None or delay is None:
        headline = f"The {what} kills {f.container or 'the container'}" + (f": {flavour}" if flavour else "")
        root = failure_steps(last_failure.message if last_failure else "")
        steps.extend(root)
        if not root or failure == "timeout":
            steps.append(
                f"Compare how long the app takes to start with the probe ({probe_numbers(probe)})"
                if probe
                else f"Compare how long the app takes to start with the {what} in {edit_target(f)}"
            )
    elif killed_while_starting(f, kill, probe, delay, slack):
        window = probe_window(probe)
        allows = f"the probe gives it {window} s (up to {window + probe.period_seconds} s as its ticks fall)"
        headline = f"The {what} kills {f.container} before it finishes starting: " + (
            f"dead {fmt_seconds(delay)} after start ({allows}, then up to {slack:.0f} s grace period)"
            if slack
            else f"killed {fmt_seconds(delay)} after start, {allows}"
        )
        steps.extend(startup_steps(kind, probe, observed, delay - slack))
        # A startup probe's kill is a slow start by definition: its cause says so already.
        detail = "slow-start" if kind == "liveness" else failure
    else:
        headline = f"The {what} kills {f.container} after {fmt_seconds(delay)} of running: " + (
            flavour or "it stops answering"
        )
        steps.extend(hang_steps(f, probe, delay, failure))
    if events_with(f, "Unhealthy", "Readiness probe failed"):
        steps.append(
            "Readiness failures only take the pod out of Service endpoints; the restarts come from "
            f"the {what}"
        )
    steps.append(f"Watch the probe events: `{cmd_describe(f)}`")
    cause: Cause = "startup-probe" if kind == "startup" else "liveness-probe"
    return diagnosis(cause, headline, f, probe_evidence(f, kill, probe, observed), steps, detail=detail)
