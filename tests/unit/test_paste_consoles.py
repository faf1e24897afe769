"""A container's state copied out of a web console (Rancher, Lens, OpenShift's pod page), and an exit 0
that a crash-loop back-off shows to be restarted when no restart count or spec says so."""

# Lines below are written as the consoles print them; wrapping them would change what they test.
# ruff: noqa: E501

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from kcrash.cluster.paste.consoles import console_pods, is_console_line
from kcrash.core.diagnose import diagnose
from kcrash.core.records import ContainerState, ContainerStatus, DiagnosisInput, Event, Pod
from kcrash.diagnose_cmd import main

NOW = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
BACKOFF = "back-off 5m0s restarting failed container=web pod=web-7d9f8b6c5d-x2x9z_shop(0d2c5e9a-1f3b-4c55-9d1e-2b7c1a0e4f11)"


def verdicts(paste: str) -> list[tuple[str, str]]:
    """(cause, pod) of every pod `kcrash diagnose --from -` finds failing in the paste."""
    out, err = io.StringIO(), io.StringIO()
    main(["--from", "-", "-o", "json"], stdout=out, stderr=err, stdin=io.StringIO(paste))
    rows: list[dict[str, Any]] = json.loads(out.getvalue()) if out.getvalue() else []
    return [(row["cause"], row["pod"]) for row in rows]


# --- the reader -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason", "code"),
    [
        (
            f"CrashLoopBackOff ({BACKOFF}) | Last state: Terminated with : Completed, started: x, finished: y",
            "Completed",
            0,
        ),
        (
            f"CrashLoopBackOff ({BACKOFF}) | Last state: Terminated with 137: OOMKilled, started: x",
            "OOMKilled",
            137,
        ),
        (f"CrashLoopBackOff ({BACKOFF}) | Last state: Terminated with 1: Error, started: x", "Error", 1),
        (f"CrashLoopBackOff ({BACKOFF}) | Last state: Terminated with : Error", "Error", None),
    ],
)
def test_rancher_names_the_pod_and_its_last_state(line: str, reason: str, code: int | None) -> None:
    (facts,) = console_pods([line])
    (status,) = facts.pod.container_statuses
    assert (facts.pod.namespace, facts.pod.name, status.name) == ("shop", "web-7d9f8b6c5d-x2x9z", "web")
    assert (status.state.kind, status.state.reason) == ("waiting", "CrashLoopBackOff")
    assert status.last_state is not None
    assert (status.last_state.reason, status.last_state.exit_code) == (reason, code)
    assert facts.sources["web/lastState.terminated.reason"] == line


def test_lens_reason_with_its_exit_code() -> None:
    (facts,) = console_pods(["Last Status: Terminated", "Reason: Error - exit code: 1"])
    (status,) = facts.pod.container_statuses
    assert status.last_state == ContainerState("terminated", reason="Error", exit_code=1)
    assert facts.pod.name == ""


def test_openshift_labels_over_their_values() -> None:
    page = [
        "State:",
        "Waiting (CrashLoopBackOff)",
        "Last State",
        "Terminated at Apr 18, 2017 9:12:19 PM (Completed)",
    ]
    (facts,) = console_pods([*page, "Ready:", "false", "Restart Count:", "75"])
    (status,) = facts.pod.container_statuses
    assert (status.state.reason, status.restart_count) == ("CrashLoopBackOff", 75)
    assert status.last_state == ContainerState("terminated", reason="Completed", exit_code=0)


@pytest.mark.parametrize(
    "line",
    [
        "    Last State:     Terminated",  # describe's own layout is describe's to read
        "      Reason:       Completed",
        "Reason: Completed",
        "CrashLoopBackOff: back-off 5m0s restarting failed container=web",  # a waiting line, not a console's
        "the pod is Waiting (for the database)",
    ],
)
def test_lines_no_console_prints(line: str) -> None:
    assert not is_console_line(line)
    assert console_pods([line]) == []


# --- the whole command ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paste", "cause"),
    [
        (
            f"CrashLoopBackOff ({BACKOFF}) | Last state: Terminated with : Completed, started: a, finished: a\n",
            "exits-zero",
        ),
        (
            f"CrashLoopBackOff ({BACKOFF}) | Last state: Terminated with 137: OOMKilled, started: a, finished: b\n",
            "oom-killed",
        ),
    ],
)
def test_a_rancher_line_alone(paste: str, cause: str) -> None:
    assert verdicts(paste) == [(cause, "web-7d9f8b6c5d-x2x9z")]


def test_an_openshift_console_page_with_describe_like_labels() -> None:
    page = (
        "Status:\nCrash loop back off\nRestart Policy:\nAlways\n\n"
        "State:\nWaiting (CrashLoopBackOff)\nLast State\nTerminated at Apr 18, 2017 9:12:19 PM (Completed)\n"
        "Ready:\nfalse\nRestart Count:\n75\n"
    )
    assert [cause for cause, _ in verdicts(page)] == ["exits-zero"]


@pytest.mark.parametrize(
    ("status", "cause"),
    [("Reason: Completed - exit code: 0", "exits-zero"), ("Reason: Error - exit code: 1", "app-error")],
)
def test_a_chat_message_quoting_the_back_off_and_the_console(status: str, cause: str) -> None:
    chat = (
        "In Kubernetes the pod keeps giving me `Back-off restarting failed container` and the last status\n"
        f"```\nterminated\n{status}\n```\nwhy does it stop?\n"
    )
    assert [found for found, _ in verdicts(chat)] == [cause]


# --- exit 0 proved restarted by a back-off ------------------------------------------------------------


def _exit_zero(state: ContainerState, events: tuple[Event, ...] = ()) -> str:
    status = ContainerStatus(
        name="web", state=state, last_state=ContainerState("terminated", reason="Completed", exit_code=0)
    )
    pod = Pod(namespace="shop", name="web-1", container_statuses=(status,))
    inp = DiagnosisInput(pod=pod, now=NOW, events=events, absent=frozenset({"spec"}))
    return diagnose(inp).cause


def test_exit_zero_waiting_in_back_off_is_restarted() -> None:
    assert _exit_zero(ContainerState("waiting", reason="CrashLoopBackOff")) == "exits-zero"


def test_exit_zero_with_a_back_off_event_is_restarted() -> None:
    backoff = Event(
        namespace="shop",
        name="",
        type="Warning",
        reason="BackOff",
        message="Back-off restarting failed container web in pod web-1_shop(uid)",
        involved_kind="Pod",
        involved_name="web-1",
    )
    assert _exit_zero(ContainerState("unknown"), (backoff,)) == "exits-zero"


def test_exit_zero_as_the_last_state_is_itself_a_restart() -> None:
    # The kubelet moves a termination to lastState only when it starts the container again.
    assert _exit_zero(ContainerState("unknown")) == "exits-zero"


def test_exit_zero_as_the_current_state_with_nothing_to_say_it_is_restarted_is_no_verdict() -> None:
    status = ContainerStatus(name="web", state=ContainerState("terminated", reason="Completed", exit_code=0))
    pod = Pod(namespace="shop", name="web-1", container_statuses=(status,))
    inp = DiagnosisInput(pod=pod, now=NOW, absent=frozenset({"spec"}))
    assert diagnose(inp).cause != "exits-zero"
