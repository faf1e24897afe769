"""The kubelet's own log lines (journalctl, /var/log/syslog, /var/log/messages) read as the events
they report.

A line is the kubelet's when it carries klog's header (`E0128 16:11:08.096467  815 pod_workers.go:918]`),
after a syslog prefix (`Jan 28 16:11:08 node kubelet[815]: `) or not. Two kinds of line report what
an event would:

- the pod worker's "Error syncing pod": structured since 1.21 (`"Error syncing pod, skipping"
  err="failed to \\"StartContainer\\" for \\"web\\" with CrashLoopBackOff: \\"back-off 5m0s restarting
  failed container=web pod=web-1_shop(uid)\\"" pod="shop/web-1"`), before that in words (`Error syncing
  pod UID ("web-1_shop(uid)"), skipping: failed to "StartContainer" for "web" with ...`); one line may
  hold several containers' failures (`err="[failed to ..., failed to ...]"`). Each failure is the event
  the kubelet records for it: CrashLoopBackOff a `BackOff`, ImagePullBackOff a `BackOff` pulling,
  ErrImagePull a failed pull, CreateContainerConfigError and RunContainerError a `Failed` "Error: ...";
- the prober's "Probe failed" (`probeType="Liveness" ... output="..."`, before 1.21 `Liveness probe
  for "web-1_shop(uid):web" failed (failure): ...`): an `Unhealthy` event.

The time is the line's: a syslog prefix and klog's header carry no year, so it is the paste's (`yearless`).
Other kubelet lines report no event and are passed over.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from msgspec.structs import replace

from kcrash.cluster.paste.model import PastedEvent
from kcrash.cluster.paste.named import pod_in_message
from kcrash.core.records import Event

_SYSLOG = (
    r"(?:(?P<month>[A-Z][a-z]{2})\s+(?P<day>\d{1,2})\s+(?P<clock>\d\d:\d\d:\d\d)|"
    r"(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?))\s+\S+\s+"
    r"(?:kubelet|k3s|k3s-agent|microk8s\.daemon-kubelite|kubelite|hyperkube)(?:\[\d+\])?:\s+"
)
_KLOG = (
    r"(?P<level>[IWEF])(?P<kmonth>\d\d)(?P<kday>\d\d)\s+(?P<kclock>\d\d:\d\d:\d\d)(?:\.\d+)?\s+\d+\s+"
    r"[\w.-]+:\d+\]\s+"
)
_LINE = re.compile(rf"^\s*(?:{_SYSLOG})?(?:{_KLOG})(?P<message>.*)$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_YEAR = 2000  # a leap year, so that Feb 29 fits; `combine` puts the paste's year in its place

_GO_STRING = r'"(?P<inner>(?:[^"\\]|\\.)*)"'
_FAILURE = re.compile(
    rf'failed to "(?P<action>\w+)" for "(?P<container>[^"]+)" with (?P<reason>\w+): {_GO_STRING}'
)
_ERR_FIELD = re.compile(rf"\berr={_GO_STRING}")
_STRUCTURED_PROBE = re.compile(r'"Probe failed" probeType="(?P<probe>\w+)"')
_PROBE_OUTPUT = re.compile(rf"\boutput={_GO_STRING}")
_PROBE_CONTAINER = re.compile(r'\bcontainerName="(?P<container>[^"]+)"')
_OLD_PROBE = re.compile(
    r'(?P<probe>Liveness|Readiness|Startup) probe for "(?P<pod>[^"]+):(?P<container>[^"]+)" '
    r"failed \(\w+\): (?P<output>.*)$"
)


def _unquoted(text: str) -> str:
    """A Go string's body as printed: escaped quotes and backslashes taken back."""
    return re.sub(r"\\(.)", r"\1", text)


