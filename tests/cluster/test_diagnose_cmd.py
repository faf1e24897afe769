"""`kcrash diagnose`: every lab scenario diagnosed through the command, online and from kubectl's files."""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

from kcrash.cluster.api import LIST_PAGE, Api
from kcrash.cluster.config import connect
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.rollout import label_selector
from kcrash.cluster.shared_reads import (
    ListedWorkloads,
    SharedSource,
    events_by_pod,
    namespace_events,
    pod_events,
)
from kcrash.cluster.source import ClusterSource
from kcrash.core.records import Pod
from kcrash.core.status import is_failing
from kcrash.diagnose_cmd import main, matches_selector
from kcrash.lab.app import Lab

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
    # Several pods fail in the namespace: its events are listed once for all, never pod by pod.
    assert not [r for r in requests if r.path.endswith("/events") and "fieldSelector" in r.query]


# -- many pods at once: the reads they share ------------------------------------------------------


def test_shared_reads_answer_as_each_pods_own(make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = make_lab(speed=0.001, extra_pods=600)  # the world stands still: both ways see the same
    config = tmp_path / "config"
    lab.write_kubeconfig(config)
    conn = connect(str(config), None, None, True, check=False)
    now = datetime.now(UTC)
    one_by_one = ClusterSource(conn, namespace=None, read_only=True)
    failing = [p for p in sorted(one_by_one.list_pods(), key=lambda p: p.key) if is_failing(p, now)]
    per_namespace = Counter(p.namespace for p in failing)
    crowded = {ns for ns, count in per_namespace.items() if count > 1}
    assert len(crowded) >= 2
    lone = min(per_namespace, key=lambda ns: per_namespace[ns])  # one pod of it is diagnosed
    pods = [p for p in failing if p.namespace != lone] + [next(p for p in failing if p.namespace == lone)]

    lab.faults.clear_requests()
    shared = SharedSource(conn, namespace=None, read_only=True).diagnose_all(pods, now)
    requests = [(r.path, r.query) for r in lab.faults.requests()]
    assert shared == [one_by_one.diagnose(pod, now) for pod in pods]

    events = [(path, query) for path, query in requests if path.endswith("/events")]
    assert sorted(path for path, query in events if "fieldSelector" not in query) == sorted(
        f"/api/v1/namespaces/{ns}/events" for ns in crowded - {lone}
    )
    assert [path for path, query in events if "fieldSelector" in query] == [
        f"/api/v1/namespaces/{lone}/events"
    ]
    owners = {
        (p.namespace, p.controller.name) for p in pods if p.controller and p.controller.kind == "ReplicaSet"
    }
    owners_in = Counter(ns for ns, _ in owners)
    listed = {ns for ns, count in owners_in.items() if count > 1}
    assert len(listed) >= 2 and len(owners_in) > len(listed)
    workloads = [(path, query) for path, query in requests if path.startswith("/apis/apps/")]
    assert sorted(
        path
        for path, query in workloads
        if path.endswith(("/replicasets", "/deployments")) and "labelSelector" not in query
    ) == sorted(
        f"/apis/apps/v1/namespaces/{ns}/{kind}" for ns in listed for kind in ("replicasets", "deployments")
    )
    # Each ReplicaSet of a namespace with several is found in its list; a lone one is read on its own.
    assert sorted(path for path, query in workloads if "/replicasets/" in path) == sorted(
        f"/apis/apps/v1/namespaces/{ns}/replicasets/{name}" for ns, name in owners if ns not in listed
    )
    configmap_gets = [path for path, query in requests if "/configmaps/" in path]
    assert configmap_gets and len(configmap_gets) == len(set(configmap_gets))
    assert len([path for path, query in requests if path.endswith("/pods") and "metrics" in path]) == 1
    logs_of = {path.split("/")[-2] for path, query in requests if path.endswith("/log")}
    assert logs_of <= {p.name for p in pods}  # nothing is read about a pod that is not diagnosed


def test_namespace_events_come_in_pages_within_a_budget(api: Api) -> None:
    everything = namespace_events(api, "crashlab", max_pages=1000, page_size=20)
    assert everything is not None and len(everything) > 40
    names = [e["metadata"]["name"] for e in everything]
    assert len(names) == len(set(names))
    assert namespace_events(api, "crashlab", max_pages=2, page_size=20) is None


WORKLOAD_SELECTORS: dict[str, dict[str, Any]] = {
    "by-app": {"matchLabels": {"app": "web"}},
    "in": {
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}],
    },
    "notin": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["fe"]}]},
    "exists": {"matchExpressions": [{"key": "canary", "operator": "Exists"}]},
    "absent": {
        "matchExpressions": [
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "app", "operator": "Exists"},
        ]
    },
    "everything": {},
    "in-nothing": {"matchExpressions": [{"key": "tier", "operator": "In", "values": []}]},  # refused
}
REPLICASET_LABELS = {
    "web-fe": {"app": "web", "tier": "fe"},
    "web-be": {"app": "web", "tier": "be"},
    "web-db": {"app": "web", "tier": "db"},
    "web-plain": {"app": "web"},
    "web-canary": {"app": "web", "tier": "fe", "canary": "yes"},
    "api-fe": {"app": "api", "tier": "fe"},
    "bare": {},
}


