"""Pods as table rows: cells, tones, order and filter (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kcrash.cluster.reflector import SyncState
from kcrash.core.records import ContainerSpec, ContainerState, ContainerStatus, OwnerRef, Pod
from kcrash.ui.rows import (
    NO_MEMORY,
    build_row,
    data_widths,
    exit_tone,
    memory_cell,
    pod_columns_for,
    row_filter,
    sort_key,
    status_tone,
)
from kcrash.ui.widgets.pod_table import Cell
from kcrash.ui.widgets.status_line import HeaderFacts, header_content

NOW = datetime(2025, 3, 14, 9, 30, 0, tzinfo=UTC)
MI = 1024 * 1024


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def pod(
    name: str,
    *,
    state: ContainerState | None = None,
    last: ContainerState | None = None,
    restarts: int = 0,
    ready: bool = False,
    created: float = 3600,
    limit: int | None = 256 * MI,
) -> Pod:
    return Pod(
        namespace="shop",
        name=name,
        uid=f"uid-{name}",
        created_at=ago(created),
        phase="Running",
        owners=(OwnerRef("ReplicaSet", name.rsplit("-", 1)[0], controller=True),),
        containers=(ContainerSpec("app", "img:1", memory_limit=limit),),
        container_statuses=(
            ContainerStatus(
                "app",
                ready=ready,
                restart_count=restarts,
                state=state or ContainerState("running", started_at=ago(600)),
                last_state=last,
            ),
        ),
    )


OOM_LAST = ContainerState(
    "terminated", reason="OOMKilled", exit_code=137, started_at=ago(200), finished_at=ago(30)
)
LOOPING = pod(
    "oom-leak-abc",
    state=ContainerState(
        "waiting",
        reason="CrashLoopBackOff",
        message="back-off 40s restarting failed container=app pod=oom-leak-abc_shop(uid)",
    ),
    last=OOM_LAST,
    restarts=4,
)
HEALTHY = pod("web-xyz", ready=True, created=7200)


@pytest.mark.parametrize(
    ("status", "tone"),
    [
        ("CrashLoopBackOff", "crashloop"),
        ("Init:CrashLoopBackOff", "crashloop"),
        ("OOMKilled", "oom"),
        ("Error", "error"),
        ("CreateContainerConfigError", "error"),
        ("ImagePullBackOff", "error"),
        ("ContainerCreating", "warning"),
        ("Running", "normal"),
        ("Completed", "muted"),
    ],
)
def test_status_tone(status: str, tone: str) -> None:
    assert status_tone(status) == tone


@pytest.mark.parametrize(
    ("code", "reason", "tone"),
    [(137, "OOMKilled", "oom"), (1, "Error", "error"), (0, "Completed", "muted"), (None, "", "muted")],
)
def test_exit_tone(code: int | None, reason: str, tone: str) -> None:
    assert exit_tone(code, reason) == tone


@pytest.mark.parametrize(
    ("used", "limit", "cell"),
    [
        (None, 256 * MI, Cell("-", "muted")),
        (128 * MI, 256 * MI, Cell("50%", "normal")),
        (200 * MI, 256 * MI, Cell("78%", "warning")),
        (250 * MI, 256 * MI, Cell("98%", "error")),
        (100 * MI, None, Cell("100Mi", "muted")),
    ],
)
def test_memory_cell(used: int | None, limit: int | None, cell: Cell) -> None:
    assert memory_cell(used, limit) == cell


def test_crash_looping_row_cells() -> None:
    row = build_row(LOOPING, NOW, memory_used=240 * MI)
    assert row.failing
    assert row.cell("status", NOW) == Cell("CrashLoopBackOff", "crashloop")
    assert row.cell("last_exit", NOW) == Cell("137 OOMKilled", "oom", "137 OOM")
    assert row.cell("restarts", NOW).text == "4 (30s ago)"
    assert row.cell("ready", NOW) == Cell("0/1", "warning")
    assert row.cell("memory", NOW) == NO_MEMORY, "a dead container's last reading is not shown"
    # Back-off from the kubelet's message: 40 s after the exit 30 s ago -> 10 s left.
    assert row.cell("next_restart", NOW) == Cell("10s", "crashloop")
    assert row.cell("next_restart", NOW + timedelta(seconds=11)) == Cell("due", "warning")
    assert row.cell("age", NOW).text == "60m"


@pytest.mark.parametrize(
    ("state", "cell"),
    [
        (ContainerState("running", started_at=ago(60)), Cell("94%", "error")),
        (ContainerState("waiting", reason="CrashLoopBackOff"), NO_MEMORY),
        (ContainerState("waiting", reason="ContainerCreating"), NO_MEMORY),
        (ContainerState("terminated", reason="OOMKilled", exit_code=137), NO_MEMORY),
        (ContainerState("terminated", reason="Completed", exit_code=0), NO_MEMORY),
    ],
)
def test_memory_only_for_a_running_container(state: ContainerState, cell: Cell) -> None:
    assert build_row(pod("p-1", state=state, last=OOM_LAST), NOW, memory_used=240 * MI).memory == cell


def test_healthy_row_cells() -> None:
    row = build_row(HEALTHY, NOW)
    assert not row.failing
    assert row.cell("status", NOW) == Cell("Running", "normal")
    assert row.cell("restarts", NOW) == Cell("0", "muted")
    assert row.cell("next_restart", NOW) == Cell("")
    assert row.cell("last_exit", NOW).text == ""


def test_only_rows_the_clock_can_change_are_rejudged_and_outdated_says_when() -> None:
    error = ContainerState(
        "terminated", reason="Error", exit_code=1, started_at=ago(900), finished_at=ago(540)
    )
    restarted = build_row(pod("api-7f9c-a", ready=True, restarts=1, last=error), NOW)  # 9 minutes ago
    assert restarted.failing and restarted.time_bound
    assert not restarted.outdated(NOW + timedelta(seconds=30))
    assert restarted.outdated(NOW + timedelta(minutes=2)), "past the 10-minute window"
    assert not build_row(restarted.pod, NOW + timedelta(minutes=2)).failing
    looping = build_row(LOOPING, NOW)
    assert looping.time_bound and not looping.outdated(NOW + timedelta(seconds=5))
    assert not build_row(HEALTHY, NOW).time_bound


def test_cluster_text_is_cleaned_in_cells() -> None:
    nasty = pod("evil-\x1b]52;c;aGk=\x07-pod")
    row = build_row(nasty, NOW)
    assert "\x1b" not in row.name and "\x07" not in row.name
    assert "␛" in row.name


def test_default_order_puts_problems_first_and_holds_still() -> None:
    crashed = pod(
        "zzz-crash",
        state=ContainerState("terminated", reason="Error", exit_code=1, finished_at=ago(5)),
        restarts=2,
    )
    rows = [build_row(p, NOW) for p in (HEALTHY, LOOPING, crashed, pod("aaa-new", created=10, ready=True))]
    ordered = [r.name for r in sorted(rows, key=sort_key("problems"))]
    assert ordered[:2] == ["oom-leak-abc", "zzz-crash"]  # failing first, by name whatever their STATUS
    # The crash loop's STATUS flips to Running between crashes: it keeps its place.
    restarted = pod(
        "oom-leak-abc", state=ContainerState("running", started_at=ago(2)), last=OOM_LAST, restarts=5
    )
    again = [build_row(p, NOW) for p in (HEALTHY, restarted, crashed, pod("aaa-new", created=10, ready=True))]
    assert [r.name for r in sorted(again, key=sort_key("problems"))] == ordered


@pytest.mark.parametrize(
    ("by", "first"),
    [
        ("problems", "oom-leak-abc"),
        ("restarts", "oom-leak-abc"),
        ("age", "aaa-new"),
        ("name", "aaa-new"),
        ("status", "oom-leak-abc"),
    ],
)
def test_sort_modes(by: str, first: str) -> None:
    rows = [build_row(p, NOW) for p in (HEALTHY, LOOPING, pod("aaa-new", created=10, ready=True))]
    assert sorted(rows, key=sort_key(by))[0].name == first  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "hide", "kept"),
    [
        ("", False, None),
        ("oom", False, {"oom-leak-abc"}),
        ("OOMKILLED", False, {"oom-leak-abc"}),
        ("web running", False, {"web-xyz"}),
        ("web crashloop", False, set()),
        ("", True, {"oom-leak-abc"}),
        ("web", True, set()),
    ],
)
def test_filter(text: str, hide: bool, kept: set[str] | None) -> None:
    predicate = row_filter(text, hide)
    rows = [build_row(p, NOW) for p in (HEALTHY, LOOPING)]
    if kept is None:
        assert predicate is None
        return
    assert predicate is not None
    assert {r.name for r in rows if predicate(r)} == kept


def test_columns_follow_the_longest_status_and_show_namespace_only_for_all() -> None:
    rows = [build_row(p, NOW) for p in (HEALTHY, LOOPING)]
    widths = data_widths(rows) | {"status": len("CreateContainerConfigError")}
    columns = {c.key: c for c in pod_columns_for(False, widths)}
    assert columns["status"].width == 26
    assert "namespace" not in columns
    assert pod_columns_for(True)[0].key == "namespace"


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (SyncState("synced"), ["● live"]),
        (SyncState("connecting"), ["connecting"]),
        (
            SyncState("reconnecting", since=datetime(2025, 3, 14, 9, 0, 5, tzinfo=UTC), last_error="refused"),
            ["reconnecting", "stale since", "refused"],
        ),
    ],
)
def test_header_says_how_fresh_the_view_is(state: SyncState, words: list[str]) -> None:
    text = header_content(HeaderFacts("prod", "shop", state, pods=3, failing=1, shown=3)).plain
    assert all(word in text for word in words)
    assert "prod" in text and "ns shop" in text and "3 pods, 1 failing" in text
