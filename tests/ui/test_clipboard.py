"""Copy tells the truth: "Copied" only for text read back; OSC 52 is "sent"; tmux's settings named."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from kcrash.lab.app import Lab
from kcrash.ui import clipboard
from kcrash.ui.clipboard import TMUX_HINT, CopyResult, TmuxClipboard, report, system_copy, tmux_clipboard
from kcrash.ui.screens import base

from .conftest import lab_app, wait_synced


def fake_pyperclip(
    monkeypatch: pytest.MonkeyPatch, *, copy_fails: bool = False, paste: object = None
) -> None:
    held: list[str] = []

    def copy(text: str) -> None:
        if copy_fails:
            raise RuntimeError("no copy mechanism")
        held.append(text)

    def do_paste() -> str:
        if isinstance(paste, Exception):
            raise paste
        return held[-1] if paste is None else str(paste)

    monkeypatch.setitem(sys.modules, "pyperclip", types.SimpleNamespace(copy=copy, paste=do_paste))


@pytest.mark.parametrize(
    ("copy_fails", "paste", "outcome"),
    [
        (False, None, "verified"),
        (False, "something else", "failed"),  # another program's text: ours did not arrive
        (False, RuntimeError("write-only tool"), "unverified"),
        (True, None, "failed"),
    ],
)
def test_system_copy_reads_the_text_back(
    monkeypatch: pytest.MonkeyPatch, copy_fails: bool, paste: object, outcome: str
) -> None:
    fake_pyperclip(monkeypatch, copy_fails=copy_fails, paste=paste)
    assert system_copy("kubectl logs x") == outcome


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({("-v", "set-clipboard"): "on\n"}, TmuxClipboard("on", "")),
        (
            {("-v", "set-clipboard"): "external\n", ("-v", "allow-passthrough"): "off\n"},
            TmuxClipboard("external", "off"),
        ),
        # The local value first, the global one when there is none.
        ({("-gv", "set-clipboard"): "off\n"}, TmuxClipboard("off", "")),
        ({}, TmuxClipboard("", "")),
    ],
)
def test_tmux_options_are_read(answers: dict[tuple[str, str], str], expected: TmuxClipboard) -> None:
    def run(command: list[str]) -> str:
        assert command[:2] == ["tmux", "show"]
        return answers.get((command[2], command[3]), "")

    assert tmux_clipboard({"TMUX": "sock,1,0"}, run) == expected
    assert tmux_clipboard({}, run) is None


def test_tmux_that_cannot_run_reads_as_unknown() -> None:
    def run(command: list[str]) -> str:
        raise subprocess.TimeoutExpired(command, 2)

    found = tmux_clipboard({"TMUX": "x"}, run)
    assert found == TmuxClipboard("", "") and not found.known


@pytest.mark.parametrize(
    ("result", "title", "says", "never_says"),
    [
        (CopyResult(True, "system clipboard"), "Copied", "Copied the log to the system clipboard.", ""),
        (
            CopyResult(False, "system clipboard", unverified=True),
            "Clipboard",
            "could not be read back",
            "Copied",
        ),
        (
            CopyResult(False, "terminal (OSC 52)"),
            "Sent to the terminal",
            "Sent the log to the terminal (OSC 52)",
            "Copied",
        ),
        (
            CopyResult(False, "terminal (OSC 52 via tmux)", hint=TMUX_HINT),
            "Sent to the terminal",
            "tmux: set -g set-clipboard on",
            "Copied",
        ),
        (
            CopyResult(False, "terminal (OSC 52 via tmux)", sent=False, hint=TMUX_HINT),
            "Not copied",
            "tmux drops OSC 52",
            "Sent",
        ),
        (CopyResult(False, "", sent=False), "Not copied", "no clipboard and no terminal", "Sent"),
    ],
)
def test_report_claims_only_what_is_known(result: CopyResult, title: str, says: str, never_says: str) -> None:
    got_title, message, _ = report("the log", "one line", result)
    assert got_title == title and says in message
    assert not never_says or never_says not in message


@pytest.mark.parametrize(
    ("tmux", "sent", "hint"),
    [
        (TmuxClipboard("on", "off"), True, ""),
        (TmuxClipboard("external", "off"), False, TMUX_HINT),
        (TmuxClipboard("external", "on"), True, TMUX_HINT),  # the passthrough copy gets out
        (TmuxClipboard("", ""), True, TMUX_HINT),  # unreadable: not claimed dropped
    ],
)
async def test_tmux_settings_decide_what_can_arrive(
    tmux: TmuxClipboard, sent: bool, hint: str, lab: Lab, tmp_path: Path
) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(100, 30)):
        result = clipboard.terminal_copy(app, "text", tmux)
        assert result.sent is sent and result.hint == hint and not result.arrived
        assert app.clipboard == "text"


async def test_copy_menu_over_osc52_in_tmux_says_sent_and_the_fix(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base, "system_copy", lambda text: "failed")
    monkeypatch.setattr(base, "tmux_clipboard", lambda: TmuxClipboard("external", "on"))
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_synced(pilot, app)
        await pilot.press("c", "1")
        await pilot.pause(0.5)
        messages = [n.message for n in app._notifications]
        assert any("Sent kubectl describe to the terminal (OSC 52 via tmux)" in m for m in messages), messages
        assert any(TMUX_HINT in m for m in messages)
        assert not any(m.startswith("Copied") for m in messages)
