"""Real kubectl against the lab's built-in scenarios: what a user would see on a real cluster.

Uses the shared module-scoped `lab` (speed 20) and `kubectl` fixtures from tests/conftest.py. Tests
that change the cluster come last in the file.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

pytestmark = pytest.mark.kubectl

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
ROW = re.compile(
    r"^(?P<name>\S+)\s+(?P<ready>\d+/\d+)\s+(?P<status>\S+)\s+"
    r"(?P<restarts>\d+(?: \([^)]*\))?)\s+(?P<age>\S+)$"
)


def get_pods(kubectl: Kubectl, *args: str) -> dict[str, dict[str, str]]:
    """`kubectl get pods` rows by pod name."""
    out = kubectl("get", "pods", *args).stdout.splitlines()
    assert out and out[0].split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], out[:1]
    rows = {}
    for line in out[1:]:
        match = ROW.match(line)
        assert match, line
        rows[match["name"]] = match.groupdict()
    return rows


def row_of(rows: dict[str, dict[str, str]], app: str) -> dict[str, str]:
    found = [
        r
        for name, r in rows.items()
        if name == app or re.fullmatch(re.escape(app) + r"-[a-z0-9]+-[a-z0-9]{5}", name)
    ]
    assert len(found) == 1, (app, sorted(rows))
    return found[0]


def pod_name(kubectl: Kubectl, app: str) -> str:
    names = kubectl(
        "get", "pods", "-l", f"app={app}", "-o", "jsonpath={.items[*].metadata.name}"
    ).stdout.split()
    assert len(names) == 1, names
    return names[0]


def eventually(check: Callable[[], bool], timeout: float = 30.0, every: float = 0.3) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(every)


def settled_rows(
    kubectl: Kubectl, wanted: dict[str, tuple[str, ...]], timeout: float = 10.0
) -> dict[str, dict[str, str]]:
    """`get pods` once every app shows one of its wanted statuses (a crash-looper briefly shows Error)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = get_pods(kubectl)
        off = {
            app: row_of(rows, app)["status"]
            for app, ok in wanted.items()
            if row_of(rows, app)["status"] not in ok
        }
        if not off:
            return rows
        assert time.monotonic() < deadline, off
        time.sleep(0.2)


def test_get_pods_shows_each_kind_of_failure(kubectl: Kubectl) -> None:
    rows = settled_rows(
        kubectl,
        {
            "crash-missing-env": ("CrashLoopBackOff",),
            "oom-batch": ("OOMKilled",),
            "completed-job": ("Completed",),
            "bad-image-tag": ("ImagePullBackOff", "ErrImagePull"),
            "missing-secret": ("CreateContainerConfigError",),
            "missing-secret-key": ("CreateContainerConfigError",),
            "missing-configmap": ("CreateContainerConfigError",),
            "init-migrate-fails": ("Init:CrashLoopBackOff",),
            "recovered-worker": ("Running",),
        },
    )
    looping = row_of(rows, "crash-missing-env")
    assert looping["ready"] == "0/1"
    assert re.fullmatch(r"\d+ \((\d+[smhd])+ ago\)", looping["restarts"]), looping["restarts"]
    assert int(looping["restarts"].split()[0]) >= 5
    assert row_of(rows, "oom-batch")["restarts"] == "0"
    recovered = row_of(rows, "recovered-worker")
    assert recovered["ready"] == "1/1"
    ago = re.fullmatch(r"3 \((\d+)m ago\)", recovered["restarts"])
    assert ago and 60 <= int(ago[1]) <= 100, recovered["restarts"]
    web = [r for name, r in rows.items() if name.startswith("healthy-web-")]
    assert len(web) == 2 and all(
        (r["ready"], r["status"], r["restarts"]) == ("1/1", "Running", "0") for r in web
    )
    assert (row_of(rows, "never-ready")["ready"], row_of(rows, "never-ready")["status"]) == ("0/1", "Running")


def test_describe_oom_pod(kubectl: Kubectl) -> None:
    out = kubectl("describe", "pod", "-l", "app=oom-leak").stdout
    assert "Last State:     Terminated" in out
    assert re.search(r"Last State:\s+Terminated\n\s+Reason:\s+OOMKilled\n\s+Exit Code:\s+137\n", out), out
    assert re.search(r"Limits:\n\s+cpu:\s+1\n\s+memory:\s+256Mi", out)
    assert re.search(r"Restart Count:\s+[1-9]", out)
    events = out.split("Events:", 1)[1]
    assert re.search(r"Type\s+Reason\s+Age\s+From\s+Message", events)
    assert re.search(
        r"Warning\s+BackOff\s+.*kubelet\s+.*Back-off restarting failed container app in pod", events
    )
    assert re.search(
        r"Normal\s+Scheduled\s+.*default-scheduler\s+Successfully assigned crashlab/oom-leak-", events
    )


