"""The diagnosis engine over recorded pods (tests/data/pods), one fixture per cause plus the tricky ones.

Each case is a `kubectl get pod,events,deploy,rs -o json` List, with the previous container's log
(`<case>.previous.log`) and metrics snapshots (`<case>.metrics.json`) when the scenario has them.
The clock of every case reads 2026-11-20T10:30:00Z.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import orjson
import pytest
from msgspec.structs import replace

from kcrash.cluster.parse import parse_objects
from kcrash.cluster.pastes import inputs_from_pastes
from kcrash.core import diagnose as engine
from kcrash.core.diagnose import diagnose
from kcrash.core.diagnose.probes import probe_window
from kcrash.core.records import (
    AbsentPart,
    Cause,
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    Deployment,
    Diagnosis,
    DiagnosisInput,
    Event,
    MemorySample,
    Pod,
    Probe,
    Revision,
)

PODS = Path(__file__).resolve().parent.parent / "data" / "pods"
NOW = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
MI = 2**20


def load_case(
    name: str,
    *,
    metrics_available: bool = True,
    configmap_keys: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> DiagnosisInput:
    parsed = parse_objects(orjson.loads((PODS / f"{name}.json").read_bytes()))
    pod = parsed.pods[0]
    log = PODS / f"{name}.previous.log"
    metrics = PODS / f"{name}.metrics.json"
    memory = (
        parse_objects(orjson.loads(metrics.read_bytes())).metrics_for(pod.namespace, pod.name)
        if metrics.exists()
        else ()
    )
    deployment = parsed.deployments[0] if parsed.deployments else None
    return DiagnosisInput(
        pod=pod,
        now=NOW,
        events=parsed.events,
        previous_log=log.read_text() if log.exists() else None,
        memory=memory,
        deployment=deployment,
        revisions=parsed.revisions_of(deployment) if deployment else (),
        configmap_keys=configmap_keys,
        metrics_available=metrics_available,
    )


def run(name: str, **kwargs: object) -> Diagnosis:
    return diagnose(load_case(name, **kwargs))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Expect:
    """What an experienced engineer would conclude, and the words that must be in the write-up."""

    fixture: str
    cause: str
    container: str
    detail: str = ""
    headline: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # evidence sources that must be cited
    quotes: tuple[str, ...] = ()  # text that must appear in some evidence quote
    steps: tuple[str, ...] = ()  # text that must appear in some next step
    rollout: str = ""
    metrics_available: bool = True
    configmap_keys: tuple[tuple[str, tuple[str, ...]], ...] = ()


CASES = [
    Expect(
        "crash-missing-env",
        "app-error",
        "api",
        detail="missing-env",
        headline=("code 1", "DATABASE_URL is not set"),
        sources=("lastState.terminated", "previous log"),
        quotes=("FATAL required environment variable DATABASE_URL is not set", "not set in the pod spec"),
        steps=("kubectl set env deployment/crash-missing-env -n crashlab -c api DATABASE_URL=<value>",),
    ),
    Expect(
        "missing-env-keyerror",
        "app-error",
        "api",
        detail="missing-env",
        headline=("DATABASE_URL",),
        quotes=("KeyError: 'DATABASE_URL'", "env DATABASE_URL ← Secret reports-db key url"),
        steps=("kubectl describe secret reports-db -n crashlab",),
    ),
    Expect(
        "oom-leak",
        "oom-killed",
        "worker",
        detail="memory-leak",
        headline=("OOM-killed", "256Mi", "leak", "52.0 Mi/min"),
        sources=("lastState.terminated", "memory samples", "memory trend"),
        quotes=(
            "exitCode: 137, reason: OOMKilled",
            "peak 235Mi of the 256Mi limit (91%)",
            "[log ends mid-line]",
        ),
        steps=("heap profile", "--limits=memory=384Mi"),
    ),
    Expect(
        "oom-spike",
        "oom-killed",
        "api",
        detail="over-limit",
        headline=("512Mi",),
        quotes=("peak 182Mi of the 512Mi limit (35%)",),
        steps=("--limits=memory=768Mi", "fell between samples", "180Mi"),
    ),
    Expect(
        "oom-no-metrics",
        "oom-killed",
        "cache",
        detail="over-limit",
        quotes=("metrics.k8s.io is not available",),
        steps=("--limits=memory=192Mi", "No memory samples", "kubectl top pod session-cache-5d7c8b9f6-m4hxk"),
        metrics_available=False,
    ),
    Expect(
        "slow-start-liveness",
        "liveness-probe",
        "web",
        detail="slow-start",
        headline=("before it finishes starting", "killed 20s after start", "gives it 15 s (up to 20 s"),
        sources=("event Unhealthy ×21", "event Killing ×7", "spec container web livenessProbe"),
        quotes=(
            "Container web failed liveness probe, will be restarted",
            "5 + periodSeconds 5 × (failureThreshold 3 - 1) = 15 s",
        ),
        steps=(
            "startupProbe",
            "periodSeconds 10, failureThreshold 12",
            "initialDelaySeconds from 5",
            "Readiness",
        ),
    ),
    Expect(
        "startup-probe-kill",
        "startup-probe",
        "app",
        detail="refused",
        headline=("startup probe", "gives it 50 s (up to 60 s"),
        sources=("event Killing ×4",),
        steps=("failureThreshold 13 with periodSeconds 10 allows 120 s instead of 50 s",),
    ),
    Expect(
        "liveness-hang",
        "liveness-probe",
        "api",
        detail="timeout",
        headline=("after 2h26m of running", "too slowly"),
        steps=("hang, a deadlock", "timeoutSeconds is 1", "local"),
    ),
    Expect(
        "unhealthy-137",  # old server: no Killing event, only Unhealthy before a SIGKILL
        "liveness-probe",
        "web",
        detail="slow-start",
        headline=("before it finishes starting", "grace period"),
        quotes=("HTTP probe failed with statuscode: 503",),
        steps=("startupProbe",),
    ),
    Expect(
        "exit-zero",
        "exits-zero",
        "worker",
        detail="script-ends",
        headline=("exits 0", "foreground"),
        sources=("spec.restartPolicy",),
        quotes=("exitCode: 0, reason: Completed", "done"),
        steps=("Job", "exec <server>", "foreground"),
    ),
    Expect(
        "bad-command",
        "command-not-found",
        "api",
        detail="not-in-path",
        headline=("`pyhton`", "$PATH"),
        sources=("lastState.terminated.message",),
        quotes=("executable file not found in $PATH", "pyhton app.py"),
        steps=("typo of `python`", "kubectl edit deployment/bad-command -n crashlab"),
    ),
    Expect(
        "shell-127",
        "command-not-found",
        "web",
        detail="not-found",
        headline=("`gunicron`", "exit 127"),
        quotes=("/bin/sh: 1: gunicron: not found",),
        steps=("typo of `gunicorn`",),
    ),
    Expect(
        "db-unreachable",
        "dependency-unreachable",
        "api",
        detail="refused",
        headline=("postgres:5432", "connection refused"),
        quotes=('connection to server at "postgres" (10.96.140.12), port 5432 failed: Connection refused',),
        steps=(
            "kubectl run -it --rm debug --image=busybox:1.36 --restart=Never -n crashlab "
            "-- nc -zv postgres 5432",
            "kubernetes.io/service-name=postgres",
            "retry with backoff",
        ),
    ),
    Expect(
        "dependency-dns",
        "dependency-unreachable",
        "api",
        detail="dns",
        headline=("redis-master:6379", "doesn't resolve"),
        sources=("assumed",),
        steps=(
            "kubectl get svc redis-master -n crashlab",
            "nslookup redis-master",
            "nc -zv redis-master 6379",
        ),
    ),
    Expect(
        "bad-image-tag",
        "image-pull",
        "web",
        detail="not-found",
        headline=("ghcr.io/kcrash/web:1.4.3", "doesn't exist"),
        sources=("state.waiting", "event Failed ×7", "event BackOff ×30"),
        quotes=("ghcr.io/kcrash/web:1.4.3: not found",),
        steps=(
            "kubectl rollout undo deployment/bad-image-tag -n crashlab",
            "docker manifest inspect ghcr.io/kcrash/web:1.4.3",
            "web=ghcr.io/kcrash/web:<tag>",
        ),
        rollout="began with revision 2 (image ghcr.io/kcrash/web:1.4.2 → ghcr.io/kcrash/web:1.4.3)",
    ),
    Expect(
        "image-denied",
        "image-pull",
        "api",
        detail="unauthorized",
        headline=("denied access", "registry.internal.example.com"),
        quotes=("insufficient_scope: authorization failed",),
        steps=("imagePullSecrets", "kubernetes.io/dockerconfigjson"),
    ),
    Expect(
        "missing-secret",
        "config-missing",
        "api",
        detail="missing-secret",
        headline=("Secret db-credentials doesn't exist", "env DATABASE_PASSWORD"),
        sources=("state.waiting", "event Failed ×40"),
        quotes=('secret "db-credentials" not found',),
        steps=("kubectl get secret -n crashlab", "Create Secret db-credentials"),
    ),
    Expect(
        "missing-secret-key",
        "config-missing",
        "api",
        detail="missing-secret-key",
        headline=("Key 'password' is missing from Secret db-credentials",),
        quotes=("couldn't find key password in Secret crashlab/db-credentials",),
        steps=("kubectl describe secret db-credentials -n crashlab", "without printing values"),
    ),
    Expect(
        "missing-configmap",  # a ConfigMap volume: the mount fails, the container waits in ContainerCreating
        "volume-mount",
        "web",
        detail="missing-configmap",
        headline=("volume config can't mount", "ConfigMap app-config doesn't exist"),
        sources=("event FailedMount ×12",),
        quotes=('configmap "app-config" not found',),
        steps=("kubectl get configmap -n crashlab",),
    ),
    Expect(
        "missing-configmap-key",
        "config-missing",
        "api",
        detail="missing-configmap-key",
        headline=("Key 'log-level'", "ConfigMap app-settings"),
        steps=("kubectl get configmap app-settings -n crashlab -o yaml", "has 'log_level': a typo"),
        configmap_keys=(("app-settings", ("log_level", "feature_flags")),),
    ),
    Expect(
        "bad-rollout",
        "app-error",
        "api",
        detail="panic",
        headline=("code 2", "panic: runtime error: invalid memory address"),
        steps=("kubectl rollout undo deployment/bad-rollout -n crashlab", "revision 2 had 2 ready"),
        rollout="began with revision 3 (image ghcr.io/kcrash/orders:2.2.1 → ghcr.io/kcrash/orders:2.3.0); "
        "change-cause: kubectl set image",
    ),
    Expect("healthy-web", "healthy", "web", headline=("Running and ready",)),
    Expect(
        "recovered-worker",
        "healthy",
        "worker",
        detail="recovered",
        headline=("3 earlier restarts", "2h29m ago", "OOMKilled"),
        steps=("memory",),
    ),
    Expect(
        "sigkill-no-oom",  # 137 without an OOMKilled reason and without probe events: not OOM
        "killed",
        "api",
        detail="sigkill",
        headline=("SIGKILL", "not marked OOMKilled"),
        quotes=("exitCode: 137, reason: Error", "peak 409Mi of the 1Gi limit"),
        steps=("eviction", "terminationGracePeriodSeconds", "kubectl describe node kind-worker"),
    ),
    Expect(
        "readiness-only",  # readiness failures never restart a container: the exit 1 does
        "app-error",
        "api",
        headline=("failed to load feature flags",),
    ),
    Expect(
        "not-ready",
        "unknown",
        "web",
        detail="readiness-only",
        headline=("not ready", "readiness"),
        quotes=("Readiness probe failed: HTTP probe failed with statuscode: 500",),
    ),
    Expect(
        "init-failing",
        "app-error",
        "migrate",
        detail="migration",
        headline=("Init container migrate", "already exists"),
        steps=("kubectl logs orders-7c6d8f9b5-hx2mb -n crashlab -c migrate --previous",),
    ),
    Expect(
        "multi-container",  # the sidecar and the exporter are fine; the app crashes
        "app-error",
        "app",
        headline=('Configuration property "payments.region" is not defined',),
        steps=("-c app --previous",),
    ),
    Expect(
        "missing-laststate",
        "unknown",
        "api",
        detail="last-state-lost",
        quotes=("not recorded",),
        steps=("kubectl describe pod ledger-8b7c6d5f9-s3gtn -n crashlab", "--previous"),
    ),
    Expect(
        "evicted",  # memory pressure on the node: the pod using far more than it requests goes first
        "evicted",
        "builder",
        detail="low-on-memory",
        headline=("Not a crash loop", "low on resource: memory"),
        sources=("status.reason",),
        steps=("kubectl describe node kind-worker", "memory requests", "replacement"),
    ),
    Expect(
        "unschedulable",
        "unschedulable",
        "trainer",
        detail="insufficient-memory",
        headline=("not scheduled", "0/3 nodes are available"),
        sources=("event FailedScheduling ×6", "condition PodScheduled"),
        steps=("kubectl describe pod ml-trainer-7f8d9c6b5-zk4pv -n crashlab",),
    ),
    Expect(
        "stuck-mount",  # the volume is still attached to the node the previous pod ran on
        "volume-mount",
        "postgres",
        detail="multi-attach",
        headline=("doesn't mount", "Multi-Attach error"),
        sources=("event FailedAttachVolume", "event FailedMount ×10"),
        quotes=("timed out waiting for the condition",),
        steps=("kubectl get volumeattachments", "kubectl get pvc -n crashlab"),
    ),
]


@pytest.mark.parametrize("expect", CASES, ids=[c.fixture for c in CASES])
def test_diagnosis_of_recorded_pods(expect: Expect) -> None:
    diag = run(
        expect.fixture, metrics_available=expect.metrics_available, configmap_keys=expect.configmap_keys
    )
    assert (diag.cause, diag.container, diag.detail) == (
        expect.cause,
        expect.container,
        expect.detail,
    ), diag.headline
    for words in expect.headline:
        assert words in diag.headline
    sources = [e.source for e in diag.evidence]
    for source in expect.sources:
        assert source in sources
    quotes = " | ".join(e.quote for e in diag.evidence)
    for words in expect.quotes:
        assert words in quotes
    steps = " | ".join(diag.next_steps)
    for words in expect.steps:
        assert words in steps
    assert diag.rollout_hint.startswith(expect.rollout) if expect.rollout else diag.rollout_hint == ""


def test_every_cause_has_a_recorded_pod() -> None:
    assert {c.cause for c in CASES} == set(get_args(Cause))


FORBIDDEN_IN_STEPS = (
    re.compile(r"get secrets?\b[^`]*-o\s*(?:yaml|json|jsonpath)"),  # would print secret data
    re.compile(r"<pod>|<namespace>|<container>"),  # the real names are known
)


@pytest.mark.parametrize("expect", CASES, ids=[c.fixture for c in CASES])
def test_every_diagnosis_rests_on_evidence_and_names_real_objects(expect: Expect) -> None:
    inp = load_case(expect.fixture, metrics_available=expect.metrics_available)
    diag = diagnose(inp)
    assert "\n" not in diag.headline and len(diag.headline) <= engine.QUOTE_LIMIT
    if diag.cause != "healthy":
        assert diag.evidence, "a cause without evidence"
        assert diag.next_steps
    for step in diag.next_steps:
        for pattern in FORBIDDEN_IN_STEPS:
            assert not pattern.search(step), step
        if "kubectl logs" in step or "kubectl describe pod" in step:
            assert inp.pod.name in step and "-n crashlab" in step


# --- tricky variations built from the recorded pods ---------------------------------------------------


def with_last_reason(inp: DiagnosisInput, container: str, reason: str) -> DiagnosisInput:
    pod = inp.pod
    statuses = tuple(
        replace(s, last_state=replace(s.last_state, reason=reason))
        if s.name == container and s.last_state
        else s
        for s in pod.container_statuses
    )
    return replace(inp, pod=replace(pod, container_statuses=statuses))


def test_oom_reason_wins_over_probe_failures() -> None:
    inp = with_last_reason(load_case("unhealthy-137"), "web", "OOMKilled")
    assert diagnose(inp).cause == "oom-killed"


def test_exit_137_with_probe_events_is_a_probe_kill_but_without_them_is_not_oom() -> None:
    inp = load_case("unhealthy-137")
    assert diagnose(inp).cause == "liveness-probe"
    without_events = replace(inp, events=())
    diag = diagnose(without_events)
    assert (diag.cause, diag.detail, "SIGKILL" in diag.headline) == ("killed", "sigkill", True)


def test_a_killing_event_from_an_earlier_instance_does_not_explain_this_death() -> None:
    inp = load_case("readiness-only")
    pod = inp.pod
    old_kill = Event(
        "crashlab",
        "k",
        "Normal",
        "Killing",
        "Container api failed liveness probe, will be restarted",
        involved_name=pod.name,
        involved_uid=pod.uid,
        field_path="spec.containers{api}",
        last_seen=NOW - timedelta(minutes=20),
    )
    diag = diagnose(replace(inp, events=(*inp.events, old_kill)))
    assert diag.cause == "app-error"


def test_exit_zero_under_restart_policy_on_failure_is_not_a_loop() -> None:
    inp = load_case("exit-zero")
    diag = diagnose(replace(inp, pod=replace(inp.pod, restart_policy="OnFailure")))
    assert diag.cause != "exits-zero"


def test_connection_retries_followed_by_another_fatal_error_blame_the_app() -> None:
    log = (
        "WARN dial tcp 10.96.0.5:6379: connect: connection refused, retrying in 1s\n"
        "INFO connected to redis\n"
        "panic: assignment to entry in nil map\n"
    )
    diag = diagnose(replace(load_case("db-unreachable"), previous_log=log))
    assert (diag.cause, diag.headline.endswith("panic: assignment to entry in nil map")) == (
        "app-error",
        True,
    )


def test_events_of_other_containers_and_other_pods_are_ignored() -> None:
    inp = load_case("readiness-only")
    other = Event(
        "crashlab",
        "x",
        "Normal",
        "Killing",
        "Container sidecar failed liveness probe, will be restarted",
        involved_name=inp.pod.name,
        field_path="spec.containers{sidecar}",
    )
    other_pod = replace(other, field_path="spec.containers{api}", involved_name="someone-else")
    assert diagnose(replace(inp, events=(*inp.events, other, other_pod))).cause == "app-error"


def test_terminal_escapes_in_messages_are_made_inert() -> None:
    inp = load_case("missing-secret")
    evil = 'secret "db-credentials" not found\x1b]52;c;ZXZpbA==\x07\x1b[2J'
    pod = inp.pod
    waiting = replace(pod.container_statuses[0].state, message=evil)
    status = replace(pod.container_statuses[0], state=waiting)
    diag = diagnose(replace(inp, pod=replace(pod, container_statuses=(status,)), events=()))
    text = diag.headline + "".join(e.quote for e in diag.evidence) + "".join(diag.next_steps)
    assert diag.cause == "config-missing"
    assert "\x1b" not in text and "\x07" not in text


def test_no_memory_samples_is_said_honestly() -> None:
    inp = load_case("oom-leak")
    diag = diagnose(replace(inp, memory=()))
    assert ("memory samples", "none (no samples yet)") in [(e.source, e.quote) for e in diag.evidence]
    assert "leak" not in diag.headline


def test_paused_deployment_must_be_resumed_before_rollback() -> None:
    inp = load_case("bad-rollout")
    assert inp.deployment is not None
    diag = diagnose(replace(inp, deployment=replace(inp.deployment, paused=True)))
    assert "kubectl rollout resume deployment/bad-rollout -n crashlab` first" in diag.next_steps[0]


def _revision(number: int, image: str, ready: int, name: str) -> Revision:
    return Revision(name, number, (ContainerSpec("api", image),), ready_replicas=ready, replicas=1)


@pytest.mark.parametrize(
    ("revisions", "hint"),
    [
        ((), ""),
        ((_revision(3, "orders:2.3.0", 0, "bad-rollout-8c7f6d9b5"),), ""),  # nothing to compare with
        (  # the previous revision never worked either and ran the same image
            (
                _revision(2, "orders:2.3.0", 0, "x-old"),
                _revision(3, "orders:2.3.0", 0, "bad-rollout-8c7f6d9b5"),
            ),
            "",
        ),
        (  # this pod is not from the newest revision
            (
                _revision(3, "orders:2.2.1", 2, "bad-rollout-8c7f6d9b5"),
                _revision(4, "orders:2.4.0", 0, "x-new"),
            ),
            "",
        ),
        (
            (
                _revision(2, "orders:2.3.0", 1, "x-old"),
                _revision(3, "orders:2.3.0", 0, "bad-rollout-8c7f6d9b5"),
            ),
            "began with revision 3 (pod template changed)",
        ),
    ],
)
def test_rollout_hint_only_when_the_newest_revision_brought_it(
    revisions: tuple[Revision, ...], hint: str
) -> None:
    diag = diagnose(replace(load_case("bad-rollout"), revisions=revisions))
    assert diag.rollout_hint == hint
    assert any("rollout undo" in s for s in diag.next_steps) == bool(hint)


# --- the small decisions, table by table ------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (ContainerSpec("api", "a:1"), ContainerSpec("api", "a:2"), "image a:1 → a:2"),
        (
            ContainerSpec("api", "a:1", memory_limit=512 * MI),
            ContainerSpec("api", "a:1", memory_limit=256 * MI),
            "memory limit 512Mi → 256Mi",
        ),
        (
            ContainerSpec("api", "a:1", env_names=("DATABASE_URL", "PORT")),
            ContainerSpec("api", "a:1", env_names=("PORT",)),
            "env DATABASE_URL removed",
        ),
        (
            ContainerSpec("api", "a:1", command=("x",)),
            ContainerSpec("api", "a:1", command=("y",)),
            "command/args changed",
        ),
        (ContainerSpec("api", "a:1"), ContainerSpec("api", "a:1"), "pod template changed"),
    ],
)
def test_describe_change(old: ContainerSpec, new: ContainerSpec, expected: str) -> None:
    assert engine.describe_change(Revision("o", 1, (old,)), Revision("n", 2, (new,)), "api") == expected


@pytest.mark.parametrize(
    ("n_bytes", "mib"),
    [(1, 64), (192 * MI, 192), (200 * MI, 256), (768 * MI, 768), (1100 * MI, 1152), (5000 * MI, 5120)],
)
def test_nice_mib(n_bytes: int, mib: int) -> None:
    assert engine.nice_mib(n_bytes) == mib


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (50, "50s"), (119.6, "2m"), (512, "8m32s"), (8798, "2h26m"), (7200, "2h")],
)
def test_fmt_seconds(seconds: float, text: str) -> None:
    assert engine.fmt_seconds(seconds) == text


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ["Traceback (most recent call last):", '  File "a.py", line 1', "ValueError: bad port"],
            "ValueError: bad port",
        ),
        (['  File "a.py", line 3', "KeyError: 'X'"], "KeyError: 'X'"),  # traceback cut off at the top
        (["starting", "panic: boom", "goroutine 1 [running]:", "main.main()"], "panic: boom"),
        (["INFO ok", "ERROR cannot open /data", "INFO shutting down"], "ERROR cannot open /data"),
        (['{"level":"fatal","msg":"no config"}', "exit"], '{"level":"fatal","msg":"no config"}'),
        (
            ['Exception in thread "main" java.lang.IllegalStateException: x', "\tat a.B.c(B.java:1)"],
            'Exception in thread "main" java.lang.IllegalStateException: x',
        ),
        (["INFO all good", "INFO bye"], ""),
        ([], ""),
    ],
)
def test_dying_words(lines: list[str], expected: str) -> None:
    assert engine.dying_words(lines) == expected


@pytest.mark.parametrize(
    ("line", "variable"),
    [
        ("FATAL required environment variable DATABASE_URL is not set", "DATABASE_URL"),
        ("KeyError: 'REDIS_URL'", "REDIS_URL"),
        ("Error: environment variable `API_KEY` is missing", "API_KEY"),
        ("missing required env var STRIPE_KEY", "STRIPE_KEY"),
        ("panic: SESSION_SECRET must be set", "SESSION_SECRET"),
        ("KeyError: 'user_id'", None),  # a dict key, not an environment variable
        ("connection refused", None),
    ],
)
def test_missing_env(line: str, variable: str | None) -> None:
    found = engine.missing_env([line])
    assert (found[0] if found else None) == variable


@pytest.mark.parametrize(
    ("lines", "problem", "host", "port", "guessed"),
    [
        (["dial tcp 10.96.3.4:5432: connect: connection refused"], "refused", "10.96.3.4", "5432", False),
        (
            ["dial tcp: lookup redis-master on 10.96.0.10:53: no such host"],
            "dns",
            "redis-master",
            "6379",
            True,
        ),
        (
            ['could not translate host name "postgres" to address: Name or service not known'],
            "dns",
            "postgres",
            "5432",
            True,
        ),
        (["Error: connect ECONNREFUSED 10.0.0.7:27017"], "refused", "10.0.0.7", "27017", False),
        (["Error: getaddrinfo ENOTFOUND api.payments.svc"], "dns", "api.payments.svc", "", False),
        (
            ["redis.exceptions.ConnectionError: Error 111 connecting to cache:6380. Connection refused."],
            "refused",
            "cache",
            "6380",
            False,
        ),
        (["dial tcp 10.1.2.3:443: i/o timeout"], "timeout", "10.1.2.3", "443", False),
        (
            ["connecting to kafka-0.kafka:9092", "java.net.NoRouteToHostException: No route to host"],
            "no-route",
            "kafka-0.kafka",
            "9092",
            False,
        ),
        (["all good"], None, "", "", False),
    ],
)
def test_dependency_failure(
    lines: list[str], problem: str | None, host: str, port: str, guessed: bool
) -> None:
    found = engine.dependency_failure(lines)
    if problem is None:
        assert found is None
        return
    assert found is not None
    assert (found.problem, found.host, found.port, found.port_guessed) == (problem, host, port, guessed)


@pytest.mark.parametrize(
    ("text", "reason", "problem"),
    [
        ("rpc error: code = NotFound desc = ...: not found", "ErrImagePull", "not-found"),
        ('manifest unknown: manifest tagged by "9" is not found', "ErrImagePull", "not-found"),
        ("unexpected status from HEAD request: 401 Unauthorized", "ErrImagePull", "denied"),
        (
            "pull access denied, repository does not exist or may require authorization",
            "ErrImagePull",
            "denied",
        ),
        ("403 Forbidden", "ImagePullBackOff", "denied"),
        ("dial tcp: lookup registry.corp on 10.96.0.10:53: no such host", "ErrImagePull", "unreachable"),
        ("x509: certificate signed by unknown authority", "ErrImagePull", "unreachable"),
        (
            'couldn\'t parse image reference "Web:LATEST": invalid reference format',
            "InvalidImageName",
            "invalid",
        ),
        ('Container image "a:1" is not present with pull policy of Never', "ErrImageNeverPull", "never-pull"),
        ("Back-off pulling image", "ImagePullBackOff", ""),
    ],
)
def test_image_pull_problem(text: str, reason: str, problem: str) -> None:
    assert engine.image_pull_problem(text, reason) == problem


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ('secret "db" not found', engine.MissingConfig("Secret", "db")),
        ('Error: configmap "app-config" not found', engine.MissingConfig("ConfigMap", "app-config")),
        (
            'MountVolume.SetUp failed for volume "c" : configmap "x" not found',
            engine.MissingConfig("ConfigMap", "x"),
        ),
        ("couldn't find key url in Secret crashlab/db", engine.MissingConfig("Secret", "db", "url")),
        ("couldn't find key LOG in ConfigMap crashlab/env", engine.MissingConfig("ConfigMap", "env", "LOG")),
        ('pods "x" not found', None),
    ],
)
def test_parse_missing_config(text: str, missing: engine.MissingConfig | None) -> None:
    assert engine.parse_missing_config(text) == missing


@pytest.mark.parametrize(
    ("image", "registry", "repository"),
    [
        ("nginx:1.27", "docker.io", "nginx"),
        ("ghcr.io/kcrash/web:1.4.3", "ghcr.io", "ghcr.io/kcrash/web"),
        ("localhost:5000/app", "localhost:5000", "localhost:5000/app"),
        ("registry.corp:5000/team/app:2@sha256:abc", "registry.corp:5000", "registry.corp:5000/team/app"),
    ],
)
def test_image_names(image: str, registry: str, repository: str) -> None:
    assert (engine.registry_of(image), engine.repository_of(image)) == (registry, repository)


def _samples(values_mib: list[float], step: int = 15) -> list[MemorySample]:
    start = NOW - timedelta(seconds=step * len(values_mib))
    return [
        MemorySample(start + timedelta(seconds=step * i), "c", int(v * MI)) for i, v in enumerate(values_mib)
    ]


@pytest.mark.parametrize(
    ("values", "climbing", "slope"),
    [
        ([100 + 10 * i for i in range(12)], True, 40.0),  # +10Mi every 15 s
        ([200, 201, 199, 200, 202, 200, 201], False, 0.0),
        ([100, 300], False, 800.0),  # two points are not a trend
        ([100 + 10 * i for i in range(3)], False, 40.0),
    ],
)
def test_memory_trend(values: list[float], climbing: bool, slope: float) -> None:
    trend = engine.memory_trend(_samples(values), None, None)
    assert trend is not None
    assert trend.climbing is climbing
    assert trend.slope_mib_per_min == pytest.approx(slope, abs=2.0)
    assert trend.peak == int(max(values) * MI)


def test_memory_trend_keeps_to_the_dead_instance() -> None:
    samples = _samples([500, 500, 500, 100, 110, 120, 130, 140])
    started = samples[3].at
    trend = engine.memory_trend(samples, started, NOW)
    assert trend is not None and (trend.count, trend.peak) == (5, 140 * MI)


LAST_BEFORE_THE_KILL = "The last sample before the kill (17s earlier) was 180Mi"
SPIKE_PEAK = "peak 182Mi of the 512Mi limit"


@pytest.mark.parametrize(
    ("before_the_kill", "start_known", "last_sample", "samples"),
    [
        (True, True, LAST_BEFORE_THE_KILL, SPIKE_PEAK),
        (True, False, LAST_BEFORE_THE_KILL, SPIKE_PEAK),
        (False, True, None, "none (all 3 taken after the kill)"),
        (False, False, None, "none (all 3 taken after the kill)"),
    ],
)
def test_samples_after_the_kill_never_stand_for_the_last_one_before_it(
    before_the_kill: bool, start_known: bool, last_sample: str | None, samples: str
) -> None:
    inp = load_case("oom-spike")
    status = inp.pod.container_statuses[0]
    killed = status.last_state
    assert killed is not None and killed.finished_at is not None
    # The instance that replaced the killed one, sampled 30 s to 83 s after the kill at 100Mi.
    after = tuple(
        MemorySample(killed.finished_at + timedelta(seconds=s), "api", 100 * MI) for s in (30, 60, 83)
    )
    memory = (*(inp.memory if before_the_kill else ()), *after)
    if not start_known:  # a paste whose Started line read "Thu, 01 Jan 1970"
        status = replace(status, last_state=replace(killed, started_at=None))
    pod = replace(inp.pod, container_statuses=(status,))
    diag = diagnose(replace(inp, pod=pod, memory=memory))
    assert diag.cause == "oom-killed"
    notes = [step for step in diag.next_steps if step.startswith("The last sample before the kill")]
    assert [n.split(",")[0] for n in notes] == ([last_sample] if last_sample else [])
    quotes = [e.quote for e in diag.evidence if e.source == "memory samples"]
    assert len(quotes) == 1 and quotes[0].startswith(samples)


@pytest.mark.parametrize(
    ("observed", "lower", "allow"),
    [(45.0, None, 90.0), (None, 20.0, 120.0), (None, 90.0, 180.0), (None, None, 120.0)],
)
def test_startup_allowance(observed: float | None, lower: float | None, allow: float) -> None:
    assert engine.startup_allowance(observed, lower)[0] == allow


@pytest.mark.parametrize(
    ("line", "seconds"),
    [
        ("Started BillingApplication in 84.2 seconds (process running for 86.0)", 84.2),
        ("server ready after 45s", 45.0),
        ("listening on :8080 (startup took 1500ms)", 1.5),
        ("initialized in 1500 ms", 1.5),
        ("nothing here", None),
    ],
)
def test_startup_seconds_from_logs(line: str, seconds: float | None) -> None:
    assert engine.startup_seconds_from_logs([line]) == seconds


def test_unknown_when_nothing_is_known() -> None:
    pod = Pod("crashlab", "bare", containers=(ContainerSpec("c", "img"),))
    diag = diagnose(DiagnosisInput(pod=pod, now=NOW))
    assert diag.cause == "unknown"
    assert any("kubectl describe pod bare -n crashlab" in s for s in diag.next_steps)


def test_evicted_pod_is_not_called_a_crash() -> None:
    pod = Pod(
        "crashlab",
        "evicted-1",
        phase="Failed",
        reason="Evicted",
        message="The node was low on resource: memory.",
        node_name="kind-worker",
        containers=(ContainerSpec("c", "img"),),
    )
    diag = diagnose(DiagnosisInput(pod=pod, now=NOW))
    assert (diag.cause, diag.detail, "evicted" in diag.headline) == ("evicted", "low-on-memory", True)


def test_deployment_name_is_derived_from_the_replicaset_without_the_deployment_object() -> None:
    inp = replace(load_case("crash-missing-env"), deployment=None)
    assert engine.workload(engine.gather(inp)) == "deployment/crash-missing-env"
    assert any("kubectl set env deployment/crash-missing-env" in s for s in diagnose(inp).next_steps)


def test_terminated_state_without_log_names_the_exit_code() -> None:
    inp = replace(load_case("readiness-only"), previous_log=None)
    diag = diagnose(inp)
    assert diag.cause == "app-error"
    assert "code 1" in diag.headline
    assert any("--previous" in s for s in diag.next_steps)
    assert any(s.startswith("Exit 1:") for s in diag.next_steps)


def test_deployment_record_type_is_what_the_hint_reads() -> None:
    # A Deployment's own name wins over the one derived from the ReplicaSet.
    inp = load_case("bad-rollout")
    renamed = replace(inp, deployment=Deployment("crashlab", "orders-api"))
    assert engine.workload(engine.gather(renamed)) == "deployment/orders-api"


def test_termination_quote() -> None:
    state = ContainerState("terminated", reason="OOMKilled", exit_code=137, signal=9)
    assert engine.termination_quote(state) == "exitCode: 137, reason: OOMKilled, signal: 9"


def test_sigterm_without_probe_events_cites_what_the_log_says() -> None:
    log = (
        "INFO consumer: joining group events-consumer on kafka:9092\n"
        "ERROR watchdog: no broker heartbeat for 45s, sending SIGTERM to pid 1\n"
        "INFO consumer: received SIGTERM, closing consumer\n"
    )
    inp = with_exit(replace(load_case("readiness-only"), previous_log=log, events=()), "api", 143)
    diag = diagnose(inp)
    assert (diag.cause, diag.detail) == ("killed", "sigterm")
    assert diag.headline.endswith(
        "its log says: ERROR watchdog: no broker heartbeat for 45s, sending SIGTERM to pid 1"
    )
    assert [e.source for e in diag.evidence] == ["lastState.terminated", "previous log", "previous log"]


def test_segfault_is_an_app_error_with_the_signal_explained() -> None:
    log = (
        "INFO processing batch 1\n"
        "Fatal Python error: Segmentation fault\n\n"
        "Current thread 0x7f (most recent call first):\n"
    )
    diag = diagnose(with_exit(replace(load_case("readiness-only"), previous_log=log), "api", 139))
    assert (diag.cause, diag.headline) == (
        "app-error",
        "Container api exits with code 139: Fatal Python error: Segmentation fault",
    )
    assert any(s.startswith("Exit 139:") and "memory it does not own" in s for s in diag.next_steps)


def with_exit(inp: DiagnosisInput, container: str, code: int) -> DiagnosisInput:
    pod = inp.pod
    statuses = tuple(
        replace(s, last_state=replace(s.last_state, exit_code=code))
        if s.name == container and s.last_state
        else s
        for s in pod.container_statuses
    )
    return replace(inp, pod=replace(pod, container_statuses=statuses))


def test_config_errors_from_before_the_fix_do_not_explain_a_later_crash() -> None:
    inp = load_case("crash-missing-env")
    stale = Event(
        "crashlab",
        "old",
        "Warning",
        "Failed",
        'Error: secret "db" not found',
        involved_name=inp.pod.name,
        field_path="spec.containers{api}",
        last_seen=NOW - timedelta(minutes=25),
    )
    assert diagnose(replace(inp, events=(*inp.events, stale))).cause == "app-error"


@pytest.mark.parametrize(
    ("command", "args", "shown"),
    [
        (("pyhton", "app.py"), (), "pyhton app.py"),
        (("sh", "-c"), ("python x.py && echo done",), "sh -c 'python x.py && echo done'"),
        (("server",), ("--db-password=hunter2", "--port=80"), "server '--db-password=***' --port=80"),
        (("run",), ("API_KEY=abc", "token=x"), "run 'API_KEY=***' 'token=***'"),
        ((), (), ""),
    ],
)
def test_command_words_hide_credentials(command: tuple[str, ...], args: tuple[str, ...], shown: str) -> None:
    assert engine.command_words(ContainerSpec("c", "img", command=command, args=args)) == shown


def test_a_dead_current_instance_has_its_log_without_previous() -> None:
    # restartPolicy Never: the OOM-killed container is the current one, `--previous` would ask for
    # the instance before it.
    inp = load_case("oom-no-metrics")
    status = inp.pod.container_statuses[0]
    assert status.last_state is not None
    dead = replace(status, state=status.last_state, last_state=None)
    pod = replace(inp.pod, restart_policy="Never", container_statuses=(dead,))
    diag = diagnose(replace(inp, pod=pod))
    assert diag.cause == "oom-killed"
    assert (
        diag.evidence[0].source,
        diag.evidence[0].quote,
    ) == ("state.terminated", "exitCode: 137, reason: OOMKilled")
    logs = [s for s in diag.next_steps if "kubectl logs" in s]
    assert logs and all("--previous" not in s for s in logs)


# --- what the input could not see: absent is not empty ------------------------------------------------
#
# The live path fetches every part; a paste holds only what was pasted and says which parts it
# lacks in `DiagnosisInput.absent`. Each case below is run live-shaped (everything fetched) and
# paste-shaped (the parts a paste would lack taken out and named absent).

NODE_DNS_ERROR = """Error: getaddrinfo ENOTFOUND smtp.internal.example.com
    at GetAddrInfoReqWrap.onlookup [as oncomplete] (node:dns:107:26) {
  errno: -3008,
  code: 'ENOTFOUND',
  syscall: 'getaddrinfo',
  hostname: 'smtp.internal.example.com'
}"""
NODE_REFUSED_ERROR = """Error: connect ECONNREFUSED 10.0.0.7:27017
    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16) {
  errno: -111,
  code: 'ECONNREFUSED',
  syscall: 'connect',
  address: '10.0.0.7',
  port: 27017
}"""


def as_pasted(inp: DiagnosisInput, *absent: AbsentPart) -> DiagnosisInput:
    """The input a paste lacking these parts would give: the parts emptied and named absent."""
    pod = inp.pod
    if "spec" in absent:
        pod = replace(pod, containers=(), init_containers=())
    return replace(
        inp,
        pod=pod,
        events=() if "events" in absent else inp.events,
        memory=() if "metrics" in absent else inp.memory,
        metrics_available=not ("metrics" in absent or not inp.metrics_available),
        absent=frozenset(absent),
    )


def with_termination(inp: DiagnosisInput, container: str, **changes: object) -> DiagnosisInput:
    """The input with the container's last termination changed (message, exit code, reason)."""
    pod = inp.pod

    def changed(statuses: tuple[ContainerStatus, ...]) -> tuple[ContainerStatus, ...]:
        return tuple(
            replace(s, last_state=replace(s.last_state, **changes))  # type: ignore[arg-type]
            if s.name == container and s.last_state
            else s
            for s in statuses
        )

    return replace(
        inp,
        pod=replace(
            pod,
            container_statuses=changed(pod.container_statuses),
            init_container_statuses=changed(pod.init_container_statuses),
        ),
    )


