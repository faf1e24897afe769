"""STATUS / READY / RESTARTS as kubectl prints them, and kcrash's triage of pods.

The first tables mirror TestPrintPod and TestPrintPodWithRestartableInitContainer in kubernetes
pkg/printers/internalversion/printers_test.go (times relative to NOW instead of time.Now()).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kcrash.core.records import (
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    Pod,
    PodCondition,
)
from kcrash.core.status import (
    age,
    is_failing,
    last_exit,
    pod_columns,
    pod_restarts,
    pod_status,
    pod_summary,
    primary_container,
    problems,
    ready,
    restart_count,
    severity,
)

NOW = datetime(2025, 3, 14, 9, 30, 0, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


RUNNING = ContainerState("running", started_at=ago(3600))
NO_STATE = ContainerState("unknown")


def running(since: float = 3600) -> ContainerState:
    return ContainerState("running", started_at=ago(since))


def waiting(reason: str = "", message: str = "") -> ContainerState:
    return ContainerState("waiting", reason=reason, message=message)


def terminated(
    code: int | None = 0,
    reason: str = "",
    *,
    signal: int | None = None,
    finished: float | None = None,
    started: float | None = None,
) -> ContainerState:
    return ContainerState(
        "terminated",
        reason=reason,
        exit_code=code,
        signal=signal,
        finished_at=None if finished is None else ago(finished),
        started_at=None if started is None else ago(started),
    )


def restarted(finished: float, code: int = 1, reason: str = "Error") -> ContainerState:
    """A lastState.terminated that finished `finished` seconds before NOW."""
    return terminated(code, reason, finished=finished, started=finished + 5)


def cs(
    name: str = "app",
    state: ContainerState = NO_STATE,
    *,
    ready: bool = False,
    restarts: int = 0,
    last: ContainerState | None = None,
    started: bool | None = None,
) -> ContainerStatus:
    return ContainerStatus(
        name, ready=ready, started=started, restart_count=restarts, state=state, last_state=last
    )


def pod(
    *statuses: ContainerStatus,
    containers: int | None = None,
    init: tuple[str, ...] = (),
    sidecars: tuple[str, ...] = (),
    init_statuses: tuple[ContainerStatus, ...] = (),
    phase: str = "Running",
    reason: str = "",
    conditions: tuple[PodCondition, ...] = (),
    deleted: datetime | None = None,
    created: datetime | None = None,
    default_container: str = "",
    restart_policy: str = "Always",
) -> Pod:
    """A pod whose app containers are named after their statuses (or c0, c1, ...)."""
    count = len(statuses) if containers is None else containers
    names = [s.name for s in statuses][:count] + [f"c{i}" for i in range(len(statuses), count)]
    init_specs = tuple(ContainerSpec(n, "busybox", init=True) for n in init) + tuple(
        ContainerSpec(n, "envoy", init=True, restart_policy="Always") for n in sidecars
    )
    return Pod(
        namespace="crashlab",
        name="web-7d9f8b6c5-x2x4z",
        phase=phase,
        reason=reason,
        conditions=conditions,
        deletion_timestamp=deleted,
        created_at=created,
        containers=tuple(ContainerSpec(n, "example/web:1.2") for n in names),
        init_containers=init_specs,
        container_statuses=statuses,
        init_container_statuses=init_statuses,
        default_container=default_container,
        restart_policy=restart_policy,
    )


def cond(kind: str, status: str, reason: str = "", since: float | None = None) -> PodCondition:
    return PodCondition(kind, status, reason=reason, last_transition=None if since is None else ago(since))


READY_TRUE = cond("Ready", "True")
INITIALIZED_TRUE = cond("Initialized", "True")
INITIALIZED_FALSE = cond("Initialized", "False")

# (pod, READY, STATUS, RESTARTS) — ported from printers_test.go TestPrintPod.
UPSTREAM_CASES = [
    pytest.param(
        pod(cs("a", RUNNING, ready=True, restarts=3), cs("b", restarts=3), phase="podPhase"),
        "1/2",
        "podPhase",
        "6",
        id="test1-phase-and-counts",
    ),
    pytest.param(
        pod(
            cs("a", RUNNING, ready=True, restarts=3),
            cs("b", waiting("ContainerWaitingReason"), restarts=3),
            phase="podPhase",
        ),
        "1/2",
        "ContainerWaitingReason",
        "6",
        id="test2-container-error-overwrites-phase",
    ),
    pytest.param(
        pod(
            cs("a", waiting("ContainerWaitingReason"), restarts=3),
            cs("b", terminated(0, "ContainerTerminatedReason"), restarts=3),
            phase="podPhase",
        ),
        "0/2",
        "ContainerWaitingReason",
        "6",
        id="test3-first-container-wins",
    ),
    pytest.param(
        pod(cs("a", RUNNING, ready=True, restarts=3), cs("b", ready=True, restarts=3), phase="podPhase"),
        "1/2",
        "podPhase",
        "6",
        id="test4-ready-is-not-running",
    ),
    pytest.param(
        pod(
            cs("a", RUNNING, ready=True, restarts=3),
            cs("b", ready=True, restarts=3),
            phase="podPhase",
            reason="podReason",
        ),
        "1/2",
        "podReason",
        "6",
        id="test5-pod-reason-wins-over-phase",
    ),
    pytest.param(
        pod(
            cs("a", terminated(0, "Completed"), ready=True, restarts=3),
            cs("b", RUNNING, ready=True, restarts=3),
        ),
        "1/2",
        "NotReady",
        "6",
        id="test6-completed-and-running-without-ready-condition",
    ),
    pytest.param(
        pod(
            cs("a", terminated(0, "Completed"), ready=True, restarts=3),
            cs("b", RUNNING, ready=True, restarts=3),
            conditions=(READY_TRUE,),
        ),
        "1/2",
        "Running",
        "6",
        id="test6b-completed-and-running-with-ready-condition",
    ),
    pytest.param(
        pod(
            cs("app", waiting()),
            init=("init",),
            init_statuses=(cs("init", RUNNING, restarts=3, last=restarted(10)),),
            phase="podPhase",
        ),
        "0/1",
        "Init:0/1",
        "3 (10s ago)",
        id="test7-init-container-restarting",
    ),
    pytest.param(
        pod(
            cs("app", waiting()),
            init=("i1", "i2"),
            init_statuses=(cs("i1", RUNNING, restarts=3, last=restarted(10)), cs("i2", waiting())),
            phase="podPhase",
        ),
        "0/1",
        "Init:0/2",
        "3 (10s ago)",
        id="test8-first-of-two-init-containers",
    ),
    pytest.param(
        pod(
            cs("app", waiting()),
            init=("i1", "i2"),
            init_statuses=(cs("i1", terminated(0)), cs("i2", RUNNING, restarts=3, last=restarted(10))),
            phase="podPhase",
        ),
        "0/1",
        "Init:1/2",
        "3 (10s ago)",
        id="test9-second-init-container",
    ),
    pytest.param(
        pod(
            cs("app", waiting()),
            init=("i1", "i2"),
            init_statuses=(
                cs("i1", terminated(0), restarts=2, last=restarted(120)),
                cs("i2", RUNNING, restarts=3, last=restarted(10)),
            ),
            phase="podPhase",
        ),
        "0/1",
        "Init:1/2",
        "5 (10s ago)",
        id="test10-init-restarts-add-up",
    ),
    pytest.param(
        pod(
            cs("app", RUNNING, restarts=4, last=restarted(20)),
            init=("i1",),
            init_statuses=(cs("i1", terminated(0), restarts=2, last=restarted(120)),),
        ),
        "0/1",
        "Running",
        "4 (20s ago)",
        id="test11-init-done-only-app-restarts-count",
    ),
    pytest.param(
        pod(cs("app", RUNNING, ready=True, restarts=3, last=restarted(5 * 86400))),
        "1/1",
        "Running",
        "3 (5d ago)",
        id="test12-restarted-5d-ago",
    ),
    pytest.param(
        pod(
            cs("a", RUNNING, ready=True),
            cs("b", RUNNING, ready=True, restarts=3, last=restarted(10 * 86400)),
        ),
        "2/2",
        "Running",
        "3 (10d ago)",
        id="test13-one-container-restarted",
    ),
    pytest.param(
        pod(
            cs("a", RUNNING, ready=True, restarts=6, last=restarted(5 * 86400)),
            cs("b", RUNNING, ready=True, restarts=3, last=restarted(20 * 86400)),
        ),
        "2/2",
        "Running",
        "9 (5d ago)",
        id="test14-newest-restart-shown",
    ),
    pytest.param(
        pod(
            containers=2,
            phase="podPhase",
            conditions=(cond("PodScheduled", "False", "SchedulingGated"),),
        ),
        "0/2",
        "SchedulingGated",
        "0",
        id="test15-scheduling-gated",
    ),
    pytest.param(
        pod(cs("app", terminated(0, "Completed")), phase="Succeeded"),
        "0/1",
        "Completed",
        "0",
        id="test16-succeeded",
    ),
    pytest.param(
        pod(cs("app", terminated(1, "Error")), phase="Failed"),
        "0/1",
        "Error",
        "0",
        id="test17-failed",
    ),
    pytest.param(
        pod(cs("app", terminated(0, "Completed")), phase="Succeeded", deleted=ago(10)),
        "0/1",
        "Completed",
        "0",
        id="test18-succeeded-being-deleted-keeps-status",
    ),
    pytest.param(
        pod(cs("app", RUNNING), deleted=ago(10)),
        "0/1",
        "Terminating",
        "0",
        id="test19-running-being-deleted",
    ),
    pytest.param(
        pod(containers=1, phase="Pending", deleted=ago(10)),
        "0/1",
        "Terminating",
        "0",
        id="test20-pending-being-deleted",
    ),
]

# Ported from TestPrintPodWithRestartableInitContainer (native sidecars).
SIDECAR_CASES = [
    pytest.param(
        pod(
            cs("app", waiting()),
            sidecars=("s1", "s2"),
            init_statuses=(
                cs("s1", RUNNING, restarts=3, last=restarted(10), started=False),
                cs("s2", waiting(), started=False),
            ),
            phase="Pending",
            conditions=(INITIALIZED_FALSE,),
        ),
        "0/3",
        "Init:0/2",
        "3 (10s ago)",
        id="sidecar-first-not-started",
    ),
    pytest.param(
        pod(
            cs("app", waiting()),
            sidecars=("s1", "s2"),
            init_statuses=(
                cs("s1", RUNNING, restarts=3, last=restarted(10), started=True),
                cs("s2", RUNNING, started=False),
            ),
            phase="Pending",
            conditions=(INITIALIZED_FALSE,),
        ),
        "0/3",
        "Init:1/2",
        "3 (10s ago)",
        id="sidecar-second-not-started",
    ),
    pytest.param(
        pod(
            cs("app", RUNNING, ready=True, restarts=4, last=restarted(20)),
            sidecars=("s1", "s2"),
            init_statuses=(
                cs("s1", RUNNING, restarts=3, last=restarted(10), started=True),
                cs("s2", RUNNING, started=True),
            ),
            conditions=(INITIALIZED_TRUE,),
        ),
        "1/3",
        "Running",
        "7 (10s ago)",
        id="sidecars-started-restarts-add-up",
    ),
    pytest.param(
        pod(
            cs("app", RUNNING, ready=True),
            sidecars=("s1",),
            init_statuses=(cs("s1", RUNNING, ready=True, started=True),),
            conditions=(INITIALIZED_TRUE,),
        ),
        "2/2",
        "Running",
        "0",
        id="ready-sidecar-counts-as-ready",
    ),
    pytest.param(
        pod(
            cs("app", terminated(0, "Completed"), restarts=4, last=restarted(20)),
            sidecars=("s1", "s2"),
            init_statuses=(
                cs("s1", terminated(137, "Error"), restarts=3, last=restarted(10), started=False),
                cs("s2", terminated(137, "Error"), started=False),
            ),
            phase="Succeeded",
            conditions=(INITIALIZED_TRUE,),
        ),
        "0/3",
        "Completed",
        "7 (10s ago)",
        id="sidecars-killed-after-job-completed",
    ),
    pytest.param(
        Pod(
            namespace="crashlab",
            name="test4",
            phase="Running",
            containers=(ContainerSpec("container1", "containerimage"),),
            init_containers=(
                ContainerSpec("init1", "initimage", init=True),
                ContainerSpec("sidecar1", "sidecarimage", init=True, restart_policy="Always"),
            ),
            init_container_statuses=(cs("initinvalid"), cs("init1"), cs("sidecar1")),
            container_statuses=(cs("containerinvalid"), cs("container1")),
        ),
        "0/2",
        "Init:0/2",
        "0",
        id="statuses-for-unknown-containers",
    ),
]

# Beyond the upstream tables: what crash-looping pods really look like.
KCRASH_CASES = [
    pytest.param(
        pod(
            cs(
                "web",
                waiting(
                    "CrashLoopBackOff", "back-off 5m0s restarting failed container=web pod=web_crashlab(1)"
                ),
                restarts=7,
                last=restarted(123, 1, "Error"),
            )
        ),
        "0/1",
        "CrashLoopBackOff",
        "7 (2m3s ago)",
        id="crashloop",
    ),
    pytest.param(
        pod(
            cs(
                "web",
                terminated(137, "OOMKilled", finished=3),
                restarts=2,
                last=restarted(60, 137, "OOMKilled"),
            )
        ),
        "0/1",
        "OOMKilled",
        "2 (60s ago)",
        id="oom-killed-just-now",
    ),
    pytest.param(
        pod(cs("web", terminated(None, "", signal=9))),
        "0/1",
        "Signal:9",
        "0",
        id="signal-without-reason",
    ),
    pytest.param(
        pod(cs("web", terminated(3, ""))),
        "0/1",
        "ExitCode:3",
        "0",
        id="exit-code-without-reason",
    ),
    pytest.param(
        pod(cs("web", waiting("CreateContainerConfigError", 'secret "db-creds" not found'))),
        "0/1",
        "CreateContainerConfigError",
        "0",
        id="missing-secret",
    ),
    pytest.param(
        pod(cs("web", waiting("ImagePullBackOff")), phase="Pending"),
        "0/1",
        "ImagePullBackOff",
        "0",
        id="bad-image-tag",
    ),
    pytest.param(
        pod(
            cs("web", waiting("PodInitializing")),
            init=("migrate",),
            init_statuses=(cs("migrate", waiting("CrashLoopBackOff"), restarts=4, last=restarted(30)),),
            phase="Pending",
        ),
        "0/1",
        "Init:CrashLoopBackOff",
        "4 (30s ago)",
        id="init-crashloop",
    ),
    pytest.param(
        pod(
            cs("web", waiting("PodInitializing")),
            init=("migrate",),
            init_statuses=(cs("migrate", waiting("PodInitializing")),),
            phase="Pending",
        ),
        "0/1",
        "Init:0/1",
        "0",
        id="init-podinitializing-is-progress",
    ),
    pytest.param(
        pod(
            cs("web", waiting("PodInitializing")),
            init=("migrate",),
            init_statuses=(cs("migrate", terminated(137, "", signal=9)),),
            phase="Pending",
        ),
        "0/1",
        "Init:Signal:9",
        "0",
        id="init-signal",
    ),
    pytest.param(
        pod(
            cs("web", waiting("PodInitializing")),
            init_statuses=(cs("migrate", terminated(None, "", signal=9)), cs("second", waiting())),
            init=("migrate", "second"),
            phase="Pending",
        ),
        "0/1",
        "Init:1/2",
        "0",
        id="init-exit-zero-counts-as-done-even-with-signal",
    ),
    pytest.param(
        pod(
            cs("web", waiting("PodInitializing")),
            init=("migrate",),
            init_statuses=(cs("migrate", terminated(2, "")),),
            phase="Pending",
        ),
        "0/1",
        "Init:ExitCode:2",
        "0",
        id="init-exit-code",
    ),
    pytest.param(
        pod(
            cs("web", waiting("PodInitializing")),
            init=("migrate",),
            init_statuses=(cs("migrate", terminated(1, "Error")),),
            phase="Pending",
        ),
        "0/1",
        "Init:Error",
        "0",
        id="init-error",
    ),
    pytest.param(
        pod(cs("web", terminated(137, "ContainerStatusUnknown")), phase="Failed", reason="Evicted"),
        "0/1",
        "ContainerStatusUnknown",
        "0",
        id="evicted-container-reason-wins",
    ),
    pytest.param(
        pod(phase="Failed", reason="Evicted", containers=1),
        "0/1",
        "Evicted",
        "0",
        id="evicted-without-statuses",
    ),
    pytest.param(
        pod(cs("web", RUNNING, ready=True), reason="NodeLost", deleted=ago(30)),
        "1/1",
        "Unknown",
        "0",
        id="node-lost",
    ),
    pytest.param(
        pod(cs("web", RUNNING, ready=False, restarts=2, last=restarted(40, 137, "Error"))),
        "0/1",
        "Running",
        "2 (40s ago)",
        id="running-not-ready-after-liveness-kill",
    ),
    pytest.param(
        pod(cs("web", RUNNING, ready=True, restarts=2)),
        "1/1",
        "Running",
        "2",
        id="restarts-without-finish-time",
    ),
]


@pytest.mark.parametrize(("the_pod", "want_ready", "want_status", "want_restarts"), UPSTREAM_CASES)
def test_print_pod_matches_upstream(
    the_pod: Pod, want_ready: str, want_status: str, want_restarts: str
) -> None:
    assert (ready(the_pod), pod_status(the_pod, NOW), pod_restarts(the_pod, NOW)) == (
        want_ready,
        want_status,
        want_restarts,
    )


@pytest.mark.parametrize(("the_pod", "want_ready", "want_status", "want_restarts"), SIDECAR_CASES)
def test_print_pod_with_sidecars(the_pod: Pod, want_ready: str, want_status: str, want_restarts: str) -> None:
    assert (ready(the_pod), pod_status(the_pod), pod_restarts(the_pod, NOW)) == (
        want_ready,
        want_status,
        want_restarts,
    )


@pytest.mark.parametrize(("the_pod", "want_ready", "want_status", "want_restarts"), KCRASH_CASES)
def test_print_pod_crash_shapes(the_pod: Pod, want_ready: str, want_status: str, want_restarts: str) -> None:
    assert (ready(the_pod), pod_status(the_pod), pod_restarts(the_pod, NOW)) == (
        want_ready,
        want_status,
        want_restarts,
    )


@pytest.mark.parametrize(
    ("the_pod", "count"),
    [
        (pod(cs("a", restarts=3), cs("b", restarts=4)), 7),
        # While initializing, plain init containers' restarts are what counts...
        (
            pod(
                cs("app", waiting("PodInitializing"), restarts=0),
                init=("i",),
                init_statuses=(cs("i", waiting("CrashLoopBackOff"), restarts=5),),
            ),
            5,
        ),
        # ...once initialized, only app containers and sidecars.
        (
            pod(
                cs("app", RUNNING, restarts=1),
                init=("i",),
                sidecars=("s",),
                init_statuses=(
                    cs("i", terminated(0), restarts=5),
                    cs("s", RUNNING, started=True, restarts=2),
                ),
            ),
            3,
        ),
        (pod(containers=1, phase="Pending"), 0),
    ],
)
def test_restart_count(the_pod: Pod, count: int) -> None:
    assert restart_count(the_pod) == count


def test_columns_record_the_newest_restart_time() -> None:
    the_pod = pod(
        cs("a", RUNNING, restarts=1, last=restarted(300)), cs("b", RUNNING, restarts=1, last=restarted(30))
    )
    assert pod_columns(the_pod).last_restart == ago(30)


@pytest.mark.parametrize(
    ("created", "want"),
    [(None, "<unknown>"), (ago(0), "0s"), (ago(190), "3m10s"), (ago(49 * 3600), "2d1h")],
)
def test_age(created: datetime | None, want: str) -> None:
    assert age(pod(containers=1, created=created), NOW) == want


@pytest.mark.parametrize(
    ("status", "want"),
    [
        ("Running", "ok"),
        ("Completed", "done"),
        ("Succeeded", "done"),
        ("ExitCode:0", "done"),
        ("CrashLoopBackOff", "error"),
        ("Error", "error"),
        ("OOMKilled", "error"),
        ("ImagePullBackOff", "error"),
        ("ErrImagePull", "error"),
        ("CreateContainerConfigError", "error"),
        ("Evicted", "error"),
        ("OutOfmemory", "error"),
        ("ExitCode:1", "error"),
        ("Signal:9", "error"),
        ("Init:Error", "error"),
        ("Init:CrashLoopBackOff", "error"),
        ("Init:ExitCode:3", "error"),
        ("Init:Signal:9", "error"),
        ("Init:0/2", "warn"),
        ("Init:ContainerCreating", "warn"),
        ("Pending", "warn"),
        ("ContainerCreating", "warn"),
        ("PodInitializing", "warn"),
        ("NotReady", "warn"),
        ("Terminating", "warn"),
        ("SchedulingGated", "warn"),
        ("Unknown", "warn"),
        ("SomethingNew", "warn"),
    ],
)
def test_severity(status: str, want: str) -> None:
    assert severity(status) == want


HEALTHY = pod(cs("web", running(7200), ready=True), conditions=(READY_TRUE,), created=ago(86400))
PROBLEM_CASES = [
    pytest.param(HEALTHY, (), id="healthy"),
    pytest.param(pod(cs("web", terminated(0, "Completed")), phase="Succeeded"), (), id="completed-job"),
    pytest.param(
        pod(cs("web", waiting("CrashLoopBackOff"), restarts=7, last=restarted(100))),
        ("web: CrashLoopBackOff",),
        id="crashloop",
    ),
    pytest.param(
        pod(cs("web", waiting("CreateContainerConfigError"))),
        ("web: CreateContainerConfigError",),
        id="config-error",
    ),
    pytest.param(
        pod(cs("web", terminated(137, "OOMKilled", finished=2), restarts=3)),
        ("web: exit 137 OOMKilled",),
        id="terminated-nonzero",
    ),
    pytest.param(
        pod(cs("web", running(20), ready=True, restarts=4, last=restarted(20, 0, "Completed"))),
        ("web: restarted 20s ago (exit 0 Completed)",),
        id="exits-zero-loop-caught-between-crashes",
    ),
    pytest.param(
        pod(cs("web", running(7200), ready=True, restarts=4, last=restarted(7200))),
        (),
        id="old-restart-is-history",
    ),
    pytest.param(
        pod(cs("web", running(700), restarts=4, last=restarted(700, 137, "Error"))),
        ("web: not ready for 11m",),
        id="not-ready-long-after-restart",
    ),
    pytest.param(pod(cs("web", running(60))), (), id="starting-up-not-ready-yet"),
    pytest.param(pod(cs("web", running(900))), ("web: not ready for 15m",), id="never-ready"),
    pytest.param(
        pod(
            cs("web", waiting("PodInitializing")),
            init=("wait-db",),
            init_statuses=(cs("wait-db", running(1200)),),
            phase="Pending",
            created=ago(1300),
        ),
        ("pending for 21m", "wait-db: init container still running after 20m"),
        id="init-container-blocking",
    ),
    pytest.param(
        pod(phase="Failed", reason="Evicted", containers=1),
        ("pod failed (Evicted)",),
        id="evicted",
    ),
    pytest.param(
        pod(
            containers=1,
            phase="Pending",
            conditions=(cond("PodScheduled", "False", "Unschedulable", since=300),),
            created=ago(300),
        ),
        ("unschedulable",),
        id="unschedulable",
    ),
    pytest.param(
        pod(
            containers=1,
            phase="Pending",
            conditions=(cond("PodScheduled", "False", "SchedulingGated", since=3000),),
            created=ago(3000),
        ),
        (),
        id="gated-on-purpose",
    ),
    pytest.param(
        pod(cs("web", running(7200), ready=True), deleted=ago(300)),
        ("still terminating 5m past its deadline",),
        id="stuck-terminating",
    ),
    pytest.param(
        pod(cs("web", running(7200), ready=True), deleted=ago(-20)),
        (),
        id="terminating-within-grace",
    ),
    pytest.param(
        pod(
            cs("web", RUNNING, ready=True),
            sidecars=("proxy",),
            init_statuses=(cs("proxy", waiting("CrashLoopBackOff"), restarts=3, started=False),),
        ),
        ("proxy: CrashLoopBackOff",),
        id="sidecar-crashloop",
    ),
]


@pytest.mark.parametrize(("the_pod", "want"), PROBLEM_CASES)
def test_problems(the_pod: Pod, want: tuple[str, ...]) -> None:
    assert problems(the_pod, NOW) == want
    assert is_failing(the_pod, NOW) is bool(want)


PRIMARY_CASES = [
    pytest.param(HEALTHY, "web", id="single-container"),
    pytest.param(
        pod(
            cs("web", RUNNING, ready=True),
            cs("log-shipper", RUNNING, ready=True),
            default_container="log-shipper",
        ),
        "log-shipper",
        id="healthy-uses-default-container",
    ),
    pytest.param(
        pod(cs("web", RUNNING, ready=True), cs("proxy", RUNNING, ready=True), default_container="nope"),
        "web",
        id="unknown-default-falls-back-to-first",
    ),
    pytest.param(
        pod(cs("web", RUNNING, ready=True), cs("worker", waiting("CrashLoopBackOff"), restarts=3)),
        "worker",
        id="the-crashing-one",
    ),
    pytest.param(
        pod(cs("a", terminated(1, "Error"), restarts=1), cs("b", waiting("CrashLoopBackOff"), restarts=1)),
        "b",
        id="waiting-error-beats-terminated",
    ),
    pytest.param(
        pod(
            cs("a", waiting("CrashLoopBackOff"), restarts=2),
            cs("b", waiting("CrashLoopBackOff"), restarts=9),
        ),
        "b",
        id="more-restarts-break-ties",
    ),
    pytest.param(
        pod(
            cs("web", waiting("PodInitializing")),
            init=("wait-db", "migrate"),
            init_statuses=(
                cs("wait-db", terminated(0)),
                cs("migrate", waiting("CrashLoopBackOff"), restarts=2),
            ),
            phase="Pending",
        ),
        "migrate",
        id="blocking-init-container-first",
    ),
    pytest.param(
        pod(
            cs("web", RUNNING, ready=True),
            sidecars=("proxy",),
            init_statuses=(cs("proxy", waiting("CrashLoopBackOff"), restarts=3, started=True),),
            conditions=(INITIALIZED_TRUE,),
        ),
        "proxy",
        id="crashing-sidecar",
    ),
    pytest.param(pod(containers=0, phase="Pending"), "", id="no-containers-at-all"),
]


@pytest.mark.parametrize(("the_pod", "want"), PRIMARY_CASES)
def test_primary_container(the_pod: Pod, want: str) -> None:
    assert primary_container(the_pod) == want


LAST_EXIT_CASES = [
    pytest.param(HEALTHY, (None, ""), id="never-exited"),
    pytest.param(
        pod(cs("web", waiting("CrashLoopBackOff"), restarts=5, last=restarted(30, 137, "OOMKilled"))),
        (137, "OOMKilled"),
        id="oom-from-last-state",
    ),
    pytest.param(
        pod(cs("web", terminated(1, "Error"), restarts=5, last=restarted(300, 137, "OOMKilled"))),
        (1, "Error"),
        id="current-termination-wins",
    ),
    pytest.param(
        pod(
            cs(
                "web",
                waiting("CrashLoopBackOff"),
                restarts=1,
                last=terminated(None, "", signal=11, finished=5),
            )
        ),
        (None, "Signal:11"),
        id="signal-only",
    ),
    pytest.param(
        pod(
            cs("web", RUNNING, ready=True, restarts=1, last=restarted(9000, 143, "Error")),
            cs("worker", waiting("CrashLoopBackOff"), restarts=6, last=restarted(20, 1, "Error")),
        ),
        (1, "Error"),
        id="from-the-crashing-container",
    ),
]


@pytest.mark.parametrize(("the_pod", "want"), LAST_EXIT_CASES)
def test_last_exit(the_pod: Pod, want: tuple[int | None, str]) -> None:
    assert last_exit(the_pod) == want


SUMMARY_PODS = [
    pytest.param(case.values[0], id=f"{table}-{case.id}")
    for table, cases in (
        ("upstream", UPSTREAM_CASES),
        ("sidecar", SIDECAR_CASES),
        ("problems", PROBLEM_CASES),
        ("primary", PRIMARY_CASES),
        ("last-exit", LAST_EXIT_CASES),
    )
    for case in cases
]


@pytest.mark.parametrize("the_pod", SUMMARY_PODS)
def test_summary_agrees_with_the_functions_it_stands_for(the_pod: Pod) -> None:
    summary = pod_summary(the_pod)
    assert summary.columns == pod_columns(the_pod)
    assert summary.container == primary_container(the_pod)
    assert (summary.exit_code, summary.exit_reason) == last_exit(the_pod)
    assert summary.container_status == the_pod.status_for(summary.container)
