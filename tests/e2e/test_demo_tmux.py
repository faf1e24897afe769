"""`kcrash --demo` in a real terminal (tmux): filter to the OOM scenario, open it, read the screen."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def kcrash_command() -> str:
    script = Path(sys.executable).parent / "kcrash"
    if script.exists():
        return f"{script} --demo"
    return f"{sys.executable} -m kcrash --demo"


@pytest.fixture
def tmux() -> Iterator[Callable[..., str]]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    session = f"kcrash-e2e-{uuid.uuid4().hex[:8]}"
    # COLUMNS/LINES from the test runner would override the pane's real size.
    env = f"cd {REPO} && unset COLUMNS LINES && PYTHONPATH={REPO / 'tui'} TERM=xterm-256color"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", f"{env} {kcrash_command()}"],
        check=True,
    )
    # A detached session may start at tmux's default size; make it the size the test reads.
    subprocess.run(["tmux", "resize-window", "-t", session, "-x", "120", "-y", "40"], check=False)

    def run(*args: str) -> str:
        result = subprocess.run(["tmux", *args], capture_output=True, text=True, check=False)
        return result.stdout

    try:
        yield lambda *args: run(*[a.replace("{session}", session) for a in args])
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)


def wait_for_pane(tmux: Callable[..., str], ready: Callable[[str], bool], timeout: float = 40.0) -> str:
    deadline = time.monotonic() + timeout
    pane = ""
    while time.monotonic() < deadline:
        pane = tmux("capture-pane", "-p", "-t", "{session}")
        if ready(pane):
            return pane
        time.sleep(0.3)
    raise AssertionError(f"the screen never got there; last capture:\n{pane}")


def chart_limit_drawn(pane: str) -> bool:
    """The y-axis label of the limit line, on a line of the chart frame (not the caption)."""
    return any("limit 256Mi" in line and ("┤" in line or "├" in line) for line in pane.splitlines())


def test_demo_filter_open_oom(tmux: Callable[..., str]) -> None:
    wait_for_pane(tmux, lambda pane: "● live" in pane and "oom-leak" in pane)
    tmux("send-keys", "-t", "{session}", "/")
    time.sleep(0.3)
    tmux("send-keys", "-t", "{session}", "oom-leak", "Enter")
    wait_for_pane(tmux, lambda pane: "oom-leak-" in pane and "bad-command" not in pane)
    time.sleep(0.3)
    tmux("send-keys", "-t", "{session}", "Enter")
    pane = wait_for_pane(
        tmux, lambda pane: "OOMKilled" in pane and "137" in pane and chart_limit_drawn(pane), timeout=60
    )
    assert "Diagnosis" in pane and "pod/oom-leak" in pane
    tmux("send-keys", "-t", "{session}", "q")
    wait_for_pane(tmux, lambda pane: "kcrash  │" not in pane, timeout=10)


def test_batched_keys_at_80x24(tmux: Callable[..., str]) -> None:
    """Keys sent in one write, as SSH delivers them, on an 80x24 terminal: nothing crashes, the
    filter gets every letter, the help reaches its last line, names stay apart."""
    tmux("resize-window", "-t", "{session}", "-x", "80", "-y", "24")
    pane = wait_for_pane(tmux, lambda pane: "● live" in pane and "oom-leak" in pane)
    assert "…" not in pane.splitlines()[0], "the header cuts a word"
    tmux("send-keys", "-t", "{session}", "Enter", "Enter")
    wait_for_pane(tmux, lambda pane: "Diagnosis" in pane)
    # ESC then a key in one write: Escape, then the key (a terminal parser's Alt+key).
    tmux("send-keys", "-t", "{session}", "Escape", "Enter", "Escape", "Enter", "Escape")
    pane = wait_for_pane(tmux, lambda pane: "NAME" in pane and "STATUS" in pane)
    tmux("send-keys", "-t", "{session}", "/", "s", "e", "g")
    pane = wait_for_pane(tmux, lambda pane: "segfault" in pane and "oom-leak" not in pane)
    # Escape alone: a terminal reads ESC followed at once by a key as Alt+key.
    tmux("send-keys", "-t", "{session}", "Escape")
    time.sleep(0.3)
    tmux("send-keys", "-t", "{session}", "?")
    wait_for_pane(tmux, lambda pane: "kcrash keys" in pane)
    tmux("send-keys", "-t", "{session}", "G")
    pane = wait_for_pane(tmux, lambda pane: "quit" in pane and "next theme" in pane)
    tmux("send-keys", "-t", "{session}", "Escape")
    pane = wait_for_pane(tmux, lambda pane: "NAME" in pane and "oom-leak" in pane)
    names = [line.split()[0] for line in pane.splitlines()[2:-1] if line.strip()]
    assert len(set(names)) == len(names), f"two pods look alike at 80 columns: {names}"
    tmux("send-keys", "-t", "{session}", "q")
    wait_for_pane(tmux, lambda pane: "NAME" not in pane, timeout=10)


def test_escape_and_the_keys_after_it_in_one_write(tmux: Callable[..., str]) -> None:
    """`Esc / o o m` typed fast in the drill-down, as SSH delivers it in one read: the Escape
    leaves the drill-down and the rest filters the list (not Alt+/ and `oom` typed into nothing)."""
    tmux("resize-window", "-t", "{session}", "-x", "80", "-y", "24")
    wait_for_pane(tmux, lambda pane: "● live" in pane and "oom-leak" in pane)
    tmux("send-keys", "-t", "{session}", "Enter")
    wait_for_pane(tmux, lambda pane: "Diagnosis" in pane)
    tmux("send-keys", "-t", "{session}", "Escape", "/", "o", "o", "m", "-", "l")
    pane = wait_for_pane(tmux, lambda pane: "NAME" in pane and "oom-l" in pane and "segfault" not in pane)
    assert "Diagnosis" not in pane
    tmux("send-keys", "-t", "{session}", "Escape", "j")  # Escape leaves the filter box, j moves down
    wait_for_pane(tmux, lambda pane: "segfault" in pane)
    tmux("send-keys", "-t", "{session}", "q")
    wait_for_pane(tmux, lambda pane: "NAME" not in pane, timeout=10)
