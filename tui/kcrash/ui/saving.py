"""`ctrl+s` in the log view: the lines shown, written to a file under the user's state directory.

The file is named after the pod, the container, which instance and the moment, so saving twice
never overwrites; the lines are written as shown (cleaned), so the file is safe to `cat`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from kcrash.ui.crashlog import crash_dir

UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def logs_dir() -> Path:
    """$XDG_STATE_HOME/kcrash/logs (default ~/.local/state/kcrash/logs)."""
    return crash_dir() / "logs"


def log_file_name(key: tuple[str, str], container: str, which: str, now: datetime) -> str:
    """`NS_POD_CONTAINER_previous_20260102T030405Z.log`, every part reduced to safe characters."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    parts = [UNSAFE.sub("_", part)[:100] or "_" for part in (*key, container, which)]
    return "_".join(parts) + f"_{stamp}.log"


def save_log(
    key: tuple[str, str],
    container: str,
    which: str,
    lines: list[str],
    now: datetime,
    folder: Path | None = None,
) -> tuple[str, int, str]:
    """(path, lines written, "") or ("", 0, the one-line reason nothing was written)."""
    directory = folder or logs_dir()
    name = log_file_name(key, container, which, now)
    path = directory / name
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 100):
            try:
                with path.open("x", encoding="utf-8") as out:
                    out.write("".join(line + "\n" for line in lines))
                break
            except FileExistsError:  # saved twice within a second: the next free number
                path = directory / name.replace(".log", f"-{attempt}.log")
    except OSError as exc:
        return "", 0, f"could not write {path}: {exc.strerror or exc}"
    return str(path), len(lines), ""
