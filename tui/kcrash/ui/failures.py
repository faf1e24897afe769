"""Worker failures become one-line notifications, never crashes.

Textual's Worker.StateChanged does not bubble, so every node that runs workers forwards its own.
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.worker import Worker, WorkerState

from kcrash.core.sanitize import clean_line

MAX_MESSAGE = 300


def one_line(error: BaseException) -> str:
    """The error as one clean line (a KcrashError already is one; others get their type)."""
    text = " ".join(clean_line(str(error)).split())
    if type(error).__name__ != "KcrashError":
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def report_worker_failure(app: App[Any], event: Worker.StateChanged) -> None:
    if event.state == WorkerState.ERROR and event.worker.error is not None:
        app.notify(one_line(event.worker.error), title="Failed", severity="error", timeout=10, markup=False)
