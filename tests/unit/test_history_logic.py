"""The archive's pure parts: which instances ended and how their log is read, redaction, the token bucket."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kcrash.core.records import ContainerState, ContainerStatus, Pod
from kcrash.core.redact import MASK, RedactionError, Redactor
from kcrash.core.terminations import ended_instances, log_flag
from kcrash.core.tokenbucket import TokenBucket

T0 = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
T1 = datetime(2025, 3, 14, 9, 1, tzinfo=UTC)


def dead(cid: str) -> ContainerState:
    return ContainerState(
        "terminated", reason="Error", exit_code=1, started_at=T0, finished_at=T1, container_id=cid
    )


def pod(state: ContainerState, last: ContainerState | None, restarts: int) -> Pod:
    status = ContainerStatus("app", restart_count=restarts, state=state, last_state=last)
    return Pod("ns", "p", container_statuses=(status,))


RUNNING = ContainerState("running", started_at=T1, container_id="containerd://c3")
BACKOFF = ContainerState("waiting", reason="CrashLoopBackOff")


def test_a_terminated_state_is_read_as_the_current_log_and_numbered_by_restart_count() -> None:
    [just_died, before] = ended_instances(pod(dead("containerd://c2"), dead("containerd://c1"), 2))
    assert (just_died.container_id, just_died.restart, just_died.place) == ("containerd://c2", 2, "state")
    assert (before.container_id, before.restart, before.place) == ("containerd://c1", 1, "lastState")
    assert log_flag(pod(dead("containerd://c2"), dead("containerd://c1"), 2), just_died) is False


def test_last_state_is_read_without_previous_in_back_off_and_with_it_once_the_next_runs() -> None:
    waiting = pod(BACKOFF, dead("containerd://c2"), 2)
    [ended] = ended_instances(waiting)
    assert ended.restart == 2  # the kubelet counts an instance when it creates it
    assert log_flag(waiting, ended) is False
    running = pod(RUNNING, dead("containerd://c2"), 3)
    [same] = ended_instances(running)
    assert same.container_id == ended.container_id and same.restart == 2
    assert log_flag(running, ended) is True


def test_an_instance_replaced_by_a_newer_death_has_no_log_left() -> None:
    [ended] = ended_instances(pod(BACKOFF, dead("containerd://c2"), 2))
    later = pod(BACKOFF, dead("containerd://c3"), 3)
    assert log_flag(later, ended) is None


def test_an_instance_without_a_container_id_is_not_a_crash_to_archive() -> None:
    assert ended_instances(pod(BACKOFF, ContainerState("terminated", exit_code=1), 1)) == []


@pytest.mark.parametrize(
    ("line", "kept", "gone"),
    [
        ("connecting with password=hunter2 to db", "password=" + MASK, "hunter2"),
        ('{"api_key": "sk-12345abcdef"}', MASK, "sk-12345abcdef"),
        ("Authorization: Bearer abcdefghijklmnop", MASK, "abcdefghijklmnop"),
        ("dsn postgres://orders:s3cr3t@db:5432/orders", "postgres://orders:" + MASK + "@db", "s3cr3t"),
        ("token eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl here", MASK, "eyJhbGciOi"),
        ("key AKIAABCDEFGHIJKLMNOP used", MASK, "AKIAABCDEFGHIJKLMNOP"),
    ],
)
def test_default_patterns_mask_credentials_and_keep_the_rest(line: str, kept: str, gone: str) -> None:
    out = Redactor.build().line(line)
    assert kept in out
    assert gone not in out


def test_a_plain_crash_line_is_left_alone_and_configured_patterns_apply() -> None:
    redactor = Redactor.build([r"card=(?P<value>\d+)"])
    assert redactor.line("FATAL: required environment variable DATABASE_URL is not set") == (
        "FATAL: required environment variable DATABASE_URL is not set"
    )
    assert redactor.text("a\ncard=4111111111111111 declined") == f"a\ncard={MASK} declined"
    assert Redactor.build(defaults=False).line("password=x") == "password=x"
    with pytest.raises(RedactionError, match="not a regular expression"):
        Redactor.build(["("])


def test_the_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait(0.0) == pytest.approx(0.5)
    assert not bucket.take(0.4)
    assert bucket.take(0.5)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]  # never more than the burst
