"""The real control plane answers as Kubernetes does: real kubectl sees its namespaces and version,
the controller-manager turns a Deployment into a ReplicaSet and a pod, the scheduler (no nodes yet)
leaves the pod Pending with a FailedScheduling event, and kcrash's cluster layer lists and watches.
Then `kcrash lab --control-plane real` as a program: Ctrl-C, SIGTERM or a crashed part leave no
process behind. (One module, so that without the binaries pytest reports one skip line.)"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kcrash.cluster.api import Api
from kcrash.cluster.config import connect
from kcrash.cluster.reflector import Backoff, Reflector
from kcrash.core.records import Pod
from kcrash.diagnose_cmd import main as diagnose
from kcrash.lab.realcp.controlplane import ControlPlane, StartError

from .processes import alive, children_of

pytestmark = pytest.mark.real

NAMESPACE = "crashlab"
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def get_json(kubectl: Kubectl, *args: str) -> Any:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def unschedulable_pod(kubectl: Kubectl, selector: str) -> Any:
    """The first pod of `selector` once the scheduler has marked it Unschedulable, else None."""
    items = get_json(kubectl, "pods", "-n", NAMESPACE, "-l", selector)["items"]
    if not items:
        return None
    conditions = {c["type"]: c for c in items[0].get("status", {}).get("conditions") or []}
    return items[0] if conditions.get("PodScheduled", {}).get("reason") == "Unschedulable" else None


def failed_scheduling(kubectl: Kubectl, pod: Any) -> list[Any]:
    selector = f"involvedObject.name={pod['metadata']['name']}"
    events = get_json(kubectl, "events", "-n", NAMESPACE, "--field-selector", selector)["items"]
    return [e for e in events if e["reason"] == "FailedScheduling"]


def test_kubectl_lists_the_namespaces(kubectl: Kubectl) -> None:
    names = kubectl("get", "ns", "-o", "name").stdout.split()
    assert {"namespace/default", "namespace/kube-system", f"namespace/{NAMESPACE}"} <= set(names)


def test_the_server_is_the_pinned_release(kubectl: Kubectl, control_plane: ControlPlane) -> None:
    version = json.loads(kubectl("version", "-o", "json").stdout)["serverVersion"]
    assert version["gitVersion"] == control_plane.binaries.version
    assert version["major"] == "1"


def test_a_deployment_gets_a_replicaset_and_an_unschedulable_pod(kubectl: Kubectl) -> None:
    kubectl("create", "deployment", "web", "--image=registry.k8s.io/pause:3.10", "-n", NAMESPACE)

    def replicaset() -> Any:
        items = get_json(kubectl, "replicasets", "-n", NAMESPACE, "-l", "app=web")["items"]
        return items[0] if items else None

    rs = wait_for(replicaset, "the deployment controller's ReplicaSet")
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert "pod-template-hash" in rs["metadata"]["labels"]

    pod = wait_for(lambda: unschedulable_pod(kubectl, "app=web"), "the scheduler to give up (no nodes)")
    assert pod["status"]["phase"] == "Pending"
    assert "nodeName" not in pod["spec"]
    events = wait_for(lambda: failed_scheduling(kubectl, pod), "a FailedScheduling event")
    assert events[0]["message"] == "no nodes available to schedule pods"


def test_kcrash_diagnose_reads_the_real_scheduler_verdict(kubectl: Kubectl, kubeconfig: Path) -> None:
    """The same judgement the lab's simulated scheduler gets, from Kubernetes' own objects."""
    kubectl("create", "deployment", "api", "--image=registry.k8s.io/pause:3.10", "-n", NAMESPACE)
    pod = wait_for(lambda: unschedulable_pod(kubectl, "app=api"), "an unschedulable api pod")
    wait_for(lambda: failed_scheduling(kubectl, pod), "a FailedScheduling event")
    name = pod["metadata"]["name"]
    out, err = io.StringIO(), io.StringIO()
    code = diagnose(
        ["--kubeconfig", str(kubeconfig), "-n", NAMESPACE, name, "-o", "json"], stdout=out, stderr=err
    )
    assert err.getvalue() == ""
    [verdict] = json.loads(out.getvalue())
    assert verdict["pod"] == name and verdict["status"] == "Pending"
    assert verdict["cause"] == "unschedulable"
    assert "no nodes available to schedule pods" in verdict["headline"]
    assert any(e["source"].startswith("event FailedScheduling") for e in verdict["evidence"])
    assert code == 0  # unschedulable for seconds only: not yet failing (core.status.UNSCHEDULABLE_AFTER)


def test_the_cluster_layer_lists_and_watches_pods(kubeconfig: Path, kubectl: Kubectl) -> None:
    api = Api(connect(str(kubeconfig), None, NAMESPACE, False))
    seen: dict[str, Pod] = {}
    deleted: set[str] = set()
    lock = threading.Lock()

    def on_events(events: list[tuple[str, Pod]]) -> None:
        with lock:
            for kind, pod in events:
                if kind == "DELETED":
                    deleted.add(pod.name)
                else:
                    seen[pod.name] = pod

    def on_resync(pods: list[Pod]) -> None:
        with lock:
            seen.update({pod.name: pod for pod in pods})

    reflector: Reflector[Pod] = Reflector(
        lambda token: api.list_pods(NAMESPACE, continue_token=token, limit=500),
        lambda rv, timeout: api.watch_pods(NAMESPACE, "", rv, timeout),
        key=lambda pod: pod.key,
        version=lambda pod: pod.resource_version,
        on_events=on_events,
        on_resync=on_resync,
        on_state=lambda state: None,
        backoff=Backoff(initial=0.05, cap=0.5, jitter=0.0),
    )
    reflector.start()
    try:
        wait_for(lambda: reflector.watches >= 1, "the watch to open")
        kubectl("run", "probe", "--image=registry.k8s.io/pause:3.10", "--restart=Never", "-n", NAMESPACE)
        pod = wait_for(lambda: seen.get("probe"), "the new pod through the watch")
        assert pod.namespace == NAMESPACE and pod.phase == "Pending"
        kubectl("delete", "pod", "probe", "-n", NAMESPACE, "--wait=false")
        wait_for(lambda: "probe" in deleted, "the deletion through the watch")
        listed = {p.name for p in api.list_all_pods(NAMESPACE).items}
        assert "probe" not in listed
    finally:
        reflector.stop()


# -- `kcrash lab --control-plane real` as a program: no part outlives it ------------------------------

LAB_CLI = "import sys; from kcrash.lab.cli import main; sys.exit(main(sys.argv[1:]))"
PARTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


def start_cli(tmp_path: Path) -> tuple[subprocess.Popen[str], dict[str, int]]:
    """Run the command until it says it serves; return it and the pid of each part by name."""
    kubeconfig = tmp_path / "config"
    process = subprocess.Popen(
        [sys.executable, "-c", LAB_CLI, "--control-plane", "real", "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "serving https://127.0.0.1:" in line, line + (process.stderr.read() if process.stderr else "")
    assert f"KUBECONFIG={kubeconfig}" in line and kubeconfig.is_file()
    parts = {}
    for pid in children_of(process.pid):
        with contextlib.suppress(OSError):
            program = Path(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()).name
            parts[program] = pid
    assert set(PARTS) <= set(parts), parts
    return process, parts


def state_dir_of(etcd_pid: int) -> Path:
    """The run's directory, read from etcd's --data-dir=<dir>/etcd."""
    argv = Path(f"/proc/{etcd_pid}/cmdline").read_bytes().decode().split("\0")
    data_dir = next(a for a in argv if a.startswith("--data-dir="))
    return Path(data_dir.split("=", 1)[1]).parent


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_stops_every_part(tmp_path: Path, signum: signal.Signals) -> None:
    process, parts = start_cli(tmp_path)
    state_dir = state_dir_of(parts["etcd"])
    try:
        process.send_signal(signum)
        assert process.wait(timeout=30) == 0
        leftovers = [pid for pid in children_of(process.pid) if alive(pid)]
        assert leftovers == []
        assert not any(alive(pid) for pid in parts.values())
        assert not state_dir.exists()
    finally:
        if process.poll() is None:
            process.kill()


def test_a_crashed_part_is_reported_in_one_line_and_the_rest_stopped(tmp_path: Path) -> None:
    process, parts = start_cli(tmp_path)
    state_dir = state_dir_of(parts["etcd"])
    try:
        os.kill(parts["kube-scheduler"], signal.SIGKILL)
        assert process.wait(timeout=30) == 1
        assert process.stderr is not None
        lines = process.stderr.read().strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith("kcrash lab: error: kube-scheduler was killed by signal 9 (log: ")
        log = Path(lines[0].split("(log: ", 1)[1].split(")", 1)[0])
        assert log.name == "kube-scheduler.log" and log.is_file()
        assert not any(alive(pid) for pid in parts.values())
        assert sorted(p.name for p in state_dir.iterdir()) == ["logs"]  # kept for the reader of that line
    finally:
        if process.poll() is None:
            process.kill()
        shutil.rmtree(state_dir, ignore_errors=True)


def test_killing_kcrash_leaves_the_watchdog_to_stop_every_part(tmp_path: Path) -> None:
    process, parts = start_cli(tmp_path)
    state_dir = state_dir_of(parts["etcd"])
    try:
        process.kill()  # SIGKILL: kcrash cannot clean up; its watchdog must
        process.wait(timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(alive(pid) for pid in parts.values()):
            time.sleep(0.2)
        assert [name for name, pid in parts.items() if alive(pid)] == []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (state_dir / "pki").exists():
            time.sleep(0.2)
        assert sorted(p.name for p in state_dir.iterdir()) == ["logs"]  # keys and data gone
    finally:
        for pid in parts.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(state_dir, ignore_errors=True)


def test_a_part_that_cannot_start_is_named_in_one_line(tmp_path: Path, binaries: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-c", LAB_CLI, "--control-plane", "real", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "kcrash lab: error: the control plane did not start: kube-apiserver exited with code 1"
    )
    assert line.endswith('bind: address already in use"')
    log = Path(line.split("(log: ", 1)[1].split(")", 1)[0])
    assert log.is_file()
    shutil.rmtree(log.parent.parent, ignore_errors=True)


def test_a_part_not_ready_in_time_is_named_and_its_log_kept(binaries: Any) -> None:
    cp = ControlPlane(binaries)
    try:
        with pytest.raises(StartError, match=r"^etcd was not ready within 0\.01 s \(.*\); log: ") as caught:
            cp.start(timeout=0.01)
    finally:
        cp.stop()
    log = Path(str(caught.value).rsplit("log: ", 1)[1])
    assert log == cp.state_dir / "logs" / "etcd.log" and log.is_file()
    assert sorted(p.name for p in cp.state_dir.iterdir()) == ["logs"]
    shutil.rmtree(cp.state_dir)
