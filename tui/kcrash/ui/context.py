"""What screens and widgets may ask of the console they run in, without importing the App.

Screens and widgets read the store, the source, the clock and the session's modes through
`console(widget)`, typed by the `Console` protocol below; the App implements it and imports its
screens at the top. So no screen imports `kcrash.ui.app`, and the import graph has no circle
(as in Harlequin, whose screens are given their services rather than reaching for the App).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, runtime_checkable

from textual.widget import Widget

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.screen import Screen

    from kcrash.cluster.reflector import SyncState
    from kcrash.cluster.source import Access, ClusterSource
    from kcrash.core.store import PodStore
    from kcrash.history.archive import Archive
    from kcrash.ui.alerts import AlertDesk
    from kcrash.ui.clock import Clock
    from kcrash.ui.history import TerminationLog
    from kcrash.ui.offline import OfflineSource


W = TypeVar("W", bound=Widget)


@runtime_checkable
class Console(Protocol):
    """The kcrash App as its screens and widgets see it."""

    store: PodStore
    clock: Clock
    failing: set[tuple[str, str]]
    sync_state: SyncState
    access: Access | None
    terminations: TerminationLog
    archive: Archive | None
    """The crash archive of this cluster (None offline or when it could not be opened)."""
    archive_note: str
    tick_seconds: float
    metrics_seconds: float
    offline_banner: str
    alert_desk: AlertDesk

    @property
    def source(self) -> ClusterSource | OfflineSource: ...

    @property
    def read_only(self) -> bool: ...

    @property
    def all_namespaces(self) -> bool: ...

    def follow_memory(self, opened: tuple[str, str] | None = None) -> None: ...

    def neighbour_pod(self, key: tuple[str, str], step: int) -> tuple[str, str] | None: ...

    def switch_scope(self, source: ClusterSource) -> None: ...

    def run_interactive(self, argv: list[str]) -> None: ...

    def open_screen(self, screen: Screen[Any], callback: Callable[[Any], None] | None = None) -> bool: ...


def console(node: DOMNode) -> Console:
    """The console `node` belongs to."""
    return cast(Console, node.app)


def child_or_none(node: DOMNode, selector: str, kind: type[W]) -> W | None:
    """The first match of `selector`, or None: a screen closed by a key of the same read, or not
    composed yet, has no children, and a late resize, timer or key must find that out quietly."""
    return next(node.query(selector).results(kind), None)
