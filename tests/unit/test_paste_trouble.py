"""Which pasted pods `kcrash diagnose --from` speaks of: the failing ones, and when none is failing
at the moment of the paste, the ones that show a sign of trouble (a paste is a question)."""

# Pasted rows below are kubectl output verbatim; wrapping them would change what they test.
# ruff: noqa: E501

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kcrash.cluster.paste.model import PastedPod
from kcrash.cluster.paste.trouble import crash_looping, log_shows_failure, trouble_signs
from kcrash.core.diagnose.facts import gather
from kcrash.core.records import ContainerState, ContainerStatus, DiagnosisInput, Event, Pod
from kcrash.diagnose_cmd import main

RUNNING = ContainerState("running")


def _pod(*statuses: ContainerStatus, phase: str = "Running", reason: str = "") -> Pod:
    return Pod(namespace="shop", name="web-1", phase=phase, reason=reason, container_statuses=statuses)


def _event(type_: str, reason: str, count: int = 1) -> Event:
    return Event(
        namespace="shop", name="", type=type_, reason=reason, message="m", involved_name="web-1", count=count
    )


@pytest.mark.parametrize(
    ("pasted", "sign"),
    [
        (PastedPod(pod=_pod(ContainerStatus("web", restart_count=3, state=RUNNING))), "3 restarts"),
        (
            PastedPod(
                pod=_pod(
                    ContainerStatus(
                        "web",
                        state=RUNNING,
                        last_state=ContainerState("terminated", reason="Error", exit_code=1),
                    )
                )
            ),
            "a last termination",
        ),
        (
            PastedPod(
                pod=_pod(
                    ContainerStatus(
                        "web", state=ContainerState("terminated", reason="OOMKilled", exit_code=0)
                    ),
                    phase="Succeeded",
                )
            ),
            "terminated (OOMKilled)",
        ),
        (
            PastedPod(pod=_pod(ContainerStatus("web", state=ContainerState("terminated", exit_code=2)))),
            "terminated (2)",
        ),
        (
            PastedPod(
                pod=_pod(ContainerStatus("web", state=ContainerState("waiting", reason="CrashLoopBackOff")))
            ),
            "waiting (CrashLoopBackOff)",
        ),
        (PastedPod(pod=_pod(phase="Failed", reason="Evicted")), "pod Evicted"),
        (
            PastedPod(pod=Pod(namespace="", name="x"), events=(_event("Warning", "Unhealthy"),)),
            "a Warning event (Unhealthy)",
        ),
        (
            PastedPod(pod=Pod(namespace="", name="x"), events=(_event("Normal", "Killing"),)),
            "a Killing event",
        ),
        (
            PastedPod(pod=Pod(namespace="", name="x"), events=(_event("Normal", "Started", 4),)),
            "Started 4 times",
        ),
        (
            PastedPod(pod=Pod(namespace="", name="x"), current_log="boom\nError: unknown flag: --x\n"),
            "an error in its log",
        ),
        (
            PastedPod(pod=Pod(namespace="", name="x"), previous_log="mkdir: /data: Permission denied\n"),
            "an error in its log",
        ),
    ],
)
def test_a_sign_of_trouble(pasted: PastedPod, sign: str) -> None:
    assert sign in trouble_signs(pasted)


@pytest.mark.parametrize(
    "pasted",
    [
        PastedPod(pod=_pod(ContainerStatus("web", ready=True, state=RUNNING))),
        PastedPod(
            pod=_pod(
                ContainerStatus("job", state=ContainerState("terminated", reason="Completed", exit_code=0)),
                phase="Succeeded",
            )
        ),
        PastedPod(
            pod=_pod(ContainerStatus("web", state=ContainerState("waiting", reason="ContainerCreating")))
        ),
        PastedPod(
            pod=Pod(namespace="", name="x"), events=(_event("Normal", "Started"), _event("Normal", "Pulled"))
        ),
        PastedPod(pod=Pod(namespace="", name="x"), current_log="listening on :8080\nready to serve\n"),
    ],
)
def test_no_sign_of_trouble(pasted: PastedPod) -> None:
    assert trouble_signs(pasted) == ()


