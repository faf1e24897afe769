"""Pieces of kubectl output, as people copy them: event lines without their table, YAML and JSON
fragments, describe's State lines, `get pods -w`, a log that names no pod among several pods.

The corpus cases in tests/data/pastes/ run through test_pastes.py and test_diagnose_from_pastes.py;
these tests pin what the readers make of each form, and how `kcrash diagnose` reports the rest.
"""

# Event rows below are kubectl output verbatim; wrapping them would change what they test.
# ruff: noqa: E501

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kcrash.cluster.paste.events import parse_describe_events
from kcrash.cluster.paste.fragments import read_fragment
from kcrash.cluster.paste.loose import read_events, read_line
from kcrash.cluster.pastes import parse_paste
from kcrash.diagnose_cmd import main

CORPUS = Path(__file__).parents[1] / "data" / "pastes"
FRAGMENT_CASES = [
    "liveness-probe-event-lines-chat",
    "oom-killed-node-events-and-row",
    "image-pull-event-lines-elided",
    "oom-killed-describe-1.5-docker",
    "app-error-describe-2015-last-termination-state",
    "oom-killed-laststate-block-and-row",
    "app-error-json-cut-mid-object",
    "command-not-found-runtime-error-in-log",
    "image-pull-kubectl-waiting-error-alone",
    "oom-killed-get-pods-watch",
    "app-error-describe-state-lines-only",
    "app-error-orphan-log-goes-to-failing-pod",
    "config-missing-mixed-chat-no-prompts",
    "exits-zero-container-statuses-deep-indent",
]


def run_json(*argv: str) -> tuple[int, list[dict[str, Any]], str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*argv, "-o", "json"], stdout=out, stderr=err, stdin=io.StringIO(""))
    return code, json.loads(out.getvalue()) if out.getvalue() else [], err.getvalue()


def files(case: str) -> list[Path]:
    return sorted(p for p in (CORPUS / case).iterdir() if p.name != "expected.json")


# --- event lines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        (
            "  Warning  BackOff    15s (x96 over 38m) kubelet  Back-off restarting failed container checkout in pod checkout-6d5f7c8b9-zq2wx_shop(8e1f2a3b)",
            ("Warning", "BackOff", 96, "checkout-6d5f7c8b9-zq2wx", "shop"),
        ),
        (
            "Warning  Unhealthy  ...  Liveness probe failed: HTTP probe failed with statuscode: 500",
            ("Warning", "Unhealthy", 1, "", ""),
        ),
        (
            "Normal Killing Container api failed liveness probe, will be restarted",
            ("Normal", "Killing", 1, "", ""),
        ),
        (
            "  Warning  SystemOOM  41s   kubelet  System OOM encountered, victim process: java, pid: 48211",
            ("Warning", "SystemOOM", 1, "", ""),
        ),
        (
            "[10:31] bob: dmesg says Memory cgroup out of memory: Killed process 4411 (java) total-vm:1234kB",
            ("Warning", "OOMKilling", 1, "", ""),
        ),
        ("0/3 nodes are available: 3 Insufficient memory.", ("Warning", "FailedScheduling", 1, "", "")),
        (
            'Warning  FailedMount  2m  kubelet  MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found',
            ("Warning", "FailedMount", 1, "", ""),
        ),
        (
            '12m  Warning  Failed  pod/web-1  Failed to pull image "registry/x:1": not found',
            ("Warning", "Failed", 1, "web-1", ""),
        ),
        (
            "  40s\t\t5s\t\t4\t{kubelet node1}\tspec.containers{web}\t\t\tbackoff\t\tBack-off restarting failed docker container",
            ("Warning", "BackOff", 4, "", ""),
        ),
    ],
)
def test_an_event_line_without_its_table(line: str, fields: tuple[Any, ...]) -> None:
    (event,) = read_events([line]).events
    e = event.event
    assert (e.type, e.reason, e.count, e.involved_name, e.namespace) == fields


