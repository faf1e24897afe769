"""The drill-down's sections: pure functions from records (and the time now) to styled text.

Each section is a `Block`, which wraps with a hanging indent under its labels at the width it is
drawn at. Every string from the cluster is cleaned and placed as text, never parsed as markup;
styles come from theme variables only. Functions that take `now` are drawn again as the clock
moves, so their "ago" texts tick.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from textual.content import Content

from kcrash.core.backoff import estimate_backoff
from kcrash.core.exitcodes import explain_exit
from kcrash.core.humanize import human_duration
from kcrash.core.records import ContainerState, Deployment, Diagnosis, Event, Pod, Revision
from kcrash.core.sanitize import clean_line, clean_lines
from kcrash.core.status import pod_columns
from kcrash.ui.wrapping import GLUE, HANG, LOG_INDENT, Block, Line, Part

TAB_SIZE = 8
NEVER_STARTED = frozenset({"StartError", "ContainerCannotRun"})
"""Reasons of a container the runtime could not start: it has no start time and no run time."""

LOG_LINES = 14
DYING_LINES = 3
TROUBLE = re.compile(
    r"(?i)\b(error|fatal|panic|exception|traceback|killed|refused|denied|timeout|timed out|"
    r"not found|no such|missing|cannot|can't|failed|unreachable)\b"
)

CAUSE_STYLE = {
    "oom-killed": "bold $oom",
    "healthy": "bold $success",
    "unknown": "bold $warning",
    # Not crashing, only not running (yet, or any more): a warning rather than an error.
    "evicted": "bold $warning",
    "unschedulable": "bold $warning",
    "volume-mount": "bold $warning",
}


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "unknown"
    return f"{human_duration((now - moment).total_seconds())} ago"


def _clock(moment: datetime | None) -> str:
    return "unknown" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _moment(moment: datetime | None, now: datetime) -> list[Part]:
    if moment is None:
        return [("not recorded", "$text-muted")]
    return [_clock(moment), ("  " + _ago(moment, now), "$text-muted")]


def _field(label: str, *value: Part, width: int = 11) -> list[Part]:
    return [(label.ljust(width), "$text-muted"), HANG, *value, "\n"]


def _pair(label: str, value: str, style: str = "") -> list[Part]:
    """ "  label value" in running text, label and value kept on one row."""
    return [("  " + label + GLUE, "$text-muted"), (value.replace(" ", GLUE), style)]


def _join(parts: list[Part]) -> Block:
    return Block.of(parts)


# ---- title ---------------------------------------------------------------------------------


def title_content(pod: Pod, container: str, now: datetime) -> Block:
    columns = pod_columns(pod)
    from kcrash.ui.rows import status_tone

    tone = status_tone(columns.status)
    style = {
        "crashloop": "bold $crashloop",
        "oom": "bold $oom",
        "error": "bold $error",
        "warning": "$warning",
    }.get(tone, "$success")
    parts: list[Part] = [
        ("pod/" + clean_line(pod.name), "bold"),
        ("  " + clean_line(pod.namespace), "$text-muted"),
        "\n",
        (clean_line(columns.status), style),
        *_pair("ready", columns.ready),
        *_pair("restarts", clean_line(columns.restarts_cell(now))),
        *_pair("container", clean_line(container) or "-"),
    ]
    if pod.node_name:
        parts += _pair("node", clean_line(pod.node_name))
    return _join(parts)


# ---- diagnosis -----------------------------------------------------------------------------


def diagnosis_content(diagnosis: Diagnosis) -> Block:
    parts: list[Part] = [
        (clean_line(diagnosis.headline), CAUSE_STYLE.get(diagnosis.cause, "bold $error")),
        "\n",
    ]
    if diagnosis.rollout_hint:
        parts += [("↳ ", "$accent"), HANG, (clean_line(diagnosis.rollout_hint), "$accent"), "\n"]
    if diagnosis.evidence:
        parts += [("\nEvidence\n", "bold $text-muted")]
        for item in diagnosis.evidence:
            source = "  " + clean_line(item.source) + ": "
            parts += [(source, "$text-muted"), HANG, clean_line(item.quote), "\n"]
    if diagnosis.next_steps:
        parts += [("\nNext steps\n", "bold $text-muted")]
        for number, step in enumerate(diagnosis.next_steps, start=1):
            parts += [(f"  {number}. ", "bold $accent"), HANG, clean_line(step), "\n"]
    return _join(parts)


# ---- last state ----------------------------------------------------------------------------


def _termination(pod: Pod, container: str) -> ContainerState | None:
    status = pod.status_for(container)
    if status is None:
        return None
    if status.state.kind == "terminated":
        return status.state
    if status.last_state is not None and status.last_state.kind == "terminated":
        return status.last_state
    return None


def _started(term: ContainerState, now: datetime) -> list[Part]:
    """When the terminated instance started; a container the runtime could not start never did."""
    if term.started_at is None:
        if term.reason in NEVER_STARTED:
            return [("never started", "$text-muted")]
        return [("not recorded", "$text-muted")]
    return [_clock(term.started_at), ("  " + _ago(term.started_at, now), "$text-muted")]


def last_state_content(pod: Pod, container: str, now: datetime) -> Block:
    status = pod.status_for(container)
    if status is None:
        return _muted("No status for this container yet (not started).")
    term = _termination(pod, container)
    parts: list[Part] = []
    if term is None:
        parts += _field("Last exit", ("none: the container has not terminated yet", "$text-muted"))
    else:
        meaning = explain_exit(term.exit_code, term.signal, term.reason)
        reason_style = "bold $oom" if term.reason == "OOMKilled" else "bold $error"
        code = "?" if term.exit_code is None else str(term.exit_code)
        parts += _field("Reason", (clean_line(term.reason) or "-", reason_style))
        parts += _field("Exit code", (code, "bold"), ("  " + meaning.short, "$text-muted"))
        parts += _field("Started", *_started(term, now))
        parts += _field("Finished", *_moment(term.finished_at, now))
        if term.started_at is not None and term.finished_at is not None:
            parts += _field("Ran for", human_duration((term.finished_at - term.started_at).total_seconds()))
        if term.message:
            parts += _field("Message", clean_line(term.message))
    parts += _field("Restarts", str(status.restart_count))
    state = status.state
    now_text = state.kind + (f": {clean_line(state.reason)}" if state.reason else "")
    parts += _field("State now", now_text)
    if state.message and state.kind == "waiting":
        parts += _field("", (clean_line(state.message), "$text-muted"))
    return _join(parts)


def backoff_line(pod: Pod, container: str, now: datetime) -> Block:
    """The back-off countdown."""
    status = pod.status_for(container)
    if status is None:
        return _join([])
    estimate = estimate_backoff(status, now, restart_policy=pod.restart_policy)
    style = "bold $crashloop" if estimate.phase == "backoff" else "$text-muted"
    return _join(_field("Back-off", (estimate.describe(), style)))


def exit_detail(pod: Pod, container: str) -> Block:
    term = _termination(pod, container)
    if term is None:
        return _join([])
    return _muted(explain_exit(term.exit_code, term.signal, term.reason).detail)


def _muted(text: str) -> Block:
    return _join([(text, "$text-muted")])


# ---- events --------------------------------------------------------------------------------


def _event_time(event: Event) -> datetime | None:
    return event.last_seen or event.first_seen


def ordered_events(events: Sequence[Event]) -> list[Event]:
    """Warnings first, then newest first."""

    def key(event: Event) -> tuple[int, float]:
        moment = _event_time(event)
        return (0 if event.type == "Warning" else 1, -(moment.timestamp() if moment else 0.0))

    return sorted(events, key=key)


def events_content(events: Sequence[Event], now: datetime, limit: int = 12, *, unknown: str = "") -> Block:
    """The pod's events; `unknown` is said instead of "no events" when they were not read at all
    (offline: the pastes did not include them)."""
    if not events:
        return _muted(unknown or "No events for this pod (events expire after about an hour).")
    shown = ordered_events(events)[:limit]
    parts: list[Part] = []
    for event in shown:
        warning = event.type == "Warning"
        age = human_duration((now - t).total_seconds()) if (t := _event_time(event)) else "?"
        count = f"×{event.count}" if event.count > 1 else ""
        parts += [
            ("⚠ " if warning else "  ", "bold $warning" if warning else ""),
            (clean_line(event.reason).ljust(17), "bold $warning" if warning else "$text-muted"),
            (age.rjust(5) + " " + count.ljust(5), "$text-muted"),
            HANG,
            clean_line(event.message),
            "\n",
        ]
    if len(events) > limit:
        parts.append((f"  … {len(events) - limit} more", "$text-muted"))
    return _join(parts)


# ---- logs ----------------------------------------------------------------------------------


def dying_words(lines: Sequence[str]) -> set[int]:
    """Indexes of the last non-empty lines: what the process said just before it died."""
    marked: set[int] = set()
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip():
            marked.add(index)
            if len(marked) == DYING_LINES:
                break
    return marked


def log_lines_content(lines: Sequence[str], *, dying: bool) -> Block:
    """Log lines as text, tabs set at 8-column stops; the dying words in bold error colour,
    trouble words in the warning colour. Continuation rows are indented a little."""
    marked = dying_words(lines) if dying else set()
    rows: list[Line] = []
    for index, raw in enumerate(lines):
        line = clean_line(raw, tab_size=TAB_SIZE)
        if index in marked:
            content = Content.styled(line, "bold $error")
        elif TROUBLE.search(line):
            content = Content.styled(line, "$warning")
        else:
            content = Content(line)
        rows.append(Line(content, indent=LOG_INDENT))
    return Block(rows)


def previous_log_content(text: str, error: str, limit: int = LOG_LINES) -> Block:
    return log_content(text, error, current=False, limit=limit)


def log_content(text: str, error: str, *, current: bool, dying: bool = True, limit: int = LOG_LINES) -> Block:
    """A log tail, or why there is none; `dying` marks the last lines (the instance has exited)."""
    if error:
        return _muted(clean_line(error))
    lines = clean_lines(text, limit)
    if not lines:
        which = "The container" if current else "The previous container"
        return _muted(f"{which} wrote nothing to its log.")
    return log_lines_content(lines, dying=dying)


def log_heading(kind: str) -> str:
    """The logs section's heading for the instance it shows."""
    if kind == "current":
        return "Current log, never restarted  (l: full log view)"
    return "Previous logs  (l: full log view)"


