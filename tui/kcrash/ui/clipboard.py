"""Copying text out of the console: the system clipboard where it works, OSC 52 elsewhere.

Over SSH the system clipboard is the remote machine's, which helps nobody, so OSC 52 goes first:
the terminal on the user's desk receives the text. Inside tmux the sequence is sent twice: plain
(tmux's `set-clipboard` forwards it) and wrapped in tmux's passthrough, for setups where only
`allow-passthrough` is on.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
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


def _pyperclip_copy(text: str) -> None:
    import pyperclip

    pyperclip.copy(text)


def copy_text(
    app: App[Any],
    text: str,
    *,
    env: Mapping[str, str] | None = None,
    system_copy: Callable[[str], None] = _pyperclip_copy,
) -> CopyResult:
    """Put `text` on the user's clipboard by the best route available; never raises for a
    missing clipboard tool."""
    env = os.environ if env is None else env
    if not over_ssh(env):
        try:
            system_copy(text)
        except Exception:  # pyperclip raises its own exception types per platform
            pass
        else:
            app.copy_to_clipboard(text)  # keeps app.clipboard in step for in-app paste
            return CopyResult("system clipboard")
    app.copy_to_clipboard(text)  # writes OSC 52
    if env.get("TMUX"):
        driver = app._driver
        if driver is not None:
            driver.write(tmux_passthrough(osc52(text)))
        return CopyResult("terminal (OSC 52 via tmux)")
    return CopyResult("terminal (OSC 52)")
