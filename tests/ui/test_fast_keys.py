"""Keys that arrive in one read, as SSH and `tmux send-keys` deliver them: nothing stacks twice,
nothing typed is lost, nothing crashes; and a crash that does happen ends with status 1 and a file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot

from kcrash.lab.app import Lab
from kcrash.ui.app import KcrashApp
from kcrash.ui.crashlog import write_crash_log
from kcrash.ui.launch import _exit_status
from kcrash.ui.screens.detail import DetailScreen
from kcrash.ui.screens.help import HelpScreen
from kcrash.ui.screens.logs import LogScreen
from kcrash.ui.screens.pods import PodsScreen

from .conftest import lab_app, wait_for, wait_synced

CHARACTERS = {"enter": "\r", "escape": "\x1b", "slash": "/", "question_mark": "?", "space": " ", "minus": "-"}


def burst(app: KcrashApp, *keys: str) -> None:
    """Queue every key before any is handled, as one read from the terminal does."""
    for key in keys:
        character = CHARACTERS.get(key, key if len(key) == 1 else None)
        app.post_message(events.Key(key, character))


async def settle(pilot: Pilot[int], timeout: float = 15.0) -> None:
    """Until every key of the burst has been let through (a loaded machine takes seconds), then a beat."""
    app = pilot.app
    assert isinstance(app, KcrashApp)
    deadline = time.monotonic() + timeout
    while app._keys.waiting and time.monotonic() < deadline:  # the gate's queue tells when
        await pilot.pause(0.05)
    for _ in range(5):
        await pilot.pause(0.05)


def kinds(app: KcrashApp) -> list[str]:
    return [type(screen).__name__ for screen in app.screen_stack]


def pods_screen(app: KcrashApp) -> PodsScreen:
    return next(s for s in app.screen_stack if isinstance(s, PodsScreen))


async def test_two_enters_in_one_read_open_one_drill_down(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        burst(app, "enter", "enter")
        await settle(pilot)
        assert kinds(app).count("DetailScreen") == 1
        burst(app, "escape", "enter", "escape", "enter", "escape")
        await settle(pilot)
        assert isinstance(app.screen, PodsScreen) and app.is_running
        burst(app, "l", "l", "escape")
        await settle(pilot)
        assert "LogScreen" not in kinds(app) and app.is_running
        burst(app, "l", "l")
        await settle(pilot)
        assert kinds(app).count("LogScreen") == 1 and isinstance(app.screen, LogScreen)


async def test_keys_typed_with_slash_all_reach_the_filter(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        burst(app, "slash", "s", "e", "g")
        await settle(pilot)
        screen = pods_screen(app)
        await wait_for(pilot, lambda: screen.filter_text == "seg", what="the filter 'seg'")
        names = [key[1] for key in screen.table.visible_keys]  # type: ignore[index]
        assert names and all("seg" in name for name in names)
        # `l` and `h` are bound on the list: typed after `/` they are letters of the filter.
        burst(app, "escape", "slash", "o", "o", "m", "minus", "l", "enter")
        await settle(pilot)
        await wait_for(pilot, lambda: screen.filter_text == "oom-l", what="the filter 'oom-l'")
        assert isinstance(app.screen, PodsScreen), "no log view opened by the l of the filter"
        assert not screen.hide_healthy


async def test_help_scrolls_to_its_last_line_at_80x24(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.query_one("#help-body")
        assert body.max_scroll_y > 0, "the help is longer than the screen"
        await pilot.press("G")
        await settle(pilot)
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("g")
        await settle(pilot)
        assert body.scroll_y == 0


async def test_the_drill_down_of_every_pod_at_80x24_keeps_names_apart(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        table = pods_screen(app).table
        await pilot.pause(0.3)
        shown = [table.render_line(1 + i).text.split("  ")[0].strip() for i in range(table.row_count)][:21]
        assert len(set(shown)) == len(shown), f"two pods look alike: {shown}"
        assert not any(text.endswith("…") for text in shown), "a name is cut at its end, not around its hash"
        assert {"status", "restarts"} <= set(table.visible_columns)


async def test_an_error_in_the_console_exits_1_with_the_traceback_in_a_file(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = lab_app(lab, tmp_path, read_only=True)

    def broken(self: PodsScreen) -> None:
        raise RuntimeError("boom in a key handler")

    monkeypatch.setattr(PodsScreen, "action_toggle_healthy", broken)
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_synced(pilot, app)
            await pilot.press("h")
            await settle(pilot)
    assert app.return_code == 1
    assert app.crash_log and "boom in a key handler" in Path(app.crash_log).read_text()
    assert _exit_status(app, None) == 1


def test_crash_log_is_sanitised_and_in_the_state_directory(tmp_path: Path) -> None:
    try:
        raise ValueError("pod name \x1b]52;c;ZXZpbA==\x07 in an error")
    except ValueError as error:
        path = write_crash_log(error, directory=tmp_path)
    text = Path(path).read_text()
    assert path.startswith(str(tmp_path)) and "ValueError" in text
    assert "\x1b" not in text and "\x07" not in text


def test_drill_down_screen_and_help_are_screens_of_their_own_kind() -> None:
    # open_screen compares kinds: the two must not share one.
    assert DetailScreen is not HelpScreen