def shifted_events(inp: DiagnosisInput, seconds: int) -> DiagnosisInput:
    """Event times counted back from a `now` that is `seconds` too early (a lower bound)."""
    delta = timedelta(seconds=seconds)
    return replace(
        inp,
        now=inp.now - delta,
        events=tuple(
            replace(
                e,
                last_seen=e.last_seen - delta if e.last_seen else None,
                first_seen=e.first_seen - delta if e.first_seen else None,
            )
            for e in inp.events
        ),
    )


def _message(log: str | None, message: str, *absent: AbsentPart) -> DiagnosisInput:
    inp = with_termination(replace(load_case("readiness-only"), previous_log=log), "api", message=message)
    return as_pasted(inp, *absent)


@dataclass(frozen=True)
class Gap:
    """A case where an absent part must not be read as an empty one, and what must (not) be said."""

    name: str
    inp: Callable[[], DiagnosisInput]
    cause: str
    said: tuple[str, ...] = ()  # in the headline, an evidence line ("source: quote") or a step
    unsaid: tuple[str, ...] = ()


def _text(diag: Diagnosis) -> str:
    evidence = [f"{e.source}: {e.quote}" for e in diag.evidence]
    return " | ".join([diag.headline, *evidence, *diag.next_steps])


SMTP = "Container api can't reach smtp.internal.example.com (its name doesn't resolve) and exits with code 1"
LIMITS_CMD = "kubectl get pod {pod} -n crashlab -o jsonpath='{{.spec.{kind}[?(@.name==\"{c}\")].resources}}'"
GAPS = [
    # The termination message (FallbackToLogsOnError, /dev/termination-log) as dying words.
    Gap(
        "message-dns-live-no-previous-log",
        lambda: _message(None, NODE_DNS_ERROR),
        "dependency-unreachable",
        said=(SMTP, "lastState.terminated.message: Error: getaddrinfo ENOTFOUND smtp.internal.example.com"),
    ),
    Gap(
        "message-dns-live-empty-previous-log",
        lambda: _message("", NODE_DNS_ERROR),
        "dependency-unreachable",
        said=(SMTP,),
    ),
    Gap(
        "message-dns-pasted",
        lambda: _message(None, NODE_DNS_ERROR, "spec", "events", "metrics"),
        "dependency-unreachable",
        said=(SMTP, "nslookup smtp.internal.example.com"),
    ),
    Gap(
        "message-refused-live",
        lambda: _message(None, NODE_REFUSED_ERROR),
        "dependency-unreachable",
        said=("can't reach 10.0.0.7:27017 (connection refused)", "nc -zv 10.0.0.7 27017"),
        unsaid=("node:net",),
    ),
    Gap(
        "message-missing-env-pasted",
        lambda: _message(None, "Traceback (most recent call last):\nKeyError: 'SMTP_HOST'", "spec"),
        "app-error",
        said=("environment variable SMTP_HOST is not set", "spec container api env: not in the input"),
        unsaid=("not set in the pod spec", "kubectl set env"),
    ),
    Gap(
        "message-plain-error-quoted-once",
        lambda: _message(None, "fatal: config /etc/app.yaml: line 3: bad indent"),
        "app-error",
        said=("exits with code 1: fatal: config /etc/app.yaml: line 3: bad indent",),
        unsaid=("Read its dying words",),
    ),
    Gap(  # the log is the runbook's dying words: it wins over the message
        "message-and-log-live",
        lambda: _message("INFO start\npanic: nil map\n", NODE_DNS_ERROR),
        "app-error",
        said=("exits with code 1: panic: nil map",),
    ),
    # OOM-killed: a missing spec is an unknown limit, not "no limit".
    Gap(
        "oom-limit-live",
        lambda: load_case("oom-no-metrics", metrics_available=False),
        "oom-killed",
        said=("it needs more than its 128Mi memory limit",),
    ),
    Gap(
        "oom-no-limit-live",
        lambda: replace(
            load_case("oom-no-metrics"),
            pod=replace(
                load_case("oom-no-metrics").pod,
                containers=tuple(
                    replace(c, memory_limit=None) for c in load_case("oom-no-metrics").pod.containers
                ),
            ),
        ),
        "oom-killed",
        said=("OOM-killed with no memory limit: the node ran out of memory", "limits.memory: (none)"),
    ),
    Gap(
        "oom-no-spec-pasted",
        lambda: as_pasted(load_case("oom-no-metrics"), "spec", "events", "metrics"),
        "oom-killed",
        said=(
            "Container cache was OOM-killed; its memory limit is not in the input",
            "spec container cache resources.limits.memory: (not in the input)",
            "memory samples: none (not in the input)",
            LIMITS_CMD.format(pod="session-cache-5d7c8b9f6-m4hxk", kind="containers", c="cache"),
            "--limits=memory=<new-limit>",
        ),
        unsaid=("with no memory limit", "not available on this cluster"),
    ),
    Gap(
        "oom-init-container-no-spec-pasted",
        lambda: as_pasted(
            with_termination(load_case("init-failing"), "migrate", reason="OOMKilled", exit_code=137),
            "spec",
        ),
        "oom-killed",
        said=(
            "Init container migrate was OOM-killed; its memory limit is not in the input",
            LIMITS_CMD.format(pod="orders-7c6d8f9b5-hx2mb", kind="initContainers", c="migrate"),
        ),
    ),
    # Other facts of the spec.
    Gap(
        "missing-env-no-spec-pasted",
        lambda: as_pasted(load_case("crash-missing-env"), "spec"),
        "app-error",
        said=("DATABASE_URL is not set", "spec container api env: not in the input", "(Environment)"),
        unsaid=("not set in the pod spec", "kubectl set env"),
    ),
    Gap(
        "command-no-spec-pasted",
        lambda: as_pasted(load_case("bad-command"), "spec"),
        "command-not-found",
        said=(
            "spec container api command: not in the input",
            "-o jsonpath='{.spec.containers[?(@.name==\"api\")].command}'",
        ),
        unsaid=("ENTRYPOINT/CMD runs",),
    ),
    Gap(
        "exit-zero-no-spec-pasted",
        lambda: as_pasted(load_case("exit-zero"), "spec"),
        "exits-zero",
        said=("spec.restartPolicy: Always (not in the input; implied by",),
    ),
    Gap(  # no spec, no restart, no back-off: restartPolicy unknown, a finished Job pod is as likely
        "exit-zero-no-spec-no-restarts-pasted",
        lambda: as_pasted(
            replace(
                load_case("exit-zero"),
                pod=replace(
                    load_case("exit-zero").pod,
                    container_statuses=tuple(
                        replace(s, restart_count=0, state=s.last_state or s.state, last_state=None)
                        for s in load_case("exit-zero").pod.container_statuses
                    ),
                ),
                events=(),
            ),
            "spec",
        ),
        "unknown",
        unsaid=("restartPolicy Always",),
    ),
    # Events: none pasted is not "no probe failed".
    Gap(
        "sigkill-live",
        lambda: load_case("sigkill-no-oom"),
        "killed",
        said=("and no probe failed: something else killed it",),
    ),
    Gap(
        "sigkill-no-events-pasted",
        lambda: as_pasted(load_case("sigkill-no-oom"), "events", "metrics"),
        "killed",
        said=(
            "the events that would show a probe kill are not in the input",
            "events: not in the input: a probe kill can't be ruled out",
            "Look for liveness or startup probe kills",
        ),
        unsaid=("no probe failed", "no liveness or startup probe failure recorded"),
    ),
    Gap(
        "sigterm-no-events-pasted",
        lambda: as_pasted(with_termination(load_case("readiness-only"), "api", exit_code=143), "events"),
        "killed",
        said=("SIGTERM (exit 143) and the events that would show a probe kill are not in the input",),
        unsaid=("no probe failure explains it",),
    ),
    # As-of: `now` only a lower bound, so no durations up to it.
    Gap(
        "healthy-live",
        lambda: load_case("healthy-web"),
        "healthy",
        said=("state.running web: running for ",),
    ),
    Gap(
        "healthy-as-of-lower-bound-pasted",
        lambda: as_pasted(load_case("healthy-web"), "as-of"),
        "healthy",
        said=("state.running web: running since 2026-11-",),
        unsaid=("running for",),
    ),
    Gap(
        "recovered-live",
        lambda: load_case("recovered-worker"),
        "healthy",
        said=("the last 2h29m ago",),
    ),
    Gap(
        "recovered-as-of-lower-bound-pasted",
        lambda: as_pasted(load_case("recovered-worker"), "as-of"),
        "healthy",
        said=("3 earlier restarts, the last at 2026-11-20 ",),
        unsaid=(" ago",),
    ),
    Gap(  # event times counted back from a `now` ten minutes early seem to predate the instance:
        # the SIGKILL is all that is left
        "probe-kill-shifted-events-live",
        lambda: shifted_events(load_case("slow-start-liveness"), 600),
        "killed",
    ),
    Gap(
        "probe-kill-shifted-events-as-of-lower-bound-pasted",
        lambda: as_pasted(shifted_events(load_case("slow-start-liveness"), 600), "as-of"),
        "liveness-probe",
        said=("before it finishes starting", "dead 50s after start"),
    ),
]