@pytest.mark.parametrize(
    ("line", "failure"),
    [
        ("/bin/sh: 1: /app/run.sh: Permission denied", True),
        ("/task/init.sh: line 3: $'\\r': command not found", True),
        ("Error: unknown flag: --metrics-bind-address", True),
        ("ImportError: cannot import name 'MutableMapping' from 'collections'", True),
        (
            "Redis::CannotConnectError: Error connecting to Redis on 127.0.0.1:6379 (Errno::ECONNREFUSED)",
            True,
        ),
        ("panic: runtime error: invalid memory address or nil pointer dereference", True),
        ("process exited with code 3", True),
        ("Segmentation fault (core dumped)", True),
        ("Started server on :8080", False),
        ("GET /healthz 200 1ms", False),
        ("exited with code 0", False),
    ],
)
def test_a_log_line_in_the_words_of_a_failure(line: str, failure: bool) -> None:
    assert log_shows_failure(line + "\n") is failure


@pytest.mark.parametrize(
    ("status", "phase", "looping"),
    [
        (
            ContainerStatus("", restart_count=4, state=ContainerState("terminated", reason="OOMKilled")),
            "Running",
            True,
        ),
        (
            ContainerStatus(
                "", restart_count=2, state=ContainerState("terminated", reason="Completed", exit_code=0)
            ),
            "Running",
            True,
        ),
        (ContainerStatus("", restart_count=1, state=ContainerState("terminated", reason="Error")), "", True),
        (
            ContainerStatus("", restart_count=0, state=ContainerState("terminated", reason="Error")),
            "Running",
            False,
        ),
        (ContainerStatus("", restart_count=5, state=RUNNING), "Running", False),
        (
            ContainerStatus(
                "", restart_count=2, state=ContainerState("terminated", reason="Completed", exit_code=0)
            ),
            "Succeeded",
            False,
        ),
    ],
)
def test_a_container_terminated_again_after_restarting_is_crash_looping(
    status: ContainerStatus, phase: str, looping: bool
) -> None:
    assert crash_looping(_pod(status, phase=phase)) is looping


# --- which pods `kcrash diagnose --from` speaks of ---------------------------------------------------


def _diagnosed(tmp_path: Path, **files: str) -> tuple[int, list[dict[str, Any]]]:
    argv: list[str] = []
    for name, text in files.items():
        path = tmp_path / name.replace("_", ".")
        path.write_text(text)
        argv += ["--from", str(path)]
    out, err = io.StringIO(), io.StringIO()
    code = main([*argv, "-o", "json"], stdout=out, stderr=err, stdin=io.StringIO(""))
    return code, json.loads(out.getvalue()) if out.getvalue().strip() else []


@pytest.mark.parametrize(
    "status",
    ["OOMKilled", "Error", "Completed", "ContainerCannotRun"],
)
def test_a_row_that_terminated_after_restarts_is_failing(tmp_path: Path, status: str) -> None:
    code, rows = _diagnosed(
        tmp_path,
        pods_txt=(
            "NAME                     READY   STATUS      RESTARTS      AGE\n"
            f"worker-7d9f8b6c5-x2x9z   0/1     {status:<11} 4 (57s ago)   2m40s\n"
            "web-5c7b9d8f4-abcde      1/1     Running     0             3d\n"
        ),
    )
    assert [row["pod"] for row in rows] == ["worker-7d9f8b6c5-x2x9z"]
    assert code == 1


def test_a_finished_row_without_restarts_is_no_question(tmp_path: Path) -> None:
    code, rows = _diagnosed(
        tmp_path,
        pods_txt=(
            "NAME                    READY   STATUS      RESTARTS   AGE\n"
            "migrate-29z8k           0/1     Completed   0          5m\n"
            "web-5c7b9d8f4-abcde     1/1     Running     0          3d\n"
        ),
    )
    assert (code, rows) == (0, [])


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "describe_txt",
            "    State:          Terminated\n      Reason:       OOMKilled\n      Exit Code:    0\n"
            "      Started:      Thu, 19 Aug 2021 16:22:29 +0300\n      Finished:     Thu, 19 Aug 2021 16:22:30 +0300\n",
        ),
        (
            "logs_txt",
            "$ kubectl logs api-6b8d9c7f5-q4w2e\n/bin/sh: 1: /app/entrypoint.sh: Permission denied\n",
        ),
        (
            "events_txt",
            "Events:\n  Type    Reason   Age   From     Message\n  ----    ------   ----  ----     -------\n"
            "  Normal  Killing  8m    kubelet  Container api failed liveness probe, will be restarted\n"
            "  Normal  Started  8m (x3 over 12m)  kubelet  Started container api\n",
        ),
    ],
)
def test_a_pod_not_failing_now_but_in_trouble_is_diagnosed(tmp_path: Path, name: str, text: str) -> None:
    _, rows = _diagnosed(tmp_path, **{name: text})
    assert len(rows) == 1
    assert rows[0]["cause"] != "healthy"


