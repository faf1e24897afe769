"""The console against the lab: navigation, filter, sort, the drill-down of each cause, the log view."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from kcrash.core.status import pod_columns
from kcrash.lab.app import Lab
from kcrash.ui.app import KcrashApp
from kcrash.ui.rows import PodRow
from kcrash.ui.screens.detail import DetailScreen
from kcrash.ui.screens.help import HelpScreen
from kcrash.ui.screens.logs import LogScreen
from kcrash.ui.screens.pods import PodsScreen
from kcrash.ui.widgets.detail import DetailPane
from kcrash.ui.widgets.pod_table import PodTable
from kcrash.ui.widgets.status_line import StatusLine

from .conftest import lab_app, wait_for, wait_synced


def pods_screen(app: KcrashApp) -> PodsScreen:
    return next(s for s in app.screen_stack if isinstance(s, PodsScreen))


def table(app: KcrashApp) -> PodTable:
    return pods_screen(app).query_one("#pods", PodTable)


def names(app: KcrashApp) -> list[str]:
    return [key[1] for key in table(app).visible_keys]  # type: ignore[index]


def text_of(app: KcrashApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_pods_screen_lists_problems_first_with_header(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        assert isinstance(app.screen, PodsScreen)
        rows = [table(app).row(k) for k in table(app).visible_keys]
        assert len(rows) == len(app.store)
        failing = [r.failing for r in rows if isinstance(r, PodRow)]
        assert failing[0] and failing == sorted(failing, reverse=True), "problem pods come first"
        header = str(app.screen.query_one(StatusLine).render())
        assert "kcrash-lab" in header and "ns crashlab" in header and "● live" in header
        assert f"{len(app.store)} pods" in header and "failing" in header
        assert set(table(app).visible_columns) >= {"name", "status", "restarts", "last_exit"}


async def test_filter_sort_and_hide_healthy(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        everyone = len(names(app))

        await pilot.press("slash", *"oom-leak", "enter")
        assert names(app) and all("oom-leak" in n for n in names(app))
        await pilot.press("escape")
        assert len(names(app)) == everyone

        await pilot.press("R")
        restarts = [pod_columns(app.store.get(k)).restarts for k in table(app).visible_keys]  # type: ignore[arg-type]
        assert restarts == sorted(restarts, reverse=True)
        await pilot.press("R")
        restarts = [pod_columns(app.store.get(k)).restarts for k in table(app).visible_keys]  # type: ignore[arg-type]
        assert restarts == sorted(restarts)
        await pilot.press("P")

        await pilot.press("h")
        shown = [table(app).row(k) for k in table(app).visible_keys]
        assert shown and all(isinstance(r, PodRow) and r.failing for r in shown)
        assert len(shown) < everyone
        await pilot.press("h")
        assert len(names(app)) == everyone


async def test_cursor_keys_and_help(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        first = table(app).cursor_key
        await pilot.press("down", "down")
        assert table(app).cursor_row == 2
        await pilot.press("G")
        assert table(app).cursor_row == table(app).row_count - 1
        await pilot.press("g")
        assert table(app).cursor_key == first
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, PodsScreen)


async def open_pod(pilot, app: KcrashApp, name: str) -> DetailPane:  # type: ignore[no-untyped-def]
    await pilot.press("slash", *name, "enter")
    await wait_for(pilot, lambda: bool(names(app)), what=f"a pod named {name}")
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the drill-down")
    pane = app.screen.query_one(DetailPane)
    await wait_for(
        pilot,
        lambda: {"diagnosis", "events", "logs", "rollout"} <= pane.pieces.keys(),
        what="the drill-down data",
    )
    await pilot.pause(0.2)
    return pane


async def test_drill_down_oom(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        await open_pod(pilot, app, "oom-leak")
        diagnosis = text_of(app, "#d-diagnosis")
        assert "OOM" in diagnosis
        last_state = text_of(app, "#d-laststate")
        assert "OOMKilled" in last_state and "137" in last_state
        assert "limit 256Mi" in text_of(app, "#d-memory-caption")
        await pilot.press("escape")
        assert isinstance(app.screen, PodsScreen)


async def test_drill_down_liveness(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        await open_pod(pilot, app, "slow-start-liveness")
        assert "liveness" in text_of(app, "#d-diagnosis").lower()
        assert "Unhealthy" in text_of(app, "#d-events")
        assert "137" in text_of(app, "#d-laststate")


async def test_drill_down_bad_rollout(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        await pilot.press("h")  # the failing pod of the two revisions
        await open_pod(pilot, app, "bad-rollout")
        rollout = text_of(app, "#d-rollout")
        assert "deployment/bad-rollout" in rollout
        assert "▶ rev" in rollout and "(current)" in rollout
        assert rollout.count("rev ") >= 2


async def test_drill_down_asks_once_for_each_piece(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        lab.faults.clear_requests()
        # A healthy pod: nothing about it changes while the test looks, so it is loaded once.
        pane = await open_pod(pilot, app, "healthy-web")
        assert "has not terminated yet" in text_of(app, "#d-logs")
        pod = pane.pod
        assert pod is not None
        asked = [(r.path, r.query) for r in lab.faults.requests("GET")]
        events = [path for path, _ in asked if path.endswith("/events")]
        owners = [path for path, _ in asked if "/deployments/" in path]
        logs = [query for path, query in asked if path == f"/api/v1/namespaces/crashlab/pods/{pod.name}/log"]
        # The diagnosis and the sections share one answer each (they used to ask twice), and a
        # container that never restarted has no previous log to ask for.
        assert len(events) == 1 and len(owners) == 1, asked
        assert not [query for query in logs if "previous=true" in query], asked


async def test_side_by_side_on_wide_terminals(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_synced(pilot, app)
        await pilot.press("enter")
        assert isinstance(app.screen, PodsScreen)
        side = app.screen.query_one("#side", DetailPane)
        assert side.display and side.pod_key == table(app).cursor_key
        await pilot.press("down")
        assert side.pod_key == table(app).cursor_key, "the panel follows the cursor"
        await pilot.press("escape")
        assert not side.display


async def test_log_view_previous_current_and_search(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_synced(pilot, app)
        await pilot.press("slash", *"crash-missing-env", "enter", "l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), what="the log view")
        screen = app.screen
        assert isinstance(screen, LogScreen)
        await wait_for(pilot, lambda: bool(screen.lines), what="the previous log")
        assert screen.previous and any("DATABASE_URL" in line for line in screen.lines)
        await pilot.press("slash", *"DATABASE_URL", "enter")
        assert screen.matches and "1/" in text_of(app, "#log-title")
        await pilot.press("p")
        assert not screen.previous
        await pilot.press("escape")
        assert isinstance(app.screen, PodsScreen)


async def test_copy_menu_puts_a_kubectl_command_on_the_clipboard(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_synced(pilot, app)
        pod = table(app).cursor_key
        await pilot.press("c", "1")
        await pilot.pause(0.2)
        assert app.clipboard == f"kubectl --context kcrash-lab -n crashlab describe pod {pod[1]}"  # type: ignore[index]
