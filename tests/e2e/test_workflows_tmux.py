"""The k9s-style workflows in a real terminal, at 80x24 and 200x50: switch scope with `:`, open a
pod, describe and YAML it, step to the next pod, its log view's container menu, the events of the
scope and the alert list."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from .test_demo_tmux import REPO, kcrash_command, wait_for_pane

pytestmark = pytest.mark.e2e

Tmux = Callable[..., str]


@pytest.fixture(params=[(80, 24), (200, 50)], ids=["80x24", "200x50"])
def sized(request: pytest.FixtureRequest) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    width, height = request.param
    session = f"kcrash-walk-{uuid.uuid4().hex[:8]}"
    env = f"cd {REPO} && unset COLUMNS LINES && PYTHONPATH={REPO / 'tui'} TERM=xterm-256color"
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            str(width),
            "-y",
            str(height),
            f"{env} {kcrash_command()}",
        ],
        check=True,
    )
    subprocess.run(["tmux", "resize-window", "-t", session, "-x", str(width), "-y", str(height)], check=False)

    def run(*args: str) -> str:
        result = subprocess.run(["tmux", *args], capture_output=True, text=True, check=False)
        return result.stdout

    try:
        yield lambda *args: run(*[a.replace("{session}", session) for a in args])
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)


def row(pane: str, prefix: str) -> bool:
    """A row of the pods table starts with `prefix`."""
    return any(line.startswith(" " + prefix) for line in pane.splitlines())


def keys(tmux: Tmux, *sent: str) -> None:
    tmux("send-keys", "-t", "{session}", *sent)


def back(tmux: Tmux) -> None:
    """Escape alone: a terminal reads ESC followed at once by a key as Alt+key."""
    keys(tmux, "Escape")
    time.sleep(0.4)


def test_scope_describe_yaml_next_pod_logs_events_and_alerts(sized: Tmux) -> None:
    tmux = sized
    wait_for_pane(tmux, lambda pane: "● live" in pane and "oom-leak" in pane)

    keys(tmux, ":", "n", "s", " ", "n", "o", "p", "e", "Enter")
    wait_for_pane(tmux, lambda pane: 'no namespace "nope"' in pane and "crashlab" in pane, timeout=15)
    back(tmux)
    keys(tmux, ":", "n", "s", " ", "c", "r", "a", "s", "h", "l", "a", "b", "Enter")
    # Toasts name pods too: read the header and the table's rows, not just any text.
    wait_for_pane(tmux, lambda pane: "ns crashlab" in pane and "21 pods" in pane and row(pane, "oom-leak-"))
    time.sleep(1.0)  # the same namespace again: its list comes back as it was

    keys(tmux, "/", "o", "o", "m", "-", "l", "e", "a", "k", "Enter")
    wait_for_pane(tmux, lambda pane: "(1 shown)" in pane and row(pane, "oom-leak-"))
    keys(tmux, "Enter")
    wait_for_pane(tmux, lambda pane: "Diagnosis" in pane and "pod/oom-leak-" in pane)

    keys(tmux, "d")
    pane = wait_for_pane(tmux, lambda pane: "Namespace:" in pane and "crashlab" in pane)
    assert "oom-leak" in pane
    keys(tmux, "y")
    wait_for_pane(tmux, lambda pane: "apiVersion: v1" in pane and "kind: Pod" in pane)
    back(tmux)
    wait_for_pane(tmux, lambda pane: "Diagnosis" in pane and "pod/oom-leak-" in pane)

    keys(tmux, "l")
    wait_for_pane(tmux, lambda pane: "pod/oom-leak" in pane)
    keys(tmux, "C")
    wait_for_pane(tmux, lambda pane: "app" in pane and ("1" in pane or "container" in pane.lower()))
    back(tmux)
    back(tmux)
    back(tmux)
    wait_for_pane(tmux, lambda pane: "NAME" in pane and "STATUS" in pane)

    back(tmux)  # clear the filter
    wait_for_pane(tmux, lambda pane: row(pane, "bad-command") and row(pane, "oom-leak-"))
    keys(tmux, "Enter")  # the cursor stayed on oom-leak
    wait_for_pane(tmux, lambda pane: "pod/oom-leak-" in pane and "Diagnosis" in pane)
    keys(tmux, "]")
    wait_for_pane(tmux, lambda pane: " pod/" in pane and "pod/oom-leak-" not in pane and "Diagnosis" in pane)
    back(tmux)
    wait_for_pane(tmux, lambda pane: "NAME" in pane and "STATUS" in pane)

    keys(tmux, "E")
    wait_for_pane(tmux, lambda pane: "Warning" in pane and ("BackOff" in pane or "Unhealthy" in pane))
    back(tmux)

    keys(tmux, "!")
    wait_for_pane(tmux, lambda pane: "already" in pane or "alert" in pane.lower(), timeout=15)
    back(tmux)
    keys(tmux, "q")
    wait_for_pane(tmux, lambda pane: "NAME" not in pane, timeout=10)
