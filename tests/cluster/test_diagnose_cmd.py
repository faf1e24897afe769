"""`kcrash diagnose`: every lab scenario diagnosed through the command, online and from kubectl's files."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from kcrash.cluster.api import Api
from kcrash.core.records import Pod
from kcrash.diagnose_cmd import main, matches_selector

# Deployment (pod name prefix) -> the cause the diagnosis must name.
EXPECTED = {
    "crash-missing-env": "app-error",
    "oom-leak": "oom-killed",
    "slow-start-liveness": "liveness-probe",
    "exit-zero": "exits-zero",
    "bad-command": "command-not-found",
    "db-unreachable": "dependency-unreachable",
    "bad-image-tag": "image-pull",
    "missing-secret": "config-missing",
    "missing-secret-key": "config-missing",
    "missing-configmap": "config-missing",
    "bad-rollout": "app-error",
}
NOT_FAILING = ("healthy-web", "recovered-worker")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def deployment_of(pod_name: str) -> str:
    """`oom-leak-55fcbfb9bc-qgc6h` -> `oom-leak` (the ReplicaSet hash and pod suffix dropped)."""
    return pod_name.rsplit("-", 2)[0]


def causes(rows: list[dict[str, Any]]) -> dict[str, str]:
    return {deployment_of(r["pod"]): r["cause"] for r in rows if deployment_of(r["pod"]) in EXPECTED}


def diagnose_lab(kubeconfig: Path) -> tuple[int, list[dict[str, Any]]]:
    """Run until every scenario has reached the state it is built to show (the lab plays at 20x)."""
    deadline = time.monotonic() + 60
    while True:
        code, out, err = run("-n", "crashlab", "-o", "json", "--kubeconfig", str(kubeconfig))
        assert err == ""
        rows = json.loads(out)
        if causes(rows) == EXPECTED or time.monotonic() > deadline:
            return code, rows
        time.sleep(0.5)


def test_every_scenario_is_diagnosed_right(lab: Any, kubeconfig: Path) -> None:
    lab.faults.clear_requests()
    code, rows = diagnose_lab(kubeconfig)
    assert causes(rows) == EXPECTED
    assert code == 1
    names = {deployment_of(r["pod"]) for r in rows}
    assert not names & set(NOT_FAILING)
    rollout = next(r for r in rows if r["pod"].startswith("bad-rollout-"))
    assert rollout["rollout_hint"].startswith("began with revision")
    for row in rows:
        assert set(row) >= {
            "namespace", "pod", "container", "status", "restarts", "exit_code",
            "cause", "headline", "evidence", "next_steps",
        }  # fmt: skip
        assert row["namespace"] == "crashlab" and row["headline"] and row["next_steps"]

    requests = lab.faults.requests()
    assert not [r for r in requests if "secrets" in r.path.split("/")]  # kcrash never reads Secrets
    assert not [r for r in requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]


def test_a_named_pod_as_text(lab: Any, kubeconfig: Path, api: Any) -> None:
    pod = next(p for p in api.list_all_pods("crashlab").items if p.name.startswith("crash-missing-env-"))
    code, out, err = run(pod.name, "-n", "crashlab", "--kubeconfig", str(kubeconfig))
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"crashlab/{pod.name} (app): CrashLoopBackOff, ")
    assert lines[0].endswith(" restarts")
    assert lines[1].startswith("  app-error: ")
    assert "DATABASE_URL" in lines[1]
    assert "  evidence:" in lines and "  next steps:" in lines
    assert all(
        line.startswith("    - ")
        for line in lines[lines.index("  evidence:") + 1 : lines.index("  next steps:")]
    )


def test_a_healthy_named_pod_exits_zero(kubeconfig: Path, api: Any) -> None:
    pod = next(p for p in api.list_all_pods("crashlab").items if p.name.startswith("healthy-web-"))
    code, out, _ = run(pod.name, "--kubeconfig", str(kubeconfig), "-o", "json")
    assert code == 0
    assert json.loads(out)[0]["cause"] == "healthy"


def test_nothing_failing_exits_zero(kubeconfig: Path) -> None:
    code, out, err = run("-l", "app=healthy-web", "--kubeconfig", str(kubeconfig))
    assert (code, err) == (0, "")
    assert out == 'no failing pods in namespace "crashlab"\n'


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["no-such-pod", "-n", "crashlab"], 'pod "no-such-pod" not found in namespace "crashlab"'),
        (["--context", "nope"], 'context "nope" not found'),
        (["--logs", "x.log"], "--logs needs --from"),
        (["-o", "yaml"], "invalid choice: 'yaml'"),
        (["--from", "/no/such/file"], "cannot read /no/such/file"),
        (["-n", "a", "-A"], "not allowed with argument"),
    ],
)
def test_usage_and_connection_errors_are_one_line(kubeconfig: Path, argv: list[str], expected: str) -> None:
    code, _, err = run(*argv, "--kubeconfig", str(kubeconfig))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("kcrash diagnose: ")
    assert expected in err
    assert "Traceback" not in err


def test_server_down_is_exit_2(tmp_path: Path, kubeconfig: Path) -> None:
    dead = tmp_path / "config"
    dead.write_text(kubeconfig.read_text().replace("https://127.0.0.1:", "https://127.0.0.1:1"))
    code, _, err = run("--kubeconfig", str(dead))
    assert code == 2 and err.startswith("kcrash diagnose: cannot reach the API server")


# -- from files written by real kubectl -----------------------------------------------------------


def pod_named(api: Api, prefix: str) -> str:
    pods = [p for p in api.list_all_pods("crashlab").items if p.name.startswith(prefix + "-")]
    return max(pods, key=lambda p: p.name if p.created_at is None else p.created_at.isoformat()).name


@pytest.mark.parametrize(
    "scenario", ["bad-image-tag", "missing-secret", "missing-configmap", "exit-zero", "oom-leak"]
)
def test_from_a_pod_yaml(kubectl: Any, api: Any, tmp_path: Path, scenario: str) -> None:
    diagnose_lab_ready = EXPECTED[scenario]
    name = pod_named(api, scenario)
    saved = tmp_path / "pod.yaml"
    saved.write_text(kubectl("get", "pod", name, "-n", "crashlab", "-o", "yaml").stdout)
    code, out, err = run("--from", str(saved), "-o", "json")
    assert (code, err) == (1, "")
    (row,) = json.loads(out)
    assert (row["pod"], row["cause"]) == (name, diagnose_lab_ready)


def test_from_files_with_events_logs_and_history(kubectl: Any, api: Any, tmp_path: Path) -> None:
    name = pod_named(api, "crash-missing-env")
    pod_file = tmp_path / "pod.json"
    pod_file.write_text(kubectl("get", "pod", name, "-n", "crashlab", "-o", "json").stdout)
    events = tmp_path / "events.yaml"
    selector = f"involvedObject.name={name}"
    events.write_text(
        kubectl("get", "events", "-n", "crashlab", "--field-selector", selector, "-o", "yaml").stdout
    )
    log = tmp_path / "previous.log"
    log.write_text(kubectl("logs", name, "-n", "crashlab", "--previous").stdout)

    code, out, err = run("--from", str(pod_file), "--from", str(events), "--logs", str(log), "-o", "json")
    assert (code, err) == (1, "")
    (row,) = json.loads(out)
    assert row["cause"] == "app-error"
    assert any(e["source"] == "previous log" and "DATABASE_URL" in e["quote"] for e in row["evidence"])


def test_from_a_list_with_rollout_history(kubectl: Any, api: Any, tmp_path: Path) -> None:
    name = pod_named(api, "bad-rollout")
    everything = tmp_path / "all.yaml"
    listing = kubectl(
        "get", "pods,deployments,replicasets", "-n", "crashlab", "-l", "app=bad-rollout", "-o", "yaml"
    )
    everything.write_text(listing.stdout)
    code, out, err = run(name, "--from", str(everything), "-o", "json")
    assert (code, err) == (1, "")
    (row,) = json.loads(out)
    assert row["cause"] == "app-error"
    assert row["rollout_hint"].startswith("began with revision")


def test_from_a_pod_list_diagnoses_every_failing_pod(kubectl: Any, tmp_path: Path) -> None:
    listing = tmp_path / "pods.json"
    listing.write_text(kubectl("get", "pods", "-n", "crashlab", "-o", "json").stdout)
    code, out, _ = run("--from", str(listing), "-o", "json")
    assert code == 1
    found = causes(json.loads(out))
    # Without the API, the diagnoses that rest on the pod object alone must still be right.
    for scenario in (
        "bad-image-tag",
        "missing-secret",
        "missing-configmap",
        "exit-zero",
        "oom-leak",
        "bad-command",
    ):
        assert found[scenario] == EXPECTED[scenario]
    assert not set(found) & set(NOT_FAILING)


def test_logs_need_exactly_one_pod(kubectl: Any, tmp_path: Path) -> None:
    listing = tmp_path / "pods.json"
    listing.write_text(kubectl("get", "pods", "-n", "crashlab", "-o", "json").stdout)
    log = tmp_path / "x.log"
    log.write_text("boom\n")
    code, _, err = run("--from", str(listing), "--logs", str(log))
    assert code == 2 and "belongs to one pod but the files hold" in err


@pytest.mark.parametrize(
    ("labels", "selector", "expected"),
    [
        ((("app", "web"),), "app=web", True),
        ((("app", "web"),), "app==web", True),
        ((("app", "web"),), "app!=web", False),
        ((("app", "web"), ("tier", "fe")), "app=web,tier", True),
        ((("app", "web"),), "!tier", True),
        ((("app", "web"),), "tier", False),
    ],
)
def test_matches_selector(labels: tuple[tuple[str, str], ...], selector: str, expected: bool) -> None:
    assert matches_selector(Pod("ns", "p", labels=labels), selector) is expected