def test_describe_slow_starter_shows_probe_failures(kubectl: Kubectl) -> None:
    out = kubectl("describe", "pod", "-l", "app=slow-start-liveness").stdout
    assert re.search(r"Liveness:\s+http-get http://:8080/healthz delay=10s timeout=1s period=5s", out), out
    assert re.search(r"Warning\s+Unhealthy\s+.*Liveness probe failed: Get \"http://10\.", out)
    assert re.search(r"Normal\s+Killing\s+.*Container app failed liveness probe, will be restarted", out)
    assert re.search(r"Last State:\s+Terminated\n\s+Reason:\s+Error\n\s+Exit Code:\s+137", out)


def test_logs_previous_prints_the_dying_words(kubectl: Kubectl) -> None:
    out = kubectl("logs", "deploy/crash-missing-env", "--previous").stdout
    assert out.endswith("FATAL: required environment variable DATABASE_URL is not set\n")
    assert "starting orders 2.3.0" in out.splitlines()[0]
    trace = kubectl("logs", "deploy/db-unreachable", "--previous", "--tail", "3").stdout.splitlines()
    assert len(trace) == 3
    assert trace[1] == (
        'psycopg.OperationalError: connection to server at "postgres" (10.96.0.12), port 5432 failed: '
        "Connection refused"
    )


def test_logs_previous_of_oom_pod_ends_mid_line(kubectl: Kubectl) -> None:
    out = kubectl("logs", "deploy/oom-leak", "--previous").stdout
    assert not out.endswith("\n")
    last = out.rsplit("\n", 1)[-1]
    assert "pricing.cache: building price index" in last
    assert not last.endswith("products)")


def test_logs_previous_during_backoff_is_the_last_state_instance(kubectl: Kubectl) -> None:
    # Caught in CrashLoopBackOff, `--previous` must print the instance lastState describes: its
    # lines end at its death (finishedAt), not at the death of the one before.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        before = json.loads(kubectl("get", "pods", "-l", "app=oom-leak", "-o", "json").stdout)["items"][0]
        status = before["status"]["containerStatuses"][0]
        if status["state"].get("waiting", {}).get("reason") != "CrashLoopBackOff":
            time.sleep(0.3)
            continue
        name = before["metadata"]["name"]
        out = kubectl("logs", name, "--previous", "--timestamps").stdout
        plain = kubectl("logs", name, "--timestamps").stdout
        after = json.loads(kubectl("get", "pod", name, "-o", "json").stdout)["status"]["containerStatuses"][0]
        if after["state"] != status["state"] or after["lastState"] != status["lastState"]:
            continue  # it restarted between the reads; catch the next back-off
        last = status["lastState"]["terminated"]
        stamps = [_parse_time(line.split(" ", 1)[0]) for line in out.splitlines()]
        started, finished = _parse_time(last["startedAt"]), _parse_time(last["finishedAt"])
        assert started <= stamps[0] < finished + 1, (last, out.splitlines()[0])
        assert finished <= stamps[-1] < finished + 1, (last, out.splitlines()[-1])
        assert plain == out  # waiting, nothing newer has started: the plain read is that instance too
        return
    raise AssertionError("oom-leak never reached CrashLoopBackOff within 60 s")


def _parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_logs_previous_without_a_previous_instance(kubectl: Kubectl) -> None:
    name = kubectl("get", "pods", "-l", "app=healthy-web", "-o", "jsonpath={.items[0].metadata.name}").stdout
    result = kubectl("logs", name, "--previous", check=False)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        f'Error from server (BadRequest): previous terminated container "web" in pod "{name}" not found'
    )


