"""Event lines each opened by a time stamp, as consoles (TrueNAS, Rancher, Lens) copy their events
view, newest first: one event a line, the reason told by the message, the time the stamp's."""

# Pasted rows below are what those consoles copy, verbatim; wrapping them would change them.
# ruff: noqa: E501

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kcrash.cluster.paste.loose import read_events, read_line
from kcrash.cluster.pastes import combine, parse_paste

TRUENAS = (
    '2023-04-20 23:35:13 Startup probe failed: Get "http://172.16.0.97:8112/": dial tcp 172.16.0.97:8112: connect: connection refused\n'
    "2023-04-20 23:34:59 Started container deluge\n"
    "2023-04-20 23:34:58 Created container deluge\n"
    '2023-04-20 23:34:56 Successfully pulled image "tccr.io/truecharts/deluge:v2.1.1" in 20.894501403s\n'
    '2023-04-20 23:34:35 Pulling image "tccr.io/truecharts/deluge:v2.1.1"\n'
    "2023-04-20 23:34:30 Successfully assigned ix-deluge/deluge-7d9f8b6c5d-x2x9z to ix-truenas\n"
)


@pytest.mark.parametrize(
    ("line", "reason", "type_", "when"),
    [
        (
            '2023-04-20 23:35:13 Startup probe failed: Get "http://172.16.0.97:8112/": dial tcp 172.16.0.97:8112: connect: connection refused',
            "Unhealthy",
            "Warning",
            datetime(2023, 4, 20, 23, 35, 13, tzinfo=UTC),
        ),
        (
            "2023-04-20 23:34:59 Started container deluge",
            "Started",
            "Normal",
            datetime(2023, 4, 20, 23, 34, 59, tzinfo=UTC),
        ),
        (
            "2023-04-20T23:34:58Z Created container: deluge",
            "Created",
            "Normal",
            datetime(2023, 4, 20, 23, 34, 58, tzinfo=UTC),
        ),
        (
            '2024-01-05T10:00:00+02:00 Successfully pulled image "nginx:1.25" in 1.2s (1.2s including waiting)',
            "Pulled",
            "Normal",
            datetime(2024, 1, 5, 8, 0, 0, tzinfo=UTC),
        ),
        (
            '2024/01/05 10:00:01 Container image "busybox:1.36" already present on machine',
            "Pulled",
            "Normal",
            datetime(2024, 1, 5, 10, 0, 1, tzinfo=UTC),
        ),
        (
            "2024-01-05 10:00:02 Back-off restarting failed container web in pod web-1_shop(uid)",
            "BackOff",
            "Warning",
            datetime(2024, 1, 5, 10, 0, 2, tzinfo=UTC),
        ),
        (
            "2024-01-05 10:00:03 Liveness probe failed: HTTP probe failed with statuscode: 500",
            "Unhealthy",
            "Warning",
            datetime(2024, 1, 5, 10, 0, 3, tzinfo=UTC),
        ),
        (
            "2024-01-05 10:00:04 Readiness probe failed: connection refused",
            "Unhealthy",
            "Warning",
            datetime(2024, 1, 5, 10, 0, 4, tzinfo=UTC),
        ),
        (
            "2024-01-05 10:00:05 Warning BackOff Back-off restarting failed container",
            "BackOff",
            "Warning",
            datetime(2024, 1, 5, 10, 0, 5, tzinfo=UTC),
        ),
        (
            "2024-01-05 10:00:06 Pod sandbox changed, it will be killed and re-created.",
            "SandboxChanged",
            "Normal",
            datetime(2024, 1, 5, 10, 0, 6, tzinfo=UTC),
        ),
    ],
)
def test_a_stamped_line_is_an_event_at_its_time(line: str, reason: str, type_: str, when: datetime) -> None:
    (event,) = read_events([line]).events
    assert (event.event.reason, event.event.type) == (reason, type_)
    assert event.event.last_seen == when
    assert event.line == line


def test_stamped_lines_are_separate_events_not_one_wrapped_message() -> None:
    read = read_events(TRUENAS.splitlines())
    reasons = [e.event.reason for e in read.events]
    assert reasons == ["Unhealthy", "Started", "Created", "Pulled", "Pulling", "Scheduled"]
    assert read.events[0].event.message.endswith("connect: connection refused")
    assert not read.unread


def test_a_stamped_events_paste_is_put_in_time_order_and_named_by_its_scheduled_event() -> None:
    (pasted,) = combine([parse_paste(TRUENAS)], now=datetime(2025, 1, 1, tzinfo=UTC))
    assert (pasted.pod.namespace, pasted.pod.name) == ("ix-deluge", "deluge-7d9f8b6c5d-x2x9z")
    assert [e.reason for e in pasted.events] == [
        "Scheduled",
        "Pulling",
        "Pulled",
        "Created",
        "Started",
        "Unhealthy",
    ]
    # Taken no earlier than its newest event, not at the reader's clock.
    assert pasted.as_of == datetime(2023, 4, 20, 23, 35, 13, tzinfo=UTC)
    assert pasted.as_of_basis == "latest-time"


@pytest.mark.parametrize(
    "line",
    [
        "2023-04-20 22:45:28 INFO Started container runtime in 2.3s",
        "2023-04-20 22:45:28 rm: cannot remove '/usr/bin/with-contenv': Read-only file system",
        "2023-04-20 22:45:28,119 INFO success: nginx entered RUNNING state",
    ],
)
def test_a_stamped_log_line_is_no_event(line: str) -> None:
    assert read_line(line) is None


def test_started_container_alone_keeps_its_whole_message() -> None:
    row = read_line("Started container web")
    assert row is not None and (row.reason, row.message) == ("Started", "Started container web")
