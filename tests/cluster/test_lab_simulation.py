"""The lab's simulated kubelet, controllers and scenarios, driven directly on a Store.

Time is moved by hand (`Simulation.advance`) on a clock that barely moves by itself, so every check
is deterministic and a test plays many simulated minutes in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import itertools
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from kcrash.lab.clock import SimClock
from kcrash.lab.controllers import HASH_LABEL, REVISION, template_hash
from kcrash.lab.kubelet import cut_mid_word
from kcrash.lab.logs import LogBook
from kcrash.lab.scenarios import ScenarioError, go_duration, parse_scenarios
from kcrash.lab.simulation import Simulation
from kcrash.lab.store import Change, Store

pytestmark = pytest.mark.asyncio(loop_scope="module")

Obj = dict[str, Any]
NS = "crashlab"


# -- helpers ---------------------------------------------------------------------------------------
async def build(
    *, builtin: bool = True, seed: int = 3, files: tuple[Path, ...] = (), preplay: float | None = None
) -> Simulation:
    clock = SimClock(speed=0.001)  # real time adds next to nothing; tests move time themselves
    store = Store(clock)
    sim = Simulation(store, clock, LogBook(), seed=seed)
    if builtin:
        sim.load_builtin()
    for path in files:
        sim.load_scenarios_file(path)
    if preplay is not None:
        sim.preplay_seconds = preplay
    await sim.start()
    return sim


def pods(sim: Simulation, app: str, namespace: str = NS, live_only: bool = True) -> list[Obj]:
    items, _ = sim.store.list("pods", namespace)
    out = [
        p
        for p in items
        if (p["metadata"].get("labels") or {}).get("app") == app or p["metadata"]["name"] == app
    ]
    if live_only:
        out = [p for p in out if not p["metadata"].get("deletionTimestamp")]
    return out


def pod(sim: Simulation, app: str, namespace: str = NS) -> Obj:
    found = pods(sim, app, namespace)
    assert len(found) == 1, [p["metadata"]["name"] for p in found]
    return found[0]


def status_of(p: Obj, container: str | None = None, init: bool = False) -> Obj:
    statuses = p["status"]["initContainerStatuses" if init else "containerStatuses"]
    if container is None:
        return statuses[0]  # type: ignore[no-any-return]
    found: Obj = next(s for s in statuses if s["name"] == container)
    return found


def restarts(sim: Simulation, app: str, namespace: str = NS) -> int:
    """The restart count of the app's only pod; -1 while it has none yet."""
    found = pods(sim, app, namespace)
    if len(found) != 1 or not found[0].get("status", {}).get("containerStatuses"):
        return -1
    return int(status_of(found[0])["restartCount"])


def events_of(sim: Simulation, obj: Obj) -> list[Obj]:
    items, _ = sim.store.list("events", obj["metadata"].get("namespace", NS))
    return [e for e in items if e["involvedObject"].get("uid") == obj["metadata"]["uid"]]


def event(sim: Simulation, obj: Obj, reason: str, contains: str = "") -> Obj:
    found = [e for e in events_of(sim, obj) if e["reason"] == reason and contains in e["message"]]
    assert len(found) == 1, (reason, contains, [(e["reason"], e["message"]) for e in events_of(sim, obj)])
    return found[0]


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def until(sim: Simulation, check: Callable[[], bool], limit: float, step: float = 1.0) -> float:
    """Advance simulated time in steps until `check()` holds; returns the seconds it took."""
    waited = 0.0
    while not check():
        assert waited < limit, f"not reached within {limit} simulated seconds"
        await sim.advance(step)
        waited += step
    return waited


