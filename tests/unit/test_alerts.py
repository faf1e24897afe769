"""The alert rules, the windows that fold storms, scoping, mutes and the config file's settings."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

import pytest

from kcrash.core.alerts import (
    AlertConfigError,
    AlertEngine,
    DeploymentState,
    alert_json,
    alert_text,
    owner_of,
    parse_config,
    slack_payload,
)
from kcrash.core.records import (
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    MemorySample,
    OwnerRef,
    Pod,
    PodCondition,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MI = 1024 * 1024


def pod(
    name: str = "web-7d9f8c6b5-abcde",
    *,
    ns: str = "shop",
    restarts: int = 0,
    waiting: str = "",
    last: str = "",
    exit_code: int = 1,
    finished: datetime | None = None,
    message: str = "",
    rs: str = "web-7d9f8c6b5",
    labels: tuple[tuple[str, str], ...] = (("app", "web"), ("pod-template-hash", "7d9f8c6b5")),
    limit: int | None = 256 * MI,
) -> Pod:
    state = ContainerState("waiting", reason=waiting) if waiting else ContainerState("running", started_at=T0)
    last_state = (
        ContainerState(
            "terminated", reason=last, exit_code=exit_code, finished_at=finished or T0, message=message
        )
        if last
        else None
    )
    ready = PodCondition("Ready", "False" if waiting else "True", last_transition=T0 - timedelta(minutes=30))
    return Pod(
        namespace=ns,
        name=name,
        labels=labels,
        owners=(OwnerRef("ReplicaSet", rs, controller=True),),
        phase="Running",
        start_time=T0 - timedelta(hours=1),
        conditions=(ready,),
        containers=(ContainerSpec("app", "shop/web:1", memory_limit=limit),),
        container_statuses=(
            ContainerStatus(
                "app", ready=not waiting, restart_count=restarts, state=state, last_state=last_state
            ),
        ),
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def started(*pods: Pod, config_text: str = "") -> AlertEngine:
    engine = AlertEngine(parse_config(tomllib.loads(config_text)))
    engine.baseline(pods, T0)
    return engine


def test_owner_is_the_deployment_behind_the_replicaset() -> None:
    assert owner_of(pod()) == "Deployment/web"
    assert owner_of(pod(rs="other", labels=())) == "ReplicaSet/other"
    bare = Pod(namespace="shop", name="debug")
    assert owner_of(bare) == "Pod/debug"


def test_a_restart_fires_once_with_its_exit() -> None:
    engine = started(pod())
    fired = engine.update([pod(restarts=1, last="Error", exit_code=3, message="panic: boom")], [], at(5))
    assert [(a.rule, a.restart_count, a.exit_code, a.reason) for a in fired] == [("restarted", 1, 3, "Error")]
    assert fired[0].dying_words == "panic: boom"
    assert fired[0].owner == "Deployment/web"


def test_an_oom_kill_is_one_oom_alert_not_also_a_restart() -> None:
    engine = started(pod())
    fired = engine.update([pod(restarts=1, last="OOMKilled", exit_code=137, finished=at(4))], [], at(5))
    assert [a.rule for a in fired] == ["oom-killed"]
    assert fired[0].severity == "critical"
    assert fired[0].likely_cause.startswith("OOMKilled — memory limit 256Mi")
    assert fired[0].cause == "oom-killed"


def test_oom_alert_quotes_the_growth_the_samples_show() -> None:
    engine = started(pod())
    before = pod()
    for minute in range(5):
        engine.memory(before, MemorySample(at(minute * 60), "app", (100 + 30 * minute) * MI), at(minute * 60))
    fired = engine.update([pod(restarts=1, last="OOMKilled", exit_code=137, finished=at(300))], [], at(301))
    assert fired[0].likely_cause == "OOMKilled — memory limit 256Mi, grew 30Mi/min"


def test_a_storm_folds_into_one_alert_per_owner_per_window() -> None:
    engine = started(pod(), pod("web-7d9f8c6b5-fghij"))
    fired = []
    for n in range(1, 6):
        fired += engine.update([pod(restarts=n, last="OOMKilled", finished=at(n))], [], at(n * 10))
        fired += engine.update(
            [pod("web-7d9f8c6b5-fghij", restarts=n, last="OOMKilled", finished=at(n))], [], at(n * 10 + 1)
        )
    oom = [a for a in fired if a.rule == "oom-killed"]
    assert len(oom) == 1
    assert engine.get(oom[0].id) is not None and engine.get(oom[0].id).count == 10  # type: ignore[union-attr]
    later = engine.update([pod(restarts=6, last="OOMKilled", finished=at(3700))], [], at(3700))
    assert [a.rule for a in later if a.rule == "oom-killed"] == ["oom-killed"]  # the window (1h) ran out


def test_crash_loop_needs_two_restarts() -> None:
    engine = started(pod())
    assert [
        a.rule for a in engine.update([pod(restarts=1, last="Error", waiting="CrashLoopBackOff")], [], at(1))
    ] == ["restarted"]
    fired = engine.update(
        [pod(restarts=2, last="Error", waiting="CrashLoopBackOff", finished=at(2))], [], at(3)
    )
    assert "crash-loop" in [a.rule for a in fired]


def test_restart_rate_fires_at_the_threshold_within_the_period() -> None:
    engine = started(pod(), config_text="[rules.restart-rate]\nrestarts = 3\nperiod = '10m'\n")
    rules: list[str] = []
    for n in range(1, 4):
        rules += [
            a.rule for a in engine.update([pod(restarts=n, last="Error", finished=at(n))], [], at(n * 60))
        ]
    assert rules.count("restart-rate") == 1
    spaced = started(pod("slow-1"), config_text="[rules.restart-rate]\nrestarts = 3\n")
    rules = []
    for n in range(1, 4):
        rules += [
            a.rule
            for a in spaced.update([pod("slow-1", restarts=n, last="Error", finished=at(n))], [], at(n * 400))
        ]
    assert "restart-rate" not in rules


def test_stuck_waiting_fires_only_after_a_minute() -> None:
    engine = started(pod())
    assert engine.update([pod(waiting="ImagePullBackOff")], [], at(1)) == []
    assert engine.tick(at(30)) == []
    fired = engine.tick(at(62))
    assert [(a.rule, a.reason) for a in fired] == [("stuck-waiting", "ImagePullBackOff")]
    assert engine.tick(at(200)) == []  # once per episode


def test_a_wait_that_ends_within_the_minute_fires_nothing() -> None:
    engine = started(pod())
    engine.update([pod(waiting="CreateContainerConfigError")], [], at(1))
    engine.update([pod()], [], at(20))
    assert engine.tick(at(120)) == []


def test_pods_failing_at_start_are_listed_not_fired() -> None:
    engine = AlertEngine()
    listed = engine.baseline(
        [pod(restarts=7, waiting="CrashLoopBackOff", last="Error"), pod("calm-1", rs="calm", labels=())], T0
    )
    assert [(a.rule, a.state) for a in listed] == [("crash-loop", "already-failing")]
    assert listed[0].since == T0 - timedelta(minutes=30)
    assert "already failing since 30m ago" in alert_text(listed[0], T0)
    # the same state seen again is nothing new; the next kill is
    assert engine.update([pod(restarts=7, waiting="CrashLoopBackOff", last="Error")], [], at(1)) == []
    fired = engine.update([pod(restarts=8, last="Error", finished=at(2))], [], at(3))
    assert [a.rule for a in fired] == ["restarted"]


def test_scope_by_namespace_and_label_and_mute() -> None:
    config = "[alerts]\nexclude_namespaces = ['kube-system']\nselector = 'app!=batch'\n"
    engine = started(
        pod(ns="kube-system"), pod("job-1", labels=(("app", "batch"),), rs="job"), config_text=config
    )
    assert engine.update([pod(ns="kube-system", restarts=1, last="Error")], [], at(1)) == []
    assert (
        engine.update(
            [pod("job-1", labels=(("app", "batch"),), rs="job", restarts=1, last="Error")], [], at(1)
        )
        == []
    )
    muted = started(pod())
    muted.mute("shop", "Deployment/web", at(600))
    assert muted.update([pod(restarts=1, last="Error")], [], at(10)) == []
    assert len(muted.update([pod(restarts=2, last="Error", finished=at(700))], [], at(700))) == 1


def test_memory_high_fires_at_ninety_percent_and_rearms_below() -> None:
    engine = started(pod())
    p = pod()
    assert engine.memory(p, MemorySample(at(0), "app", 200 * MI), at(0)) == []
    fired = engine.memory(p, MemorySample(at(15), "app", 240 * MI), at(15))
    assert [(a.rule, a.reason) for a in fired] == [("memory-high", "MemoryHigh")]
    assert "94% of limit" in fired[0].message
    assert engine.memory(p, MemorySample(at(30), "app", 245 * MI), at(30)) == []


def test_deployment_stuck_listed_at_first_then_fired() -> None:
    engine = AlertEngine()
    stuck = DeploymentState("shop", "api", "ProgressDeadlineExceeded", 'ReplicaSet "api-2" has timed out')
    first = engine.deployments([stuck], T0)
    assert [(a.rule, a.state) for a in first] == [("deployment-stuck", "already-failing")]
    assert engine.deployments([DeploymentState("shop", "api", "NewReplicaSetAvailable")], at(10)) == []
    again = engine.deployments([stuck], at(20))
    assert [(a.rule, a.state, a.owner) for a in again] == [("deployment-stuck", "new", "Deployment/api")]


def test_acknowledge_clears_the_oom_mark() -> None:
    engine = started(pod())
    [alert] = engine.update([pod(restarts=1, last="OOMKilled")], [], at(1))
    assert engine.marked_owners() == {("shop", "Deployment/web")}
    assert engine.unacknowledged == 1
    engine.acknowledge(alert.id)
    assert engine.marked_owners() == set()
    assert engine.unacknowledged == 0


def test_json_has_the_documented_fields_and_hostile_text_is_cleaned() -> None:
    engine = started(pod())
    [alert] = engine.update([pod(restarts=1, last="Error", message="bad\x1b]0;pwned\x07 end")], [], at(1))
    row = alert_json(alert)
    for key in (
        "time",
        "severity",
        "rule",
        "namespace",
        "pod",
        "container",
        "owner",
        "restart_count",
        "exit_code",
        "reason",
        "message",
    ):
        assert key in row
    assert row["time"] == "2025-03-01T12:00:01Z"
    assert "\x1b" not in (row["dying_words"] or "")
    payload = slack_payload(alert)
    assert payload["text"].startswith("[info] restarted: shop/web-7d9f8c6b5-abcde")
    assert "kcrash diagnose web-7d9f8c6b5-abcde -n shop" in str(payload["blocks"])


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("[rules.nope]\n", "unknown rule [rules.nope]"),
        ("[rules.crash-loop]\nmin_restarts = 'x'\n", "min_restarts must be a number"),
        ("[rules.stuck-waiting]\nafter = 'soon'\n", 'after must be a duration such as "90s"'),
        ("[alerts]\nterminal_notify = 'loud'\n", "terminal_notify must be one of off, bell, desktop, both"),
        ("[alerts]\nselector = 'a b'\n", "selector: cannot read"),
        ("[[mute]]\nowner = 'web'\n", "namespace is required"),
        ("[alerts]\nwebhook = 'ftp://x'\n", "webhook must be an http:// or https:// URL"),
    ],
)
def test_config_mistakes_name_the_key_and_the_fix(text: str, complaint: str) -> None:
    with pytest.raises(AlertConfigError, match=complaint.replace("[", r"\[").replace("(", r"\(")):
        parse_config(tomllib.loads(text))


def test_config_sets_thresholds_windows_and_mutes() -> None:
    config = parse_config(
        tomllib.loads(
            "[alerts]\nterminal_notify = true\n"
            "[rules.crash-loop]\nmin_restarts = 5\nwindow = '30m'\n"
            "[rules.restarted]\nenabled = false\n"
            "[[mute]]\nnamespace = 'shop'\nowner = 'Deployment/web'\nuntil = 2030-01-01T00:00:00Z\n"
        )
    )
    assert config.terminal_notify == "both"
    assert config.rule("crash-loop").threshold == 5
    assert config.rule("crash-loop").window == 1800
    assert not config.rule("restarted").enabled
    assert config.mutes[0].covers("shop", "Deployment/web", T0)