def test_listed_workloads_answer_as_the_server_does(make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    objects = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"selector": selector},
        }
        for name, selector in WORKLOAD_SELECTORS.items()
    ] + [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "shop", "labels": labels},
            "spec": {"replicas": 0},
        }
        for name, labels in REPLICASET_LABELS.items()
    ]
    path = tmp_path / "workloads.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    lab = make_lab(builtin_scenarios=False, load_files=[path])
    server = Api(connect(str(lab.write_kubeconfig(tmp_path / "config")), None, "shop", False))

    listed = ListedWorkloads.read(server, "shop", max_pages=1)
    assert listed is not None
    lab.faults.clear_requests()
    answers = {
        name: _names(listed.list_replicasets("shop", label_selector(selector)))
        for name, selector in WORKLOAD_SELECTORS.items()
    }
    found = (listed.get_deployment("shop", "in"), listed.get_replicaset("shop", "web-fe"))
    with pytest.raises(KcrashError) as missing:
        listed.get_replicaset("shop", "gone")
    assert missing.value.status == 404
    # Only the selector a real API server refuses (a set with no values) is left to the server.
    assert len(lab.faults.requests()) == 1

    assert answers == {
        name: _names(server.list_replicasets("shop", label_selector(selector)))
        for name, selector in WORKLOAD_SELECTORS.items()
    }
    assert len(set(map(tuple, answers.values()))) >= 5  # the selectors tell the ReplicaSets apart
    assert found == (server.get_deployment("shop", "in"), server.get_replicaset("shop", "web-fe"))


def _names(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(o["metadata"]["name"] for o in objects)


def raw_event(name: str, pod: str, *, uid: str = "u1", kind: str = "Pod", at: str = "") -> dict[str, Any]:
    when = at or f"2024-05-01T10:{name[-2:]}:00Z"
    return {
        "metadata": {"name": name, "namespace": "shop"},
        "involvedObject": {"kind": kind, "name": pod, "namespace": "shop", "uid": uid},
        "reason": "BackOff",
        "type": "Warning",
        "firstTimestamp": when,
        "lastTimestamp": when,
    }


def test_pod_events_are_what_the_pods_field_selector_matches() -> None:
    index = events_by_pod(
        [
            raw_event("web.02", "web"),
            raw_event("web.01", "web"),
            raw_event("web.03", "web", uid="u0"),  # an earlier pod of the same name
            raw_event("web.04", "web", kind="ReplicaSet"),
            raw_event("api.05", "api"),
        ]
    )
    pod = Pod("shop", "web", uid="u1")
    assert [e.name for e in pod_events(index, pod)] == ["web.01", "web.02"]  # oldest first
    assert [e.name for e in pod_events(index, replace(pod, uid=""))] == ["web.01", "web.02", "web.03"]
    assert pod_events(index, Pod("other", "web", uid="u1")) == ()


def test_pod_events_stop_at_one_page_like_the_pods_own_request() -> None:
    listed = [raw_event(f"web.{i:04d}", "web", at="2024-05-01T10:00:00Z") for i in range(LIST_PAGE + 5)]
    listed.reverse()  # the server's order is not the order events are shown in
    events = pod_events(events_by_pod(listed), Pod("shop", "web", uid="u1"))
    assert len(events) == LIST_PAGE
    # The first page the server lists (the newest names here), then sorted: same times, by name.
    assert (events[0].name, events[-1].name) == ("web.0005", f"web.{LIST_PAGE + 4:04d}")


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


def test_explain_rules_against_a_cluster(kubeconfig: Path, api: Any) -> None:
    pod = next(p for p in api.list_all_pods("crashlab").items if p.name.startswith("oom-leak-"))
    code, out, err = run(
        pod.name, "-n", "crashlab", "--kubeconfig", str(kubeconfig), "-o", "json", "--explain-rules"
    )
    assert (code, err) == (1, "")
    row = json.loads(out)[0]
    winners = [t["rule"] for t in row["explain"] if t["winner"]]
    assert (row["cause"], winners) == ("oom-killed", ["oom"])


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


def test_diagnosis_quotes_the_crash_last_state_names(kubeconfig: Path, api: Any) -> None:
    # Waiting out its back-off, the OOM-killed pod's quoted last line is the one its lastState
    # instance wrote as it died (the line carries the app's own timestamp), not an older crash's.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pod = next(p for p in api.list_all_pods("crashlab").items if p.name.startswith("oom-leak-"))
        status = pod.container_statuses[0]
        if status.state.reason != "CrashLoopBackOff" or status.last_state is None:
            time.sleep(0.3)
            continue
        code, out, err = run(pod.name, "-n", "crashlab", "--kubeconfig", str(kubeconfig), "-o", "json")
        assert (code, err) == (1, "")
        again = next(p for p in api.list_all_pods("crashlab").items if p.name == pod.name)
        if again.container_statuses[0].last_state != status.last_state:
            continue  # it died once more while being diagnosed
        quote = next(e["quote"] for e in json.loads(out)[0]["evidence"] if e["source"] == "previous log")
        written = datetime.fromisoformat(quote.split(" ", 1)[0].replace("Z", "+00:00"))
        finished = status.last_state.finished_at
        assert finished is not None
        assert 0 <= (written - finished).total_seconds() < 1, (quote, status.last_state)
        return
    raise AssertionError("oom-leak never reached CrashLoopBackOff within 60 s")
