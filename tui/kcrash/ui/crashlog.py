"""Where the traceback of a console that crashed goes: a file that outlives the terminal.

A crash over SSH or in a tmux pane is printed on a terminal that closes with the process; the
file under the user's state directory keeps it, and the launcher names it in its last line.
"""

from __future__ import annotations

import os
import traceback
from datetime import UTC, datetime
from pathlib import Path

from kcrash.core.sanitize import clean


def crash_dir() -> Path:
    """$XDG_STATE_HOME/kcrash (default ~/.local/state/kcrash), as the XDG base directories say."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "kcrash"


def write_crash_log(error: BaseException, *, directory: Path | None = None) -> str:
    """Write `error`'s traceback to a new file; its path, or "" when nothing could be written."""
    folder = directory or crash_dir()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    path = folder / f"crash-{stamp}-{os.getpid()}.log"
    text = "".join(traceback.format_exception(error))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(clean(text) + "\n", encoding="utf-8")
    except OSError:
        return ""
    return str(path)
