"""Pieces of kubectl output inside a message: each read by its form, none taken for another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paste_cli import diagnose_pastes


def _only(tmp_path: Path, text: str) -> dict[str, Any]:
    (row,) = diagnose_pastes(tmp_path, text)
    return row


DESCRIBE_TAIL = """\
kubectl get pods
NAME                     READY   STATUS                       RESTARTS   AGE
web-7c9d8b6f5-x2b4q      0/1     CreateContainerConfigError   0          2m
kubectl describe pod web-7c9d8b6f5-x2b4q | tail -3
  Warning  Failed     10s (x12 over 2m)  kubelet            Error: secret "web-env" not found
"""


def test_lines_cut_out_of_a_describe_by_a_pipe_are_read_for_their_form(tmp_path: Path) -> None:
    row = _only(tmp_path, DESCRIBE_TAIL)
    assert (row["pod"], row["cause"], row["detail"]) == (
        "web-7c9d8b6f5-x2b4q",
        "config-missing",
        "missing-secret",
    )


MESSAGE = """\
Hi, my pod keeps restarting. Here is the output:

    State:          Waiting
      Reason:       CrashLoopBackOff
    Last State:     Terminated
      Reason:       Error
      Exit Code:    1

and the logs:

Traceback (most recent call last):
  File "/app/main.py", line 3, in <module>
    import numpy
ModuleNotFoundError: No module named 'numpy'
"""


def test_describe_lines_and_a_log_inside_a_message(tmp_path: Path) -> None:
    row = _only(tmp_path, MESSAGE)
    assert (row["cause"], row["detail"]) == ("app-error", "import-error")
    assert row["container"] == ""  # "Here is the output:" is no container's name
    assert any(e["source"] == "previous log" for e in row["evidence"])


def test_a_fragment_under_its_command_line_is_that_pods(tmp_path: Path) -> None:
    text = """\
$ kubectl get pod api-0 -o yaml | grep -A8 lastState
    lastState:
      terminated:
        containerID: containerd://1f2e
        exitCode: 137
        finishedAt: "2024-03-01T10:05:00Z"
        reason: OOMKilled
        startedAt: "2024-03-01T10:00:00Z"
    name: api
"""
    row = _only(tmp_path, text)
    assert (row["pod"], row["cause"]) == ("api-0", "oom-killed")


def test_a_row_of_kubectl_get_all_names_its_pod_without_the_kind(tmp_path: Path) -> None:
    row = _only(tmp_path, "pod/worker-7d8f9c-abcde   0/1   OOMKilled   3 (20s ago)   2m\n")
    assert (row["pod"], row["cause"]) == ("worker-7d8f9c-abcde", "oom-killed")
