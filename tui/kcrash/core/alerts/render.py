"""Alerts as scripts and chat channels read them: a JSON object per line, a text line, a Slack
message. Every string from the cluster is already sanitised when the alert is built; names are
cleaned again here, since they end up on terminals and in chat."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kcrash.core.alerts.model import Alert
from kcrash.core.humanize import since
from kcrash.core.sanitize import clean_line

SCHEMA_FIELDS = (
    "time",
    "severity",
    "rule",
    "state",
    "namespace",
    "pod",
    "container",
    "owner",
    "restart_count",
    "exit_code",
    "reason",
    "message",
    "likely_cause",
    "cause",
    "dying_words",
    "count",
    "since",
    "evidence",
    "command",
)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def open_command(alert: Alert) -> str:
    """The kcrash command that shows this alert's pod and why it dies."""
    ns = clean_line(alert.namespace)
    if alert.pod:
        return f"kcrash diagnose {clean_line(alert.pod)} -n {ns}"
    return f"kcrash -n {ns}"


def alert_json(alert: Alert) -> dict[str, Any]:
    """The documented object (docs/alerts.md): the same keys every time, null when unknown."""
    return {
        "time": _iso(alert.at),
        "severity": alert.severity,
        "rule": alert.rule,
        "state": alert.state,
        "namespace": clean_line(alert.namespace),
        "pod": clean_line(alert.pod),
        "container": clean_line(alert.container),
        "owner": clean_line(alert.owner),
        "restart_count": alert.restart_count,
        "exit_code": alert.exit_code,
        "reason": clean_line(alert.reason),
        "message": alert.message,
        "likely_cause": alert.likely_cause or None,
        "cause": alert.cause or None,
        "dying_words": alert.dying_words or None,
        "count": alert.count,
        "since": _iso(alert.since),
        "evidence": [{"source": source, "quote": quote} for source, quote in alert.evidence],
        "command": open_command(alert),
    }


def alert_text(alert: Alert, now: datetime) -> str:
    """One line: `12:04:31 critical oom-killed shop/web-7d9 (app): container app was OOM-killed …`."""
    where = f"{alert.namespace}/{alert.pod}" if alert.pod else f"{alert.namespace}/{alert.owner}"
    container = f" ({alert.container})" if alert.container else ""
    clock = alert.at.astimezone().strftime("%H:%M:%S")
    head = f"{clock} {alert.severity:<8} {alert.rule:<16} {where}{container}"
    if alert.state == "already-failing":
        # A clock ahead of ours (a skewed node, a sped-up lab) must not read "<invalid> ago".
        when = f" since {since(min(alert.since, now), now)} ago" if alert.since is not None else ""
        body = f"already failing{when}: {alert.message}"
    else:
        body = alert.message
    if alert.likely_cause:
        body += f" — likely: {alert.likely_cause}"
    if alert.dying_words:
        body += f' — last words: "{alert.dying_words}"'
    if alert.count > 1:
        body += f" (×{alert.count})"
    return clean_line(f"{head}: {body}")


_COLOURS = {"critical": "#d33833", "warning": "#e8a33d", "info": "#3b7dd8"}


def _mrkdwn(text: str) -> str:
    """Slack's three escapes, so cluster text cannot ping channels or forge links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook message: `text` for any receiver, blocks for Slack,
    and the alert itself under `kcrash` for receivers that want the fields."""
    where = f"{alert.namespace}/{alert.pod or alert.owner}"
    title = f"[{alert.severity}] {alert.rule}: {where}"
    lines = [f"*{_mrkdwn(title)}*", _mrkdwn(alert.message)]
    if alert.likely_cause:
        lines.append(f"Likely cause: {_mrkdwn(alert.likely_cause)}")
    if alert.dying_words:
        lines.append(f"Last words: `{_mrkdwn(alert.dying_words)}`")
    evidence = "\n".join(f"• {_mrkdwn(source)}: {_mrkdwn(quote)}" for source, quote in alert.evidence)
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]
    if evidence:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Evidence*\n" + evidence}})
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Open it: `{_mrkdwn(open_command(alert))}`"}],
        }
    )
    return {
        "text": f"{title}: {alert.message}",
        "blocks": blocks,
        "attachments": [{"color": _COLOURS.get(alert.severity, "#888888"), "fallback": title}],
        "kcrash": alert_json(alert),
    }
