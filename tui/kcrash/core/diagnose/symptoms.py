"""What a crash loop shows when no one recorded how it ended: read from the log and the spec.

- A probe that found nothing listening is the result, not the cause, when the log says why the app
  never came up (a read-only filesystem, a missing setting): the app's error is the verdict.
- The kubelet's own probe requests in an access log (`"GET /health HTTP/1.1" 404 ... "kube-probe/1.29"`)
  answered with an error, where no Unhealthy event was pasted.
- A log that ends while the app says it is still starting ("Please be patient, it can take several
  minutes") and names no error: killed before it was up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kcrash.core.diagnose.apperrors import GENERIC, app_failure, fatal_failure
from kcrash.core.diagnose.exits import failure_evidence, failure_steps
from kcrash.core.diagnose.facts import Facts, dying_words, events_with, latest
from kcrash.core.diagnose.probes import probe_failure
from kcrash.core.diagnose.wording import (
    cmd_describe,
    diagnosis,
    edit_target,
    log_evidence,
    merged,
    quote,
)
from kcrash.core.records import Diagnosis, Event, Evidence, Probe

# --- the app's error behind a probe that found nothing listening ------------------------------------


def _probe_failures(f: Facts) -> list[tuple[str, list[Event]]]:
    return [
        (kind, events_with(f, "Unhealthy", f"{kind.capitalize()} probe failed"))
        for kind in ("startup", "liveness")
    ]


def refused_probe_behind_app_error(f: Facts) -> bool:
    """A startup or liveness probe got "connection refused" (nothing listened yet), and the dead
    instance's log names why the app never came up."""
    if f.reason == "OOMKilled":
        return False
    refused = any(
        (last := latest(events)) is not None and probe_failure(last.message)[0] == "refused"
        for _, events in _probe_failures(f)
    )
    found = fatal_failure(f.log_lines) if refused else None
    return found is not None and found.family is not None and found.detail not in GENERIC


def rule_app_error_behind_probe(f: Facts) -> Diagnosis | None:
    found = app_failure(f.log_lines)
    if found is None or found.family is None:
        return None
    kind, events = next((k, e) for k, e in _probe_failures(f) if e)
    return diagnosis(
        "app-error",
        f"{f.subject} fails to start ({found.family.what}): {found.line}; the {kind} probe finds "
        "nothing listening because of it",
        f,
        [*failure_evidence(f, found), merged(events, "Unhealthy")],
        [
            *failure_steps(f, found),
            f"The {kind} probe's refusals are the result: fix the error and the probe passes",
        ],
        detail=found.detail,
    )


# --- the kubelet's probe requests in an access log -------------------------------------------------

# Common and combined log formats (nginx, Apache, gunicorn, morgan, Go's handlers): the request, the
# status, and a user agent; the kubelet's prober says `kube-probe/1.x` (Go-http-client before 1.8).
_REQUEST = re.compile(r'"(?:GET|HEAD) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})\b')
_KUBE_PROBE = re.compile(r"kube-probe/\d")
_GO_CLIENT = re.compile(r"Go-http-client/\d")
_HEALTH_PATH = re.compile(r"health|live|ready|ping|status", re.I)


@dataclass(frozen=True, slots=True)
class ProbeRequest:
    path: str
    status: int
    line: str


def probe_requests(lines: Sequence[str]) -> list[ProbeRequest]:
    """The kubelet's probe requests an access log shows, oldest first. Before kubelet 1.8 the prober
    said only Go-http-client: that counts for a health-like path."""
    found: list[ProbeRequest] = []
    for line in lines:
        match = _REQUEST.search(line)
        if match is None:
            continue
        by_kubelet = _KUBE_PROBE.search(line) or (
            _GO_CLIENT.search(line) and _HEALTH_PATH.search(match.group("path"))
        )
        if by_kubelet:
            found.append(ProbeRequest(match.group("path"), int(match.group("status")), line.strip()))
    return found


def _liveness_path_differs(f: Facts, path: str) -> bool:
    """The spec is known, and its liveness probe (if any) does not ask for this path."""
    if not f.spec_known or f.spec is None:
        return False
    probe = f.spec.liveness
    return probe is None or path.split("?")[0] not in probe.handler


