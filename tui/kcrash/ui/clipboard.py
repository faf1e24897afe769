"""Copying text out of the console, and saying truthfully where it went.

The system clipboard (pyperclip) is checked by reading the text back: only then is it "Copied".
Over SSH the system clipboard is the remote machine's, which helps nobody, so OSC 52 goes first:
the terminal on the user's desk may take the text, but nothing tells a program whether it did,
so that is reported as sent, never as copied. Inside tmux the sequence is sent twice: plain (tmux
forwards it only with `set-clipboard on`) and wrapped in tmux's passthrough (for
`allow-passthrough on`); with neither, nothing can arrive, and the report says so with the fix.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from textual.app import App

SystemOutcome = Literal["verified", "unverified", "failed", "skipped"]
Severity = Literal["information", "warning", "error"]
TMUX_HINT = "tmux: set -g set-clipboard on"
TMUX_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class TmuxClipboard:
    """tmux's options that decide whether OSC 52 from a program reaches the outer terminal."""

    set_clipboard: str  # "on", "external", "off", or "" when it could not be read
    allow_passthrough: str = ""

    @property
    def forwards(self) -> bool:
        return self.set_clipboard == "on" or self.allow_passthrough in ("on", "all")

    @property
    def known(self) -> bool:
        return bool(self.set_clipboard)


@dataclass(frozen=True, slots=True)
class CopyResult:
    """Where the text went and how sure that is; `report` words it."""

    arrived: bool  # read back from the system clipboard
    via: str  # "system clipboard", "terminal (OSC 52)", "terminal (OSC 52 via tmux)", or ""
    sent: bool = True  # False: nothing could be sent or forwarded at all
    hint: str = ""
    unverified: bool = False  # handed to the system clipboard, which could not be read back


def osc52(text: str) -> str:
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"\x1b]52;c;{payload}\x07"


def tmux_passthrough(sequence: str) -> str:
    """Wrap an escape sequence so tmux hands it to the outer terminal (ESCs doubled)."""
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def over_ssh(env: Mapping[str, str]) -> bool:
    return bool(env.get("SSH_TTY") or env.get("SSH_CONNECTION"))


def system_copy(text: str) -> SystemOutcome:
    """The desktop clipboard through pyperclip (xclip, wl-copy, pbcopy...), read back to check.
    Blocking: it starts other programs, so call it from a worker."""
    try:
        import pyperclip

        pyperclip.copy(text)
    except Exception:  # pyperclip raises its own exception types per platform
        return "failed"
    try:
        back = pyperclip.paste()
    except Exception:  # some copy tools write only
        return "unverified"
    return "verified" if back == text else "failed"


def wants_system_clipboard(env: Mapping[str, str] | None = None) -> bool:
    """Over SSH the desktop clipboard is the remote machine's: use the terminal's instead."""
    return not over_ssh(os.environ if env is None else env)


Runner = Callable[[list[str]], str]


def _tmux_option(run: Runner, name: str) -> str:
    """The option's value as tmux resolves it here (`show -v`), else its global one (`show -gv`)."""
    for flags in ("-v", "-gv"):
        try:
            value = run(["tmux", "show", flags, name]).strip()
        except (OSError, subprocess.SubprocessError):
            continue
        if value:
            return value
    return ""


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=TMUX_TIMEOUT, check=False)
    return done.stdout if done.returncode == 0 else ""


def tmux_clipboard(env: Mapping[str, str] | None = None, run: Runner = _run) -> TmuxClipboard | None:
    """tmux's clipboard options when running inside tmux, else None. Blocking (runs tmux)."""
    env = os.environ if env is None else env
    if not env.get("TMUX"):
        return None
    return TmuxClipboard(_tmux_option(run, "set-clipboard"), _tmux_option(run, "allow-passthrough"))


def terminal_copy(app: App[Any], text: str, tmux: TmuxClipboard | None = None) -> CopyResult:
    """OSC 52 to the terminal (and through tmux when inside it). UI thread only."""
    driver = app._driver
    if driver is None:  # headless: no terminal to send to
        return CopyResult(False, "", sent=False)
    app.copy_to_clipboard(text)  # writes OSC 52 and keeps app.clipboard in step
    if tmux is None:
        return CopyResult(False, "terminal (OSC 52)")
    driver.write(tmux_passthrough(osc52(text)))
    hint = "" if tmux.set_clipboard == "on" else TMUX_HINT
    sent = tmux.forwards or not tmux.known  # options unreadable: do not claim it was dropped
    return CopyResult(False, "terminal (OSC 52 via tmux)", sent=sent, hint=hint)


def system_result(outcome: SystemOutcome) -> CopyResult | None:
    """The result of a system copy that needs no terminal copy after it; None when it must follow."""
    if outcome == "verified":
        return CopyResult(True, "system clipboard")
    if outcome == "unverified":
        return CopyResult(False, "system clipboard", unverified=True)
    return None


def report(what: str, text: str, result: CopyResult) -> tuple[str, str, Severity]:
    """(title, message, severity) of the notification: "Copied" only for text read back."""
    lines = text.count("\n") + 1
    size = f" ({lines} lines)" if lines > 1 else ""
    hint = f" {result.hint}" if result.hint else ""
    if result.arrived:
        return "Copied", f"Copied {what}{size} to the {result.via}.", "information"
    if result.unverified:
        message = f"Handed {what}{size} to the system clipboard; it could not be read back to check."
        return "Clipboard", message, "information"
    if not result.via:
        return "Not copied", f"Not copied: no clipboard and no terminal to send {what}{size} to.", "error"
    if not result.sent:
        message = f"Not copied: tmux drops OSC 52 from programs as it is set here.{hint}"
        return "Not copied", message, "warning"
    message = f"Sent {what}{size} to the {result.via}: copied only if the terminal accepts OSC 52.{hint}"
    return "Sent to the terminal", message, "information"
