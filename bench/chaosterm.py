"""The console in a real terminal for the chaos suite: tmux on a socket of the suite's own.

Each console runs in a session of its own whose pane stays readable after the program exits (a
traceback would be left on it; Textual draws on standard error, so that cannot go to a file);
`stop()` ends that session, and tmux exits by itself once it has none left. The screen is read as
a person reads it (`capture-pane`), keys are typed with `send-keys`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from pane import header

SOCKET = os.environ.get("KCRASH_CHAOS_TMUX", "kcrash-chaos")
SIZE_VARIABLES = ("COLUMNS", "LINES")

# Every key a person could press: printable characters, editing and movement keys, function keys,
# and the control keys that do not end the program or suspend the terminal.
PRINTABLE = [chr(c) for c in range(33, 127) if chr(c) not in ";"] + ["Space"]
SPECIAL = [
    "Enter", "Escape", "Tab", "BTab", "BSpace", "DC", "Up", "Down", "Left", "Right",
    "PageUp", "PageDown", "Home", "End", "IC",
    *(f"F{n}" for n in range(1, 13)),
    *(f"C-{c}" for c in "abdefghjklnoprstuvwxy"),
]  # fmt: skip
EVERY_KEY = PRINTABLE + SPECIAL
QUITTING = frozenset({"q", "C-c"})


def tmux(*args: str, check: bool = True) -> str:
    for _ in range(10):
        result = subprocess.run(
            ["tmux", "-L", SOCKET, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env={k: v for k, v in os.environ.items() if k not in SIZE_VARIABLES},
        )
        # The server exits once its last session ends; a command that meets it on its way out
        # is sent again (it starts a new server).
        if "server exited unexpectedly" not in result.stderr:
            break
        time.sleep(0.2)
    if check and result.returncode != 0:
        raise RuntimeError(f"tmux {' '.join(args[:2])}: {result.stderr.strip()}")
    return result.stdout


class Console:
    """One kcrash console in a 160x45 terminal."""

    def __init__(self, kubeconfig: Path, *flags: str) -> None:
        self.session = f"chaos-{uuid.uuid4().hex[:8]}"
        argv = [sys.executable, "-m", "kcrash", "--kubeconfig", str(kubeconfig), *flags]
        tmux("new-session", "-d", "-s", self.session, "-x", "160", "-y", "45", f"exec {shlex.join(argv)}")
        tmux("set-option", "-t", self.session, "remain-on-exit", "on")

    def screen(self) -> str:
        return tmux("capture-pane", "-p", "-t", self.session, check=False)

    def send(self, *keys: str) -> None:
        tmux("send-keys", "-t", self.session, *keys, check=False)

    def alive(self) -> bool:
        dead = tmux("display-message", "-p", "-t", self.session, "#{pane_dead}", check=False).strip()
        return dead == "0"

    def tracebacks(self) -> int:
        return self.screen().count("Traceback")

    def stop(self) -> None:
        tmux("kill-session", "-t", self.session, check=False)

    def wait(self, ready: Callable[[str], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready(self.screen()):
                return True
            time.sleep(0.05)
        return False


def filled(screen: str) -> bool:
    """The header says live and counts pods: the table has its rows."""
    found = header(screen)
    return found is not None and found.pods > 0 and found.sync.startswith("●")


def press_every_key(start: Callable[[], Console], rounds: int) -> tuple[int, int]:
    """Every key, `rounds` times over, each followed by `y` and Enter (what confirms a dialog);
    a key that ends the console starts it again. Returns (keys pressed, tracebacks seen)."""
    console = start()
    pressed = tracebacks = 0
    try:
        if not console.wait(filled, 30):
            return 0, console.tracebacks()
        for _ in range(rounds):
            for key in EVERY_KEY:
                console.send(key)
                console.send("y")
                console.send("Enter")
                pressed += 1
                time.sleep(0.03)
                if key in QUITTING or pressed % 20 == 0:
                    time.sleep(0.2)
                    if not console.alive():
                        tracebacks += console.tracebacks()
                        console.stop()
                        console = start()
                        console.wait(filled, 30)
        tracebacks += console.tracebacks()
    finally:
        console.stop()
    return pressed, tracebacks
