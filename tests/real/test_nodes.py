"""The lab's kubelet as the nodes of a real control plane: Nodes Ready and leased, every scenario's pod
in its state through the real controllers and scheduler, `kubectl logs` and `kubectl top` through the
real apiserver, `rollout undo` through the real deployment controller, and kcrash's diagnosis the
same per scenario as on the embedded lab.

The module runs a control plane of its own: the nodes run every pod the scheduler can place, which
would change what other modules' pods do.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kcrash.lab.app import Lab
from kcrash.lab.realcp.apiclient import ApiClient
from kcrash.lab.realcp.binaries import Binaries
from kcrash.lab.realcp.controlplane import ControlPlane
from kcrash.lab.realcp.nodes import LabNodes
from kcrash.lab.scenarios import load_builtin_scenarios

pytestmark = pytest.mark.real

NAMESPACE = "crashlab"
SETTLE = 180.0  # two busy cores: the controllers, the scheduler and the pods' pasts
T = TypeVar("T")
Kubectl = Callable[..., subprocess.CompletedProcess[str]]

# What each scenario's (newest) pod shows once played: "last:<reason>/<code>" for a container that
# has crashed before, "waiting:<reason>", "terminated:<reason>/<code>", "ready" or "unready".
EXPECTED: dict[str, set[str]] = {
    "bad-command": {"last:StartError/128"},
    "bad-image-tag": {"waiting:ImagePullBackOff", "waiting:ErrImagePull"},
    "bad-rollout": {"last:Error/1"},
    "completed-job": {"terminated:Completed/0"},
    "crash-missing-env": {"last:Error/1"},
    "db-unreachable": {"last:Error/1"},
    "exit-zero": {"last:Completed/0"},
    "healthy-web": {"ready"},
    "init-migrate-fails": {"last:Error/1"},
    "missing-configmap": {"waiting:CreateContainerConfigError"},
    "missing-secret": {"waiting:CreateContainerConfigError"},
    "missing-secret-key": {"waiting:CreateContainerConfigError"},
    "never-ready": {"unready"},
    "oom-batch": {"terminated:OOMKilled/137"},
    "oom-leak": {"last:OOMKilled/137"},
    "recovered-worker": {"last:Error/1"},
    "segfault-native": {"last:Error/139"},
    "sigterm-exit": {"last:Error/143"},
    "slow-start-liveness": {"last:Error/137"},
}
NEWEST_IMAGE = {"bad-rollout": "registry.example.com/shop/api:1.5.0"}


@pytest.fixture(scope="module")
def cluster(binaries: Binaries) -> Iterator[tuple[ControlPlane, LabNodes, float]]:
    begin = time.monotonic()
    with ControlPlane(binaries) as cp:
        client = ApiClient(cp.url, cp.admin_token, cp.ca_pem)
        with LabNodes(client, load_builtin_scenarios()) as nodes:
            yield cp, nodes, begin


@pytest.fixture(scope="module")
def kubeconfig(
    cluster: tuple[ControlPlane, LabNodes, float], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return cluster[0].write_kubeconfig(tmp_path_factory.mktemp("nodes-kubeconfig") / "config")


@pytest.fixture(scope="module")
def settled(cluster: tuple[ControlPlane, LabNodes, float], kubectl: Kubectl) -> dict[str, Any]:
    """Every scenario's pod in its expected state; the pods by scenario. Prints how long it took."""
    found: dict[str, Any] = {}

    def all_there() -> bool:
        found.clear()
        found.update(scenario_pods(kubectl))
        return all(summary(found.get(name)) in wanted for name, wanted in EXPECTED.items())

    try:
        wait_for(all_there, SETTLE)
    except AssertionError:
        wrong = {n: summary(found.get(n)) for n, w in EXPECTED.items() if summary(found.get(n)) not in w}
        raise AssertionError(f"scenarios not in their expected state: {wrong}") from None
    took = time.monotonic() - cluster[2]
    print(f"\nall {len(EXPECTED)} scenario pods in their states {took:.1f} s after start")
    return found


# -- reading the cluster ------------------------------------------------------------------------------