@pytest.mark.parametrize("gap", GAPS, ids=[g.name for g in GAPS])
def test_absent_parts_are_unknown_not_empty(gap: Gap) -> None:
    diag = diagnose(gap.inp())
    text = _text(diag)
    assert diag.cause == gap.cause, diag.headline
    for words in gap.said:
        assert words in text
    for words in gap.unsaid:
        assert words not in text


def test_the_termination_message_is_quoted_once_when_it_holds_the_dying_words() -> None:
    diag = diagnose(_message(None, "fatal: config /etc/app.yaml: line 3: bad indent"))
    assert [e.source for e in diag.evidence] == ["lastState.terminated", "lastState.terminated.message"]


@pytest.mark.parametrize(
    ("lines", "line"),
    [
        (NODE_DNS_ERROR.splitlines(), "Error: getaddrinfo ENOTFOUND smtp.internal.example.com"),
        (NODE_REFUSED_ERROR.splitlines(), "Error: connect ECONNREFUSED 10.0.0.7:27017"),
        (["retrying", "dial tcp 10.1.2.3:443: i/o timeout"], "dial tcp 10.1.2.3:443: i/o timeout"),
        (  # no line names a host: the last one that fails is quoted
            ["java.net.ConnectException: Connection refused", "\tat sun.nio.ch.Net.connect0(Net.java:579)"],
            "java.net.ConnectException: Connection refused",
        ),
    ],
)
def test_the_quoted_line_names_what_failed(lines: list[str], line: str) -> None:
    found = engine.dependency_failure(lines)
    assert found is not None and found.line == line