def _yearless(match: re.Match[str]) -> tuple[datetime | None, datetime | None]:
    """(the time, when the line says its year; the time in `_YEAR`, when it does not)."""
    if match["iso"]:
        try:
            moment = datetime.fromisoformat(match["iso"])
        except ValueError:
            return None, None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC), None
    if match["month"] in _MONTHS:
        month, day, clock = _MONTHS.index(match["month"]) + 1, int(match["day"]), match["clock"]
    else:
        month, day, clock = int(match["kmonth"]), int(match["kday"]), match["kclock"]
    hour, minute, second = (int(part) for part in clock.split(":"))
    try:
        return None, datetime(_YEAR, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None, None


def is_kubelet_line(line: str) -> bool:
    """Whether a line is one of the kubelet's own log lines (an event it reports or not)."""
    return _LINE.match(line) is not None


def journal_events(line: str) -> list[PastedEvent] | None:
    """The events a kubelet log line reports; None when the line is not the kubelet's."""
    match = _LINE.match(line)
    if match is None:
        return None
    message = match["message"]
    err = _ERR_FIELD.search(message)
    text = _unquoted(err["inner"]) if err else message
    events = [_failure(found, message) for found in _FAILURE.finditer(text)]
    if not events and (probe := _probe(message)) is not None:
        events = [probe]
    seen, yearless = _yearless(match)
    return [
        PastedEvent(event=_placed(event, message, text, seen), line=line.strip(), yearless=yearless)
        for event in events
    ]


def _placed(event: Event, message: str, text: str, seen: datetime | None) -> Event:
    """The event with the pod the line names and the line's time."""
    named = pod_in_message(message) or pod_in_message(text) if not event.involved_name else None
    if named is not None:
        event = replace(event, involved_kind="Pod", involved_name=named.name, namespace=named.namespace)
    return replace(event, first_seen=seen, last_seen=seen) if seen is not None else event


def _event(reason: str, message: str, container: str) -> Event:
    kind = "Normal" if message.startswith("Back-off pulling") else "Warning"
    field_path = f"spec.containers{{{container}}}" if container and container != "POD" else ""
    return Event(
        namespace="",
        name="",
        type=kind,
        reason=reason,
        message=message,
        field_path=field_path,
        source="kubelet",
    )


def _failure(found: re.Match[str], message: str) -> Event:
    """The event the kubelet records for one container's failure to sync."""
    reason, container, inner = found["reason"], found["container"], _unquoted(found["inner"])
    if reason == "CrashLoopBackOff":
        pod = re.search(r"\bpod=(\S+\))", inner)
        where = f" in pod {pod.group(1)}" if pod else ""
        return _event("BackOff", f"Back-off restarting failed container {container}{where}", container)
    if reason == "ImagePullBackOff":
        return _event("BackOff", inner, container)
    if reason == "ErrImagePull":
        return _event("Failed", f"Failed to pull image: {inner}", container)
    if reason in ("InvalidImageName", "ErrImageNeverPull"):
        return _event("InspectFailed" if reason == "InvalidImageName" else reason, inner, container)
    if reason.endswith("Error") or reason in ("StartError", "RunContainerError"):
        return _event("Failed", f"Error: {inner}", container)
    return _event("FailedSync", f"Error syncing pod: {found.group(0)}", container)


def _probe(message: str) -> Event | None:
    """The prober's complaint as the `Unhealthy` event it records."""
    if structured := _STRUCTURED_PROBE.search(message):
        output = _PROBE_OUTPUT.search(message)
        container = _PROBE_CONTAINER.search(message)
        said = _unquoted(output["inner"]).strip() if output else ""
        name = container["container"] if container else ""
        return _event("Unhealthy", f"{structured['probe']} probe failed: {said}".strip(), name)
    if old := _OLD_PROBE.search(message):
        event = _event("Unhealthy", f"{old['probe']} probe failed: {old['output'].strip()}", old["container"])
        named = pod_in_message(f"pod={old['pod']}")
        if named is not None:
            event = replace(event, involved_kind="Pod", involved_name=named.name, namespace=named.namespace)
        return event
    return None
