"""Text from the cluster is shown as text: markup stays literal, escape sequences stay inert."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from kcrash.lab.app import Lab
from kcrash.ui.screens.detail import DetailScreen
from kcrash.ui.screens.logs import LogScreen
from kcrash.ui.widgets.detail import DetailPane

from .conftest import lab_app, wait_for, wait_synced

DATA = Path(__file__).parent / "hostile_data" / "hostile.json"


@pytest.fixture(scope="module")
def hostile_lab() -> Iterator[Lab]:
    with Lab(seed=1, builtin_scenarios=False, load_files=[DATA]) as lab:
        yield lab


def plain(screen: DetailScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_markup_and_escapes_from_the_cluster_stay_inert(hostile_lab: Lab, tmp_path: Path) -> None:
    app = lab_app(hostile_lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the drill-down")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        pane = screen.query_one(DetailPane)
        await wait_for(pilot, lambda: {"events", "logs"} <= pane.pieces.keys(), what="events and logs")

        logs = plain(screen, "#d-logs")
        events = plain(screen, "#d-events")
        last_state = plain(screen, "#d-laststate")
        assert "[@click=app.quit]boom[/]" in logs and "[bold red]not markup[/]" in logs
        assert "[@click=app.quit]click me[/]" in events
        assert "[@click=app.quit]quit[/]" in last_state
        for text in (logs, events, last_state):
            assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "␛]52;c;aGk=␇" in last_state  # the clipboard write is visible, and dead

        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), what="the log view")
        log_screen = app.screen
        assert isinstance(log_screen, LogScreen)
        await wait_for(pilot, lambda: bool(log_screen.lines), what="the log")
        assert "[@click=app.quit]boom[/]" in log_screen.lines
        assert all("\x1b" not in line for line in log_screen.lines)
        await pilot.pause(0.3)
        assert app.is_running and app.return_code is None