@pytest.mark.parametrize(
    "line",
    ["hello there", "status: 200 ok", "2025-05-20T07:41:02Z INFO starting", "Warning: this is a log line"],
)
def test_a_line_that_is_no_event(line: str) -> None:
    assert read_line(line) is None


def test_chat_after_an_event_line_is_not_its_wrapped_tail() -> None:
    read = read_events(
        [
            "  Warning  BackOff  15s  kubelet  Back-off restarting failed container web in",
            "pod web-1_shop(8e1f2a3b)",
            "[09:13] dana: any idea?",
        ]
    )
    (event,) = read.events
    assert event.event.message.endswith("in pod web-1_shop(8e1f2a3b)")
    assert read.unread == (2,)


def test_the_events_of_describe_before_kubectl_1_8() -> None:
    rows = parse_describe_events(
        [
            "  FirstSeen\t\t\t\tLastSeen\t\t\tCount\tFrom\t\tSubobjectPath\t\tReason\t\tMessage",
            "  Tue, 20 Oct 2015 10:04:12 +0000\tTue, 20 Oct 2015 10:32:20 +0000\t40\t{kubelet node-1}\tspec.containers{worker}\t\tbackoff\t\tBack-off restarting failed docker container",
        ]
    )
    (row,) = rows
    e = row.event
    assert (e.type, e.reason, e.count, e.container, e.source) == (
        "Warning",
        "BackOff",
        40,
        "worker",
        "kubelet, node-1",
    )
    assert e.last_seen == datetime(2015, 10, 20, 10, 32, 20, tzinfo=UTC)


# --- YAML and JSON fragments ----------------------------------------------------------------------------


LAST_STATE = """\
lastState:
  terminated:
    exitCode: 137
    reason: OOMKilled
"""


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        (LAST_STATE, ("", None, "OOMKilled", 137)),
        ("        " + LAST_STATE.replace("\n", "\n        "), ("", None, "OOMKilled", 137)),
        (
            '"state": {\n  "waiting": {"reason": "CrashLoopBackOff"}\n},\n"lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}',
            ("", "CrashLoopBackOff", "Error", 1),
        ),
        (
            '      "exitCode": 2,\n      "reason": "Error"\n    }\n  },\n  "name": "api",\n  "state": {"waiting": {"reason": "CrashLoopBackOff"}}\n}],',
            ("api", "CrashLoopBackOff", "Error", 2),
        ),
        (
            "- name: web\n  state:\n    waiting:\n      reason: CrashLoopBackOff\n  lastState:\n    terminated:\n      exitCode: 1\n      reason: Error\n",
            ("web", "CrashLoopBackOff", "Error", 1),
        ),
        (
            "        exitCode: 143\n        reason: Error\n    name: web\n    state:\n      running:\n        startedAt: '2025-01-01T00:00:00Z'\n",
            ("web", None, "Error", 143),
        ),
    ],
    ids=[
        "lastState",
        "indented",
        "json-members",
        "json-cut-mid-object",
        "one-status-item",
        "yaml-mid-object",
    ],
)
def test_a_fragment_gives_its_container_state(text: str, wanted: tuple[Any, ...]) -> None:
    status = read_fragment(text.splitlines())
    assert status is not None
    (container,) = status["containerStatuses"]
    waiting = container.get("state", {}).get("waiting", {}).get("reason")
    last = container["lastState"]["terminated"]
    assert (container.get("name", ""), waiting, last["reason"], last["exitCode"]) == wanted


@pytest.mark.parametrize("text", ["kind: Pod\n", "spec:\n  containers: []\n", '{"kind": "Pod", "status": '])
def test_a_fragment_with_no_container_state_reads_as_none(text: str) -> None:
    assert read_fragment(text.splitlines()) is None