# ---- rollout -------------------------------------------------------------------------------


def rollout_content(
    deployment: Deployment | None,
    revisions: Sequence[Revision],
    now: datetime,
    *,
    unknown: str = "",
    pod: Pod | None = None,
) -> Block:
    """The Deployment's revisions, its Progressing and Available conditions, and which revision
    `pod` runs; `unknown` is said instead of "not run by a Deployment" when whether one runs the
    pod was not read (offline: the pastes did not show it)."""
    if deployment is None:
        return _muted(unknown or "Not run by a Deployment: no rollout history.")
    parts: list[Part] = [
        ("deployment/" + clean_line(deployment.name), "bold"),
        (f"  {deployment.ready_replicas}/{deployment.replicas} ready", "$text-muted"),
    ]
    if deployment.paused:
        parts.append(("  paused", "bold $warning"))
    parts.append("\n")
    if not revisions:
        parts.append(("No revisions found.", "$text-muted"))
        return _join(parts)
    for revision in sorted(revisions, key=lambda r: -r.number):
        current = revision.number == deployment.revision
        images = ", ".join(clean_line(i) for i in revision.images) or "-"
        age = human_duration((now - revision.created_at).total_seconds()) if revision.created_at else "?"
        parts += [
            ("▶ " if current else "  ", "bold $accent"),
            (f"rev {revision.number}".ljust(7), "bold" if current else ""),
            (age.rjust(5) + "  ", "$text-muted"),
            HANG,
            (images, "bold" if current else ""),
        ]
        if revision.change_cause:
            parts += [("  " + clean_line(revision.change_cause), "$text-muted")]
        if current:
            parts += [("  (current)", "$accent")]
        parts.append("\n")
    parts += _conditions_parts(deployment)
    if pod is not None:
        parts += _runs_parts(pod, deployment, revisions)
    return _join(parts)