def write_scenarios(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "more.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world() -> AsyncIterator[Simulation]:
    """The built-in scenarios right after start: read it, never move its time."""
    sim = await build()
    yield sim
    await sim.stop()
    assert not sim.sched.errors


@pytest_asyncio.fixture(loop_scope="module")
async def fresh() -> AsyncIterator[Callable[..., Awaitable[Simulation]]]:
    """A factory for worlds a test may change and move forward."""
    made: list[Simulation] = []

    async def make(**options: Any) -> Simulation:
        sim = await build(**options)
        made.append(sim)
        return sim

    yield make
    for sim in made:
        await sim.stop()
        assert not sim.sched.errors


# -- every scenario reaches its state -----------------------------------------------------------
# app -> (phase, state key, state reason, lastState exit code, lastState reason)
EXPECTED = {
    "crash-missing-env": ("Running", "waiting", "CrashLoopBackOff", 1, "Error"),
    "slow-start-liveness": ("Running", "waiting", "CrashLoopBackOff", 137, "Error"),
    "exit-zero": ("Running", "waiting", "CrashLoopBackOff", 0, "Completed"),
    "bad-command": ("Running", "waiting", "CrashLoopBackOff", 128, "StartError"),
    "db-unreachable": ("Running", "waiting", "CrashLoopBackOff", 1, "Error"),
    "bad-image-tag": ("Pending", "waiting", "ImagePullBackOff", None, None),
    "missing-secret": ("Pending", "waiting", "CreateContainerConfigError", None, None),
    "missing-secret-key": ("Pending", "waiting", "CreateContainerConfigError", None, None),
    "missing-configmap": ("Pending", "waiting", "CreateContainerConfigError", None, None),
    "healthy-web": ("Running", "running", None, None, None),
    "recovered-worker": ("Running", "running", None, 1, "Error"),
    "sigterm-exit": ("Running", "waiting", "CrashLoopBackOff", 143, "Error"),
    "segfault-native": ("Running", "waiting", "CrashLoopBackOff", 139, "Error"),
    "never-ready": ("Running", "running", None, None, None),
    "completed-job": ("Succeeded", "terminated", "Completed", None, None),
    "oom-batch": ("Failed", "terminated", "OOMKilled", None, None),
}


@pytest.mark.parametrize("app", sorted(EXPECTED))
async def test_scenario_reaches_its_state(world: Simulation, app: str) -> None:
    phase, key, reason, last_code, last_reason = EXPECTED[app]
    for p in pods(world, app):
        assert p["status"]["phase"] == phase
        cs = status_of(p)
        assert list(cs["state"]) == [key]
        assert cs["state"][key].get("reason") == reason
        last = cs["lastState"].get("terminated")
        if last_code is None:
            assert last is None
        else:
            assert (last["exitCode"], last["reason"]) == (last_code, last_reason)
            assert cs["restartCount"] >= 1
            assert last["containerID"].startswith("containerd://")


async def test_crash_loopers_have_played_a_while(world: Simulation) -> None:
    cs = status_of(pod(world, "crash-missing-env"))
    assert cs["restartCount"] >= 5  # pre-played: the backoff already reached its cap
    assert cs["state"]["waiting"]["message"].startswith("back-off 5m0s restarting failed container=app pod=")
    p = pod(world, "crash-missing-env")
    assert cs["state"]["waiting"]["message"].endswith(
        f"pod={p['metadata']['name']}_{NS}({p['metadata']['uid']})"
    )
    assert cs["ready"] is False and cs["started"] is False
    assert re.fullmatch(r"containerd://[0-9a-f]{64}", cs["containerID"])
    assert re.fullmatch(r"registry\.example\.com/shop/orders@sha256:[0-9a-f]{64}", cs["imageID"])


async def test_pod_status_fields_look_like_the_kubelets(world: Simulation) -> None:
    p = pod(world, "crash-missing-env")
    status = p["status"]
    node = world.store.get("nodes", "", p["spec"]["nodeName"])
    assert node is not None
    node_ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    assert status["hostIP"] == node_ip
    assert status["podIP"].startswith(node["spec"]["podCIDR"].rsplit(".", 1)[0] + ".")
    assert status["qosClass"] == "Burstable"
    assert [c["type"] for c in status["conditions"]] == [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ContainersNotReady")
    assert ready["message"] == "containers with unready status: [app]"
    assert parse_time(status["startTime"]) >= parse_time(p["metadata"]["creationTimestamp"])
    owner = p["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["controller"]) == ("ReplicaSet", True)
    assert p["metadata"]["name"].startswith(owner["name"] + "-")


async def test_bad_command_is_a_start_error(world: Simulation) -> None:
    last = status_of(pod(world, "bad-command"))["lastState"]["terminated"]
    assert last["startedAt"] == "1970-01-01T00:00:00Z"  # containerd never started it
    assert 'exec: "pyhton": executable file not found in $PATH' in last["message"]
    assert last["message"].startswith("failed to create containerd task: failed to create shim task:")


async def test_config_errors_name_what_is_missing(world: Simulation) -> None:
    expected = {
        "missing-secret": 'secret "db" not found',
        "missing-secret-key": "couldn't find key url in Secret crashlab/payments-db",
        "missing-configmap": 'configmap "app-config" not found',
    }
    for app, message in expected.items():
        p = pod(world, app)
        waiting = status_of(p)["state"]["waiting"]
        assert waiting == {"reason": "CreateContainerConfigError", "message": message}
        failed = event(world, p, "Failed", message)
        assert failed["message"] == f"Error: {message}"
        assert failed["count"] > 10  # retried every 10-15 s for 15 minutes
        assert status_of(p)["restartCount"] == 0


async def test_init_container_crash_loops_and_blocks_the_app(world: Simulation) -> None:
    p = pod(world, "init-migrate-fails")
    init = status_of(p, "migrate", init=True)
    assert init["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert init["lastState"]["terminated"]["exitCode"] == 1
    assert status_of(p, "billing")["state"]["waiting"]["reason"] == "PodInitializing"
    initialized = next(c for c in p["status"]["conditions"] if c["type"] == "Initialized")
    assert (initialized["status"], initialized["reason"]) == ("False", "ContainersNotInitialized")
    assert initialized["message"] == "containers with incomplete status: [migrate]"
    backoff = event(world, p, "BackOff")
    assert backoff["involvedObject"]["fieldPath"] == "spec.initContainers{migrate}"


async def test_recovered_worker_is_stable_since_an_hour(world: Simulation) -> None:
    p = pod(world, "recovered-worker")
    cs = status_of(p)
    now = world.sched.wall()
    assert cs["restartCount"] == 3
    assert cs["ready"] is True
    assert now - parse_time(cs["state"]["running"]["startedAt"]) > 600
    assert 3400 < now - parse_time(cs["lastState"]["terminated"]["finishedAt"]) < 4600
    assert events_of(world, p) == []  # anything it did is older than the events' one-hour TTL


async def test_events_are_aggregated_like_client_go(world: Simulation) -> None:
    p = pod(world, "crash-missing-env")
    node = p["spec"]["nodeName"]
    backoff = event(world, p, "BackOff")
    assert backoff["type"] == "Warning"
    pod_ref = f"{p['metadata']['name']}_{NS}({p['metadata']['uid']})"
    assert backoff["message"] == f"Back-off restarting failed container app in pod {pod_ref}"
    assert backoff["count"] > 20
    assert parse_time(backoff["lastTimestamp"]) - parse_time(backoff["firstTimestamp"]) > 300
    assert backoff["eventTime"] is None
    assert backoff["source"] == {"component": "kubelet", "host": node}
    assert (backoff["reportingComponent"], backoff["reportingInstance"]) == ("kubelet", node)
    assert backoff["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert backoff["involvedObject"]["kind"] == "Pod"
    assert re.fullmatch(re.escape(p["metadata"]["name"]) + r"\.[0-9a-f]{16,}", backoff["metadata"]["name"])
    started = event(world, p, "Started")
    assert started["message"] == "Started container app"
    assert started["count"] == status_of(p)["restartCount"] + 1
    assert event(world, p, "Created")["message"] == "Created container: app"
    pulled = event(world, p, "Pulled", "Successfully pulled")
    # Go's time.Duration, as the kubelet prints it: "993ms" under a second, "1.234s" above.
    assert re.fullmatch(
        r'Successfully pulled image "registry\.example\.com/shop/orders:2\.3\.0" in [0-9.]+m?s '
        r"\([0-9.]+m?s including waiting\)\. Image size: \d+ bytes\.",
        pulled["message"],
    )
    assert event(world, p, "Pulled", "already present")["count"] >= 5
    scheduled = event(world, p, "Scheduled")
    assert scheduled["message"] == f"Successfully assigned {NS}/{p['metadata']['name']} to {node}"
    assert scheduled["reportingComponent"] == "default-scheduler"
    # One Event object per distinct message, no matter how often it happened.
    keys = [(e["reason"], e["message"]) for e in events_of(world, p)]
    assert len(keys) == len(set(keys))


async def test_liveness_kills_the_slow_starter(world: Simulation) -> None:
    p = pod(world, "slow-start-liveness")
    last = status_of(p)["lastState"]["terminated"]
    # Killed at the third failed probe (20 s), SIGKILLed after the 30 s grace period.
    ran = parse_time(last["finishedAt"]) - parse_time(last["startedAt"])
    assert 48 <= ran <= 52
    unhealthy = event(world, p, "Unhealthy")
    assert re.fullmatch(
        r'Liveness probe failed: Get "http://10\.[\d.]+:8080/healthz": dial tcp 10\.[\d.]+:8080: '
        r"connect: connection refused",
        unhealthy["message"],
    )
    killing = event(world, p, "Killing")
    assert killing["message"] == "Container app failed liveness probe, will be restarted"
    assert unhealthy["count"] == 3 * killing["count"]


async def test_image_pull_failure_events(world: Simulation) -> None:
    p = pod(world, "bad-image-tag")
    image = "registry.example.com/shop/cart:v2.0.1"
    failed = event(world, p, "Failed", "Failed to pull image")
    assert failed["message"] == (
        f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack image '
        f'"{image}": failed to resolve reference "{image}": {image}: not found'
    )
    assert event(world, p, "Failed", "Error: ErrImagePull")["count"] >= 3
    assert event(world, p, "Failed", "Error: ImagePullBackOff")["count"] >= 10
    assert event(world, p, "BackOff")["message"] == f'Back-off pulling image "{image}"'


async def test_logs_keep_exactly_one_previous_instance(world: Simulation) -> None:
    p = pod(world, "crash-missing-env")
    name = p["metadata"]["name"]
    previous = world.logs.read(NS, name, "app", previous=True)
    current = world.logs.read(NS, name, "app", previous=False)
    assert previous and current
    assert previous[-1][1] == "FATAL: required environment variable DATABASE_URL is not set"
    assert "starting orders 2.3.0" in previous[0][1]
    # Waiting out its back-off, the container has no newer instance: a plain read and `--previous`
    # both give the one lastState names (kubelet validateContainerLogStatus).
    assert status_of(p)["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert previous == current
    finished = parse_time(status_of(p)["lastState"]["terminated"]["finishedAt"])
    assert finished <= previous[-1][0].timestamp() < finished + 1.0
    # A running pod that never restarted has no previous instance (the server answers 400).
    healthy = pods(world, "healthy-web")[0]["metadata"]["name"]
    assert world.logs.read(NS, healthy, "web", previous=True) is None
    assert world.logs.read(NS, healthy, "web", previous=False)


async def test_oom_log_is_cut_mid_word(world: Simulation) -> None:
    name = pod(world, "oom-leak")["metadata"]["name"]
    lines = world.logs.read(NS, name, "app", previous=True)
    assert lines
    assert world.logs.partial_last_line(NS, name, "app", previous=True)
    assert not world.logs.partial_last_line(NS, name, "app", previous=False)
    last = lines[-1][1]
    full = "pricing.cache: building price index for region eu-west-1 (batch 4812, 2048 products)"
    cut_at = last.index("pricing.cache")
    written = last[cut_at:]
    assert full.startswith(written) and written != full
    assert written[-1].isalpha() and full[len(written)].isalpha()  # inside a word


async def test_pods_without_running_containers_have_no_metrics(world: Simulation) -> None:
    for app in ("missing-secret", "bad-image-tag", "completed-job", "oom-batch"):
        assert world.store.get("podmetrics", NS, pod(world, app)["metadata"]["name"]) is None
    metrics = world.store.get("podmetrics", NS, pods(world, "healthy-web")[0]["metadata"]["name"])
    assert metrics is not None
    assert (metrics["apiVersion"], metrics["kind"], metrics["window"]) == (
        "metrics.k8s.io/v1beta1",
        "PodMetrics",
        "15s",
    )
    usage = metrics["containers"][0]["usage"]
    assert re.fullmatch(r"\d+n", usage["cpu"]) and re.fullmatch(r"\d+Ki", usage["memory"])
    assert metrics["metadata"]["labels"]["app"] == "healthy-web"


async def test_bad_rollout_has_history_and_a_stuck_rollout(world: Simulation) -> None:
    d = world.store.get("deployments", NS, "bad-rollout")
    assert d is not None
    assert d["metadata"]["annotations"][REVISION] == "2"
    sets = {
        rs["metadata"]["annotations"][REVISION]: rs
        for rs in world.store.list("replicasets", NS)[0]
        if rs["metadata"]["name"].startswith("bad-rollout-")
    }
    assert sorted(sets) == ["1", "2"]
    assert sets["1"]["spec"]["template"]["spec"]["containers"][0]["image"].endswith("api:1.4.2")
    assert sets["2"]["spec"]["template"]["spec"]["containers"][0]["image"].endswith("api:1.5.0")
    assert sets["2"]["metadata"]["annotations"]["kubernetes.io/change-cause"].startswith("kubectl set image")
    for rs in sets.values():
        labels = rs["spec"]["template"]["metadata"]["labels"]
        assert labels[HASH_LABEL] == template_hash(rs["spec"]["template"])
        assert rs["metadata"]["name"] == f"bad-rollout-{labels[HASH_LABEL]}"
        assert re.fullmatch(r"[bcdfghjklmnpqrstvwxz2456789]{6,10}", labels[HASH_LABEL])
    # maxSurge 1 / maxUnavailable 0: the old pod keeps serving while the new one crash-loops.
    by_image = {status_of(p)["image"].rsplit(":", 1)[1]: p for p in pods(world, "bad-rollout")}
    assert status_of(by_image["1.4.2"])["ready"] is True
    assert status_of(by_image["1.5.0"])["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert d["status"]["updatedReplicas"] == 1 and d["status"]["availableReplicas"] == 1


async def test_deployment_controller_events(world: Simulation) -> None:
    d = world.store.get("deployments", NS, "crash-missing-env")
    assert d is not None
    scaled = event(world, d, "ScalingReplicaSet")
    rs_name = pod(world, "crash-missing-env")["metadata"]["ownerReferences"][0]["name"]
    assert scaled["message"] == f"Scaled up replica set {rs_name} to 1 from 0"
    assert scaled["source"] == {"component": "deployment-controller"}
    rs = world.store.get("replicasets", NS, rs_name)
    assert rs is not None
    created = event(world, rs, "SuccessfulCreate")
    assert created["message"].startswith(f"Created pod: {rs_name}-")


# -- time moves --------------------------------------------------------------------------------------
async def test_backoff_doubles_caps_and_resets(
    fresh: Callable[..., Awaitable[Simulation]], tmp_path: Path
) -> None:
    path = write_scenarios(
        tmp_path,
        """
namespace: timing
scenarios:
  - name: quick
    age: 0s
    template: {spec: {containers: [{name: app, image: registry.example.com/t/quick:1}]}}
    behaviour: {app: {exit_after: 1s, exit_code: 3}}
  - name: long
    age: 0s
    template: {spec: {containers: [{name: app, image: registry.example.com/t/long:1}]}}
    behaviour: {app: {exit_after: 11m, exit_code: 3}}
""",
    )
    sim = await fresh(builtin=False, files=(path,))
    seen: dict[str, list[tuple[float, Obj]]] = {"quick": [], "long": []}

    def record(change: Change) -> None:
        app = change.obj["metadata"].get("labels", {}).get("app")
        if app in seen and change.obj.get("status", {}).get("containerStatuses"):
            seen[app].append((sim.sched.now(), copy.deepcopy(change.obj["status"]["containerStatuses"][0])))

    sim.store.add_watcher("pods", record)
    await until(sim, lambda: restarts(sim, "long", "timing") >= 3, 3000, 5.0)

    messages: list[str] = []
    for _, cs in seen["quick"]:
        message = cs["state"].get("waiting", {}).get("message", "")
        found = re.match(r"back-off (\S+) restarting", message)
        if found and (not messages or messages[-1] != found.group(1)):
            messages.append(found.group(1))
    assert messages == ["10s", "20s", "40s", "1m20s", "2m40s", "5m0s"]  # and 5m0s from then on
    # The gap between a death and the next start is the back-off.
    gaps: list[float] = []
    for _, cs in seen["quick"]:
        if "running" in cs["state"] and cs["lastState"].get("terminated"):
            gap = parse_time(cs["state"]["running"]["startedAt"]) - parse_time(
                cs["lastState"]["terminated"]["finishedAt"]
            )
            if not gaps or gaps[-1] != gap:
                gaps.append(gap)
    assert gaps[0] <= 2  # the first restart is immediate
    assert [round(g / 10) * 10 for g in gaps[1:7]] == [10, 20, 40, 80, 160, 300]
    # Ten minutes of clean running reset the back-off: the long runner never waits.
    assert not any(
        "waiting" in cs["state"] and cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        for _, cs in seen["long"]
    )


async def test_restart_policies(fresh: Callable[..., Awaitable[Simulation]], tmp_path: Path) -> None:
    def bare(name: str, policy: str, code: int) -> str:
        return f"""
  - name: {name}
    kind: Pod
    age: 0s
    template:
      spec:
        restartPolicy: {policy}
        containers: [{{name: job, image: registry.example.com/t/{name}:1}}]
    behaviour: {{job: {{exit_after: 2s, exit_code: {code}}}}}"""

    body = "namespace: policies\nscenarios:" + "".join(
        bare(*args)
        for args in (
            ("onfailure-ok", "OnFailure", 0),
            ("onfailure-bad", "OnFailure", 1),
            ("never-bad", "Never", 1),
            ("always-ok", "Always", 0),
        )
    )
    sim = await fresh(builtin=False, files=(write_scenarios(tmp_path, body),))
    await sim.advance(120)
    phases = {app: pod(sim, app, "policies")["status"]["phase"] for app in ("onfailure-ok", "never-bad")}
    assert phases == {"onfailure-ok": "Succeeded", "never-bad": "Failed"}
    assert status_of(pod(sim, "never-bad", "policies"))["state"]["terminated"]["exitCode"] == 1
    for app in ("onfailure-ok", "never-bad"):
        assert status_of(pod(sim, app, "policies"))["restartCount"] == 0
    for app in ("onfailure-bad", "always-ok"):
        looping = pod(sim, app, "policies")
        assert looping["status"]["phase"] == "Running"
        assert status_of(looping)["restartCount"] >= 3
    ready = next(
        c for c in pod(sim, "onfailure-ok", "policies")["status"]["conditions"] if c["type"] == "Ready"
    )
    assert (ready["status"], ready["reason"]) == ("False", "PodCompleted")


async def test_config_error_heals_once_the_secret_exists(fresh: Callable[..., Awaitable[Simulation]]) -> None:
    sim = await fresh()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": NS},
        "data": {"url": base64.b64encode(b"postgres://db:5432/accounts").decode()},
    }
    sim.store.create("secrets", secret)
    waited = await until(sim, lambda: "running" in status_of(pod(sim, "missing-secret"))["state"], 30, 1.0)
    assert waited <= 16  # the next 10-15 s retry picks it up
    assert status_of(pod(sim, "missing-secret"))["restartCount"] == 0


async def test_oom_pod_memory_climbs_to_the_limit(fresh: Callable[..., Awaitable[Simulation]]) -> None:
    sim = await fresh()
    name = pod(sim, "oom-leak")["metadata"]["name"]
    first_oom = status_of(pod(sim, "oom-leak"))["lastState"]["terminated"]["finishedAt"]
    samples: list[float] = []

    def sample() -> bool:
        metrics = sim.store.get("podmetrics", NS, name)
        if metrics is not None:
            mi = int(metrics["containers"][0]["usage"]["memory"][:-2]) / 1024
            if not samples or samples[-1] != mi:
                samples.append(mi)
        return bool(status_of(pod(sim, "oom-leak"))["lastState"]["terminated"]["finishedAt"] != first_oom)

    await until(sim, sample, 900, 5.0)
    peak = max(samples)
    assert 220 <= peak < 256
    climb = samples[: samples.index(peak) + 1]
    rising = sum(1 for a, b in itertools.pairwise(climb) if b > a)
    assert rising >= 0.8 * (len(climb) - 1)  # noise aside, it only goes up until the kill
    last = status_of(pod(sim, "oom-leak"))["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (137, "OOMKilled")


async def test_exit_zero_shows_completed_then_crash_loop(fresh: Callable[..., Awaitable[Simulation]]) -> None:
    sim = await fresh()
    reasons: list[str] = []

    def record(change: Change) -> None:
        if change.obj["metadata"].get("labels", {}).get("app") == "exit-zero":
            state = change.obj["status"]["containerStatuses"][0]["state"]
            key = next(iter(state))
            reasons.append(state[key].get("reason", key))

    sim.store.add_watcher("pods", record)
    await sim.advance(330)
    assert "Completed" in reasons and "CrashLoopBackOff" in reasons and "running" in reasons
    assert reasons.index("Completed") < len(reasons) - 1


async def test_delete_pod_gets_a_replacement(fresh: Callable[..., Awaitable[Simulation]]) -> None:
    sim = await fresh()
    victim = pods(sim, "healthy-web")[0]
    name = victim["metadata"]["name"]

    def mark(obj: Obj) -> None:  # what the API server does on DELETE
        obj["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
        obj["metadata"]["deletionGracePeriodSeconds"] = 30

    sim.store.mutate("pods", NS, name, mark)
    await sim.advance(0.1)
    names = {p["metadata"]["name"] for p in pods(sim, "healthy-web")}
    assert len(names) == 2 and name not in names  # the ReplicaSet replaced it at once
    killing = event(sim, victim, "Killing")
    assert killing["message"] == "Stopping container web"
    await until(sim, lambda: sim.store.get("pods", NS, name) is None, 40, 0.5)
    assert sim.store.get("podmetrics", NS, name) is None
    await until(sim, lambda: all(status_of(p)["ready"] for p in pods(sim, "healthy-web")), 60, 1.0)
    for p in pods(sim, "healthy-web"):
        assert status_of(p)["restartCount"] == 0

    # A crash-looping pod is replaced by a fresh one: restart count 0, back-off forgotten.
    looping = pod(sim, "crash-missing-env")
    sim.store.mutate("pods", NS, looping["metadata"]["name"], mark)
    await sim.advance(0.5)
    replacement = pod(sim, "crash-missing-env")
    assert replacement["metadata"]["name"] != looping["metadata"]["name"]
    assert status_of(replacement)["restartCount"] == 0
    assert sim.store.get("pods", NS, looping["metadata"]["name"]) is None  # nothing was running


async def test_template_change_makes_a_new_revision(fresh: Callable[..., Awaitable[Simulation]]) -> None:
    sim = await fresh()

    def new_image(obj: Obj) -> None:
        obj["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/shop/web:2.9.0"

    sim.store.mutate("deployments", NS, "healthy-web", new_image)
    await sim.advance(1)
    d = sim.store.get("deployments", NS, "healthy-web")
    assert d is not None
    assert d["metadata"]["annotations"][REVISION] == "2"
    assert d["metadata"]["generation"] == 2
    await until(
        sim,
        lambda: (
            len(pods(sim, "healthy-web", live_only=False)) == 2
            and all(
                status_of(p)["image"].endswith(":2.9.0") and status_of(p)["ready"]
                for p in pods(sim, "healthy-web", live_only=False)
            )
        ),
        300,
        2.0,
    )
    sets = [
        rs for rs in sim.store.list("replicasets", NS)[0] if rs["metadata"]["name"].startswith("healthy-web-")
    ]
    revisions = {rs["metadata"]["annotations"][REVISION]: rs["spec"]["replicas"] for rs in sets}
    assert revisions == {"1": 0, "2": 2}
    d = sim.store.get("deployments", NS, "healthy-web")
    assert d is not None
    assert d["status"]["observedGeneration"] == 2
    assert (d["status"]["updatedReplicas"], d["status"]["availableReplicas"]) == (2, 2)
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "NewReplicaSetAvailable"


async def test_undo_patch_heals_bad_rollout(fresh: Callable[..., Awaitable[Simulation]]) -> None:
    sim = await fresh()
    sets = {
        rs["metadata"]["annotations"][REVISION]: rs
        for rs in sim.store.list("replicasets", NS)[0]
        if rs["metadata"]["name"].startswith("bad-rollout-")
    }
    target = sets["1"]
    # kubectl rollout undo: replace /spec/template (minus the hash label) and /metadata/annotations.
    template = copy.deepcopy(target["spec"]["template"])
    del template["metadata"]["labels"][HASH_LABEL]
    skip = {REVISION, "deployment.kubernetes.io/desired-replicas", "deployment.kubernetes.io/max-replicas"}
    annotations = {k: v for k, v in target["metadata"]["annotations"].items() if k not in skip}

    def undo(obj: Obj) -> None:
        kept = {k: v for k, v in obj["metadata"].get("annotations", {}).items() if k == REVISION}
        obj["spec"]["template"] = template
        obj["metadata"]["annotations"] = {**annotations, **kept}

    sim.store.mutate("deployments", NS, "bad-rollout", undo)
    await sim.advance(1)
    healed = sim.store.get("replicasets", NS, target["metadata"]["name"])
    assert healed is not None
    assert healed["metadata"]["annotations"][REVISION] == "3"
    assert healed["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    bad = sim.store.get("replicasets", NS, sets["2"]["metadata"]["name"])
    assert bad is not None and bad["spec"]["replicas"] == 0
    # Scaling an old ReplicaSet down touches its size annotations only: it keeps its own cause.
    cause = "kubernetes.io/change-cause"
    assert bad["metadata"]["annotations"][cause] == sets["2"]["metadata"]["annotations"][cause]
    assert bad["metadata"]["annotations"][cause].endswith("api=registry.example.com/shop/api:1.5.0")
    assert bad["metadata"]["annotations"][REVISION] == "2"
    await until(sim, lambda: len(pods(sim, "bad-rollout", live_only=False)) == 1, 60, 1.0)
    remaining = pods(sim, "bad-rollout")[0]
    assert status_of(remaining)["image"].endswith("api:1.4.2") and status_of(remaining)["ready"]
    d = sim.store.get("deployments", NS, "bad-rollout")
    assert d is not None
    assert d["metadata"]["annotations"][REVISION] == "3"
    assert d["metadata"]["annotations"]["kubernetes.io/change-cause"] == "deploy api 1.4.2"
    available = next(c for c in d["status"]["conditions"] if c["type"] == "Available")
    assert available["status"] == "True"


async def test_image_pull_alternates_err_and_backoff(fresh: Callable[..., Awaitable[Simulation]]) -> None:
    sim = await fresh()
    reasons: list[str] = []

    def record(change: Change) -> None:
        if change.obj["metadata"].get("labels", {}).get("app") == "bad-image-tag":
            reason = change.obj["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
            if not reasons or reasons[-1] != reason:
                reasons.append(reason)

    sim.store.add_watcher("pods", record)
    await sim.advance(700)
    assert reasons[:4] in (
        ["ErrImagePull", "ImagePullBackOff", "ErrImagePull", "ImagePullBackOff"],
        ["ImagePullBackOff", "ErrImagePull", "ImagePullBackOff", "ErrImagePull"],
    )


# -- loading, extra pods, churn, the format --------------------------------------------------------
async def test_load_objects_are_served_as_given(
    fresh: Callable[..., Awaitable[Simulation]], tmp_path: Path
) -> None:
    source = Path(__file__).resolve().parents[1] / "data" / "pods" / "oom-leak.json"
    if not source.exists():
        pytest.skip("recorded pod fixtures are not present")
    objects = json.loads(source.read_text(encoding="utf-8"))
    (tmp_path / "dump.json").write_text(json.dumps(objects), encoding="utf-8")
    pod_obj = next(o for o in objects["items"] if o["kind"] == "Pod")
    pod_name, container = pod_obj["metadata"]["name"], pod_obj["spec"]["containers"][0]["name"]
    logs_dir = tmp_path / "dump.logs" / pod_name
    logs_dir.mkdir(parents=True)
    (logs_dir / f"{container}.previous.log").write_text(
        "2026-11-20T10:00:00.000000001Z starting\nprocessed batch 1 (cache si", encoding="utf-8"
    )
    sim = await fresh(builtin=False)
    sim.load_objects_file(tmp_path / "dump.json")
    assert sim.simulated is False
    served = sim.store.get("pods", pod_obj["metadata"]["namespace"], pod_name)
    assert served is not None and served["status"] == pod_obj["status"]
    version = served["metadata"]["resourceVersion"]
    await sim.advance(600)
    after = sim.store.get("pods", pod_obj["metadata"]["namespace"], pod_name)
    assert after is not None and after["metadata"]["resourceVersion"] == version  # nobody runs it
    lines = sim.logs.read(pod_obj["metadata"]["namespace"], pod_name, container, previous=True)
    assert lines is not None and [t for _, t in lines] == ["starting", "processed batch 1 (cache si"]
    assert lines[0][0].isoformat().startswith("2026-11-20T10:00:00")
    assert sim.logs.partial_last_line(pod_obj["metadata"]["namespace"], pod_name, container, previous=True)


async def test_load_yaml_lists_and_flat_log_names(
    fresh: Callable[..., Awaitable[Simulation]], tmp_path: Path
) -> None:
    (tmp_path / "cluster.yaml").write_text(
        """
apiVersion: v1
kind: PodList
items:
  - metadata: {name: api-1, namespace: shop}
    spec: {nodeName: n1, containers: [{name: api, image: x:1}]}
    status:
      phase: Running
      containerStatuses:
        - name: api
          image: x:1
          ready: true
          restartCount: 2
          state: {running: {startedAt: "2026-01-01T00:00:00Z"}}
          lastState:
            terminated:
              exitCode: 1
              reason: Error
              startedAt: "2025-12-31T23:59:00Z"
              finishedAt: "2026-01-01T00:00:00Z"
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
""",
        encoding="utf-8",
    )
    (tmp_path / "cluster.api-1.api.previous.log").write_text("boom\n", encoding="utf-8")
    sim = await fresh(builtin=False)
    sim.load_objects_file(tmp_path / "cluster.yaml")
    served = sim.store.get("pods", "shop", "api-1")
    assert served is not None and served["metadata"]["uid"] and served["metadata"]["creationTimestamp"]
    assert sim.store.get("namespaces", "", "shop") is not None
    previous = sim.logs.read("shop", "api-1", "api", previous=True)
    assert previous is not None and previous[0][1] == "boom"
    assert sim.logs.read("shop", "api-1", "api", previous=False) == []  # running, no file: empty


async def test_extra_pods_are_cheap_and_deterministic(fresh: Callable[..., Awaitable[Simulation]]) -> None:
    sim = await fresh(builtin=False, seed=11, preplay=600)
    sim.add_extra_pods(600)  # after start: healthy ones appear at once, the others a moment later
    await sim.advance(5)
    all_pods = sim.store.list("pods")[0]
    assert len(all_pods) == 600
    namespaces = {p["metadata"]["namespace"] for p in all_pods}
    assert len(namespaces) >= 6
    running = [p for p in all_pods if p["status"].get("phase") == "Running" and status_of(p)["ready"]]
    assert len(running) >= 0.85 * len(all_pods)
    deployments = sim.store.list("deployments")[0]
    assert len(deployments) < 300 and max(d["spec"]["replicas"] for d in deployments) >= 4
    same = await fresh(builtin=False, seed=11, preplay=600)
    same.add_extra_pods(600)
    other = await fresh(builtin=False, seed=12, preplay=600)
    other.add_extra_pods(600)
    await same.advance(5)
    await other.advance(5)

    def names(world: Simulation) -> list[str]:
        return sorted(
            f"{d['metadata']['namespace']}/{d['metadata']['name']}"
            for d in world.store.list("deployments")[0]
        )

    assert names(sim) == names(same) != names(other)
    # One scheduler loop per simulation, timers only: no task per pod.
    loops = [t for t in asyncio.all_tasks() if t.get_name() == "kcrash-lab-simulation" and not t.done()]
    others = [t for t in asyncio.all_tasks() if t not in loops and t is not asyncio.current_task()]
    assert len(loops) <= 5 and not others
    assert sim.sched.pending() < 5 * len(all_pods)
    await sim.advance(120)
    assert len(sim.store.list("podmetrics")[0]) >= 0.85 * len(all_pods)


async def test_extra_pods_before_start_include_some_crash_loops(
    fresh: Callable[..., Awaitable[Simulation]],
) -> None:
    clock = SimClock(speed=0.001)
    sim = Simulation(Store(clock), clock, LogBook(), seed=5)
    sim.add_extra_pods(2000)
    await sim.start()
    try:
        all_pods = sim.store.list("pods")[0]
        assert len(all_pods) == 2000
        reasons = {
            status_of(p)["state"].get("waiting", {}).get("reason")
            for p in all_pods
            if p["status"].get("containerStatuses")
        }
        assert "CrashLoopBackOff" in reasons
        restarted = [p for p in all_pods if status_of(p)["restartCount"] > 0]
        assert 0 < len(restarted) < 0.15 * len(all_pods)
    finally:
        await sim.stop()


async def test_churn_changes_pods_at_the_rate(fresh: Callable[..., Awaitable[Simulation]]) -> None:
    sim = await fresh()
    before = sim.store.resource_version
    done = await sim.churn(200.0, 0.5)
    assert 60 <= done <= 110
    assert sim.store.resource_version - before >= done


async def test_scenario_format_errors_name_the_place() -> None:
    base = {"template": {"spec": {"containers": [{"name": "app", "image": "x:1"}]}}}
    with pytest.raises(ScenarioError, match=r"scenario 'a'.*unknown key 'exit_afterr'"):
        parse_scenarios({"scenarios": [{"name": "a", **base, "behaviour": {"app": {"exit_afterr": 1}}}]})
    with pytest.raises(ScenarioError, match=r"no container named 'web'"):
        parse_scenarios({"scenarios": [{"name": "a", **base, "behaviour": {"web": {}}}]})
    with pytest.raises(ScenarioError, match=r"not a duration"):
        parse_scenarios({"scenarios": [{"name": "a", **base, "behaviour": {"app": {"exit_after": "soon"}}}]})
    with pytest.raises(ScenarioError, match=r"defined twice"):
        parse_scenarios({"scenarios": [{"name": "a", **base}, {"name": "a", **base}]})
    parsed = parse_scenarios(
        {"scenarios": [{"name": "a", **base, "behaviour": {"app": {"exit_after": "1m30s"}}}]}
    )
    assert parsed.scenarios[0].revisions[0].behaviours["app"].exit_after == 90.0
    spec = parsed.scenarios[0].revisions[0].template["spec"]
    assert spec["restartPolicy"] == "Always" and spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (10, "10s"),
        (20, "20s"),
        (40, "40s"),
        (80, "1m20s"),
        (160, "2m40s"),
        (300, "5m0s"),
        (3600, "1h0m0s"),
        (1.5, "1.5s"),
    ],
)
async def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


async def test_cut_mid_word_stops_inside_a_word() -> None:
    line = "INFO  pricing.cache: building price index for region eu-west-1"
    cut = cut_mid_word(line)
    assert line.startswith(cut) and len(cut) < len(line)
    assert cut[-1].isalpha() and line[len(cut)].isalpha()


async def test_logbook_keeps_one_previous_and_stays_bounded() -> None:
    book = LogBook(max_lines=100)
    for instance in range(3):
        book.start_instance("ns", "p", "c")
        for i in range(250):
            book.append("ns", "p", "c", 1000.0 + instance * 1000 + i, f"run {instance} line {i}")
        book.end_instance("ns", "p", "c")
    previous = book.read("ns", "p", "c", previous=True)
    current = book.read("ns", "p", "c", previous=False)
    assert previous is not None and current is not None
    assert len(previous) == len(current) == 100
    assert previous[-1][1] == "run 1 line 249" and current[-1][1] == "run 2 line 249"
    assert book.instance_ended("ns", "p", "c")
    got: list[str] = []
    ended: list[bool] = []
    book.start_instance("ns", "p", "c")
    stop = book.subscribe(
        "ns", "p", "c", lambda _t, text, _complete: got.append(text), on_end=lambda: ended.append(True)
    )
    book.append("ns", "p", "c", 5000.0, "live")
    stop()
    book.append("ns", "p", "c", 5001.0, "after unsubscribe")
    assert got == ["live"] and not ended
    book.forget_pod("ns", "p")
    assert book.read("ns", "p", "c", previous=False) is None


async def test_builtin_secrets_are_valid_base64() -> None:
    from kcrash.lab.scenarios import load_builtin_scenarios

    found = load_builtin_scenarios()
    names = {s.name for s in found.scenarios}
    assert {"crash-missing-env", "oom-leak", "bad-rollout", "healthy-web", "recovered-worker"} <= names
    secrets = [obj for obj in found.objects if obj["kind"] == "Secret"]
    assert secrets
    for obj in secrets:
        for value in (obj.get("data") or {}).values():
            base64.b64decode(value, validate=True)


@pytest.mark.parametrize("app", ["oom-leak", "crash-missing-env", "init-migrate-fails"])
async def test_previous_log_is_the_last_state_instance_during_backoff(
    fresh: Callable[..., Awaitable[Simulation]], app: str
) -> None:
    # The kubelet serves `--previous` from lastState.terminated.containerID: while the container
    # waits out its back-off, that is the instance that just died, not the one before it.
    sim = await fresh()
    init = app == "init-migrate-fails"

    def waiting() -> bool:
        found = pods(sim, app)
        if len(found) != 1:
            return False
        statuses = found[0].get("status", {}).get("initContainerStatuses" if init else "containerStatuses")
        return bool(statuses) and statuses[0]["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff"

    await sim.advance(1.0)
    await until(sim, lambda: not waiting(), 600, 0.5)
    await until(sim, waiting, 600, 0.5)
    p = pod(sim, app)
    status = status_of(p, init=init)
    last = status["lastState"]["terminated"]
    name, container = p["metadata"]["name"], status["name"]
    previous = sim.logs.read(NS, name, container, previous=True)
    current = sim.logs.read(NS, name, container, previous=False)
    assert previous, "no previous log during back-off"
    assert previous == current  # both name the lastState instance, as the kubelet answers
    started, finished = parse_time(last["startedAt"]), parse_time(last["finishedAt"])
    first, final = previous[0][0].timestamp(), previous[-1][0].timestamp()
    # startedAt/finishedAt are whole seconds (RFC 3339), log timestamps are not.
    assert started <= first <= finished + 1.0, (last, previous[0])
    assert finished - 1.0 <= final < finished + 1.0, (last, previous[-1])