def _unexplained_death(f: Facts) -> bool:
    """No termination on record, or a death by signal: what a probe kill leaves."""
    return f.termination is None or f.exit_code in (137, 143)


def probe_requests_failing(f: Facts) -> bool:
    if not _unexplained_death(f) or events_with(f, "Unhealthy"):
        return False
    requests = probe_requests(f.log_lines)
    if not requests or requests[-1].status < 400:
        return False
    return not _liveness_path_differs(f, requests[-1].path)


def rule_probe_requests(f: Facts) -> Diagnosis | None:
    last = probe_requests(f.log_lines)[-1]
    failed = [r for r in probe_requests(f.log_lines) if r.status >= 400]
    steps = {
        404: f"The probe's path {last.path} is not served (HTTP 404): point the httpGet path at one "
        "the app serves",
        401: "The probe's path asks for credentials: probe an endpoint open to the kubelet",
        403: "The probe's path asks for credentials: probe an endpoint open to the kubelet",
    }
    first = steps.get(
        last.status,
        f"The app answers its health check with HTTP {last.status}: read why in its log; a liveness "
        "check must not fail because a dependency is down",
    )
    known = f.spec_known and f.spec is not None and f.spec.liveness is not None
    which = "the liveness probe" if known else "the kubelet's probe (the liveness probe, if it restarts)"
    return diagnosis(
        "liveness-probe",
        f"{which[:1].upper()}{which[1:]} gets HTTP {last.status} from {last.path}: "
        f"{len(failed)} failed request(s) in the log",
        f,
        [log_evidence(f, last.line)],
        [
            first,
            f"Check the probe's path and port in {edit_target(f)}",
            f"The probe events: `{cmd_describe(f)}`",
        ],
        detail="http-status",
    )


# --- a log that ends while the app says it is still starting ---------------------------------------

_STILL_STARTING = re.compile(
    r"please be patient|(?:this|it) (?:may|can|might|will|could) take "
    r"(?:a (?:few|couple of) |several |some )?(?:while|time|minutes?)|"
    r"still (?:starting|initiali[sz]ing|booting)",
    re.I,
)


def _probe_that_kills(f: Facts) -> tuple[str, Probe | None] | None:
    """The probe that would kill a slow start: startup if the spec has one, else liveness; None when
    the spec is known and has neither."""
    if not f.spec_known or f.spec is None:
        return "liveness", None
    if f.spec.startup is not None:
        return "startup", f.spec.startup
    if f.spec.liveness is not None:
        return "liveness", f.spec.liveness
    return None


def still_starting(f: Facts) -> bool:
    if not _unexplained_death(f) or events_with(f, "Unhealthy") or not f.log_lines:
        return False
    last = dying_words(f.log_lines) or f.log_lines[-1]
    if app_failure(f.log_lines) is not None and dying_words(f.log_lines):
        return False  # the log names an error: the error rules speak for it
    return bool(_STILL_STARTING.search(last)) and _probe_that_kills(f) is not None


def rule_killed_while_starting(f: Facts) -> Diagnosis | None:
    found = _probe_that_kills(f)
    if found is None:
        return None
    kind, probe = found
    last = f.log_lines[-1]
    budget = f" ({probe.handler}, initialDelaySeconds {probe.initial_delay_seconds})" if probe else ""
    return diagnosis(
        "startup-probe" if kind == "startup" else "liveness-probe",
        f"{f.subject} is killed while it is still starting: its log ends on {quote(last)!r} and "
        "names no error",
        f,
        [
            log_evidence(f, last),
            Evidence("log", "no error after it: the process was stopped, it did not fail"),
        ],
        [
            f"Give the start more time: the {kind} probe{budget} fires before it is up; add a "
            "startupProbe sized to the slowest first start (migrations, first-time setup)"
            if kind == "liveness"
            else f"Give the startupProbe more time{budget}: failureThreshold × periodSeconds must "
            "cover the slowest start",
            f"The probe events that confirm it: `{cmd_describe(f)}`",
        ],
        detail="slow-start" if kind == "liveness" else "",
    )
