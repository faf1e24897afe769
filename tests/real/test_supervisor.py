"""The supervisor of the real control plane's parts, with ordinary programs standing in for them:
it stops every group, reports the first part that died in one line, and its watchdog stops the parts
when kcrash itself is killed with no chance to clean up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kcrash.lab.realcp.processes import Supervisor, last_line

from .processes import alive

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")

# A part that ignores SIGTERM and has a child of its own: only SIGKILL to the group ends both.
STUBBORN = "trap '' TERM; sleep 300 & wait"


def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def test_stop_ends_every_group_even_a_stubborn_one(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs")
    polite = supervisor.start("polite", ["sleep", "300"])
    stubborn = supervisor.start("stubborn", ["bash", "-c", STUBBORN])
    assert wait_until(lambda: len(group_members(stubborn.pid)) == 2)
    assert supervisor.crashed() is None
    started = time.monotonic()
    supervisor.stop(grace=0.5)
    assert time.monotonic() - started < 5
    assert polite.exit_code() == -signal.SIGTERM
    assert stubborn.exit_code() == -signal.SIGKILL
    assert group_members(stubborn.pid) == [] and group_members(polite.pid) == []


def test_the_first_part_that_dies_is_reported_in_one_line(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs")
    try:
        supervisor.start("etcd", ["sleep", "300"])
        dying = supervisor.start(
            "kube-scheduler", ["bash", "-c", "echo starting; echo 'E0101 no config' >&2; exit 3"]
        )
        assert wait_until(lambda: supervisor.crashed() is not None)
        crashed = supervisor.crashed()
        assert crashed is dying
        line = crashed.describe_exit()
        assert "\n" not in line
        assert line.startswith("kube-scheduler exited with code 3")
        assert str(tmp_path / "logs" / "kube-scheduler.log") in line
        assert line.endswith(": E0101 no config")
    finally:
        supervisor.stop(grace=0.5)


def test_a_part_killed_by_a_signal_says_so(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs")
    try:
        part = supervisor.start("kube-apiserver", ["sleep", "300"])
        os.kill(part.pid, signal.SIGKILL)
        assert wait_until(lambda: supervisor.crashed() is part)
        assert part.describe_exit().startswith("kube-apiserver was killed by signal 9 (log: ")
    finally:
        supervisor.stop(grace=0.5)


PARENT = """
import sys, time
from pathlib import Path
from kcrash.lab.realcp.processes import Supervisor
supervisor = Supervisor(Path(sys.argv[1]))
parts = [supervisor.start(f"part{i}", ["bash", "-c", sys.argv[2]]) for i in range(2)]
print(" ".join(str(p.pid) for p in parts), flush=True)
time.sleep(300)
"""


def test_the_watchdog_stops_the_parts_when_kcrash_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path / "logs"), STUBBORN],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(p) for p in pids)
        assert wait_until(lambda: all(len(group_members(p)) == 2 for p in pids))
        parent.kill()  # SIGKILL: no finally, no atexit
        parent.wait()
        # the watchdog's grace (5 s) for SIGTERM, which these ignore, then SIGKILL
        assert wait_until(lambda: not any(group_members(p) for p in pids), timeout=20)
    finally:
        if parent.poll() is None:
            parent.kill()


def test_last_line_strips_control_characters_and_keeps_it_short(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_bytes(b"first\n\x1b[31mred " + b"y" * 400 + b"\x07\n\n")
    line = last_line(log, limit=50)
    assert "\x1b" not in line and "\x07" not in line
    assert line.startswith("[31mred yyy") and len(line) == 50 and line.endswith("…")
    assert last_line(tmp_path / "missing.log") == ""