@pytest.mark.parametrize(
    ("case", "pod", "absent", "said", "unsaid"),
    [
        (
            "dependency-unreachable-two-pods-termination-message",
            "notify-worker-69b7c8d5f4-2kx8m",
            frozenset({"metrics"}),
            "can't reach smtp.internal.example.com (its name doesn't resolve)",
            "exits with code 1 (",
        ),
        (
            "oom-killed-bare-status-stanza",
            "payments-api-7d4c9b8f6-v5n2x",
            frozenset({"spec", "events", "as-of", "metrics"}),
            "jsonpath='{.spec.containers[?(@.name==\"api\")].resources}'",
            "no memory limit",
        ),
        (
            "healthy-running",
            "web-7d9f8b6c5d-x2x9z",
            frozenset({"as-of", "metrics"}),
            "running since",
            "running for",
        ),
    ],
)
def test_pasted_inputs_name_what_they_lack(
    case: str, pod: str, absent: frozenset[AbsentPart], said: str, unsaid: str
) -> None:
    folder = Path(__file__).resolve().parent.parent / "data" / "pastes" / case
    texts = [(p.name, p.read_text()) for p in sorted(folder.iterdir()) if p.name != "expected.json"]
    inp = next(i for i in inputs_from_pastes(texts, NOW) if i.pod.name == pod)
    text = _text(diagnose(inp))
    assert (inp.absent, said in text, unsaid in text) == (absent, True, False)