def test_a_log_of_a_pod_doing_well_is_no_question(tmp_path: Path) -> None:
    code, rows = _diagnosed(tmp_path, logs_txt="$ kubectl logs api-6b8d9c7f5-q4w2e\nlistening on :8080\n")
    assert (code, rows) == (0, [])


def test_a_troubled_pod_is_left_out_beside_a_failing_one(tmp_path: Path) -> None:
    _, rows = _diagnosed(
        tmp_path,
        pods_txt=(
            "NAME                     READY   STATUS             RESTARTS       AGE\n"
            "worker-7d9f8b6c5-x2x9z   0/1     CrashLoopBackOff   9 (20s ago)    30m\n"
            "web-5c7b9d8f4-abcde      1/1     Running            2 (2d ago)     3d\n"
        ),
    )
    assert [row["pod"] for row in rows] == ["worker-7d9f8b6c5-x2x9z"]


def test_only_the_troubled_pods_when_none_is_failing(tmp_path: Path) -> None:
    _, rows = _diagnosed(
        tmp_path,
        pods_txt=(
            "NAME                     READY   STATUS    RESTARTS     AGE\n"
            "worker-7d9f8b6c5-x2x9z   1/1     Running   2 (2d ago)   3d\n"
            "web-5c7b9d8f4-abcde      1/1     Running   0            3d\n"
        ),
    )
    assert [row["pod"] for row in rows] == ["worker-7d9f8b6c5-x2x9z"]


@pytest.mark.parametrize("state", [None, ContainerState("waiting", reason="CrashLoopBackOff")])
def test_a_log_pasted_without_a_running_state_is_read_as_the_dying_words(
    state: ContainerState | None,
) -> None:
    statuses = (ContainerStatus("web", state=state),) if state is not None else ()
    inp = DiagnosisInput(
        pod=Pod(namespace="", name="web-1", container_statuses=statuses),
        now=datetime(2025, 1, 1, tzinfo=UTC),
        current_log="starting\nError: unknown flag: --leader-elect\n",
    )
    facts = gather(inp)
    assert (facts.log_lines[-1], facts.log_source) == ("Error: unknown flag: --leader-elect", "log")


def test_the_log_of_a_running_container_is_not_the_dying_words() -> None:
    inp = DiagnosisInput(
        pod=Pod(namespace="", name="web-1", container_statuses=(ContainerStatus("web", state=RUNNING),)),
        now=datetime(2025, 1, 1, tzinfo=UTC),
        current_log="Error: transient\n",
    )
    assert gather(inp).log_lines == ()


@pytest.mark.parametrize("exit_code", [0, 137])
def test_a_pod_that_succeeded_with_an_oom_killed_container_is_no_success(
    tmp_path: Path, exit_code: int
) -> None:
    """The kubelet reports an OOM kill of a container's child as the container's reason even when
    the container then exits 0 and the pod ends Succeeded."""
    status = (
        "status:\n"
        "  containerStatuses:\n"
        "  - name: train\n"
        "    restartCount: 0\n"
        "    state:\n"
        "      terminated:\n"
        f"        exitCode: {exit_code}\n"
        '        finishedAt: "2024-08-29T00:51:41Z"\n'
        "        reason: OOMKilled\n"
        '        startedAt: "2024-08-29T00:51:22Z"\n'
        "  phase: Succeeded\n"
    )
    _, rows = _diagnosed(tmp_path, status_yaml=status)
    assert [row["cause"] for row in rows] == ["oom-killed"]
