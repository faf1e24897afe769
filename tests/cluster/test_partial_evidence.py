"""A verdict built on reads that failed says what it could not read, with lower confidence where
it mattered, a line on stderr and its own exit status; `--timeout` bounds the whole run."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kcrash.core.partial import confidence, mattered, summary
from kcrash.core.records import Unread
from kcrash.diagnose_cmd import EXIT_ERROR, EXIT_FAILING, EXIT_PARTIAL, main
from kcrash.lab.app import Lab


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def healthy(lab: Lab) -> Iterator[Lab]:
    lab.faults.reset()
    yield lab
    lab.faults.reset()


def settled(kubeconfig: Path) -> list[dict[str, Any]]:
    """The namespace diagnosed once every crash-missing-env pod has a previous log to read."""
    deadline = time.monotonic() + 60
    while True:
        _, out, _ = run("-n", "crashlab", "-o", "json", "--kubeconfig", str(kubeconfig))
        rows: list[dict[str, Any]] = json.loads(out)
        if any(r["pod"].startswith("crash-missing-env-") and r["cause"] == "app-error" for r in rows):
            return rows
        assert time.monotonic() < deadline, rows
        time.sleep(0.5)


def test_an_unreadable_log_is_declared(healthy: Lab, kubeconfig: Path) -> None:
    settled(kubeconfig)
    healthy.faults.deny("get", "pods/log")
    code, out, err = run("-n", "crashlab", "-o", "json", "--kubeconfig", str(kubeconfig))
    assert code == EXIT_PARTIAL
    rows = json.loads(out)
    app = next(r for r in rows if r["pod"].startswith("crash-missing-env-"))
    whats = {u["what"] for u in app["unread"]}
    assert "previous log" in whats
    assert all(u["why"] for u in app["unread"])
    assert app["confidence"] == "low"
    oom = next(r for r in rows if r["pod"].startswith("oom-leak-"))
    assert oom["cause"] == "oom-killed" and oom["confidence"] == "high"  # its status says it all
    assert err.count("\n") == 1 and "partial evidence" in err and "previous log" in err

    code, text, _ = run("-n", "crashlab", "--kubeconfig", str(kubeconfig))
    assert code == EXIT_PARTIAL
    block = next(b for b in text.split("\n\n") if b.startswith("crashlab/crash-missing-env-"))
    assert "  unread (low confidence): previous log: " in block


def test_a_complete_run_declares_nothing(healthy: Lab, kubeconfig: Path) -> None:
    rows = settled(kubeconfig)
    assert all(r["unread"] == [] and r["confidence"] == "high" for r in rows)
    code, _, err = run("-n", "crashlab", "--kubeconfig", str(kubeconfig))
    assert code == EXIT_FAILING and err == ""


def test_server_errors_are_retried_not_silently_dropped(healthy: Lab, kubeconfig: Path) -> None:
    clean = {r["pod"]: r["cause"] for r in settled(kubeconfig)}
    healthy.faults.set_error_rate(0.3, status=500)
    for _ in range(3):
        code, out, _ = run("-n", "crashlab", "-o", "json", "--kubeconfig", str(kubeconfig))
        assert code in (EXIT_FAILING, EXIT_PARTIAL)
        for row in json.loads(out):
            if not row["unread"] and row["pod"] in clean:
                assert row["cause"] == clean[row["pod"]], row  # no silent change of verdict


def test_the_timeout_bounds_the_run(healthy: Lab, kubeconfig: Path) -> None:
    healthy.faults.set_error_rate(1.0, status=429, retry_after=1)
    started = time.monotonic()
    code, out, err = run("-n", "crashlab", "--timeout", "2.5", "--kubeconfig", str(kubeconfig))
    assert time.monotonic() - started < 4
    assert code == EXIT_ERROR and out == ""
    assert err.count("\n") == 1 and "429" in err


def test_what_mattered_to_which_cause() -> None:
    log = Unread("previous log", "500")
    metrics = Unread("memory metrics", "500")
    assert confidence("app-error", [log]) == "low"
    assert confidence("oom-killed", [log]) == "high"
    assert confidence("oom-killed", [metrics]) == "low"
    assert confidence("config-missing", [Unread("ConfigMap app", "403")]) == "low"
    assert mattered("image-pull", [log, metrics]) == ()
    assert summary([log, log, metrics]) == "previous log ×2, memory metrics"
