"""Exit codes explained: signal names, the short cell and what the detail must mention."""

from __future__ import annotations

import pytest

from kcrash.core.exitcodes import exit_label, explain_exit

CASES = [
    # code, signal, reason, signal_name, short, words the detail must contain
    (0, None, "Completed", "", "exited cleanly (0)", ("restartPolicy Always", "forever")),
    (1, None, "Error", "", "application error (1)", ("log",)),
    (2, None, "Error", "", "usage error (2)", ("args",)),
    (126, None, "Error", "", "command cannot execute (126)", ("permission",)),
    (127, None, "Error", "", "command not found (127)", ("PATH",)),
    (128, None, "", "", "invalid exit or start failure (128)", ("StartError",)),
    (130, None, "Error", "SIGINT", "interrupted (SIGINT)", ("SIGINT",)),
    (134, None, "Error", "SIGABRT", "aborted (SIGABRT)", ("assertion",)),
    (
        137,
        None,
        "",
        "SIGKILL",
        "killed (SIGKILL)",
        ("OOM", "limit", "liveness", "grace period", "reason field decides"),
    ),
    (137, None, "OOMKilled", "SIGKILL", "OOM-killed: over its memory limit", ("memory", "limit")),
    (137, None, "Error", "SIGKILL", "killed (SIGKILL), not by OOM", ("liveness",)),
    (139, None, "Error", "SIGSEGV", "segmentation fault (SIGSEGV)", ("memory",)),
    (143, None, "Error", "SIGTERM", "terminated (SIGTERM)", ("liveness", "events")),
    (141, None, "Error", "SIGPIPE", "killed by SIGPIPE", ("128+13",)),
    (255, None, "Error", "", "exit status out of range (255)", ("-1",)),
    (42, None, "Error", "", "application error (42)", ("42",)),
    (300, None, "", "", "unusual exit code (300)", ("0-255",)),
    (-1, None, "", "", "unusual exit code (-1)", ("runtime",)),
    (None, None, "", "", "no exit code", ("not exited",)),
    (None, 9, "", "SIGKILL", "killed (SIGKILL)", ("OOM",)),
    (0, 15, "", "SIGTERM", "terminated (SIGTERM)", ("SIGTERM",)),
    (128, None, "StartError", "", "could not start (bad command or entrypoint)", ("StartError", "command")),
    (
        127,
        None,
        "ContainerCannotRun",
        "",
        "could not start (bad command or entrypoint)",
        ("ContainerCannotRun",),
    ),
    (None, 31, "", "SIGSYS", "killed by SIGSYS", ("SIGSYS",)),
    (None, 40, "", "signal 40", "killed by signal 40", ("signal 40",)),
]


@pytest.mark.parametrize(("code", "signal", "reason", "signal_name", "short", "words"), CASES)
def test_explain_exit(
    code: int | None, signal: int | None, reason: str, signal_name: str, short: str, words: tuple[str, ...]
) -> None:
    meaning = explain_exit(code, signal, reason)
    assert (meaning.code, meaning.signal_name, meaning.short) == (code, signal_name, short)
    for word in words:
        assert word in meaning.detail


def test_meanings_are_frozen() -> None:
    meaning = explain_exit(1)
    with pytest.raises(AttributeError):
        meaning.code = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("code", "reason", "want"),
    [
        (137, "OOMKilled", "137 OOMKilled"),
        (1, "Error", "1 Error"),
        (143, "", "143"),
        (None, "", ""),
        (None, "X", "X"),
    ],
)
def test_exit_label(code: int | None, reason: str, want: str) -> None:
    assert exit_label(code, reason) == want
