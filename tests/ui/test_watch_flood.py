"""A flood of watch events: coalesced per pod, applied a slice at a time, converging to the latest.

The app's inbox is pure logic (table-driven below); the flood runs against the lab with events
handed to the app the way the reflector's thread hands them over.
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from msgspec.structs import replace
from rich.segment import Segment
from textual.strip import Strip

from kcrash.core.records import ContainerSpec, Pod
from kcrash.lab.app import Lab
from kcrash.ui.app import APPLY_SLICE, SWITCH_INTERVAL, _Inbox
from kcrash.ui.messages import PodsChanged
from kcrash.ui.screens.pods import HEADER_SECONDS, PodsScreen
from kcrash.ui.widgets.pod_table import PodTable
from kcrash.ui.widgets.status_line import StatusLine

from .conftest import lab_app, wait_for, wait_synced

NOW = datetime(2025, 3, 14, 9, 30, 0, tzinfo=UTC)


def record(name: str, version: str = "1") -> Pod:
    return Pod(
        namespace="crashlab",
        name=name,
        uid=f"uid-{name}",
        resource_version=version,
        created_at=NOW,
        phase="Pending",
        containers=(ContainerSpec("app", "img:1"),),
    )


def test_the_inbox_keeps_the_latest_event_of_each_pod() -> None:
    inbox = _Inbox()
    assert inbox.add_events([("ADDED", record("a")), ("ADDED", record("b"))])
    assert not inbox.add_events([("MODIFIED", record("a", "2")), ("DELETED", record("b", "2"))])
    resync, events, more = inbox.take(10)
    assert resync is None and not more
    assert [(kind, pod.name, pod.resource_version) for kind, pod in events] == [
        ("MODIFIED", "a", "2"),
        ("DELETED", "b", "2"),
    ]
    assert inbox.add_events([("ADDED", record("c"))]), "drained: the next delivery posts again"


def test_the_inbox_hands_out_slices_and_stays_claimed_until_empty() -> None:
    inbox = _Inbox()
    inbox.add_events([("ADDED", record(f"p{i}")) for i in range(5)])
    _, first, more = inbox.take(2)
    assert [pod.name for _, pod in first] == ["p0", "p1"] and more
    assert not inbox.add_events([("MODIFIED", record("p0", "2"))]), "the taker comes back unasked"
    _, rest, more = inbox.take(10)
    assert [pod.name for _, pod in rest] == ["p2", "p3", "p4", "p0"] and not more


def test_a_relist_replaces_what_was_queued_before_it() -> None:
    inbox = _Inbox()
    inbox.add_events([("ADDED", record("old"))])
    inbox.add_resync([record("fresh")])
    inbox.add_events([("ADDED", record("after"))])
    resync, events, more = inbox.take(10)
    assert [pod.name for pod in resync or []] == ["fresh"]
    assert [pod.name for _, pod in events] == ["after"] and not more


def test_a_strip_cut_where_it_ends_does_not_keep_itself() -> None:
    """Lines drawn must be freed by reference counting, not left to the cyclic collector."""
    strip = Strip([Segment("abc"), Segment("def")], 6)
    references = sys.getrefcount(strip)
    assert strip.divide([6]) == [strip]
    assert sys.getrefcount(strip) == references
    assert [piece.text for piece in strip.divide([2, 6])] == ["ab", "cdef"]


async def test_a_flood_converges_a_slice_at_a_time(lab: Lab, tmp_path: Path) -> None:
    before = sys.getswitchinterval()
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_synced(pilot, app)
        assert sys.getswitchinterval() == SWITCH_INTERVAL
        screen = next(s for s in app.screen_stack if isinstance(s, PodsScreen))
        slices: list[int] = []
        flood_keys: list[tuple[str, str]] = []
        original = screen.store_changed

        def counting(message: PodsChanged) -> None:
            slices.append(len(message.keys))
            flood_keys.extend(key for key in message.keys if key[1].startswith("flood-"))
            original(message)

        screen.store_changed = counting  # type: ignore[method-assign]
        flood = [record(f"flood-{i:04d}") for i in range(3000)]
        events = [("ADDED", pod) for pod in flood]
        events += [("MODIFIED", replace(pod, resource_version="2")) for pod in flood]
        events += [("DELETED", pod) for pod in flood[:100]]  # added, changed, deleted: never shown
        deliver = threading.Thread(target=app._on_events, args=(events,))  # as the reflector does
        deliver.start()
        deliver.join()

        def flooded() -> bool:
            return len(flood_keys) == 2900

        await wait_for(pilot, flooded, what="the flood in the table")
        await pilot.pause(HEADER_SECONDS + 0.1)
        table = screen.query_one("#pods", PodTable)
        assert table.total_count == len(app.store)
        assert all(app.store.get(pod.key) is not None for pod in flood[100:])
        assert all(table.row(pod.key) is not None for pod in flood[100:])
        assert all(table.row(pod.key) is None for pod in flood[:100])
        assert len(set(flood_keys)) == 2900, "each pod rebuilt once: its two events were one"
        assert f"{len(app.store)} pods" in str(screen.query_one(StatusLine).render())
        assert max(slices) <= APPLY_SLICE and len(slices) >= 2900 // APPLY_SLICE
    assert sys.getswitchinterval() == before
