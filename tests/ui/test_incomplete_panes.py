"""A drill-down section that could not be read says it is incomplete and is asked for again; a
section waiting on a throttled request says so."""

from __future__ import annotations

from pathlib import Path

from kcrash.lab.app import Lab
from kcrash.ui.widgets.detail import PANE_RETRY

from .conftest import lab_app, wait_for, wait_synced
from .test_console import open_pod, text_of


async def test_an_unreadable_log_is_marked_and_read_again(fresh_lab: Lab, tmp_path: Path) -> None:
    lab = fresh_lab
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        lab.faults.deny("get", "pods/log")
        await open_pod(pilot, app, "completed-job")
        await wait_for(pilot, lambda: "Incomplete, retrying in" in text_of(app, "#d-logs"), what="the mark")
        lab.faults.allow("get", "pods/log")
        await wait_for(
            pilot,
            lambda: "nightly sales report" in text_of(app, "#d-logs"),
            timeout=PANE_RETRY + 10,
            what="the log read again",
        )
        assert "Incomplete" not in text_of(app, "#d-logs")


async def test_a_throttled_section_says_it_waits(fresh_lab: Lab, tmp_path: Path) -> None:
    lab = fresh_lab
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        lab.faults.set_error_rate(1.0, status=429, retry_after=3)
        await pilot.press("slash", *"completed-job", "enter")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "throttled, retrying in 3s" in text_of(app, "#d-logs"), what="the wait")
        lab.faults.set_error_rate(0.0)
        await wait_for(pilot, lambda: "nightly sales report" in text_of(app, "#d-logs"), what="the log")


async def test_the_header_says_the_table_waits_on_throttling(fresh_lab: Lab, tmp_path: Path) -> None:
    lab = fresh_lab
    app = lab_app(lab, tmp_path)  # the connection is checked here, before the throttling starts
    lab.faults.set_error_rate(1.0, status=429, retry_after=2)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_for(
            pilot, lambda: "throttled, retrying in 2s" in text_of(app, "StatusLine"), what="the wait"
        )
        lab.faults.set_error_rate(0.0)
        await wait_synced(pilot, app)
        assert "● live" in text_of(app, "StatusLine")
