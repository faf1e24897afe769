"""The drill-down's sections: content from records, cluster text kept as inert text (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from kcrash.core.records import (
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    Deployment,
    Diagnosis,
    Event,
    Evidence,
    OwnerRef,
    Pod,
    PodCondition,
    Revision,
)
from kcrash.ui import sections

NOW = datetime(2025, 3, 14, 9, 30, 0, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


OOM = ContainerState(
    "terminated", reason="OOMKilled", exit_code=137, started_at=ago(300), finished_at=ago(60)
)
POD = Pod(
    "shop",
    "worker-1",
    restart_policy="Always",
    containers=(ContainerSpec("app", "img:1"),),
    container_statuses=(
        ContainerStatus(
            "app",
            restart_count=7,
            state=ContainerState(
                "waiting",
                reason="CrashLoopBackOff",
                message="back-off 2m40s restarting failed container=app pod=worker-1_shop(u)",
            ),
            last_state=OOM,
        ),
    ),
)


@pytest.mark.parametrize(
    ("lines", "dying"),
    [
        (["a", "b", "c", "d"], {1, 2, 3}),
        (["a", "b", "", "  "], {0, 1}),
        ([], set()),
        (["only"], {0}),
    ],
)
def test_dying_words_are_the_last_non_empty_lines(lines: list[str], dying: set[int]) -> None:
    assert sections.dying_words(lines) == dying


def test_last_state_reads_like_describe() -> None:
    text = sections.last_state_content(POD, "app", NOW).plain
    for words in ("OOMKilled", "137", "OOM-killed: over its memory limit", "Ran for    4m", "Restarts   7"):
        assert words in text


def test_backoff_line_counts_down_from_the_kubelets_figure() -> None:
    # finished 60 s ago + 160 s back-off = 100 s left
    assert "restart 8 in 1m40s" in sections.backoff_line(POD, "app", NOW).plain
    assert "due now" in sections.backoff_line(POD, "app", NOW + timedelta(seconds=200)).plain


def test_events_warnings_first_newest_first() -> None:
    events = [
        Event("shop", "e1", "Normal", "Pulled", "pulled", last_seen=ago(10)),
        Event("shop", "e2", "Warning", "BackOff", "back-off", count=12, last_seen=ago(100)),
        Event("shop", "e3", "Warning", "Unhealthy", "probe failed", last_seen=ago(50)),
    ]
    assert [e.reason for e in sections.ordered_events(events)] == ["Unhealthy", "BackOff", "Pulled"]
    assert "×12" in sections.events_content(events, NOW).plain


def test_markup_and_escapes_from_the_cluster_stay_text() -> None:
    hostile = "boom [@click=app.quit]quit[/] \x1b[31mred\x1b[0m"
    content = sections.previous_log_content(f"starting\n{hostile}\n", "")
    assert "[@click=app.quit]quit[/]" in content.plain
    assert "\x1b" not in content.plain
    assert all("click" not in str(span.style) for span in content.spans)


def test_diagnosis_lists_evidence_and_numbered_steps() -> None:
    diagnosis = Diagnosis(
        "oom-killed",
        "Container app was OOM-killed",
        container="app",
        evidence=(Evidence("lastState.terminated", "reason: OOMKilled"),),
        next_steps=("Raise the limit", "Look for a leak"),
    )
    text = sections.diagnosis_content(diagnosis).plain
    assert "lastState.terminated: reason: OOMKilled" in text
    assert "1. Raise the limit" in text and "2. Look for a leak" in text


def test_rollout_marks_the_current_revision() -> None:
    deployment = Deployment("shop", "worker", revision=3, replicas=2, ready_replicas=0)
    revisions = (
        Revision("worker-a", 2, (ContainerSpec("app", "img:1"),), created_at=ago(3600)),
        Revision("worker-b", 3, (ContainerSpec("app", "img:2"),), change_cause="bump", created_at=ago(600)),
    )
    lines = sections.rollout_content(deployment, revisions, NOW).plain.splitlines()
    assert lines[1].startswith("▶ rev 3") and "img:2" in lines[1] and "(current)" in lines[1]
    assert lines[2].startswith("  rev 2")
    assert "Not run by a Deployment" in sections.rollout_content(None, (), NOW).plain


def test_a_part_never_read_is_not_called_empty() -> None:
    """Offline, events or a Deployment the pastes left out are said to be missing, not none."""
    assert sections.events_content((), NOW).plain.startswith("No events for this pod")
    assert sections.events_content((), NOW, unknown="No events in the pastes.").plain == (
        "No events in the pastes."
    )
    event = Event("shop", "worker-1.1", "Warning", "BackOff", "Back-off restarting", last_seen=ago(30))
    assert "BackOff" in sections.events_content((event,), NOW, unknown="No events in the pastes.").plain
    unknown = sections.rollout_content(None, (), NOW, unknown="No rollout history in the pastes.").plain
    assert unknown == "No rollout history in the pastes."
    deployment = Deployment("shop", "worker", revision=1, replicas=1, ready_replicas=1)
    assert sections.rollout_content(deployment, (), NOW, unknown="x").plain.startswith("deployment/worker")


def _with_last(last: ContainerState) -> Pod:
    status = ContainerStatus(
        "app", restart_count=8, state=ContainerState("waiting", reason="CrashLoopBackOff")
    )
    return Pod(
        "shop",
        "notifier-1",
        containers=(ContainerSpec("app", "img:1"),),
        container_statuses=(msgspec.structs.replace(status, last_state=last),),
    )


@pytest.mark.parametrize(
    ("last", "started", "ran_for"),
    [
        # The runtime could not start the process: startedAt is the zero time (read as unset).
        (
            ContainerState("terminated", reason="StartError", exit_code=128, finished_at=ago(4)),
            "never started",
            False,
        ),
        (ContainerState("terminated", reason="ContainerCannotRun", exit_code=128), "never started", False),
        (
            ContainerState("terminated", reason="Error", exit_code=1, finished_at=ago(4)),
            "not recorded",
            False,
        ),
        (OOM, "2025-03-14 09:25:00 UTC  5m ago", True),
    ],
)
def test_started_says_never_when_the_container_never_ran(
    last: ContainerState, started: str, ran_for: bool
) -> None:
    text = sections.last_state_content(_with_last(last), "app", NOW).plain
    assert f"Started    {started}\n" in text
    assert "unknown" not in text
    assert ("Ran for" in text) is ran_for


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\tb", "a       b"),
        ("key:\tvalue\tend", "key:    value   end"),
        ("\tindented", "        indented"),
        ("\x1b[31mred\x1b[0m\tnext", "␛[31mred␛[0m    next"),  # stops counted on the shown text
    ],
)
def test_log_tabs_reach_eight_column_stops_and_controls_stay_inert(raw: str, shown: str) -> None:
    assert sections.log_content(raw + "\n", "", current=False).plain == shown


def test_title_keeps_each_label_with_its_value() -> None:
    pod = msgspec.structs.replace(POD, node_name="ip-10-0-12-34.eu-west-1.compute.internal")
    rows = sections.title_content(pod, "app", NOW).wrap(60).plain.split("\n")
    assert rows[-1].endswith("node ip-10-0-12-34.eu-west-1.compute.internal")
    assert not any(row.rstrip().endswith("node") for row in rows)
    assert all(len(row) <= 60 for row in rows)


def test_title_and_last_state_read_the_clock() -> None:
    later = NOW + timedelta(seconds=5)
    assert "(60s ago)" in sections.title_content(POD, "app", NOW).plain
    assert "(65s ago)" in sections.title_content(POD, "app", later).plain
    assert "UTC  60s ago\n" in sections.last_state_content(POD, "app", NOW).plain
    assert "UTC  65s ago\n" in sections.last_state_content(POD, "app", later).plain


@pytest.mark.parametrize(
    ("current", "heading"), [(False, "Previous logs"), (True, "Current log, never restarted")]
)
def test_log_heading_names_the_instance_shown(current: bool, heading: str) -> None:
    assert sections.log_heading("current" if current else "previous").startswith(heading)
    empty = sections.log_content("", "", current=current).plain
    assert empty == ("The container" if current else "The previous container") + " wrote nothing to its log."


def test_rollout_shows_a_stuck_rollout_and_the_revision_the_pod_runs() -> None:
    stuck = PodCondition(
        "Progressing",
        "False",
        reason="ProgressDeadlineExceeded",
        message='ReplicaSet "api-b" has timed out progressing.',
    )
    deployment = Deployment(
        "shop",
        "api",
        revision=2,
        replicas=2,
        conditions=(PodCondition("Available", "True", reason="MinimumReplicasAvailable"), stuck),
    )
    revisions = (
        Revision(
            "api-a", 1, (ContainerSpec("api", "registry.example.com/shop/api:1.4.2"),), template_hash="a"
        ),
        Revision(
            "api-b", 2, (ContainerSpec("api", "registry.example.com/shop/api:1.5.0"),), template_hash="b"
        ),
    )
    old_pod = Pod("shop", "api-a-x1", labels=(("pod-template-hash", "a"),))
    text = sections.rollout_content(deployment, revisions, NOW, pod=old_pod).plain
    assert "Progressing=False  ProgressDeadlineExceeded" in text and "has timed out progressing" in text
    assert "Available=True  MinimumReplicasAvailable" in text
    assert "This pod runs revision 1 (api:1.4.2)  (an older revision)" in text
    new_pod = Pod("shop", "api-b-x2", owners=(OwnerRef("ReplicaSet", "api-b", controller=True),))
    text = sections.rollout_content(deployment, revisions, NOW, pod=new_pod).plain
    assert "This pod runs revision 2 (api:1.5.0)  (the current one)" in text