ROLLOUT_CONDITIONS = ("Progressing", "Available")


def _conditions_parts(deployment: Deployment) -> list[Part]:
    """`Progressing=False ProgressDeadlineExceeded: ...` and `Available=True ...`, a False one in
    the warning colour: a stuck rollout says so where its revisions are."""
    parts: list[Part] = []
    for kind in ROLLOUT_CONDITIONS:
        condition = next((c for c in deployment.conditions if c.type == kind), None)
        if condition is None:
            continue
        bad = condition.status != "True"
        parts += [(f"{kind}={clean_line(condition.status)}", "bold $warning" if bad else "$success")]
        if condition.reason:
            parts.append(("  " + clean_line(condition.reason), "bold $warning" if bad else "$text-muted"))
        if condition.message:
            parts += [HANG, ("  " + clean_line(condition.message), "$text-muted")]
        parts.append("\n")
    return parts


def pod_revision(pod: Pod, revisions: Sequence[Revision]) -> Revision | None:
    """The revision whose ReplicaSet made `pod`: by the pod-template-hash label, else by owner."""
    labels = dict(pod.labels)
    template_hash = labels.get("pod-template-hash", "")
    owner = pod.controller.name if pod.controller is not None else ""
    for revision in revisions:
        if (template_hash and revision.template_hash == template_hash) or revision.name == owner:
            return revision
    return None


def short_image(image: str) -> str:
    """`registry.example.com/shop/api:1.4.2` -> `api:1.4.2`: the part that tells revisions apart."""
    return image.rsplit("/", 1)[-1]


def _runs_parts(pod: Pod, deployment: Deployment, revisions: Sequence[Revision]) -> list[Part]:
    revision = pod_revision(pod, revisions)
    if revision is None:
        return []
    images = ", ".join(clean_line(short_image(i)) for i in revision.images) or "-"
    old = revision.number != deployment.revision
    return [
        ("This pod runs ", ""),
        (f"revision {revision.number}", "bold $warning" if old else "bold"),
        (f" ({images})", ""),
        ("  (an older revision)" if old else "  (the current one)", "$warning" if old else "$text-muted"),
        "\n",
    ]
