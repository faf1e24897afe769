"""k9s beside kcrash in the bench: its screen read, the one line without it, and (with the binary that
`make k9s` builds; marker `k9s`) its pods seen on screen against a small lab by the bench itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from k9speer import names_on_screen, pinned_version, title_count, usable_binary

REPO = Path(__file__).resolve().parents[2]
SKIP_REASON = "k9s is not built: run `make k9s` (needs Go)"


@pytest.mark.parametrize(
    ("screen", "count"),
    [
        (" pods(all)[1,021] ", 1021),
        ("╭──── pods(crashlab)[21] ────╮", 21),
        ("│ Context: kcrash-lab  ...  pods(all)[20,021] ", 20021),
        (" deployments(all)[12] ", None),
        ("<splash> K9s is loading", None),
    ],
)
def test_the_pod_count_is_read_from_the_title(screen: str, count: int | None) -> None:
    assert title_count(screen) == count


def test_pod_names_are_found_as_whole_words() -> None:
    screen = "│ crashlab   oom-leak-7d9f-x2  ●  0/1  CrashLoopBackOff │\n│ identity billing-5b69b6-27q8 │"
    names = frozenset({"oom-leak-7d9f-x2", "billing-5b69b6-27q8", "oom-leak", "web-1"})
    assert names_on_screen(screen, names) == 2  # "oom-leak" only inside a longer name


def test_the_release_is_read_from_the_pinned_module() -> None:
    version = pinned_version()
    assert version is not None and version.startswith("v0.")
    assert usable_binary(REPO / "bench" / "k9s" / "go.mod") is None  # not executable


def run_bench(tmp_path: Path, only: str, env: dict[str, str], timeout: float) -> tuple[str, dict[str, Any]]:
    out = tmp_path / "results.json"
    command = [
        sys.executable, str(REPO / "bench" / "run.py"), "--sizes", "50", "--runs", "1",
        "--only", only, "--out", str(out),
    ]  # fmt: skip
    result = subprocess.run(
        command,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout, json.loads(out.read_text())


@pytest.mark.timeout(90)
def test_without_k9s_the_bench_says_so_once_and_goes_on(tmp_path: Path) -> None:
    empty_cache = tmp_path / "cache"
    empty_cache.mkdir()
    env = {**os.environ, "XDG_CACHE_HOME": str(empty_cache)}
    output, results = run_bench(tmp_path, "k9s", env, timeout=80)
    mentions = [line for line in output.replace(str(tmp_path), "").splitlines() if "k9s" in line]
    assert len(mentions) == 1, output
    assert mentions[0].startswith("k9s: not built") and "make k9s" in mentions[0]
    run = results["sizes"]["50"]["runs"][0]
    assert "k9s" not in run and results["meta"]["k9s"] is None


@pytest.mark.k9s
@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_the_bench_sees_k9s_show_every_pod(tmp_path: Path) -> None:
    if usable_binary(None) is None:
        pytest.skip(SKIP_REASON)
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    output, results = run_bench(tmp_path, "launch,k9s", dict(os.environ), timeout=110)
    block = results["sizes"]["50"]
    run = block["runs"][0]
    peer = run["k9s"]
    assert "error" not in peer, output
    assert peer["launch"]["pods"] == block["lab_pods"] > 50
    assert peer["launch"]["names_seen"] >= 1
    assert 0 < peer["launch"]["seconds"] < 60
    assert 10 < peer["memory_after_launch_kib"]["VmHWM"] / 1024 < 2000
    assert peer["requests"] > 0
    assert peer["launch_ratio"] > 0 and peer["rss_ratio"] > 0
    assert "kcrash beside k9s" in output
