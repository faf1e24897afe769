"""Leaving the log view while its follow stream is still being opened: the stream, once open, is
closed at once, so no thread is left blocked in a read (the app could not exit past it)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kcrash.lab.app import Lab
from kcrash.ui.screens.logs import LogScreen
from kcrash.ui.screens.pods import PodsScreen

from .conftest import lab_app, wait_for, wait_synced

OPEN_SLOWLY_MS = 1500


def reads_blocked_in_a_follow() -> int:
    """Threads inside `LogFollower._read` now: a stream nobody will close."""
    return sum(
        1
        for frame in sys._current_frames().values()
        for f in _stack(frame)
        if f.f_code.co_qualname == "LogFollower._read"
    )


def _stack(frame: object) -> list:  # type: ignore[type-arg]
    found = []
    while frame is not None:
        found.append(frame)
        frame = frame.f_back  # type: ignore[attr-defined]
    return found


async def test_escape_while_the_follow_stream_opens_leaves_no_read_behind(
    fresh_lab: Lab, tmp_path: Path
) -> None:
    app = lab_app(fresh_lab, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_synced(pilot, app)
        await pilot.press("slash", *"oom-leak", "enter", "l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), what="the log view")
        screen = app.screen
        assert isinstance(screen, LogScreen)
        await wait_for(pilot, lambda: bool(screen.lines), what="the previous log")
        await pilot.press("p")  # the current instance: `f` then only opens the stream
        await wait_for(pilot, lambda: not screen.previous and bool(screen.lines), what="the current log")
        fresh_lab.faults.set_latency(OPEN_SLOWLY_MS)
        await pilot.press("f", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PodsScreen), what="the list again")
        deadline = time.monotonic() + OPEN_SLOWLY_MS / 1000 + 3
        while time.monotonic() < deadline:  # the open finishes during this; a closed stream ends
            await pilot.pause(0.2)
        fresh_lab.faults.set_latency(0)
        # The stream opened after the stop was not handed to the closed view, where nothing would
        # close it: its worker closed it itself (a quiet pod's stream would block a read forever).
        assert screen._follower is None
        assert reads_blocked_in_a_follow() == 0