def test_top_pod(kubectl: Kubectl) -> None:
    out = kubectl("top", "pod").stdout.splitlines()
    assert out[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    usage = {line.split()[0]: line.split()[1:] for line in out[1:]}
    web = [u for name, u in usage.items() if name.startswith("healthy-web-")]
    assert len(web) == 2
    for cpu, memory in web:
        assert re.fullmatch(r"\d+m", cpu) and re.fullmatch(r"\d+Mi", memory)
        assert 40 <= int(memory[:-2]) <= 120
    assert not any(name.startswith("missing-secret-") for name in usage)  # nothing runs, no metrics


def test_watch_sees_a_restart(kubectl: Kubectl, kubeconfig: Path, tmp_path: Path) -> None:
    victim = pod_name(kubectl, "exit-zero")
    binary = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    assert binary is not None
    lines: queue.Queue[str] = queue.Queue()
    watch = subprocess.Popen(
        [binary, "--kubeconfig", str(kubeconfig), "get", "pods", "-w", "-l", "app=exit-zero"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "KUBECACHEDIR": str(tmp_path / "cache")},
    )
    reader = threading.Thread(target=_pump, args=(watch, lines), daemon=True)
    reader.start()
    try:
        _wait_for_line(lines, lambda line: line.startswith(victim), 15)
        # A fresh replacement runs 4 s, exits 0, restarts at once, then backs off.
        kubectl("delete", "pod", victim, "--wait=false")
        seen = _wait_for_line(
            lines,
            lambda line: bool(re.match(r"exit-zero-\S+\s+\d/1\s+\S+\s+1 \(", line)) and victim not in line,
            30,
        )
        assert re.search(r"\s(Running|Completed|CrashLoopBackOff)\s", seen), seen
    finally:
        watch.terminate()
        watch.wait(timeout=10)


def test_delete_pod_gets_a_replacement(kubectl: Kubectl) -> None:
    before = {n for n in get_pods(kubectl, "-l", "app=healthy-web")}
    victim = sorted(before)[0]
    result = kubectl("delete", "pod", victim, timeout=60)
    assert result.stdout.startswith(f'pod "{victim}" deleted')

    def replaced() -> bool:
        rows = get_pods(kubectl, "-l", "app=healthy-web")
        return victim not in rows and len(rows) == 2 and all(r["status"] == "Running" for r in rows.values())

    eventually(replaced)
    rows = get_pods(kubectl, "-l", "app=healthy-web")
    new = set(rows) - before
    assert len(new) == 1 and rows[new.pop()]["restarts"] == "0"


def test_rollout_history_and_undo_heal_bad_rollout(kubectl: Kubectl) -> None:
    history = kubectl("rollout", "history", "deployment/bad-rollout").stdout
    assert re.search(r"^1\s+deploy api 1\.4\.2$", history, re.M), history
    assert re.search(
        r"^2\s+kubectl set image deployment/bad-rollout api=registry\.example\.com/shop/api:1\.5\.0$",
        history,
        re.M,
    )
    # The stuck rollout: the old pod still serves, the new one crash-loops beside it.
    ready = sorted(r["ready"] for r in get_pods(kubectl, "-l", "app=bad-rollout").values())
    assert ready == ["0/1", "1/1"]

    assert (
        kubectl("rollout", "undo", "deployment/bad-rollout").stdout.strip()
        == "deployment.apps/bad-rollout rolled back"
    )

    def healthy() -> bool:
        rows = get_pods(kubectl, "-l", "app=bad-rollout")
        return len(rows) == 1 and all((r["ready"], r["status"]) == ("1/1", "Running") for r in rows.values())

    eventually(healthy)
    image = kubectl(
        "get", "deployment", "bad-rollout", "-o", "jsonpath={.spec.template.spec.containers[0].image}"
    ).stdout
    assert image == "registry.example.com/shop/api:1.4.2"
    after = kubectl("rollout", "history", "deployment/bad-rollout").stdout
    revisions = re.findall(r"^(\d+)\s", after, re.M)
    assert revisions == ["2", "3"], after
    # Each revision keeps its own change-cause, as the deployment controller leaves old ones alone.
    assert re.search(
        r"^2\s+kubectl set image deployment/bad-rollout api=registry\.example\.com/shop/api:1\.5\.0$",
        after,
        re.M,
    ), after
    assert re.search(r"^3\s+deploy api 1\.4\.2$", after, re.M), after
    status = kubectl("rollout", "status", "deployment/bad-rollout", "--timeout=20s", timeout=40)
    assert "successfully rolled out" in status.stdout


# -- helpers for the watch -----------------------------------------------------------------------------
def _pump(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line.rstrip("\n"))


def _wait_for_line(lines: queue.Queue[str], wanted: Callable[[str], bool], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.05, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if wanted(line):
            return line
    raise AssertionError("no such line; saw:\n" + "\n".join(seen))