# --- what the command says ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", FRAGMENT_CASES)
def test_every_file_of_a_piece_is_read_on_its_own(case: str) -> None:
    """No file a person could read gets "nothing kcrash reads", even alone."""
    for path in files(case):
        code, _, err = run_json("--from", str(path))
        assert "nothing kcrash reads" not in err and code != 2, (path.name, err)


def test_a_get_pods_watch_is_read_as_its_newest_row_and_its_trend_is_evidence() -> None:
    _, rows, _ = run_json("--from", str(CORPUS / "oom-killed-get-pods-watch" / "watch.txt"))
    (row,) = rows
    assert (row["status"], row["restarts"], row["cause"]) == ("CrashLoopBackOff", 5, "oom-killed")
    trend = [e["quote"] for e in row["evidence"] if e["source"] == "get pods over time"]
    assert trend == [
        "Running → OOMKilled → Running → OOMKilled → CrashLoopBackOff → Running → CrashLoopBackOff; restarts 3 → 5 (7 rows)"
    ]


def test_a_log_naming_no_pod_goes_to_the_failing_one_and_says_so() -> None:
    case = "app-error-orphan-log-goes-to-failing-pod"
    code, rows, err = run_json(*[arg for p in files(case) for arg in ("--from", str(p))])
    assert (code, err) == (1, "")
    (row,) = rows
    said = [e["quote"] for e in row["evidence"] if e["source"] == "pod not named"]
    assert row["pod"] == "payments-6c7d8e9f0a-t3u5v" and len(said) == 1
    assert "crash.log names no pod: read as payments-6c7d8e9f0a-t3u5v's, the one of 3 pods failing" in said[0]


def test_skipped_parts_are_listed_on_stderr_and_on_each_pod(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("the cluster was upgraded on friday\nno idea if related\n")
    chat = CORPUS / "config-missing-mixed-chat-no-prompts" / "thread.txt"
    code, rows, err = run_json("--from", str(chat), "--from", str(notes))
    assert code == 1 and [r["cause"] for r in rows] == ["config-missing"]
    lines = err.splitlines()
    assert f"kcrash diagnose: {notes}: nothing kcrash reads" in lines
    assert f"kcrash diagnose: {chat}: part 1, lines 1-1: not kubectl output kcrash reads" in lines
    assert len(lines) == 4
    skipped = rows[0]["skipped"]
    assert {"file": str(notes), "why": "nothing kcrash reads"} in skipped
    assert len(skipped) == 4 and all(set(s) == {"file", "why"} for s in skipped)


def test_against_pastes_with_nothing_skipped_the_list_is_empty() -> None:
    _, rows, _ = run_json("--from", str(CORPUS / "oom-killed-get-pods-watch" / "watch.txt"))
    assert rows[0]["skipped"] == []


def test_pasted_text_in_a_trend_is_made_safe(tmp_path: Path) -> None:
    watch = tmp_path / "watch.txt"
    watch.write_text(
        "NAME    READY   STATUS    RESTARTS   AGE\n"
        "web-1   0/1     Error\x1b]52;c;aGk=\x07   1   1m\n"
        "web-1   0/1     CrashLoopBackOff   2   2m\n"
    )
    out, err = io.StringIO(), io.StringIO()
    main(["--from", str(watch)], stdout=out, stderr=err, stdin=io.StringIO(""))
    _, rows, _ = run_json("--from", str(watch))
    assert "get pods over time" in out.getvalue()
    assert "\x1b" not in out.getvalue() and "\x1b" not in json.dumps(rows, ensure_ascii=False)


def test_a_paste_of_pieces_names_its_parts_kinds() -> None:
    facts = parse_paste(
        (CORPUS / "config-missing-mixed-chat-no-prompts" / "thread.txt").read_text(), name="t"
    )
    assert facts.kinds == ("events",)
    assert [n.split(":")[0] for n in facts.notes] == [
        "part 1, lines 1-1",
        "part 1, lines 7-7",
        "part 1, lines 22-22",
    ]
