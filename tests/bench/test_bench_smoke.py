"""`make bench` in miniature: the whole harness on a tiny lab, plus its screen and log readers.

The end-to-end test runs bench/run.py in --quick mode (50 extra pods, one run, short windows) and
checks that the results JSON holds every figure with values in a sane range; the table-driven
tests pin how the harness reads kcrash's screen and the lab's request log.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from apiload import classify, judge, load_by_resource
from labproc import Request
from measure import cpu_percent, cpu_seconds
from pane import cursor_index, header, ready_cell, rows
from report import IDLE_CPU_TARGET, judge_size
from termstream import summarize

REPO = Path(__file__).resolve().parents[2]
WIDTHS = (10, 20, 6, 17, 14, 9, 13, 4)


def table_line(*cells: str) -> str:
    return " " + " ".join(cell.ljust(width) for cell, width in zip(cells, WIDTHS, strict=False))


SCREEN = "\n".join(
    [
        " kcrash  │  kcrash-lab  │  all namespaces  │  ● live  │  71 pods, 16 failing  │  by name",
        table_line("NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "LAST EXIT", "NEXT RESTART", "AGE"),
        table_line(
            "crashlab",
            "bad-command-8b9b-rl",
            "0/1",
            "CrashLoopBackOff",
            "7 (4m25s ago)",
            "1 Error",
            "35s",
            "14m",
        )
        + " ▆",
        table_line("identity", "billing-5b69b6-27q8", "1/1", "Running", "0", "", "", "16d"),
        " l Logs c Copy u Undo ^d Delete / Filter h Healthy q Quit ? Help",
    ]
)


@pytest.mark.parametrize(
    ("line", "live", "pods", "failing", "rest"),
    [
        (
            " kcrash  │  kcrash-lab  │  all namespaces  │  ● live  │  1021 pods, 64 failing",
            True,
            1021,
            64,
            "",
        ),
        (" kcrash  │  ctx  │  ns crashlab  │  ○ connecting  │  0 pods", False, 0, 0, ""),
        (
            " kcrash  │  ctx  │  all namespaces  │  ● live  │  5 pods (3 shown)  │  by name",
            True,
            5,
            0,
            "(3 shown)  │  by name",
        ),
        (
            " kcrash  │  ctx  │  all namespaces  │  ◌ re-listing · stale since 10:00:00  │  9 pods",
            False,
            9,
            0,
            "",
        ),
    ],
)
def test_header_is_read(line: str, live: bool, pods: int, failing: int, rest: str) -> None:
    facts = header(line)
    assert facts is not None
    assert (facts.live, facts.pods, facts.failing, facts.rest) == (live, pods, failing, rest)


def test_rows_are_cut_at_the_column_titles() -> None:
    found = rows(SCREEN)
    assert [(r.namespace, r.name, r.ready, r.status) for r in found] == [
        ("crashlab", "bad-command-8b9b-rl", "0/1", "CrashLoopBackOff"),
        ("identity", "billing-5b69b6-27q8", "1/1", "Running"),
    ]
    assert [r.ticking_cells for r in found] == [2, 0]  # "(4m25s ago)" and "35s" tick; "14m" does not
    assert ready_cell(SCREEN, ("identity", "billing-5b69b6-27q8")) == "1/1"


def test_the_cursor_row_is_the_odd_background() -> None:
    title = "\x1b[1m\x1b[48;2;28;28;28m NAME  READY  STATUS"
    plain = "\x1b[0m\x1b[48;2;28;28;28m pod-{0}  1/1    Running"
    cursor = "\x1b[0;1m\x1b[48;2;51;79;93m pod-{0}  1/1    Running"
    lines = (
        [title] + [(cursor if i == 2 else plain).format(i) for i in range(5)] + ["\x1b[48;2;1;1;1m footer"]
    )
    assert cursor_index("\n".join(lines)) == 2


@pytest.mark.parametrize(
    ("method", "path", "query", "verb", "resource", "per_object"),
    [
        ("GET", "/api/v1/pods", "limit=500", "LIST", "pods", False),
        ("GET", "/api/v1/pods", "limit=500&continue=abc", "LIST-PAGE", "pods", False),
        ("GET", "/api/v1/pods", "limit=1", "LIST-PROBE", "pods", False),
        ("GET", "/api/v1/pods", "watch=true&resourceVersion=7", "WATCH", "pods", False),
        ("GET", "/api/v1/namespaces/crashlab/pods/web-1/log", "tailLines=50", "GET", "pods/log", False),
        ("GET", "/apis/metrics.k8s.io/v1beta1/pods", "", "LIST", "metrics.k8s.io/pods", False),
        (
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            "",
            "CREATE",
            "authorization.k8s.io/selfsubjectaccessreviews",
            False,
        ),
        ("GET", "/version/", "", "GET", "discovery", False),
    ],
)
def test_requests_are_classified(
    method: str, path: str, query: str, verb: str, resource: str, per_object: bool
) -> None:
    call = classify(Request(method, path, query, 0.0))
    assert (call.verb, call.resource, call.per_object) == (verb, resource, per_object)


def test_a_second_list_and_too_many_metrics_lists_are_problems() -> None:
    log = [Request("GET", "/api/v1/pods", "limit=500", 0.0)] * 2
    log += [Request("GET", "/apis/metrics.k8s.io/v1beta1/pods", "", 0.0)] * 7
    problems = judge(load_by_resource(log), 60.0, 0)
    assert len(problems) == 2
    assert problems[0].startswith("metrics.k8s.io/pods: 7 LISTs")


def test_terminal_writes_are_told_apart() -> None:
    screen = "abc\ndef\n"
    data = b"\x1b[1;1H\x1b[1mabc\x1b[0m" + b"\x1b[2;2Hxf"  # the same text, then one character changed
    summary = summarize(data, 1.0, screen, 10)
    assert (summary.writes, summary.redundant_writes, summary.changed_chars) == (2, 1, 1)
    assert summary.writes_from_left == 1


def test_cpu_time_is_read_for_the_process_and_its_main_thread() -> None:
    pid = os.getpid()
    before = cpu_seconds(pid)
    spin_until = time.process_time() + 0.05
    while time.process_time() < spin_until:
        pass
    after, main = cpu_seconds(pid), cpu_seconds(pid, pid)
    assert before is not None and after is not None and main is not None
    assert after - before >= 0.03 and 0 < main <= after
    assert cpu_seconds(2**22 + 1) is None  # beyond pid_max: no such process


@pytest.mark.parametrize(
    ("before", "after", "elapsed", "percent"),
    [(1.0, 1.5, 10.0, 5.0), (2.0, 2.0, 10.0, 0.0), (None, 1.0, 10.0, math.nan), (1.0, 2.0, 0.0, math.nan)],
)
def test_cpu_percent_is_of_one_core(
    before: float | None, after: float | None, elapsed: float, percent: float
) -> None:
    found = cpu_percent(before, after, elapsed)
    assert found == pytest.approx(percent, nan_ok=True)


@pytest.mark.parametrize(("cpu", "passed"), [(IDLE_CPU_TARGET - 0.1, True), (IDLE_CPU_TARGET, False)])
def test_idle_cpu_is_judged_on_the_median(cpu: float, passed: bool) -> None:
    summary = {"idle_cpu_percent": {"median": cpu, "min": cpu, "max": cpu, "n": 1.0}}
    args = argparse.Namespace()
    verdicts = {v["figure"]: v for v in judge_size(1000, 1021, summary, [], args)}
    assert verdicts["idle_cpu_percent"]["passed"] is passed
    assert verdicts["idle_cpu_percent"]["target"] == "< 2 %"


@pytest.mark.e2e
@pytest.mark.kubectl
@pytest.mark.timeout(90)
def test_quick_bench_writes_sane_results(tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    out = tmp_path / "results.json"
    command = [
        sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--sizes", "50", "--runs", "1",
        "--rates", "200", "--churn-seconds", "3", "--api-seconds", "6", "--idle-seconds", "2",
        "--out", str(out),
    ]  # fmt: skip
    with subprocess.Popen(
        command,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as bench:
        try:
            output, _ = bench.communicate(timeout=75)
        except subprocess.TimeoutExpired:
            bench.terminate()  # SIGTERM: the harness stops its tmux server and its lab
            output, _ = bench.communicate(timeout=30)
            pytest.fail(f"the quick bench took over 75 s:\n{output[-3000:]}")
    assert bench.returncode == 0, output[-3000:]
    result = subprocess.CompletedProcess(command, bench.returncode, output, "")
    assert "launch -> full pod table" in result.stdout

    block = json.loads(out.read_text())["sizes"]["50"]
    run, summary = block["runs"][0], block["summary"]
    assert block["lab_pods"] > 50
    assert run["launch"]["pods"] == block["lab_pods"] == run["kubectl"]["rows"]
    assert 0 < summary["launch_s"]["median"] < 60
    assert 0 < summary["kubectl_s"]["median"] < 30
    assert 30 < summary["rss_peak_mib"]["median"] < 2000
    assert run["api"]["by_resource"]["pods"]["WATCH"] >= 1
    assert run["api"]["per_object"] == 0
    assert run["idle"]["bytes_per_second"] >= 0
    assert 0 <= run["idle"]["cpu_percent"] < 200 and 0 <= run["idle"]["main_thread_cpu_percent"] < 100
    churn = run["churn"]["200"]
    assert churn["achieved_rate"] > 100
    assert churn["lag_samples"] >= 1 and churn["lag_p50_ms"] > 0
    assert run["diagnose"]["reported"] >= 1
    assert {t["figure"] for t in block["targets"]} >= {
        "launch_s",
        "ratio",
        "rss_peak_mib",
        "api_problems",
        "idle_cpu_percent",
    }
