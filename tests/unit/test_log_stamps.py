"""A log read with the kubelet's timestamps is the instance's own only if every line falls in its run."""

from __future__ import annotations

from datetime import UTC, datetime

from kcrash.cluster.logs import unstamped_within

STARTED = datetime(2026, 12, 7, 2, 58, 8, tzinfo=UTC)
FINISHED = datetime(2026, 12, 7, 2, 58, 9, tzinfo=UTC)


def test_lines_within_the_run_are_kept_without_their_stamps() -> None:
    text = "2026-12-07T02:58:08.359123456Z starting\n2026-12-07T02:58:09.980Z FATAL: no DATABASE_URL\n"
    assert unstamped_within(text, STARTED, FINISHED) == "starting\nFATAL: no DATABASE_URL\n"


def test_a_line_written_after_the_instance_finished_is_another_instances_log() -> None:
    text = "2026-12-07T02:58:08.359Z starting\n2026-12-07T02:58:21.001Z starting again\n"
    assert unstamped_within(text, STARTED, FINISHED) is None


def test_a_line_written_before_the_instance_started_is_another_instances_log() -> None:
    assert unstamped_within("2026-12-07T02:57:50.000Z old\n", STARTED, FINISHED) is None


def test_a_line_without_a_stamp_is_kept_and_not_judged() -> None:
    text = "ed line cut by limitBytes\n2026-12-07T02:58:08.500Z next\n"
    assert unstamped_within(text, STARTED, FINISHED) == "ed line cut by limitBytes\nnext\n"


def test_no_times_known_keeps_every_line() -> None:
    assert unstamped_within("2026-12-07T03:00:00Z late\n", None, None) == "late\n"
