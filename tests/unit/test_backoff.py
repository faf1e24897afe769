"""The kubelet back-off model: delays, the kubelet's own figure, countdowns and the reset window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kcrash.core.backoff import BackoffEstimate, estimate_backoff, kubelet_delay, model_delay
from kcrash.core.records import ContainerState, ContainerStatus

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def exited(finished: float, code: int = 1, reason: str = "Error", ran: float = 5) -> ContainerState:
    return ContainerState(
        "terminated", reason=reason, exit_code=code, started_at=ago(finished + ran), finished_at=ago(finished)
    )


def crashloop(restarts: int, finished: float | None, message: str = "") -> ContainerStatus:
    last = None if finished is None else exited(finished)
    state = ContainerState("waiting", reason="CrashLoopBackOff", message=message)
    return ContainerStatus("web", restart_count=restarts, state=state, last_state=last)


def msg(delay: str) -> str:
    return f"back-off {delay} restarting failed container=web pod=web-7d9f8b6c5-x2x4z_crashlab(5f1c)"


@pytest.mark.parametrize(
    ("restarts", "want"),
    [
        (0, 0.0),
        (1, 10.0),
        (2, 20.0),
        (3, 40.0),
        (4, 80.0),
        (5, 160.0),
        (6, 300.0),
        (7, 300.0),
        (10_000, 300.0),
    ],
)
def test_model_delay_doubles_to_the_cap(restarts: int, want: float) -> None:
    assert model_delay(restarts) == want


@pytest.mark.parametrize(("restarts", "want"), [(1, 1.0), (4, 8.0), (7, 60.0), (50, 60.0)])
def test_model_delay_with_a_faster_curve(restarts: int, want: float) -> None:
    assert model_delay(restarts, initial=1, cap=60) == want


@pytest.mark.parametrize(
    ("message", "want"),
    [
        (msg("10s"), 10.0),
        (msg("40s"), 40.0),
        (msg("2m40s"), 160.0),
        (msg("5m0s"), 300.0),
        ("Back-off 5m0s restarting failed container=web pod=web_crashlab(1)", 300.0),
        ("back-off soon restarting failed container=web", None),
        ('Back-off pulling image "example/web:nope"', None),
        ("", None),
    ],
)
def test_kubelet_delay_from_waiting_message(message: str, want: float | None) -> None:
    assert kubelet_delay(message) == want


ESTIMATES = [
    pytest.param(
        crashloop(3, 26, msg("40s")),
        {
            "phase": "backoff",
            "delay": 40.0,
            "source": "kubelet",
            "remaining": 14.0,
            "next_restart_at": ago(-14),
        },
        "restart 4 in 14s (back-off 40s, kubelet's figure, estimate); resets after 10m of clean running",
        id="kubelet-figure",
    ),
    pytest.param(
        crashloop(7, 166),
        {"phase": "backoff", "delay": 300.0, "source": "model", "remaining": 134.0},
        "restart 8 in 2m14s (back-off 5m0s, estimate); resets after 10m of clean running",
        id="model-at-the-cap",
    ),
    pytest.param(
        crashloop(7, 100, msg("10s")),
        {"delay": 10.0, "source": "kubelet", "remaining": 0.0},
        "restart 8 due now (back-off 10s, kubelet's figure, estimate); resets after 10m of clean running",
        id="kubelet-figure-wins-over-model",
    ),
    pytest.param(
        crashloop(2, 400),
        {"delay": 20.0, "remaining": 0.0},
        "restart 3 due now (back-off 20s, estimate); resets after 10m of clean running",
        id="overdue",
    ),
    pytest.param(
        crashloop(2, None),
        {"delay": 20.0, "remaining": None, "next_restart_at": None},
        "restart 3 time unknown (back-off 20s, estimate); resets after 10m of clean running",
        id="no-finish-time",
    ),
    pytest.param(
        ContainerStatus("web", restart_count=5, state=ContainerState("running", started_at=ago(192))),
        {"phase": "running", "running_for": 192.0, "next_delay": 160.0, "stable": False},
        "stable for 3m12s of 10m before reset; an exit now would wait 2m40s (estimate)",
        id="running-within-reset-window",
    ),
    pytest.param(
        ContainerStatus("web", restart_count=6, state=ContainerState("running", started_at=ago(700))),
        {"phase": "running", "stable": True},
        "running 11m; back-off has reset, an exit now restarts at once (estimate)",
        id="running-past-reset-window",
    ),
    pytest.param(
        ContainerStatus("web", restart_count=2, state=ContainerState("running")),
        {"phase": "running", "running_for": None},
        "running; back-off resets after 10m of clean running (estimate)",
        id="running-without-start-time",
    ),
    pytest.param(
        ContainerStatus("web", restart_count=2, state=exited(5)),
        {"phase": "exited", "delay": 20.0, "remaining": 15.0},
        "restart 3 in 15s (back-off 20s, estimate); resets after 10m of clean running",
        id="just-exited",
    ),
    pytest.param(
        ContainerStatus("web", restart_count=5, state=exited(1, ran=1000)),
        {"phase": "exited", "delay": 0.0, "remaining": 0.0},
        "restart 6 due now (back-off 0s, estimate); resets after 10m of clean running",
        id="exit-after-long-run-restarts-at-once",
    ),
    pytest.param(
        ContainerStatus("web", restart_count=0, state=exited(1)),
        {"phase": "exited", "delay": 0.0},
        "restart 1 due now (back-off 0s, estimate); resets after 10m of clean running",
        id="first-exit-restarts-at-once",
    ),
    pytest.param(
        ContainerStatus("web", state=ContainerState("waiting", reason="ImagePullBackOff")),
        {"phase": "waiting", "waiting_reason": "ImagePullBackOff", "delay": None},
        "waiting (ImagePullBackOff); no restart countdown",
        id="waiting-for-something-else",
    ),
    pytest.param(
        ContainerStatus("web"),
        {"phase": "unknown"},
        "no restart expected",
        id="no-state",
    ),
]


@pytest.mark.parametrize(("status", "fields", "line"), ESTIMATES)
def test_estimate_backoff(status: ContainerStatus, fields: dict[str, object], line: str) -> None:
    estimate = estimate_backoff(status, NOW)
    for name, value in fields.items():
        assert getattr(estimate, name) == value, name
    assert estimate.describe() == line


@pytest.mark.parametrize(
    ("policy", "code", "phase"),
    [
        ("Never", 1, "stopped"),
        ("Never", 0, "stopped"),
        ("OnFailure", 0, "stopped"),
        ("OnFailure", 1, "exited"),
    ],
)
def test_restart_policy_decides_whether_it_restarts(policy: str, code: int, phase: str) -> None:
    status = ContainerStatus("job", restart_count=0, state=exited(3, code=code))
    estimate = estimate_backoff(status, NOW, restart_policy=policy)
    assert estimate.phase == phase
    if phase == "stopped":
        assert estimate.describe() == "exited; the restart policy does not restart it"


def test_node_specific_curve() -> None:
    estimate = estimate_backoff(crashloop(10, 30), NOW, initial=1, cap=60, reset_after=120)
    assert (estimate.delay, estimate.remaining) == (60.0, 30.0)
    assert estimate.describe().endswith("resets after 2m of clean running")


def test_estimate_is_frozen_and_numbers_next_restart() -> None:
    estimate = estimate_backoff(crashloop(7, 10), NOW)
    assert isinstance(estimate, BackoffEstimate)
    assert estimate.next_restart == 8
    with pytest.raises(AttributeError):
        estimate.delay = 1.0  # type: ignore[misc]