def wait_for(check: Callable[[], T], timeout: float, every: float = 1.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s")
        time.sleep(every)


def get_json(kubectl: Kubectl, *args: str) -> Any:
    return json.loads(kubectl(*args, "-o", "json", check=True).stdout)


def scenario_pods(kubectl: Kubectl) -> dict[str, Any]:
    """Per scenario, its newest pod (the bad revision's, for a rollout)."""
    names = sorted(EXPECTED, key=len, reverse=True)
    chosen: dict[str, Any] = {}
    for pod in get_json(kubectl, "get", "pods", "-n", NAMESPACE)["items"]:
        name = pod["metadata"]["name"]
        scenario = next((n for n in names if name == n or name.startswith(n + "-")), None)
        if scenario is None or pod["metadata"].get("deletionTimestamp"):
            continue
        image = NEWEST_IMAGE.get(scenario)
        if image is not None and pod["spec"]["containers"][0]["image"] != image:
            continue
        chosen[scenario] = pod
    return chosen


def summary(pod: Any) -> str:
    """The first container that is not fine (init containers first), in EXPECTED's words."""
    if pod is None:
        return "missing"
    status = pod.get("status") or {}
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    if not statuses:
        return "no status"
    inits = len(status.get("initContainerStatuses") or [])
    for i, c in enumerate(statuses):
        last = (c.get("lastState") or {}).get("terminated")
        if last:
            return f"last:{last.get('reason')}/{last.get('exitCode')}"
        state = c.get("state") or {}
        done = state.get("terminated")
        if i < inits and done and done.get("exitCode") == 0:
            continue  # an init container that did its work
        if "waiting" in state and state["waiting"].get("reason") != "PodInitializing":
            return f"waiting:{state['waiting'].get('reason')}"
        if done:
            return f"terminated:{done.get('reason')}/{done.get('exitCode')}"
    apps = status.get("containerStatuses") or []
    return "ready" if apps and all(c.get("ready") for c in apps) else "unready"


# -- nodes --------------------------------------------------------------------------------------------


def test_nodes_are_ready_leased_and_reachable_on_loopback(
    cluster: tuple[ControlPlane, LabNodes, float], kubectl: Kubectl
) -> None:
    nodes = cluster[1]

    def ready_nodes() -> list[Any]:
        items = get_json(kubectl, "get", "nodes")["items"]
        # Ready, and the node-lifecycle controller has taken off the not-ready taint it put on at
        # registration (it does so a moment after the Ready condition turns True).
        return [
            n
            for n in items
            if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
            and not [t for t in n["spec"].get("taints") or [] if "not-ready" in t["key"]]
        ]

    ready = wait_for(lambda: len(ready_nodes()) == len(nodes.node_names) and ready_nodes(), 60)
    assert {n["metadata"]["name"] for n in ready} == set(nodes.node_names)
    for node in ready:
        status = node["status"]
        assert {"type": "InternalIP", "address": "127.0.0.1"} in status["addresses"]
        assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] == nodes.port
        assert status["allocatable"]["pods"] == "110"
        assert not [t for t in node["spec"].get("taints") or [] if "not-ready" in t["key"]]
    leases = get_json(kubectl, "get", "leases", "-n", "kube-node-lease")["items"]
    renewed = {lease["metadata"]["name"]: lease["spec"]["renewTime"] for lease in leases}
    assert set(nodes.node_names) <= set(renewed)


# -- scenarios ----------------------------------------------------------------------------------------