def test_the_live_path_lacks_nothing() -> None:
    assert load_case("healthy-web").absent == frozenset()


# --- commands for what the input does not say ---------------------------------------------------------


def unsaid(inp: DiagnosisInput, *unknown: str) -> DiagnosisInput:
    """The input with the pod's namespace, name or container names left out, as a paste may."""
    pod = inp.pod
    if "namespace" in unknown:
        pod = replace(pod, namespace="")
    if "name" in unknown:
        pod = replace(pod, name="")
    if "container" in unknown:
        pod = replace(
            pod,
            container_statuses=tuple(replace(s, name="") for s in pod.container_statuses),
            containers=tuple(replace(c, name="") for c in pod.containers),
        )
    return replace(inp, pod=pod)


@pytest.mark.parametrize(
    ("fixture", "unknown", "said", "not_said"),
    [
        (  # everything known: the flags as always
            "crash-missing-env",
            (),
            (
                "kubectl set env deployment/crash-missing-env -n crashlab -c api DATABASE_URL=<value>",
                "kubectl logs crash-missing-env-6d8f7c9b5d-x2lqp -n crashlab -c api --previous",
            ),
            ("<pod>", "<container>"),
        ),
        (
            "crash-missing-env",
            ("namespace",),
            (
                "kubectl set env deployment/crash-missing-env -c api DATABASE_URL=<value>",
                "kubectl logs crash-missing-env-6d8f7c9b5d-x2lqp -c api --previous --tail=50",
            ),
            (" -n ",),
        ),
        (  # a change to the workload names a placeholder: without -c it would change every container
            "crash-missing-env",
            ("namespace", "name", "container"),
            ("kubectl set env deployment/crash-missing-env -c <container> DATABASE_URL=<value>",),
            (" -n ", "kubectl logs <pod> -c"),
        ),
        (
            "oom-no-metrics",
            ("namespace", "name", "container"),
            (
                "kubectl set resources deployment/session-cache -c <container> --limits=memory=192Mi",
                "kubectl top pod <pod> --containers",
                "`kubectl logs <pod> --previous`",
            ),
            (" -n ",),
        ),
        (
            "image-denied",
            ("namespace",),
            (
                "kubectl get pod payments-5f8d7c6b9-j2nwx -o jsonpath='{.spec.imagePullSecrets}'",
                "kubectl get serviceaccount <sa> -o jsonpath='{.imagePullSecrets}'",
                "The pull secret must live in the pod's namespace,",
                "`kubectl describe pod payments-5f8d7c6b9-j2nwx` shows the pull attempts",
            ),
            (" -n ", "in namespace ,"),
        ),
        (
            "missing-secret",
            ("namespace",),
            (
                "`kubectl get secret` (lists names only",
                "Create Secret db-credentials in the pod's namespace,",
            ),
            (" -n ", "in namespace "),
        ),
        (
            "missing-configmap-key",
            ("namespace",),
            ("`kubectl get configmap app-settings -o yaml`",),
            (" -n ",),
        ),
        (
            "db-unreachable",
            ("namespace", "name", "container"),
            (
                "`kubectl run -it --rm debug --image=busybox:1.36 --restart=Never -- nc -zv postgres 5432`",
                "`kubectl get endpointslices -l kubernetes.io/service-name=postgres`",
                "`kubectl logs <pod> --previous --tail=50`",
            ),
            (" -n ",),
        ),
        (
            "dependency-dns",
            ("namespace",),
            ("`kubectl get svc redis-master` (a Service",),
            (" -n ",),
        ),
        (
            "bad-rollout",
            ("namespace",),
            ("`kubectl rollout undo deployment/bad-rollout` (revision 2 had 2 ready)",),
            (" -n ",),
        ),
        (
            "sigkill-no-oom",
            ("namespace", "name"),
            ("`kubectl get events --field-selector involvedObject.name=<pod> --sort-by=.lastTimestamp`",),
            (" -n ",),
        ),
    ],
)
def test_commands_leave_out_what_the_input_does_not_say(
    fixture: str, unknown: tuple[str, ...], said: tuple[str, ...], not_said: tuple[str, ...]
) -> None:
    diag = diagnose(unsaid(load_case(fixture), *unknown))
    text = " | ".join([_text(diag), diag.rollout_hint])
    assert [s for s in said if s not in text] == []
    assert [s for s in (*not_said, "''", '""', "-n  ", "-c  ") if s in text] == []


