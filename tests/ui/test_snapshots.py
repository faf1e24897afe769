"""Snapshots of the console at 80x24 and 120x40, on fixed data and a frozen clock.

Stability comes from three choices: the lab serves static objects (`load_files`; no kubelet or
controller acts on them, so nothing moves); the console's clock is frozen at SNAPSHOT_NOW; and
the memory samples are fed one by one, each waited for, so the chart holds exactly the same
series every run. Update with `pytest tests/ui/test_snapshots.py --snapshot-update` and look at
the SVGs before committing them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from kcrash.cluster.config import connect
from kcrash.cluster.source import ClusterSource
from kcrash.lab.app import Lab
from kcrash.ui.app import KcrashApp, make_app
from kcrash.ui.clock import FrozenClock
from kcrash.ui.screens.detail import DetailScreen
from kcrash.ui.screens.logs import LogScreen
from kcrash.ui.screens.modals import UndoModal
from kcrash.ui.screens.pods import PodsScreen
from kcrash.ui.widgets.detail import DetailPane
from kcrash.ui.widgets.memory_chart import MemoryChart
from kcrash.ui.widgets.pod_table import PodTable

from .conftest import wait_for

DATA = Path(__file__).parent / "snapshot_data"
SNAPSHOT_NOW = datetime(2026, 11, 20, 10, 30, 0, tzinfo=UTC)
OOM_POD = ("crashlab", "oom-leak-7f6b5c4d9-r8tnm")
SIZES = [(80, 24), (120, 40)]

Snap = Callable[..., bool]


def metrics_samples() -> list[dict[str, Any]]:
    samples: list[dict[str, Any]] = json.loads((DATA / "oom-leak.metrics.json").read_text())
    return samples


@pytest.fixture(scope="module")
def static_lab() -> Iterator[Lab]:
    with Lab(seed=1, builtin_scenarios=False, load_files=[DATA / "cluster.json"]) as lab:
        yield lab


def set_metrics(lab: Lab, sample: dict[str, Any]) -> None:
    def put() -> None:
        meta = sample["metadata"]
        if lab.store.get("podmetrics", meta["namespace"], meta["name"]) is None:
            lab.store.create("podmetrics", copy.deepcopy(sample))
        else:
            lab.store.replace("podmetrics", copy.deepcopy(sample))

    lab.call(put)


def snapshot_app(lab: Lab, directory: Path) -> tuple[KcrashApp, ClusterSource]:
    kubeconfig = lab.write_kubeconfig(directory / "kubeconfig")
    conn = connect(str(kubeconfig), "kcrash-lab", "crashlab", False)
    source = ClusterSource(conn, namespace="crashlab", metrics_interval=0.05)
    app = make_app(source, clock=FrozenClock(SNAPSHOT_NOW), metrics_seconds=0.2, tick_seconds=0.5)
    return app, source


async def settled(pilot: Pilot[int], app: KcrashApp) -> None:
    """Listed, sampled once, access known: what every snapshot starts from."""
    await wait_for(pilot, lambda: app.sync_state.live and len(app.store) > 0, what="the first list")
    await wait_for(pilot, lambda: app.access is not None, what="the access review")
    screen = next(s for s in app.screen_stack if isinstance(s, PodsScreen))
    table = screen.query_one("#pods", PodTable)

    def memory_read() -> bool:
        # The pod is backing off: its MEM/LIMIT stays "-" (no running container), but the sample
        # must have arrived for the chart.
        return table.row(OOM_POD) is not None and screen._memory.get(OOM_POD) is not None

    await wait_for(pilot, memory_read, what="the memory sample")


async def feed_memory(pilot: Pilot[int], lab: Lab, source: ClusterSource) -> None:
    """Give the sampler the whole series, one sample at a time."""
    pod = source.list_pods()
    oom = next(p for p in pod if p.key == OOM_POD)
    for index, sample in enumerate(metrics_samples()):
        set_metrics(lab, sample)
        await wait_for(
            pilot, lambda n=index + 1: len(source.metrics.view(oom).samples) >= n, what="a memory sample"
        )


def run(
    snap_compare: Snap, app: KcrashApp, size: tuple[int, int], steps: Callable[[Pilot[int]], Awaitable[None]]
) -> bool:
    return snap_compare(app, terminal_size=size, run_before=steps)


@pytest.fixture
def last_sample_only(static_lab: Lab) -> None:
    set_metrics(static_lab, metrics_samples()[-1])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_pods_screen(
    snap_compare: Snap, static_lab: Lab, tmp_path: Path, size: tuple[int, int], last_sample_only: None
) -> None:
    app, _ = snapshot_app(static_lab, tmp_path)

    async def steps(pilot: Pilot[int]) -> None:
        await settled(pilot, app)

    assert run(snap_compare, app, size, steps)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_drill_down_oom(snap_compare: Snap, static_lab: Lab, tmp_path: Path, size: tuple[int, int]) -> None:
    set_metrics(static_lab, metrics_samples()[0])
    app, source = snapshot_app(static_lab, tmp_path)

    async def steps(pilot: Pilot[int]) -> None:
        await settled(pilot, app)
        await feed_memory(pilot, static_lab, source)
        await pilot.press("slash", *"oom-leak", "enter", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the drill-down")
        pane = app.screen.query_one(DetailPane)
        await wait_for(
            pilot,
            lambda: {"diagnosis", "events", "logs", "rollout", "memory", "prometheus"} <= pane.pieces.keys(),
            what="data",
        )
        chart = pane.query_one(MemoryChart)
        await wait_for(pilot, lambda: len(chart.data.ys) == len(metrics_samples()), what="the chart")

    assert run(snap_compare, app, size, steps)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_log_view(
    snap_compare: Snap, static_lab: Lab, tmp_path: Path, size: tuple[int, int], last_sample_only: None
) -> None:
    app, _ = snapshot_app(static_lab, tmp_path)

    async def steps(pilot: Pilot[int]) -> None:
        await settled(pilot, app)
        await pilot.press("slash", *"crash-missing-env", "enter", "l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), what="the log view")
        screen = app.screen
        assert isinstance(screen, LogScreen)
        await wait_for(pilot, lambda: bool(screen.lines), what="the log")
        await pilot.press("slash", *"DATABASE_URL", "enter")

    assert run(snap_compare, app, size, steps)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_undo_modal(
    snap_compare: Snap, static_lab: Lab, tmp_path: Path, size: tuple[int, int], last_sample_only: None
) -> None:
    app, _ = snapshot_app(static_lab, tmp_path)

    async def steps(pilot: Pilot[int]) -> None:
        await settled(pilot, app)
        await pilot.press("slash", *"bad-rollout", "enter", "u")
        await wait_for(pilot, lambda: isinstance(app.screen, UndoModal), what="the undo dialog")
        app.clear_notifications()

    assert run(snap_compare, app, size, steps)
