"""The drill-down against the lab: what ticks with the clock, and which log it shows."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from kcrash.lab.app import Lab
from kcrash.ui.screens.logs import NO_PREVIOUS, LogScreen
from kcrash.ui.widgets.detail import DetailPane

from .conftest import lab_app, wait_for, wait_synced
from .test_console import open_pod, text_of


async def test_ago_texts_tick_without_redrawing_the_rest(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        # Restarted long ago and running since: nothing but the clock changes while the test looks.
        pane = await open_pod(pilot, app, "recovered-worker")
        title, last_state = text_of(app, "#d-title"), text_of(app, "#d-laststate")
        assert "m ago)" in title and "m ago" in last_state
        diagnosis = pane.query_one("#d-diagnosis", Static).visual
        events = pane.query_one("#d-events", Static).visual
        # The lab's clock runs 20 times as fast: its minute is 3 s.
        await wait_for(
            pilot,
            lambda: text_of(app, "#d-title") != title and text_of(app, "#d-laststate") != last_state,
            timeout=8,
            what="the ago texts to move",
        )
        assert pane.query_one("#d-diagnosis", Static).visual is diagnosis, "the diagnosis was not redrawn"
        assert pane.query_one("#d-events", Static).visual is events or "ago" not in str(events)


async def test_a_container_that_exited_without_a_restart_shows_its_current_log(
    lab: Lab, tmp_path: Path
) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        await open_pod(pilot, app, "completed-job")
        await wait_for(pilot, lambda: "done" in text_of(app, "#d-logs"), what="the current log")
        logs = text_of(app, "#d-logs")
        assert "has not terminated yet" not in logs and "nightly sales report" in logs
        assert text_of(app, "#h-logs").startswith("Current log")


async def test_running_but_never_ready_shows_what_it_waits_for(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        await open_pod(pilot, app, "never-ready")
        await wait_for(pilot, lambda: "waiting for model artifact" in text_of(app, "#d-logs"), what="the log")
        assert text_of(app, "#h-logs").startswith("Current log")


async def test_logs_key_opens_the_current_log_of_a_pod_that_never_restarted(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_synced(pilot, app)
        await open_pod(pilot, app, "never-ready")
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), what="the log view")
        screen = app.screen
        assert isinstance(screen, LogScreen)
        await wait_for(pilot, lambda: bool(screen.lines), what="the current log")
        assert not screen.previous
        assert any("waiting for model artifact" in line for line in screen.lines)
        assert NO_PREVIOUS in text_of(app, "#log-title")


async def test_a_crash_looping_pod_still_shows_its_previous_log(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        pane = await open_pod(pilot, app, "crash-missing-env")
        assert isinstance(pane, DetailPane)
        assert text_of(app, "#h-logs").startswith("Previous logs")
        assert "DATABASE_URL" in text_of(app, "#d-logs")
