"""The one-line header: where we are, how fresh the view is, how many pods are in trouble."""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual.content import Content
from textual.widgets import Static

from kcrash.cluster.reflector import SyncState
from kcrash.core.sanitize import clean_line


@dataclass(frozen=True, slots=True)
class HeaderFacts:
    """Everything the header shows; a new value means one repaint, an equal one none."""

    context: str
    namespace: str | None
    state: SyncState
    pods: int = 0
    failing: int = 0
    shown: int = 0
    filter_text: str = ""
    hide_healthy: bool = False
    sort: str = "problems"
    read_only: bool = False
    offline: str = ""  # banner for pods from pastes, shown instead of context, namespace and connection
    scope_error: str = ""  # the namespace does not exist: said in its place


def sync_label(state: SyncState) -> tuple[str, str]:
    """("● live", style) and friends; stale views say since when (local wall time)."""
    if state.phase == "synced":
        return "● live", "$success"
    if state.phase == "connecting" and state.since is None and not state.last_error:
        return "○ connecting", "$text-muted"
    since = ""
    if state.since is not None:
        since = " · stale since " + state.since.astimezone().strftime("%H:%M:%S")
    label = {
        "connecting": "○ connecting",
        "relisting": "◌ re-listing",
        "reconnecting": "◌ reconnecting",
        "stopped": "■ stopped",
    }[state.phase]
    why = f" · {clean_line(state.last_error)}" if state.last_error else ""
    return label + since + why, "$warning" if state.phase != "stopped" else "$error"


def header_content(facts: HeaderFacts) -> Content:
    sep = ("  │  ", "$text-muted")
    parts: list[str | tuple[str, str]] = [
        ("kcrash", "bold $primary"),
        sep,
        *_where(facts, sep),
        sep,
        (f"{facts.pods} pod" if facts.pods == 1 else f"{facts.pods} pods", ""),
    ]
    if facts.failing:
        parts += [", ", (f"{facts.failing} failing", "bold $crashloop")]
    if facts.shown != facts.pods:
        parts.append((f" ({facts.shown} shown)", "$text-muted"))
    if facts.filter_text:
        parts += [sep, ("/" + facts.filter_text, "$accent")]
    if facts.hide_healthy:
        parts += [sep, ("healthy hidden", "$accent")]
    if facts.sort != "problems":
        parts += [sep, ("by " + facts.sort, "$text-muted")]
    if facts.read_only and not facts.offline:
        parts += [sep, ("read-only", "bold $warning")]
    return Content.assemble(*parts)


def _where(facts: HeaderFacts, sep: tuple[str, str]) -> list[str | tuple[str, str]]:
    """Context │ namespace │ connection on a cluster; the offline banner for pastes."""
    if facts.offline:
        return [(clean_line(facts.offline), "bold $warning")]
    return [
        (clean_line(facts.context), "bold"),
        sep,
        _namespace(facts),
        sep,
        sync_label(facts.state),
    ]


def _namespace(facts: HeaderFacts) -> tuple[str, str]:
    if facts.scope_error:
        return clean_line(facts.scope_error), "bold $error"
    return ("all namespaces" if facts.namespace is None else "ns " + clean_line(facts.namespace), "")


class StatusLine(Static):
    """Context │ namespace │ connection │ counts; repaints only when a fact changes."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $panel;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, facts: HeaderFacts, *, id: str | None = None) -> None:
        super().__init__(header_content(facts), id=id)
        self.facts = facts

    def on_mount(self) -> None:
        from kcrash.ui.app import KcrashApp

        if isinstance(self.app, KcrashApp) and self.app.offline_banner:
            self.change(offline=self.app.offline_banner)

    def set_facts(self, facts: HeaderFacts) -> None:
        if facts != self.facts:
            self.facts = facts
            # One line, always: no layout pass (that repaints the whole screen at every watch batch).
            self.update(header_content(facts), layout=False)

    def change(self, **changes: object) -> None:
        self.set_facts(replace(self.facts, **changes))  # type: ignore[arg-type]
