"""The one-line header: where we are, how fresh the view is, how many pods are in trouble."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.cells import cell_len
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
    alerts: int = 0  # alerts nobody acknowledged yet (`!` lists them)
    selector: str = ""  # the label selector in force (-l, :l)


Piece = tuple[str, str]  # (text, style)


@dataclass(frozen=True, slots=True)
class _Part:
    """A fact of the header: its full form, a compact one, and when each gives way as room runs out:
    `squeeze` and `drop` are steps in one order (lower first); `drop` None: never dropped."""

    full: tuple[Piece, ...]
    compact: tuple[Piece, ...] | None = None
    squeeze: int = 0
    drop: int | None = None


def sync_label(state: SyncState) -> tuple[str, str]:
    """("● live", style) and friends; stale views say since when (local wall time)."""
    return _sync_text(state, compact=False), _sync_style(state)


def _sync_style(state: SyncState) -> str:
    if state.phase == "synced":
        return "$success"
    if state.phase == "connecting" and state.since is None and not state.last_error:
        return "$text-muted"
    return "$warning" if state.phase != "stopped" else "$error"


def _sync_text(state: SyncState, *, compact: bool) -> str:
    """ "● live"; "◌ reconnecting · stale since 09:29:41 · refused" or, compact,
    "stale 09:29:41: refused"."""
    if state.phase == "synced":
        return "● live"
    if state.phase == "connecting" and state.since is None and not state.last_error:
        return "○ connecting"
    why = clean_line(state.last_error)
    since = state.since.astimezone().strftime("%H:%M:%S") if state.since is not None else ""
    if compact:
        why = why.split(": ", 1)[0]  # errors nest, the outermost clause names the trouble
        head = f"stale {since}" if since else {"stopped": "stopped"}.get(state.phase, state.phase)
        return head + (f": {why}" if why else "")
    label = {
        "connecting": "○ connecting",
        "relisting": "◌ re-listing",
        "reconnecting": "◌ reconnecting",
        "stopped": "■ stopped",
    }[state.phase]
    return label + (f" · stale since {since}" if since else "") + (f" · {why}" if why else "")


WIDE_SEP: Piece = ("  │  ", "$text-muted")
NARROW_SEP: Piece = (" │ ", "$text-muted")


def _parts(facts: HeaderFacts) -> list[_Part]:
    """The header's facts in display order. The steps, when room runs out: the brand goes, then
    compact forms, then the filter and modes, the context, the namespace; the connection state
    and the counts stay (cut between words at the very last)."""
    parts = [_Part((("kcrash", "bold $primary"),), drop=1)]
    if facts.offline:
        parts.append(_Part(((clean_line(facts.offline), "bold $warning"),)))
    else:
        where = "all namespaces" if facts.namespace is None else "ns " + clean_line(facts.namespace)
        short_where = "all ns" if facts.namespace is None else clean_line(facts.namespace)
        sync_style = _sync_style(facts.state)
        parts += [
            _Part(((clean_line(facts.context), "bold"),), drop=14),
            _namespace_part(facts, where, short_where),
            _Part(
                ((_sync_text(facts.state, compact=False), sync_style),),
                ((_sync_text(facts.state, compact=True), sync_style),),
                squeeze=6,
            ),
        ]
    parts.append(_counts(facts))
    if facts.alerts:
        parts.append(_alerts_part(facts.alerts))
    if facts.selector:
        parts.append(_Part((("-l " + clean_line(facts.selector), "$accent"),), drop=12))
    if facts.filter_text:
        parts.append(_Part((("/" + facts.filter_text, "$accent"),), drop=12))
    if facts.hide_healthy:
        parts.append(_Part((("healthy hidden", "$accent"),), (("-healthy", "$accent"),), squeeze=3, drop=11))
    if facts.sort != "problems":
        parts.append(_Part((("by " + facts.sort, "$text-muted"),), squeeze=4, drop=10))
    if facts.read_only and not facts.offline:
        parts.append(_Part((("read-only", "bold $warning"),), (("ro", "bold $warning"),), squeeze=8, drop=13))
    return parts


def _namespace_part(facts: HeaderFacts, where: str, short_where: str) -> _Part:
    """ "ns shop", or what is wrong with it: a namespace that does not exist stays in the header
    (its compact form drops the choices after the semicolon)."""
    if facts.scope_error:
        error = clean_line(facts.scope_error)
        return _Part(((error, "bold $error"),), ((error.split(";", 1)[0], "bold $error"),), squeeze=5)
    return _Part(((where, ""),), ((short_where, ""),), squeeze=2, drop=15)


def _alerts_part(count: int) -> _Part:
    """ "! 3 alerts": never dropped (it is why one looks), shortened to "!3" once room runs out."""
    words = "1 alert" if count == 1 else f"{count} alerts"
    return _Part(((f"! {words}", "bold $error"),), ((f"!{count}", "bold $error"),), squeeze=1)


def _counts(facts: HeaderFacts) -> _Part:
    pods = f"{facts.pods} pod" if facts.pods == 1 else f"{facts.pods} pods"
    full: list[Piece] = [(pods, "")]
    compact: list[Piece] = [(pods, "")]
    if facts.failing:
        full += [(", ", ""), (f"{facts.failing} failing", "bold $crashloop")]
        compact = [(f"{facts.failing} failing", "bold $crashloop"), (f" of {facts.pods}", "")]
    if facts.shown != facts.pods:
        full.append((f" ({facts.shown} shown)", "$text-muted"))
        compact.append((f", {facts.shown} shown", "$text-muted"))
    return _Part(tuple(full), tuple(compact), squeeze=7)


def _length(pieces: list[Piece]) -> int:
    return sum(cell_len(text) for text, _ in pieces)


def _assemble(parts: list[_Part], compact: set[int], dropped: set[int], sep: Piece) -> list[Piece]:
    pieces: list[Piece] = []
    for number, part in enumerate(parts):
        if number in dropped:
            continue
        if pieces:
            pieces.append(sep)
        pieces += part.compact if number in compact and part.compact else part.full
    return pieces


def header_content(facts: HeaderFacts, width: int = 0) -> Content:
    """The header for `width` cells (0: no limit). When it does not fit, separators narrow, then
    facts take their compact forms or give way in the order `_parts` sets; a text is only ever
    cut between words, so no fact is left with half a word."""
    parts = _parts(facts)
    compact: set[int] = set()
    dropped: set[int] = set()
    pieces = _assemble(parts, compact, dropped, WIDE_SEP)
    if width <= 0 or _length(pieces) <= width:
        return Content.assemble(*pieces)
    steps = sorted(
        [(p.squeeze, 0, i) for i, p in enumerate(parts) if p.compact]
        + [(p.drop, 1, i) for i, p in enumerate(parts) if p.drop is not None]
    )
    pieces = _assemble(parts, compact, dropped, NARROW_SEP)
    for _, drop, number in steps:
        if _length(pieces) <= width:
            break
        (dropped if drop else compact).add(number)
        pieces = _assemble(parts, compact, dropped, NARROW_SEP)
    return Content.assemble(*_cut_between_words(pieces, width))


def _cut_between_words(pieces: list[Piece], width: int) -> list[Piece]:
    """`pieces` within `width` cells, the last text that overflows cut after a whole word."""
    kept: list[Piece] = []
    room = width
    for text, style in pieces:
        if cell_len(text) <= room:
            kept.append((text, style))
            room -= cell_len(text)
            continue
        words = text[: max(0, room - 1)].rsplit(" ", 1)
        head = words[0].rstrip(" ·:,") if len(words) > 1 else ""
        if head:
            kept.append((head + "…", style))
        break
    while kept and kept[-1] in (WIDE_SEP, NARROW_SEP):
        kept.pop()
    return kept


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
        self._width = 0

    def on_resize(self) -> None:
        width = self.content_region.width
        if width != self._width:
            self._width = width
            self.update(header_content(self.facts, width), layout=False)

    def on_mount(self) -> None:
        banner = getattr(self.app, "offline_banner", "")  # any App can host the header
        if banner:
            self.change(offline=banner)
        desk = getattr(self.app, "alert_desk", None)
        if desk is not None and desk.unacknowledged:
            self.change(alerts=desk.unacknowledged)

    def set_facts(self, facts: HeaderFacts) -> None:
        if facts != self.facts:
            self.facts = facts
            # One line, always: no layout pass (that repaints the whole screen at every watch batch).
            self.update(header_content(facts, self._width), layout=False)

    def change(self, **changes: object) -> None:
        self.set_facts(replace(self.facts, **changes))  # type: ignore[arg-type]