@pytest.mark.parametrize(
    ("unknown", "step"),
    [
        (
            (),
            "kubectl get pod session-cache-5d7c8b9f6-m4hxk -n crashlab -o "
            "jsonpath='{.spec.containers[?(@.name==\"cache\")].resources}'",
        ),
        (
            ("namespace", "name", "container"),
            "kubectl get pod <pod> -o jsonpath='{.spec.containers[*].resources}'",
        ),
    ],
)
def test_the_spec_lookup_without_a_container_name_shows_every_container(
    unknown: tuple[str, ...], step: str
) -> None:
    diag = diagnose(unsaid(as_pasted(load_case("oom-no-metrics"), "spec"), *unknown))
    assert any(step in s for s in diag.next_steps), diag.next_steps


@pytest.mark.parametrize(
    ("initial_delay", "period", "threshold", "budget"),
    [
        (10, 5, 3, 20),  # probes at 10, 15, 20 s: the third failure kills at 20 s
        (0, 10, 3, 20),  # the defaults: periodSeconds 10, failureThreshold 3
        (5, 5, 3, 15),
        (30, 10, 1, 30),  # one failure is enough
        (0, 10, 30, 290),  # a startupProbe sized for five minutes
    ],
)
def test_probe_budget_as_the_kubelet_counts_it(
    initial_delay: int, period: int, threshold: int, budget: int
) -> None:
    probe = Probe(
        kind="liveness",
        handler="httpGet /healthz",
        initial_delay_seconds=initial_delay,
        period_seconds=period,
        failure_threshold=threshold,
    )
    assert probe_window(probe) == budget
