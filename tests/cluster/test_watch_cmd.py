"""`kcrash watch` against the lab over real HTTP, run as the command users run."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kcrash.lab.app import Lab

CALM = Path(__file__).resolve().parents[1] / "data" / "alerts" / "calm.yaml"
TUI = Path(__file__).resolve().parents[2] / "tui"


@pytest.fixture(scope="module")
def alerts_lab() -> Any:
    with Lab(speed=20.0, seed=1, scenario_files=[CALM]) as running:
        yield running


@pytest.fixture(scope="module")
def alerts_kubeconfig(alerts_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return alerts_lab.write_kubeconfig(tmp_path_factory.mktemp("watch") / "config")


def _env(tmp: Path) -> dict[str, str]:
    # No user config file leaks in: the defaults are what is tested.
    return {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp),
        "PYTHONPATH": os.pathsep.join([str(TUI), os.environ.get("PYTHONPATH", "")]),
    }


def _watch(kubeconfig: Path, tmp: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kcrash", "watch", "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(tmp),
        check=False,
    )


def test_once_exits_1_on_the_demo_namespace(alerts_kubeconfig: Path, tmp_path: Path) -> None:
    done = _watch(alerts_kubeconfig, tmp_path, "-n", "crashlab", "--once", "-o", "json")
    assert done.returncode == 1, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    pods = {row["pod"] for row in rows}
    assert any(p.startswith("oom-leak-") for p in pods)
    assert not any(p.startswith("healthy-web-") for p in pods)
    assert {row["state"] for row in rows} == {"already-failing"}
    assert any(row["rule"] == "deployment-stuck" and row["owner"] == "Deployment/bad-rollout" for row in rows)


def test_once_exits_0_on_a_namespace_of_healthy_pods(alerts_kubeconfig: Path, tmp_path: Path) -> None:
    done = _watch(alerts_kubeconfig, tmp_path, "-n", "calm", "--once")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_once_with_a_selector_of_healthy_pods_exits_0(alerts_kubeconfig: Path, tmp_path: Path) -> None:
    done = _watch(alerts_kubeconfig, tmp_path, "-n", "crashlab", "-l", "app=healthy-web", "--once")
    assert done.returncode == 0, done.stdout + done.stderr


def test_stream_prints_json_lines_for_oom_and_crash_loop_within_seconds(
    alerts_kubeconfig: Path, tmp_path: Path
) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kcrash",
            "watch",
            "--kubeconfig",
            str(alerts_kubeconfig),
            "-n",
            "crashlab",
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True)  # type: ignore[union-attr]
    reader.start()
    rows: list[dict[str, Any]] = []
    deadline = time.monotonic() + 40
    try:
        while time.monotonic() < deadline:
            try:
                rows.append(json.loads(lines.get(timeout=0.5)))
            except queue.Empty:
                continue
            new = [r for r in rows if r["state"] == "new"]
            if any(r["rule"] == "oom-killed" for r in new) and any(r["rule"] == "crash-loop" for r in new):
                break
    finally:
        process.terminate()
        process.wait(10)
    new = [r for r in rows if r["state"] == "new"]
    oom = [r for r in new if r["rule"] == "oom-killed"]
    assert oom, f"no OOM alert in {rows}"
    assert oom[0]["pod"].startswith("oom-leak-")
    assert oom[0]["exit_code"] == 137 and oom[0]["reason"] == "OOMKilled"
    assert oom[0]["likely_cause"].startswith("OOMKilled — memory limit 256Mi")
    assert oom[0]["owner"] == "Deployment/oom-leak"
    assert any(r["rule"] == "crash-loop" and r["restart_count"] >= 2 for r in new)
    assert not any(r["pod"].startswith("healthy-web-") for r in rows)
    for row in rows:
        assert {
            "time",
            "severity",
            "rule",
            "namespace",
            "pod",
            "container",
            "owner",
            "restart_count",
            "exit_code",
            "reason",
            "message",
        } <= row.keys()


def test_bad_config_is_one_line_and_status_2(alerts_kubeconfig: Path, tmp_path: Path) -> None:
    bad = tmp_path / "alerts.toml"
    bad.write_text("[rules.crash-loop]\nmin_restarts = 'two'\n")
    done = _watch(alerts_kubeconfig, tmp_path, "--once", "--config", str(bad))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "min_restarts must be a number" in done.stderr


def test_watch_imports_no_textual() -> None:
    probe = (
        "import sys, kcrash.watch_cmd, kcrash.cluster.alertfeed, kcrash.cluster.webhook;"
        "import kcrash.cluster.alertconfig;"
        "print(sorted(m for m in ('textual', 'textual_plotext', 'kcrash.ui') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(TUI)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "[]"
