"""`kcrash record` against the lab over real HTTP, and `kcrash history` reading what it archived.

The lab runs fast (`speed`) so a crash loop at its 5-minute back-off cap dies every few seconds.
Every archived log must belong to the instance it is filed under, as on a real kubelet: its own
timestamps fall between that instance's startedAt and finishedAt.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kcrash.lab.app import Lab

SPEED = 60.0
POD = "crash-missing-env"
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


def kcrash(env: dict[str, str], *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kcrash", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def history(env: dict[str, str], kubeconfig: Path, *args: str) -> list[dict[str, Any]]:
    result = kcrash(env, "history", "--kubeconfig", str(kubeconfig), *args, "-o", "json")
    assert result.returncode in (0, 1), result.stderr
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def moment(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def belongs(crash: dict[str, Any], log: str) -> bool:
    """Every timestamp of the log lies within the instance's run (the API gives seconds)."""
    start = moment(crash["startedAt"]) - timedelta(seconds=1)
    end = moment(crash["finishedAt"]) + timedelta(seconds=1)
    stamps = [moment(s) for s in STAMP.findall(log)]
    return bool(stamps) and all(start <= s <= end for s in stamps)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "config" / "kcrash"
    config.mkdir(parents=True)
    (config / "history.toml").write_text("fetch_rate = 20\nfetch_burst = 40\n")
    return {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }


def test_record_archives_a_crash_loop_with_each_instances_own_dying_words(
    make_lab: Callable[..., Lab], tmp_path: Path, env: dict[str, str]
) -> None:
    lab = make_lab(speed=SPEED)
    kubeconfig = lab.write_kubeconfig(tmp_path / "kubeconfig")
    recorder = subprocess.Popen(
        [sys.executable, "-m", "kcrash", "record", "--kubeconfig", str(kubeconfig), "--report-every", "2"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    crashes: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(2)
            crashes = [c for c in history(env, kubeconfig, POD) if c["dyingWords"]]
            if len({c["restart"] for c in crashes}) >= 3:
                break
    finally:
        recorder.send_signal(signal.SIGTERM)
        _, stderr = recorder.communicate(timeout=20)
    assert recorder.returncode == 0, stderr
    assert "kcrash record: stopped:" in stderr
    assert len({c["restart"] for c in crashes}) >= 3, crashes
    assert len({c["containerID"] for c in crashes}) == len(crashes)
    for crash in crashes:
        assert crash["exitCode"] == 1 and crash["reason"] == "Error"
        assert crash["dyingWords"] == "FATAL: required environment variable DATABASE_URL is not set"
        assert crash["workload"] == POD and crash["revision"]
        full = kcrash(env, "history", POD, "--kubeconfig", str(kubeconfig), "--crash", str(crash["restart"]))
        assert full.returncode == 0, full.stderr
        assert full.stdout.rstrip().endswith(crash["dyingWords"])
        assert belongs(crash, full.stdout), (crash, full.stdout)


def test_history_says_in_one_line_when_nothing_matches_and_refuses_a_bad_flag(
    lab: Lab, kubeconfig: Path, env: dict[str, str]
) -> None:
    empty = kcrash(env, "history", "no-such-pod", "--kubeconfig", str(kubeconfig))
    assert empty.returncode == 1
    assert empty.stderr.count("\n") == 1 and "no crash of no-such-pod" in empty.stderr
    bad = kcrash(env, "history", "--crash", "3", "--kubeconfig", str(kubeconfig))
    assert bad.returncode == 2 and "needs the POD" in bad.stderr and "Traceback" not in bad.stderr


def test_the_previous_log_in_back_off_is_last_states_instance(lab: Lab, kubeconfig: Path) -> None:
    from kcrash.cluster.config import connect
    from kcrash.cluster.logs import read_log
    from kcrash.cluster.source import ClusterSource

    source = ClusterSource(connect(str(kubeconfig), None, None, False), namespace="crashlab")
    try:
        deadline = time.monotonic() + 30
        while True:
            [pod] = [p for p in source.list_pods() if p.name.startswith(POD)]
            [status] = pod.container_statuses
            if status.state.kind == "waiting" and status.last_state is not None:
                break
            assert time.monotonic() < deadline, "the pod never waited in back-off"
            time.sleep(0.2)
        last = status.last_state
        assert last is not None and last.started_at and last.finished_at
        log = read_log(source.api, pod, status.name, previous=True).text
        crash = {"startedAt": last.started_at.isoformat(), "finishedAt": last.finished_at.isoformat()}
        assert belongs(crash, log), (crash, log)
    finally:
        source.stop()


def test_two_recorders_on_one_archive_keep_each_crash_once(
    lab: Lab, kubeconfig: Path, tmp_path: Path
) -> None:
    """A console and `kcrash record` watching the same pods write one archive: every crash once."""
    from kcrash.cluster.config import connect
    from kcrash.cluster.source import ClusterSource
    from kcrash.history.archive import Archive
    from kcrash.history.recorder import Recorder

    path = tmp_path / "shared.sqlite3"
    sources = [
        ClusterSource(connect(str(kubeconfig), None, None, False), namespace="crashlab") for _ in range(2)
    ]
    recorders = [Recorder(source, Archive(path)).start() for source in sources]
    try:
        for source, recorder in zip(sources, recorders, strict=True):
            source.watch_pods(recorder.on_events, recorder.on_resync, recorder.on_state)
        deadline = time.monotonic() + 60
        while not all(r.stats.seen and r.idle() for r in recorders):
            assert time.monotonic() < deadline, [r.stats for r in recorders]
            time.sleep(0.2)
    finally:
        for source, recorder in zip(sources, recorders, strict=True):
            source.stop()
            recorder.stop()
    one, two = (r.stats for r in recorders)
    assert one.archived + two.archived == Archive(path).count() > 0
    assert one.already + two.already > 0, "the second to see a crash finds it archived"
    ids = [c.container_id for c in Archive(path).crashes(limit=10_000)]
    assert len(ids) == len(set(ids))
