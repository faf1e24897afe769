"""Copying text out of the console: the system clipboard where it works, OSC 52 elsewhere.

Over SSH the system clipboard is the remote machine's, which helps nobody, so OSC 52 goes first:
the terminal on the user's desk receives the text. Inside tmux the sequence is sent twice: plain
(tmux's `set-clipboard` forwards it) and wrapped in tmux's passthrough, for setups where only
`allow-passthrough` is on.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from textual.app import App


@dataclass(frozen=True, slots=True)
class CopyResult:
    """How the text left: "system clipboard", "terminal (OSC 52)" or "terminal (OSC 52 via tmux)"."""

    via: str


def osc52(text: str) -> str:
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"\x1b]52;c;{payload}\x07"


def tmux_passthrough(sequence: str) -> str:
    """Wrap an escape sequence so tmux hands it to the outer terminal (ESCs doubled)."""
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def over_ssh(env: Mapping[str, str]) -> bool:
    return bool(env.get("SSH_TTY") or env.get("SSH_CONNECTION"))


def system_copy(text: str) -> bool:
    """The desktop clipboard through pyperclip (xclip, wl-copy, pbcopy...). Blocking: it may
    start a helper process, so call it from a worker. False when there is none that works."""
    try:
        import pyperclip

        pyperclip.copy(text)
    except Exception:  # pyperclip raises its own exception types per platform
        return False
    return True


def wants_system_clipboard(env: Mapping[str, str] | None = None) -> bool:
    """Over SSH the desktop clipboard is the remote machine's: use the terminal's instead."""
    return not over_ssh(os.environ if env is None else env)


def terminal_copy(app: App[Any], text: str, env: Mapping[str, str] | None = None) -> CopyResult:
    """OSC 52 to the terminal (and through tmux when inside it). UI thread only."""
    env = os.environ if env is None else env
    app.copy_to_clipboard(text)  # writes OSC 52 and keeps app.clipboard in step
    if env.get("TMUX"):
        driver = app._driver
        if driver is not None:
            driver.write(tmux_passthrough(osc52(text)))
        return CopyResult("terminal (OSC 52 via tmux)")
    return CopyResult("terminal (OSC 52)")
