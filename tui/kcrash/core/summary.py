"""A diagnosis written up: Markdown for an incident channel or ticket, and a JSON-ready dict.

Everything that came from the cluster (names, messages, log lines) is cleaned of terminal controls
and fenced so it cannot turn into Markdown of its own: a table cell cannot grow a column, a log
line cannot close its code block, a message cannot become a link.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kcrash.core.humanize import since
from kcrash.core.records import Diagnosis, Event, Pod, Revision
from kcrash.core.sanitize import clean, clean_line, clean_lines

EVENT_ROWS = 15
LOG_LINES = 40
CELL_LIMIT = 200


def diagnosis_json(
    pod: Pod, diag: Diagnosis, status: str, restarts: int, exit_code: int | None
) -> dict[str, Any]:
    """The diagnosis as plain JSON types, for `kcrash diagnose -o json` and for scripts."""
    return {
        "namespace": pod.namespace,
        "pod": pod.name,
        "container": diag.container,
        "status": status,
        "restarts": restarts,
        "exit_code": exit_code,
        "cause": diag.cause,
        "detail": diag.detail,
        "headline": diag.headline,
        "evidence": [{"source": e.source, "quote": e.quote} for e in diag.evidence],
        "next_steps": list(diag.next_steps),
        "rollout_hint": diag.rollout_hint,
    }


def incident_markdown(
    pod: Pod,
    diag: Diagnosis,
    *,
    status: str,
    events: Sequence[Event],
    log_tail: str | None,
    revisions: Sequence[Revision],
    now: datetime,
) -> str:
    """A self-contained incident note: cause, evidence, next steps, events, revisions, dying words."""
    sections = [
        _header(pod, diag, status, now),
        _evidence(diag),
        _next_steps(diag),
        _events(pod, events, now),
        _revisions(pod, revisions),
        _log(diag, log_tail),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


# --- sections ---------------------------------------------------------------------------------------


def _header(pod: Pod, diag: Diagnosis, status: str, now: datetime) -> str:
    container_status = pod.status_for(diag.container) if diag.container else None
    facts = [f"**Status:** {_text(status)}"]
    if diag.container:
        facts.append(f"**Container:** {_code(diag.container)}")
    if container_status is not None:
        facts.append(f"**Restarts:** {container_status.restart_count}")
    if pod.node_name:
        facts.append(f"**Node:** {_code(pod.node_name)}")
    facts.append(f"**Written:** {now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
    lines = [
        f"## {_text(pod.namespace)}/{_text(pod.name)}: {_text(diag.cause)}",
        "",
        f"**{_text(diag.headline)}**",
        "",
        " · ".join(facts),
    ]
    if diag.rollout_hint:
        lines += ["", f"**Rollout:** {_text(diag.rollout_hint)}"]
    return "\n".join(lines)


def _evidence(diag: Diagnosis) -> str:
    if not diag.evidence:
        return ""
    items = [f"- {_text(e.source)}: {_code(e.quote)}" for e in diag.evidence]
    return "### Evidence\n\n" + "\n".join(items)


def _next_steps(diag: Diagnosis) -> str:
    if not diag.next_steps:
        return ""
    # Steps are kcrash's own sentences with commands in backticks; only the names in them came from
    # the cluster, and those are DNS labels already cleaned by the diagnosis.
    items = [f"{n}. {_one_line(step)}" for n, step in enumerate(diag.next_steps, start=1)]
    return "### Next steps\n\n" + "\n".join(items)


def _events(pod: Pod, events: Sequence[Event], now: datetime) -> str:
    mine = [e for e in events if not e.involved_name or e.involved_name == pod.name]
    if not mine:
        return ""
    mine.sort(key=lambda e: (e.last_seen or e.first_seen or now).timestamp())
    rows = [
        "| Last seen | Type | Reason | Count | Object | Message |",
        "|---|---|---|---|---|---|",
    ]
    for event in mine[-EVENT_ROWS:]:
        seen = event.last_seen or event.first_seen
        rows.append(
            "| "
            + " | ".join(
                [
                    f"{since(seen, now)} ago" if seen else "-",
                    _cell(event.type),
                    _cell(event.reason),
                    f"×{event.count}",
                    _cell(event.field_path or event.involved_kind.lower()),
                    _cell(event.message),
                ]
            )
            + " |"
        )
    return "### Events\n\n" + "\n".join(rows)


def _revisions(pod: Pod, revisions: Sequence[Revision]) -> str:
    if not revisions:
        return ""
    owner = pod.controller
    rows = [
        "| Revision | ReplicaSet | Images | Ready | Change cause |",
        "|---|---|---|---|---|",
    ]
    for rev in sorted(revisions, key=lambda r: r.number, reverse=True):
        mark = " (this pod)" if owner is not None and owner.name == rev.name else ""
        rows.append(
            f"| {rev.number}{mark} | {_cell(rev.name)} | {_cell(', '.join(rev.images))} "
            f"| {rev.ready_replicas}/{rev.replicas} | {_cell(rev.change_cause) or '-'} |"
        )
    return "### Revisions\n\n" + "\n".join(rows)


def _log(diag: Diagnosis, log_tail: str | None) -> str:
    if log_tail is None:
        return ""
    lines = clean_lines(log_tail, LOG_LINES)
    title = f"### Previous log of {_code(diag.container)}" if diag.container else "### Previous log"
    if not lines:
        return f"{title}\n\n(empty)"
    body = "\n".join(lines)
    fence = "`" * max(3, _longest_run(body, "`") + 1)
    return f"{title} (last {len(lines)} lines)\n\n{fence}text\n{body}\n{fence}"


# --- Markdown that cannot be hijacked ---------------------------------------------------------------

# Emphasis, code, links, autolinks/HTML, table pipes and strikethrough; parentheses are harmless once
# the brackets of a link are escaped.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def _one_line(text: str) -> str:
    return " ".join(clean(text).split())


def _text(text: str) -> str:
    """Plain text in a Markdown paragraph: every character Markdown would act on escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _one_line(text))


def _cell(text: str) -> str:
    """A table cell: one line, pipes escaped, long messages cut."""
    line = clean_line(text, max_len=CELL_LIMIT)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(line.split()))


def _code(text: str) -> str:
    """An inline code span that survives backticks in the text."""
    line = _one_line(text)
    if not line:
        return "` `"
    ticks = "`" * (_longest_run(line, "`") + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{ticks}{pad}{line}{pad}{ticks}"


def _longest_run(text: str, char: str) -> int:
    runs = re.findall(f"{re.escape(char)}+", text)
    return max((len(r) for r in runs), default=0)
