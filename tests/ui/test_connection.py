"""The header says how fresh the view is: live, reconnecting and stale since when, live again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kcrash.lab.app import Lab
from kcrash.ui.widgets.status_line import StatusLine

from .conftest import lab_app, wait_for, wait_synced


async def test_reconnecting_then_live_again(fresh_lab: Lab, tmp_path: Path) -> None:
    lab = fresh_lab
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_synced(pilot, app)

        def header() -> str:
            return str(app.screen.query_one(StatusLine).render())

        assert "● live" in header()
        lab.faults.set_error_rate(1.0, status=503)
        lab.faults.drop_watches()
        # 120 columns cannot hold the whole error: the compact form keeps since when and why.
        await wait_for(
            pilot, lambda: re.search(r"stale \d\d:\d\d:\d\d: \w", header()) is not None, what="stale"
        )
        assert "● live" not in header()
        assert "…" not in header() or " …" not in header()
        table = app.screen.query_one("#pods")
        assert table.has_class("-stale"), "rows that may be out of date are dimmed"
        lab.faults.set_error_rate(0.0)
        await wait_for(pilot, lambda: "● live" in header(), timeout=40, what="live again")
        assert not table.has_class("-stale")


async def test_no_color_still_runs_and_marks_the_cursor(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        assert app.no_color
        table = app.screen.query_one("#pods")
        cursor = table.get_component_rich_style("pod-table--cursor")
        assert cursor.reverse and cursor.bold
        alarm = table.get_component_rich_style("pod-table--crashloop")
        assert alarm.bold and alarm.underline