def test_every_scenario_pod_reaches_its_state_through_the_real_controllers(
    settled: dict[str, Any], kubectl: Kubectl, cluster: tuple[ControlPlane, LabNodes, float]
) -> None:
    assert {name: summary(pod) in EXPECTED[name] for name, pod in settled.items()} == dict.fromkeys(
        EXPECTED, True
    )
    owners = settled["oom-leak"]["metadata"]["ownerReferences"]
    assert owners[0]["kind"] == "ReplicaSet"  # made by the real controller-manager
    scheduled = [c for c in settled["oom-leak"]["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert scheduled and scheduled[0]["status"] == "True"
    store = cluster[1].store
    assert store is not None and (store.failures, store.last_failure) == (0, "")  # every write accepted
    reasons = {e["reason"] for e in get_json(kubectl, "get", "events", "-n", NAMESPACE)["items"]}
    assert {"Scheduled", "Pulled", "Started", "BackOff", "Unhealthy", "Killing", "Failed"} <= reasons


def test_logs_previous_through_the_apiserver_are_the_dying_words_of_last_state(
    settled: dict[str, Any], kubectl: Kubectl, cluster: tuple[ControlPlane, LabNodes, float]
) -> None:
    pod = settled["crash-missing-env"]
    name = pod["metadata"]["name"]
    previous = kubectl("logs", name, "-n", NAMESPACE, "--previous", "--timestamps", check=True).stdout
    lines = previous.splitlines()
    assert lines[-1].endswith("FATAL: required environment variable DATABASE_URL is not set")
    # The instance read is lastState's: its lines fall between lastState's start and finish.
    status = get_json(kubectl, "get", "pod", name, "-n", NAMESPACE)["status"]["containerStatuses"][0]
    last = status["lastState"]["terminated"]
    first_stamp, last_stamp = lines[0].split(" ", 1)[0], lines[-1].split(" ", 1)[0]
    assert last["startedAt"][:19] <= first_stamp[:19] and last_stamp[:19] <= last["finishedAt"][:19]
    nodes = cluster[1]
    book = nodes.call(lambda: nodes.logs.read(NAMESPACE, name, "app", True))
    assert [line.split(" ", 1)[1] for line in lines] == [text for _, text in book]


def test_log_options_through_the_apiserver(settled: dict[str, Any], kubectl: Kubectl) -> None:
    """On an instance that has ended (lastState, in a long back-off), so nothing changes in between."""
    name = settled["crash-missing-env"]["metadata"]["name"]
    base = ("logs", name, "-n", NAMESPACE, "--previous")
    whole = kubectl(*base, check=True).stdout
    assert whole.count("\n") >= 3
    assert kubectl(*base, "--tail=2", check=True).stdout.splitlines() == whole.splitlines()[-2:]
    assert kubectl(*base, "--limit-bytes=12", check=True).stdout == whole[:12]
    stamped = kubectl(*base, "--tail=1", "--timestamps", check=True).stdout
    stamp, text = stamped.rstrip("\n").split(" ", 1)
    assert text == whole.splitlines()[-1] and len(stamp) == 30 and stamp.endswith("000Z")
    assert kubectl(*base, "--since=1h", check=True).stdout == whole
    assert kubectl(*base, "--since=1s", check=True).stdout == ""
    healthy = settled["healthy-web"]["metadata"]["name"]
    missing = kubectl("logs", healthy, "-n", NAMESPACE, "--previous", check=False)
    assert missing.returncode != 0 and "previous terminated container" in missing.stderr
    unstarted = settled["missing-secret"]["metadata"]["name"]
    waiting = kubectl("logs", unstarted, "-n", NAMESPACE, check=False)
    assert waiting.returncode != 0
    assert (
        f'container "app" in pod "{unstarted}" is waiting to start: CreateContainerConfigError'
        in waiting.stderr
    )


def test_logs_follow_through_the_apiserver_streams_new_lines(
    settled: dict[str, Any], kubeconfig: Path
) -> None:
    beside = Path(sys.executable).parent / "kubectl"
    binary = str(beside) if beside.exists() else shutil.which("kubectl")
    assert binary is not None
    name = settled["oom-leak"]["metadata"]["name"]
    process = subprocess.Popen(
        [binary, "--kubeconfig", str(kubeconfig), "logs", name, "-n", NAMESPACE, "-f", "--tail=0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # a heartbeat every 10 s, or the instance ends (EOF)
        assert line == "" or "pricing" in line
    finally:
        process.kill()
        process.wait()


def test_kubectl_top_pods_reads_the_metrics_api_through_the_apiserver(
    settled: dict[str, Any], kubectl: Kubectl
) -> None:
    def top() -> str:
        result = kubectl("top", "pods", "-n", NAMESPACE)
        return result.stdout if result.returncode == 0 and "healthy-web" in result.stdout else ""

    table = wait_for(top, 60, every=2)
    row = next(line for line in table.splitlines() if line.startswith("healthy-web"))
    assert row.split()[2].endswith("Mi")
    service = get_json(kubectl, "get", "apiservice", "v1beta1.metrics.k8s.io")
    assert any(c["type"] == "Available" and c["status"] == "True" for c in service["status"]["conditions"])


# -- kcrash itself ------------------------------------------------------------------------------------


def diagnoses(kubeconfig: Path) -> dict[str, tuple[str, str]]:
    """kcrash diagnose's cause and detail per scenario (healthy when it does not list it)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kcrash",
            "diagnose",
            "--kubeconfig",
            str(kubeconfig),
            "-n",
            NAMESPACE,
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 1, 3), result.stderr
    names = sorted(EXPECTED, key=len, reverse=True)
    found = dict.fromkeys(EXPECTED, ("healthy", ""))
    for verdict in json.loads(result.stdout):
        scenario = next((n for n in names if verdict["pod"] == n or verdict["pod"].startswith(n + "-")), None)
        if scenario is not None:
            found[scenario] = (verdict["cause"], verdict["detail"])
    return found


def test_diagnosis_per_scenario_is_the_embedded_labs(
    settled: dict[str, Any], kubeconfig: Path, tmp_path: Path
) -> None:
    real = diagnoses(kubeconfig)
    with Lab(seed=1) as embedded:
        embedded_config = embedded.write_kubeconfig(tmp_path / "embedded")
        expected = diagnoses(embedded_config)
    differences = {n: (expected[n], real[n]) for n in EXPECTED if expected[n] != real[n]}
    print(
        f"\ndiagnosis: {len(EXPECTED) - len(differences)} of {len(EXPECTED)} scenarios as on the embedded lab"
    )
    assert differences == {}
    assert real["oom-leak"][0] == "oom-killed" and real["missing-secret"][0] == "config-missing"


def test_the_console_in_a_terminal_diagnoses_the_oom_pod(
    settled: dict[str, Any], kubeconfig: Path, tmp_path: Path
) -> None:
    """The console itself, at 80x24 in tmux, against the real apiserver and the lab's nodes: the list
    goes live, the filter finds oom-leak, and its drill-down names the OOM kill."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    script = Path(sys.executable).parent / "kcrash"
    program = str(script) if script.exists() else f"{sys.executable} -m kcrash"
    command = f"{program} --kubeconfig {kubeconfig} -n {NAMESPACE}"
    socket, session = f"kcrash-real-{tmp_path.name}", "real"
    # The archive and settings go to the test's own folders, not the user's.
    folders = f"XDG_DATA_HOME={tmp_path / 'data'} XDG_CONFIG_HOME={tmp_path / 'config'}"
    environment = f"unset COLUMNS LINES; {folders} TERM=xterm-256color"

    def tmux(*args: str) -> str:
        done = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, check=False)
        return done.stdout

    def screen_with(*words: str, absent: str = "", timeout: float = 60.0) -> str:
        shown = ""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = tmux("capture-pane", "-p", "-t", session)
            if all(word in shown for word in words) and not (absent and absent in shown):
                return shown
            time.sleep(0.3)
        raise AssertionError(f"never saw {words}; last screen:\n{shown}")

    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", f"{environment} {command}")
    try:
        listed = screen_with("● live", "oom-leak")
        assert "crashlab" in listed
        tmux("send-keys", "-t", session, "/")
        time.sleep(0.3)
        tmux("send-keys", "-t", session, "oom-leak", "Enter")
        screen_with("oom-leak-", absent="bad-command")  # the list, filtered
        time.sleep(0.3)
        tmux("send-keys", "-t", session, "Enter")
        shown = screen_with("Diagnosis", "was OOM-killed", timeout=90)  # the verdict, not Last State's line
        assert "pod/oom-leak-" in shown and "256Mi memory limit" in shown
        tmux("send-keys", "-t", session, "q")
    finally:
        tmux("kill-server")


def test_rollout_undo_goes_through_the_real_deployment_controller(
    settled: dict[str, Any], kubectl: Kubectl
) -> None:
    history = kubectl("rollout", "history", "deployment/bad-rollout", "-n", NAMESPACE, check=True).stdout
    assert "deploy api 1.4.2" in history and "api=registry.example.com/shop/api:1.5.0" in history
    kubectl("rollout", "undo", "deployment/bad-rollout", "-n", NAMESPACE, check=True)

    def bad_pods_gone() -> bool:
        pods = get_json(kubectl, "get", "pods", "-n", NAMESPACE, "-l", "app=bad-rollout")["items"]
        images = {p["spec"]["containers"][0]["image"] for p in pods}
        return images == {"registry.example.com/shop/api:1.4.2"}

    wait_for(bad_pods_gone, 90)
    after = kubectl("rollout", "history", "deployment/bad-rollout", "-n", NAMESPACE, check=True).stdout
    newest = after.strip().splitlines()[-1]
    assert newest.split()[0] == "3" and "deploy api 1.4.2" in newest


def test_a_pod_of_anyones_runs_and_deletes_like_on_a_kubelet(
    settled: dict[str, Any], kubectl: Kubectl
) -> None:
    """`kubectl run` (no scenario: a healthy container); `kubectl delete` waits for the node to let go."""
    kubectl("run", "visitor", "-n", NAMESPACE, "--image=registry.example.com/tools/visitor:1.0", check=True)

    def ready() -> Any:
        pod = get_json(kubectl, "get", "pod", "visitor", "-n", NAMESPACE)
        return pod if summary(pod) == "ready" else None

    pod = wait_for(ready, 60)
    assert pod["spec"]["nodeName"].startswith("lab-worker-") and pod["status"]["podIP"]
    kubectl("delete", "pod", "visitor", "-n", NAMESPACE, "--timeout=60s", check=True, timeout=90)
    gone = kubectl("get", "pod", "visitor", "-n", NAMESPACE, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
