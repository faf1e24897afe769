"""The rule table: its order, what `explain_rules` says about it, and the finer `detail` of a verdict.

The recorded pods and their loader are those of test_diagnose.py (tests/data/pods).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import get_args

import pytest
from msgspec.structs import replace
from test_diagnose import CASES, NOW, Expect, load_case, with_termination

from kcrash.core.diagnose import RULES, diagnose, explain_rules
from kcrash.core.diagnose.config import MissingConfig
from kcrash.core.diagnose.exits import signal_detail
from kcrash.core.diagnose.image import pull_detail
from kcrash.core.diagnose.placement import eviction_detail, mount_detail, scheduling_detail
from kcrash.core.diagnose.probes import probe_failure
from kcrash.core.records import Cause, ContainerSpec, DiagnosisInput, Event, Pod

# --- the order ----------------------------------------------------------------------------------------

ORDER = [
    ("shut-down", "killed"),
    ("healthy", "healthy"),
    ("not-ready", "unknown"),
    ("evicted", "evicted"),
    ("image-pull", "image-pull"),
    ("missing-volume-source", "volume-mount"),
    ("config-missing", "config-missing"),
    ("oom", "oom-killed"),
    ("command-not-found", "command-not-found"),
    ("app-error-behind-probe", "app-error"),
    ("startup-probe-kill", "startup-probe"),
    ("liveness-probe-kill", "liveness-probe"),
    ("probe-requests", "liveness-probe"),
    ("killed-while-starting", "liveness-probe"),
    ("unlabelled-oom", "oom-killed"),
    ("stopped", "killed"),
    ("missing-env", "app-error"),
    ("dependency", "dependency-unreachable"),
    ("exits-zero", "exits-zero"),
    ("sigkill", "killed"),
    ("sigterm", "killed"),
    ("app-error", "app-error"),
    ("unrecorded-exit", "app-error"),
    ("fatal-log", "app-error"),
    ("finite-command", "exits-zero"),
    ("unschedulable", "unschedulable"),
    ("stuck-mount", "volume-mount"),
    ("unknown", "unknown"),
]


def test_the_rules_run_in_this_order() -> None:
    assert [(rule.name, rule.cause) for rule in RULES] == ORDER


def test_every_cause_is_named_by_a_rule() -> None:
    assert {rule.cause for rule in RULES} == set(get_args(Cause))


def test_the_last_rule_always_answers() -> None:
    bare = DiagnosisInput(pod=Pod("crashlab", "bare"), now=NOW)
    traces = explain_rules(bare)
    assert (traces[-1].rule, traces[-1].applied, traces[-1].winner) == ("unknown", True, True)


def test_every_cause_is_documented_with_its_details() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "diagnose.md").read_text()
    table = doc[doc.index("### Causes and details") :]
    rows = re.findall(r"^\| `([a-z-]+)` \| [^|]+ \| (.+) \|$", table, re.M)
    assert {cause for cause, _ in rows} - {"cause"} == set(get_args(Cause))
    assert all("`" in details for _, details in rows)


# --- explain_rules ---------------------------------------------------------------------------------------

WINNERS = {
    "crash-missing-env": "missing-env",
    "oom-leak": "oom",
    "slow-start-liveness": "liveness-probe-kill",
    "startup-probe-kill": "startup-probe-kill",
    "unhealthy-137": "liveness-probe-kill",
    "exit-zero": "exits-zero",
    "bad-command": "command-not-found",
    "db-unreachable": "dependency",
    "bad-image-tag": "image-pull",
    "missing-secret": "config-missing",
    "missing-configmap": "missing-volume-source",
    "bad-rollout": "app-error",
    "healthy-web": "healthy",
    "sigkill-no-oom": "sigkill",
    "not-ready": "not-ready",
    "missing-laststate": "unknown",
    "evicted": "evicted",
    "unschedulable": "unschedulable",
    "stuck-mount": "stuck-mount",
}


@pytest.mark.parametrize(("fixture", "winner"), WINNERS.items(), ids=list(WINNERS))
def test_the_winner_is_the_first_rule_with_a_verdict(fixture: str, winner: str) -> None:
    inp = load_case(fixture)
    traces = explain_rules(inp)
    assert [t.rule for t in traces] == [name for name, _ in ORDER]
    won = [t for t in traces if t.winner]
    assert [t.rule for t in won] == [winner]
    first = next(t for t in traces if t.verdict)
    assert first is won[0] and won[0].applied
    assert won[0].cause == diagnose(inp).cause
    assert won[0].why == "the first rule in order with a verdict"


@pytest.mark.parametrize("expect", CASES, ids=[c.fixture for c in CASES])
def test_traces_are_consistent(expect: Expect) -> None:
    traces = explain_rules(load_case(expect.fixture, configmap_keys=expect.configmap_keys))
    assert sum(t.winner for t in traces) == 1
    for trace in traces:
        assert trace.applied or not trace.verdict, trace  # no verdict without the check
        if not trace.applied:
            assert trace.why == "does not apply"
        elif not trace.verdict:
            assert trace.why == "applies, but the evidence falls short of a verdict"


def test_a_later_verdict_is_shadowed_by_the_winner() -> None:
    traces = {t.rule: t for t in explain_rules(load_case("unhealthy-137"))}
    assert traces["liveness-probe-kill"].winner
    assert (traces["sigkill"].verdict, traces["sigkill"].winner) == (True, False)
    assert traces["sigkill"].why == "a verdict too, but liveness-probe-kill comes first"


def test_a_rule_may_apply_and_still_find_no_verdict() -> None:
    # Probe events that predate the dead instance: the probe rule looks, but cannot blame the probe.
    inp = load_case("slow-start-liveness")
    delta = timedelta(seconds=600)
    shifted = replace(
        inp,
        now=inp.now - delta,
        events=tuple(replace(e, last_seen=e.last_seen - delta if e.last_seen else None) for e in inp.events),
    )
    traces = {t.rule: t for t in explain_rules(shifted)}
    assert (traces["liveness-probe-kill"].applied, traces["liveness-probe-kill"].verdict) == (True, False)
    assert traces["sigkill"].winner


def test_startup_probe_kills_are_their_own_cause() -> None:
    diag = diagnose(load_case("startup-probe-kill"))
    assert (diag.cause, diag.detail) == ("startup-probe", "refused")
    assert "startup probe" in diag.headline


# --- detail ---------------------------------------------------------------------------------------------


def _near_limit_sigkill() -> DiagnosisInput:
    """sigkill-no-oom with a limit just above its 409Mi peak: an OOM kill the runtime did not label."""
    inp = load_case("sigkill-no-oom")
    containers = tuple(replace(c, memory_limit=440 * 2**20) for c in inp.pod.containers)
    return replace(inp, pod=replace(inp.pod, containers=containers))


def _no_limit_oom() -> DiagnosisInput:
    inp = load_case("oom-no-metrics")
    containers = tuple(replace(c, memory_limit=None) for c in inp.pod.containers)
    return replace(inp, pod=replace(inp.pod, containers=containers))


def _completed() -> DiagnosisInput:
    pod = Pod("crashlab", "job-1", phase="Succeeded", containers=(ContainerSpec("c", "img"),))
    return DiagnosisInput(pod=pod, now=NOW)


def _segfault() -> DiagnosisInput:
    return with_termination(load_case("readiness-only"), "api", exit_code=139)


VERDICTS: list[tuple[str, Callable[[], DiagnosisInput]]] = [
    ("oom-exit-0", lambda: with_termination(load_case("oom-no-metrics"), "cache", exit_code=0)),
    ("node-oom", _no_limit_oom),
    ("likely-oom", _near_limit_sigkill),
    ("completed", _completed),
    ("sigsegv", _segfault),
]


@pytest.mark.parametrize(("detail", "inp"), VERDICTS, ids=[d for d, _ in VERDICTS])
def test_details_of_variations(detail: str, inp: Callable[[], DiagnosisInput]) -> None:
    assert diagnose(inp()).detail == detail


def test_an_oom_kill_with_exit_0_says_what_that_means() -> None:
    diag = diagnose(with_termination(load_case("oom-no-metrics"), "cache", exit_code=0))
    assert (diag.cause, diag.detail) == ("oom-killed", "oom-exit-0")
    assert "the main process then exited by itself" in diag.next_steps[0]


@pytest.mark.parametrize(
    ("problem", "text", "detail"),
    [
        ("not-found", "manifest unknown", "not-found"),
        ("denied", "insufficient_scope: authorization failed", "unauthorized"),
        ("invalid", "invalid reference format", "invalid-name"),
        ("never-pull", "", "never-pull"),
        ("unreachable", "tls: failed to verify certificate: x509: certificate signed by unknown", "tls"),
        ("unreachable", "dial tcp: lookup registry.example.com on 10.96.0.10:53: no such host", "dns"),
        ("unreachable", "dial tcp 10.0.0.5:443: connect: connection refused", "refused"),
        ("unreachable", "net/http: TLS handshake timeout", "timeout"),
        ("unreachable", "dial tcp 10.0.0.5:443: i/o timeout", "timeout"),
        ("unreachable", "connect: no route to host", "no-route"),
        ("", "rpc error: code = Unknown", ""),
    ],
)
def test_pull_detail(problem: str, text: str, detail: str) -> None:
    assert pull_detail(problem, text) == detail


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        ("0/3 nodes are available: 3 Insufficient cpu.", "insufficient-cpu"),
        ("0/2 nodes are available: 2 Insufficient nvidia.com/gpu.", "insufficient-nvidia.com/gpu"),
        (
            "0/3 nodes are available: 1 node(s) had untolerated taint "
            "{node-role.kubernetes.io/control-plane: }, 2 Insufficient memory.",
            "insufficient-memory",
        ),
        ("0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.", "unbound-pvc"),
        ("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.", "node-affinity"),
        ("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.", "pod-affinity"),
        ("0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}.", "taint"),
        ("no nodes available to schedule pods", ""),
    ],
)
def test_scheduling_detail(message: str, detail: str) -> None:
    assert scheduling_detail(message) == detail


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        ("The node was low on resource: memory. Threshold quantity: 100Mi", "low-on-memory"),
        (
            "The node was low on resource: ephemeral-storage. Threshold quantity: 1Gi",
            "low-on-ephemeral-storage",
        ),
        (
            "Pod ephemeral local storage usage exceeds the total limit of containers 500Mi.",
            "ephemeral-storage-limit",
        ),
        ('Usage of EmptyDir volume "cache" exceeds the limit "1Gi".', "ephemeral-storage-limit"),
    ],
)
def test_eviction_detail(message: str, detail: str) -> None:
    assert eviction_detail(message) == detail


def _event(reason: str, message: str) -> Event:
    return Event("crashlab", "e", "Warning", reason, message)


@pytest.mark.parametrize(
    ("events", "detail"),
    [
        (
            [
                _event("FailedAttachVolume", 'Multi-Attach error for volume "pvc-1" Volume is already used'),
                _event(
                    "FailedMount", "Unable to attach or mount volumes: timed out waiting for the condition"
                ),
            ],
            "multi-attach",
        ),
        ([_event("FailedMount", 'persistentvolumeclaim "data" not found')], "missing-pvc"),
        (
            [_event("FailedAttachVolume", 'AttachVolume.Attach failed for volume "pvc-2" : rpc error')],
            "attach",
        ),
        (
            [_event("FailedMount", "Unable to attach or mount volumes: timed out waiting for the condition")],
            "timeout",
        ),
        (
            [
                _event(
                    "FailedMount", 'MountVolume.SetUp failed for volume "nfs" : mount failed: exit status 32'
                )
            ],
            "",
        ),
    ],
)
def test_mount_detail(events: list[Event], detail: str) -> None:
    assert mount_detail(events) == detail


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        (
            'Liveness probe failed: Get "http://10.244.1.5:8080/healthz": dial tcp 10.244.1.5:8080: '
            "connect: connection refused",
            "refused",
        ),
        ('Liveness probe failed: Get "http://10.244.1.5:8080/healthz": context deadline exceeded', "timeout"),
        ("Startup probe failed: HTTP probe failed with statuscode: 503", "http-status"),
        ("Liveness probe errored: rpc error: code = Unknown", ""),
    ],
)
def test_probe_failure_detail(message: str, detail: str) -> None:
    assert probe_failure(message)[0] == detail


@pytest.mark.parametrize(
    ("missing", "detail"),
    [
        (MissingConfig("Secret", "db"), "missing-secret"),
        (MissingConfig("Secret", "db", "password"), "missing-secret-key"),
        (MissingConfig("ConfigMap", "app"), "missing-configmap"),
        (MissingConfig("ConfigMap", "app", "log_level"), "missing-configmap-key"),
    ],
)
def test_missing_config_detail(missing: MissingConfig, detail: str) -> None:
    assert missing.detail == detail


@pytest.mark.parametrize(
    ("name", "detail"), [("SIGSEGV", "sigsegv"), ("SIGABRT", "sigabrt"), ("signal 40", "signal-40"), ("", "")]
)
def test_signal_detail(name: str, detail: str) -> None:
    assert signal_detail(name) == detail


def test_memory_samples_near_the_limit_make_a_sigkill_likely_oom() -> None:
    diag = diagnose(_near_limit_sigkill())
    assert (diag.cause, diag.detail) == ("killed", "likely-oom")
    assert diag.next_steps[0].startswith("Memory reached 9")
