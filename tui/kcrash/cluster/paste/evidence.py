"""Quote the pasted lines behind a diagnosis instead of the engine's reconstruction of them.

`core.diagnose` writes evidence as it would read it from the API ("exitCode: 137, reason:
OOMKilled"). When the facts came from a paste, the user should see their own lines
("Reason: OOMKilled / Exit Code: 137"): this maps each Evidence.source the engine writes to the
pasted lines kept in `PastedPod.sources`. Evidence with no pasted line (log lines, which the
engine already quotes verbatim, and statements like "memory samples: none") is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from msgspec.structs import replace

from kcrash.cluster.paste.model import PastedPod
from kcrash.core.diagnose import quote
from kcrash.core.records import Diagnosis, Evidence

# The engine's sources: "lastState.terminated", "state.waiting", "event Unhealthy ×24",
# "spec container web livenessProbe", "spec init container migrate resources.limits.memory".
_TERMINATION = re.compile(r"^(?P<which>lastState|state)\.terminated(?P<message>\.message)?$")
_EVENT = re.compile(r"^event (?P<reason>\S+)(?: ×\d+)?$")
_SPEC = re.compile(r"^spec (?:init container|sidecar|container) (?P<container>\S+) (?P<what>.+)$")
_ENV_NAME = re.compile(r"^env (?P<name>\S+) ←")


def _joined(lines: Iterable[str | None]) -> str | None:
    """Pasted lines, each with its alignment squeezed, on one line (a `get pods` row once, though
    it tells the reason and the exit code both)."""
    parts = list(dict.fromkeys(" ".join(line.split()) for line in lines if line))
    return quote(" / ".join(parts)) if parts else None


def _termination(pasted: PastedPod, container: str, match: re.Match[str]) -> str | None:
    path = f"{match['which']}.terminated"
    if match["message"]:
        return _joined([pasted.quote(f"{path}.message", container)])
    return _joined(pasted.quote(f"{path}.{field}", container) for field in ("reason", "exitCode", "signal"))


def _event(pasted: PastedPod, reason: str, engine_quote: str) -> str | None:
    """The row of the event the engine quoted: same reason, message starting as the quote does."""
    start = engine_quote.split(" … ", 1)[0][:60]
    rows = [e for e in reversed(pasted.events) if e.reason == reason and pasted.event_line(e)]
    best = next((e for e in rows if " ".join(e.message.split()).startswith(start)), rows[0] if rows else None)
    return _joined([pasted.event_line(best)]) if best is not None else None


def _spec(pasted: PastedPod, container: str, what: str, engine_quote: str) -> str | None:
    if what.endswith("Probe") or what.startswith("resources."):
        return _joined([pasted.quote(what, container)])
    if what == "image":
        return _joined([pasted.quote("image", container)])
    if what == "command":
        return _joined([pasted.quote("command", container), pasted.quote("args", container)])
    if what == "env":
        name = _ENV_NAME.match(engine_quote)
        return _joined([pasted.quote(f"env.{name['name']}", container)]) if name else None
    return None


def _pasted_quote(evidence: Evidence, pasted: PastedPod, container: str) -> str | None:
    source = evidence.source
    if match := _TERMINATION.match(source):
        return _termination(pasted, container, match)
    if source == "state.waiting":
        return _joined([pasted.quote("state.waiting.reason", container)])
    if match := _EVENT.match(source):
        return _event(pasted, match["reason"], evidence.quote)
    if match := _SPEC.match(source):
        return _spec(pasted, match["container"], match["what"], evidence.quote)
    if source == "status.reason":
        return _joined([pasted.quote("status.reason")])
    return None


def quote_pasted(diagnosis: Diagnosis, pasted: PastedPod) -> Diagnosis:
    """The diagnosis with its evidence quoting the pasted lines wherever the paste has them."""
    container = diagnosis.container or pasted.container
    evidence = tuple(
        replace(e, quote=line) if (line := _pasted_quote(e, pasted, container)) else e
        for e in diagnosis.evidence
    )
    # What the pastes themselves tell (a trend over rows, a log given to the failing pod), last.
    remarks = tuple(Evidence(source, quote(text)) for source, text in pasted.remarks)
    return replace(diagnosis, evidence=(*evidence, *remarks))
