"""The console archives crashes while it runs; the drill-down lists them with those of the
workload's earlier pods, and the log view's `p` steps back through them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kcrash.history.archive import Archive
from kcrash.history.crash import Crash
from kcrash.history.recorder import Recorder
from kcrash.history.settings import HistorySettings
from kcrash.lab.app import Lab
from kcrash.ui.app import make_app
from kcrash.ui.screens.logs import LogScreen

from .conftest import lab_source, wait_for, wait_synced
from .test_console import open_pod, text_of

OLD_POD = "crash-missing-env-5c8d7f6b9-old01"


def earlier_crash(archive: Archive, restart: int, words: str, lab: Lab) -> None:
    died = lab.clock.now() - timedelta(hours=2, minutes=10 - restart)
    archive.add(
        Crash(
            namespace="crashlab",
            pod=OLD_POD,
            container="app",
            container_id=f"containerd://old-{restart}",
            restart=restart,
            exit_code=1,
            reason="Error",
            started_at=died - timedelta(seconds=2),
            finished_at=died,
            workload="crash-missing-env",
            log=f"starting orders 2.2.{restart}\n{words}",
            recorded_at=died,
        )
    )


async def test_drill_down_lists_archived_crashes_and_p_steps_back_through_them(
    lab: Lab, tmp_path: Path
) -> None:
    source = lab_source(lab, tmp_path)
    archive = Archive(tmp_path / "archive.sqlite3")
    earlier_crash(archive, 1, "KeyError: 'DB_HOST'", lab)
    earlier_crash(archive, 2, "FATAL: required environment variable DB_URL is not set", lab)
    recorder = Recorder(source, archive, HistorySettings())
    app = make_app(source, clock=lab.clock, metrics_seconds=1.0, recorder=recorder)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        await open_pod(pilot, app, "crash-missing-env")
        await wait_for(
            pilot,
            lambda: "DATABASE_URL is not set" in text_of(app, "#d-crashes"),
            what="the recorder to archive the live pod's crash",
        )
        crashes = text_of(app, "#d-crashes")
        lines = [line for line in crashes.splitlines() if line.startswith("#")]
        assert "DATABASE_URL is not set" in lines[0] and "pod/" not in lines[0], "its own crash comes first"
        assert "DB_URL is not set" in lines[-2] and f"pod/{OLD_POD}" in lines[-2]
        assert "KeyError: 'DB_HOST'" in lines[-1], "oldest last, each with its own dying words"

        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), what="the log view")
        screen = app.screen
        assert isinstance(screen, LogScreen)
        await wait_for(pilot, lambda: bool(screen.lines) and bool(screen._older), what="the previous log")
        assert screen.previous and screen.archived is None
        seen: list[tuple[str, list[str]]] = []
        while not seen or not seen[-1][0].startswith("current"):
            assert len(seen) < 8, [title for title, _ in seen]
            await pilot.press("p")
            await wait_for(pilot, lambda: "loading" not in text_of(app, "#log-title"), what="the next log")
            seen.append((text_of(app, "#log-title"), list(screen.lines)))
        *own, (title2, log2), (title1, log1), _ = seen
        # The live pod's own archived crashes older than its previous instance come first, newest first.
        numbers = [int(title.split()[1].lstrip("#")) for title, _ in own]
        assert numbers == sorted(numbers, reverse=True) and all("pod/" + OLD_POD not in t for t, _ in own)
        assert title2.startswith("crash #2 of pod/" + OLD_POD) and log2[-1].endswith("DB_URL is not set")
        assert title1.startswith("crash #1") and log1[-1] == "KeyError: 'DB_HOST'"


async def test_reopening_the_console_charts_the_memory_an_earlier_run_archived(
    lab: Lab, tmp_path: Path
) -> None:
    import time

    from kcrash.cluster.metrics import MemoryView

    archive = Archive(tmp_path / "archive.sqlite3")
    earlier = lab_source(lab, tmp_path)
    first_run = Recorder(earlier, archive)
    pod = next(p for p in earlier.list_pods() if p.name.startswith("oom-leak"))
    deadline = time.monotonic() + 20
    while len(earlier.metrics.view(pod).samples) < 2:  # a new sample every 15 simulated seconds
        assert time.monotonic() < deadline, "the lab's metrics never moved"
        assert earlier.metrics.sample_once()
        time.sleep(0.3)
    first_run.keep_memory_of(pod.key)
    kept = first_run.keep_memory()
    earlier.stop()
    assert kept >= 2
    archived = {
        at for at, _ in archive.memory(pod.namespace, pod.name, "app", lab.clock.now() - timedelta(hours=1))
    }

    time.sleep(0.5)
    source = lab_source(lab, tmp_path)
    app = make_app(source, clock=lab.clock, metrics_seconds=1.0, recorder=Recorder(source, archive))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        pane = await open_pod(pilot, app, "oom-leak")

        def charted() -> set[datetime]:
            view = pane.pieces.get("memory")
            return (
                {s.at for s in view.samples if s.container == "app"}
                if isinstance(view, MemoryView)
                else set()
            )

        await wait_for(pilot, lambda: len(charted()) > len(archived), what="a sample of this session")
        assert archived <= charted(), "the samples archived by the earlier run are on the chart"
        assert min(charted()) in archived


async def test_bad_rollout_headline_names_the_revision_the_loop_began_after(
    make_lab: Callable[..., Lab], tmp_path: Path
) -> None:
    lab = make_lab(speed=60.0)
    source = lab_source(lab, tmp_path)
    recorder = Recorder(source, Archive(tmp_path / "archive.sqlite3"), HistorySettings(fetch_rate=20))
    app = make_app(source, clock=lab.clock, metrics_seconds=1.0, recorder=recorder)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        crashing = [p for p in app.store.values() if p.name.startswith("bad-rollout")]
        pod = max(crashing, key=lambda p: max((s.restart_count for s in p.container_statuses), default=0))
        await open_pod(pilot, app, pod.name)
        await wait_for(
            pilot,
            lambda: "after revision" in text_of(app, "#d-crashes"),
            timeout=30,
            what="a second crash, the rollout history and the headline",
        )
        headline = text_of(app, "#d-crashes").splitlines()[0]
        assert re.fullmatch(
            r"crash-looping since \d\d:\d\d UTC, (\d+ min|under a minute) after revision 2 "
            r"\(api:1\.4\.2 → 1\.5\.0\)",
            headline,
        ), headline


def test_the_chart_marks_deploys_in_its_window_with_their_revision() -> None:
    from kcrash.core.records import MemorySample
    from kcrash.ui.widgets.memory_chart import chart_data

    now = datetime(2025, 3, 14, 14, 10, tzinfo=UTC)
    samples = [MemorySample(now - timedelta(minutes=m), "api", 100 * 2**20) for m in range(10, -1, -1)]
    data = chart_data(
        samples,
        container="api",
        available=True,
        note="",
        limit=256 * 2**20,
        request=None,
        terminations=(),
        now=now,
        deploys=[(now - timedelta(minutes=8), "rev 7"), (now - timedelta(hours=3), "rev 6")],
    )
    assert data.deploys == ((-8.0, "rev 7"),), (
        "only the deploy inside the chart's window, in minutes before now"
    )
