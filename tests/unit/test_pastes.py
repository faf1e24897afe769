"""Pasted kubectl output -> facts -> diagnosis, over the corpus in tests/data/pastes/.

Each case is a folder of pastes (describe, get pods, events, logs, YAML/JSON as people paste them)
and an expected.json naming the pods they speak of, the facts the parser must find, what it must
report missing, the pasted lines evidence must quote, and the cause the diagnosis must reach.
"""

# Table rows below are kubectl output verbatim; wrapping them would change what they test.
# ruff: noqa: E501

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from kcrash.cluster.parse import parse_objects
from kcrash.cluster.paste import yamlload
from kcrash.cluster.paste.describe import probe_from_describe
from kcrash.cluster.paste.events import parse_describe_events, parse_event_table
from kcrash.cluster.paste.logs import parse_logs
from kcrash.cluster.paste.model import is_placeholder
from kcrash.cluster.paste.table import parse_get_pods
from kcrash.cluster.paste.text import parse_age, parse_command, parse_interval, parse_kube_time
from kcrash.cluster.pastes import (
    PastedPod,
    PasteFacts,
    combine,
    detect,
    inputs_from_pastes,
    parse_paste,
    quote_pasted,
)
from kcrash.core.diagnose import diagnose
from kcrash.core.records import ContainerState
from kcrash.core.status import is_failing, pod_status, primary_container, ready, restart_count

CORPUS = Path(__file__).parents[1] / "data" / "pastes"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.json").is_file())


def _pastes(case: str) -> list[tuple[str, str]]:
    folder = CORPUS / case
    return [(p.name, p.read_text()) for p in sorted(folder.iterdir()) if p.name != "expected.json"]


def _expected(case: str) -> dict[str, Any]:
    return json.loads((CORPUS / case / "expected.json").read_text())  # type: ignore[no-any-return]


def _combined(case: str) -> list[PastedPod]:
    return combine([parse_paste(text, name=name) for name, text in _pastes(case)], now=NOW)


def _pod(pasted: list[PastedPod], name: str) -> PastedPod:
    found = [p for p in pasted if p.pod.name == name]
    assert len(found) == 1, f"{name!r} in {[p.pod.name for p in pasted]}"
    return found[0]


POD_EXPECTATIONS = [(case, pod["name"]) for case in CASES for pod in _expected(case)["pods"]]


def _pod_expectation(case: str, name: str) -> dict[str, Any]:
    return next(p for p in _expected(case)["pods"] if p["name"] == name)


# --- what each key of a pod's expectation reads from the PastedPod -------------------------------


def _status(p: PastedPod) -> Any:
    status = p.pod.status_for(p.container)
    assert status is not None, f"no status for {p.container!r}"
    return status


def _termination(p: PastedPod) -> ContainerState:
    status = _status(p)
    state = status.state if status.state.kind == "terminated" else status.last_state
    assert state is not None and state.kind == "terminated"
    return state  # type: ignore[no-any-return]


def _spec(p: PastedPod, container: str = "") -> Any:
    spec = p.pod.spec_for(container or p.container)
    assert spec is not None, f"no spec for {container or p.container!r}"
    return spec


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _refs(p: PastedPod) -> list[str]:
    return [f"{r.kind}/{r.name}" + (f":{r.key}" if r.key else "") for r in _spec(p).env_refs]


def _event_count(p: PastedPod, reason: str) -> int:
    return next(e.count for e in p.events if e.reason == reason and not e.message.startswith("Readiness"))


# Each checker reads one fact from the PastedPod; the expected value is passed for the few that
# compare a part of a text (its start or end) or a chosen subset.
FACTS: dict[str, Callable[[PastedPod, Any], Any]] = {
    "namespace": lambda p, want: p.pod.namespace,
    "container": lambda p, want: p.container,
    "restarts": lambda p, want: _status(p).restart_count,
    "state": lambda p, want: _status(p).state.kind,
    "state_reason": lambda p, want: _status(p).state.reason,
    "exit_code": lambda p, want: _termination(p).exit_code,
    "last_reason": lambda p, want: _termination(p).reason,
    "last_started_at": lambda p, want: _iso(_termination(p).started_at),
    "last_message_starts": lambda p, want: _termination(p).message[: len(want)],
    "last_message_ends": lambda p, want: _termination(p).message[-len(want) :],
    "memory_limit": lambda p, want: _spec(p).memory_limit,
    "liveness": lambda p, want: _spec(p).liveness.handler,
    "readiness": lambda p, want: _spec(p).readiness.handler,
    "startup": lambda p, want: _spec(p).startup.handler,
    "command": lambda p, want: list(_spec(p).command),
    "args": lambda p, want: list(_spec(p).args),
    "image": lambda p, want: _spec(p).image,
    "init": lambda p, want: _spec(p).init,
    "env_refs": lambda p, want: _refs(p),
    "env_names": lambda p, want: list(_spec(p).env_names),
    "env_names_of": lambda p, want: {c: list(_spec(p, c).env_names) for c in want},
    "containers": lambda p, want: [c.name for c in p.pod.containers],
    "init_containers": lambda p, want: [c.name for c in p.pod.init_containers],
    "default_container": lambda p, want: p.pod.default_container,
    "labels": lambda p, want: dict(p.pod.labels),
    "owner": lambda p, want: f"{p.pod.controller.kind}/{p.pod.controller.name}" if p.pod.controller else "",
    "node": lambda p, want: p.pod.node_name,
    "phase": lambda p, want: p.pod.phase,
    "start_time": lambda p, want: _iso(p.pod.start_time),
    "created_at": lambda p, want: _iso(p.pod.created_at),
    "as_of": lambda p, want: _iso(p.as_of),
    "as_of_basis": lambda p, want: p.as_of_basis,
    "events": lambda p, want: len(p.events),
    "event_reasons": lambda p, want: [r for r in want if r in {e.reason for e in p.events}],
    "event_messages": lambda p, want: [e.message for e in p.events],
    "unhealthy_count": lambda p, want: _event_count(p, "Unhealthy"),
    "failed_count": lambda p, want: _event_count(p, "Failed"),
    "previous_log": lambda p, want: p.previous_log,
    "previous_log_ends": lambda p, want: (p.previous_log or "")[-len(want) :],
    "missing": lambda p, want: [m.what for m in p.missing],
    "missing_commands": lambda p, want: {m.what: m.command for m in p.missing if m.what in want},
    "sources": lambda p, want: {key: p.quote(key) for key in want},
}
# The locator, what the diagnosis (not the parser) must say, and why core.diagnose still says
# something else for a case (the test then fails strictly until the engine learns it).
NOT_FACTS = {"name", "cause", "engine_gap"}


# --- the corpus ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_detects_every_paste_kind(case: str) -> None:
    kinds = {name: detect(text) for name, text in _pastes(case)}
    assert kinds == _expected(case)["kinds"]


@pytest.mark.parametrize("case", CASES)
def test_finds_every_pod(case: str) -> None:
    pasted = _combined(case)
    expected = _expected(case)
    assert len(pasted) == expected.get("count", len(expected["pods"]))
    for pod in expected["pods"]:
        _pod(pasted, pod["name"])


@pytest.mark.parametrize(("case", "name"), POD_EXPECTATIONS)
def test_reads_the_facts(case: str, name: str) -> None:
    expected = _pod_expectation(case, name)
    unknown = set(expected) - set(FACTS) - NOT_FACTS
    assert not unknown, f"expected.json keys no test reads: {unknown}"
    pasted = _pod(_combined(case), name)
    found = {key: FACTS[key](pasted, want) for key, want in expected.items() if key in FACTS}
    assert found == {key: expected[key] for key in found}


@pytest.mark.parametrize(("case", "name"), POD_EXPECTATIONS)
def test_diagnosis_from_pastes(case: str, name: str, request: pytest.FixtureRequest) -> None:
    expected = _pod_expectation(case, name)
    if "engine_gap" in expected:
        request.applymarker(pytest.mark.xfail(strict=True, reason=expected["engine_gap"]))
    pasted = _pod(_combined(case), name)
    diag = diagnose(pasted.diagnosis_input(NOW))
    assert (diag.cause, diag.container or pasted.container) == (
        expected["cause"],
        expected.get("container", ""),
    )


@pytest.mark.parametrize(("case", "name"), POD_EXPECTATIONS)
def test_evidence_quotes_the_pasted_termination(case: str, name: str) -> None:
    pasted = _pod(_combined(case), name)
    diag = quote_pasted(diagnose(pasted.diagnosis_input(NOW)), pasted)
    for evidence in diag.evidence:
        if evidence.source in ("lastState.terminated", "state.terminated"):
            line = pasted.quote(f"{evidence.source}.reason") or pasted.quote(f"{evidence.source}.exitCode")
            assert line is not None and " ".join(line.split()) in evidence.quote


def test_inputs_from_pastes_takes_the_paste_time_not_now() -> None:
    inputs = inputs_from_pastes(_pastes("oom-killed-new-created-container-message"), NOW)
    assert [(i.pod.name, i.now.isoformat()) for i in inputs] == [
        ("report-worker-5f8c6d7b9-kq4zt", "2025-03-04T14:37:20+00:00")
    ]


def test_inputs_from_pastes_falls_back_to_now_without_times() -> None:
    inputs = inputs_from_pastes(_pastes("unknown-get-pods-only"), NOW)
    assert {i.now for i in inputs} == {NOW}
    restarted = next(i for i in inputs if i.pod.name == "ingest-5c6d7e8f9-a1b2c")
    assert restarted.metrics_available is False


@pytest.mark.parametrize("case", CASES)
def test_plain_env_values_are_never_quoted(case: str) -> None:
    for pasted in _combined(case):
        names = {n for spec in (*pasted.pod.containers, *pasted.pod.init_containers) for n in spec.env_names}
        for key, line in pasted.sources.items():
            assert not any(line.lstrip().startswith(f"{name}:") for name in names), key


@pytest.mark.parametrize("case", CASES)
def test_a_paste_cut_anywhere_still_parses(case: str) -> None:
    for name, text in _pastes(case):
        for end in range(0, len(text), max(len(text) // 40, 1)):
            combine([parse_paste(text[:end], name=name)], now=NOW)


def test_metrics_of_a_big_objects_paste_are_found_per_pod_at_once() -> None:
    """Each pod's samples, oldest first, from every snapshot of a big paste (found through an index
    built once: a scan per pod took seconds here)."""
    pods = 3000
    snapshot = [
        {
            "kind": "PodMetrics",
            "metadata": {"namespace": "shop", "name": f"web-{i}"},
            "timestamp": f"2025-06-01T00:0{minute}:00Z",
            "containers": [{"name": "app", "usage": {"memory": f"{100 + minute}Mi"}}],
        }
        for minute in (1, 0)  # the later snapshot first: samples still come oldest first
        for i in range(pods)
    ]
    parsed = parse_objects({"kind": "List", "items": snapshot})
    found = [parsed.metrics_for("shop", f"web-{i}") for i in range(pods)]
    assert [[s.bytes >> 20 for s in samples] for samples in found] == [[100, 101]] * pods
    assert parsed.metrics_for("shop", "absent") == ()


# --- the pieces, table by table --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45s", 45), ("3m10s", 190), ("17m", 1020), ("2h5m", 7500), ("3d4h", 273600), ("2y1d", 63158400),
        ("<invalid>", None), ("<unknown>", None), ("", None), ("soon", None),
    ],
)  # fmt: skip
def test_parse_age(text: str, seconds: int | None) -> None:
    assert parse_age(text) == seconds


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("3m (x5 over 10m)", (180, 5, 600)),
        ("2m19s (x7 over 17m)", (139, 7, 1020)),
        ("20m", (1200, 1, 1200)),
        ("<invalid>", (None, 1, None)),
    ],
)
def test_parse_interval(text: str, parsed: tuple[int | None, int, int | None]) -> None:
    assert parse_interval(text) == parsed


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("Tue, 04 Mar 2025 14:35:01 +0000", "2025-03-04T14:35:01+00:00"),
        ("Wed, 08 Jan 2025 19:49:55 +0100", "2025-01-08T18:49:55+00:00"),
        ("Mon, 02 Jan 2006 15:04:05 UTC", "2006-01-02T15:04:05+00:00"),
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00+00:00"),
        ("Thu, 01 Jan 1970 00:00:00 +0000", None),  # a failed start: never a duration from it
        ("Mon, 01 Jan 0001 00:00:00 +0000", None),
        ("yesterday", None),
    ],
)
def test_parse_kube_time(text: str, iso: str | None) -> None:
    assert _iso(parse_kube_time(text)) == iso


@pytest.mark.parametrize(
    ("text", "handler", "numbers"),
    [
        ("http-get http://:8080/healthz delay=10s timeout=1s period=5s #success=1 #failure=3", "GET :8080/healthz", (10, 1, 5, 1, 3)),
        ("http-get https://:8443/ready delay=0s timeout=2s period=10s #success=1 #failure=6", "GET https://:8443/ready", (0, 2, 10, 1, 6)),
        ("http-get http://10.0.0.5:http/ delay=0s timeout=1s period=10s #success=1 #failure=3", "GET 10.0.0.5:http/", (0, 1, 10, 1, 3)),
        ("exec [cat /tmp/healthy] delay=5s timeout=1s period=5s #success=1 #failure=3", "exec: cat /tmp/healthy", (5, 1, 5, 1, 3)),
        ("tcp-socket :5432 delay=15s timeout=1s period=20s #success=1 #failure=3", "tcp :5432", (15, 1, 20, 1, 3)),
        ("grpc <pod>:9090 health delay=0s timeout=1s period=10s #success=1 #failure=3", "grpc :9090 health", (0, 1, 10, 1, 3)),
    ],
)  # fmt: skip
def test_probe_lines(text: str, handler: str, numbers: tuple[int, ...]) -> None:
    probe = probe_from_describe("liveness", text)
    assert probe is not None
    got = (probe.initial_delay_seconds, probe.timeout_seconds, probe.period_seconds)
    assert (probe.handler, (*got, probe.success_threshold, probe.failure_threshold)) == (handler, numbers)


@pytest.mark.parametrize(
    ("line", "verb", "pod", "namespace", "container", "previous"),
    [
        ("$ kubectl logs web-1 -n shop --previous", "logs", "web-1", "shop", "", True),
        ("user@host:~$ kubectl -n shop logs pod/web-1 -c app -p", "logs", "web-1", "shop", "app", True),
        ("❯ kubectl logs web-1 --previous=false --namespace=shop", "logs", "web-1", "shop", "", False),
        ("$ k describe pod web-1", "describe", "web-1", "", "", None),
        ("kubectl get pods -A -o wide", "get", "", "", "", None),
        ("k logs web-1", None, "", "", "", None),  # `k` only counts after a prompt
        ("the kubectl docs say", None, "", "", "", None),
    ],
)
def test_command_lines(
    line: str, verb: str | None, pod: str, namespace: str, container: str, previous: bool | None
) -> None:
    from kcrash.cluster.paste.text import pod_name_of

    command = parse_command(line)
    if verb is None:
        assert command is None
        return
    assert command is not None
    assert (command.verb, pod_name_of(command), command.namespace, command.container, command.previous) == (
        verb,
        pod,
        namespace,
        container,
        previous,
    )


@pytest.mark.parametrize(
    ("header", "row", "fields"),
    [
        (
            "LAST SEEN   TYPE      REASON    OBJECT          MESSAGE",
            "2m          Warning   BackOff   pod/web-1       Back-off restarting failed container web in pod web-1_shop(u)",
            ("", "Warning", "BackOff", "Pod", "web-1", 1, 120, "", "spec.containers{web}"),
        ),
        (
            "NAMESPACE   LAST SEEN   TYPE      REASON      OBJECT    MESSAGE",
            "shop        <invalid>   Warning   Unhealthy   pod/web-1 Liveness probe failed: HTTP probe failed with statuscode: 500",
            ("shop", "Warning", "Unhealthy", "Pod", "web-1", 1, None, "", ""),
        ),
        (
            "LAST SEEN            TYPE      REASON   OBJECT      MESSAGE",
            "8s (x15 over 3m1s)   Warning   Failed   Pod/web-1   Error: ImagePullBackOff",
            ("", "Warning", "Failed", "Pod", "web-1", 15, 8, "", ""),
        ),
        (
            "LASTSEEN   FIRSTSEEN   COUNT   NAME                     KIND   SUBOBJECT              TYPE      REASON    SOURCE            MESSAGE",
            "1m         18m         8       web-1.152f1b6e2b3c4d5e   Pod    spec.containers{web}   Normal    Killing   kubelet, node01   Killing container with id docker://web:Container failed liveness probe..",
            ("", "Normal", "Killing", "Pod", "web-1", 8, 60, "kubelet, node01", "spec.containers{web}"),
        ),
        (
            "LASTSEEN   FIRSTSEEN   COUNT   NAME                     KIND   SUBOBJECT   TYPE     REASON      SOURCE              MESSAGE",
            "20m        20m         1       web-1.152f1b6a3d9e8f7a   Pod                Normal   Scheduled   default-scheduler   Successfully assigned web-1 to node01",
            ("", "Normal", "Scheduled", "Pod", "web-1", 1, 1200, "default-scheduler", ""),
        ),
        (
            "LAST SEEN   TYPE      REASON    OBJECT      SUBOBJECT              SOURCE            MESSAGE                       FIRST SEEN   COUNT   NAME",
            "30s         Warning   BackOff   pod/web-1   spec.containers{web}   kubelet, node01   Back-off restarting failed    10m          12      web-1.17a8c3b2e4f1d0a9",
            ("", "Warning", "BackOff", "Pod", "web-1", 12, 30, "kubelet, node01", "spec.containers{web}"),
        ),
        (
            "LAST SEEN   TYPE     REASON              OBJECT                  MESSAGE",
            "6m13s       Normal   ScalingReplicaSet   deployment/storefront   Scaled up replica set storefront-6b8d7c5f9 to 1",
            ("", "Normal", "ScalingReplicaSet", "Deployment", "storefront", 1, 373, "", ""),
        ),
    ],
)  # fmt: skip
def test_event_table_rows(header: str, row: str, fields: tuple[Any, ...]) -> None:
    (pasted,) = parse_event_table([header, row])
    e = pasted.event
    got = (
        e.namespace,
        e.type,
        e.reason,
        e.involved_kind,
        e.involved_name,
        e.count,
        pasted.last_age,
        e.source,
    )
    assert (*got, e.field_path) == fields


def test_a_rewrapped_event_message_is_joined() -> None:
    rows = parse_describe_events(
        [
            '  Warning  Unhealthy  3m10s (x33 over 40m)  kubelet  Liveness probe failed: Get "http://x:8080/l": context',
            "deadline exceeded (Client.Timeout exceeded while awaiting headers)",
            "  Normal   Killing    3m10s (x11 over 39m)  kubelet, node01  Container gateway failed liveness probe, will",
            "be restarted",
        ]
    )
    assert [(r.event.message, r.event.source, r.event.container) for r in rows] == [
        (
            'Liveness probe failed: Get "http://x:8080/l": context deadline exceeded '
            "(Client.Timeout exceeded while awaiting headers)",
            "kubelet",
            "",
        ),
        ("Container gateway failed liveness probe, will be restarted", "kubelet, node01", "gateway"),
    ]


@pytest.mark.parametrize(
    ("row", "name", "namespace", "status", "restarts", "ago", "node", "init"),
    [
        ("web-1   0/1   CrashLoopBackOff   7 (2m ago)   31m", "web-1", "", "CrashLoopBackOff", 7, 120, "", False),
        ("web-1 0/1 OOMKilled 3 5m", "web-1", "", "OOMKilled", 3, None, "", False),
        ("web-1   0/2   Init:CrashLoopBackOff   4 (62s ago)   3m1s", "web-1", "", "Init:CrashLoopBackOff", 4, 62, "", True),
    ],
)  # fmt: skip
def test_get_pods_rows(
    row: str, name: str, namespace: str, status: str, restarts: int, ago: int | None, node: str, init: bool
) -> None:
    (facts,) = parse_get_pods(["NAME   READY   STATUS   RESTARTS   AGE", row])
    statuses = facts.pod.init_container_statuses if init else facts.pod.container_statuses
    got = (
        facts.pod.name,
        facts.pod.namespace,
        facts.status_text,
        statuses[0].restart_count,
        facts.last_restart_age,
    )
    assert (*got, facts.pod.node_name) == (name, namespace, status, restarts, ago, node)


@pytest.mark.parametrize(
    ("lines", "which", "container", "no_previous", "waiting", "text"),
    [
        (["$ kubectl logs p -c web --previous", "boom"], "previous", "web", False, "", "boom\n"),
        (
            ['Error from server (BadRequest): previous terminated container "web" in pod "p" not found'],
            "previous", "web", True, "", "",
        ),
        (
            ['Defaulted container "app" out of: app, istio-proxy, istio-init (init)', "listening on :8080"],
            "unknown", "app", False, "", "listening on :8080\n",
        ),
        (
            ['Error from server (BadRequest): container "web" in pod "p" is waiting to start: ContainerCreating'],
            "unknown", "web", False, "ContainerCreating", "",
        ),
        (["unable to retrieve container logs for containerd://abc"], "unknown", "", False, "", ""),
    ],
)  # fmt: skip
def test_kubectl_lines_in_logs_are_facts(
    lines: list[str], which: str, container: str, no_previous: bool, waiting: str, text: str
) -> None:
    facts = parse_logs(lines)
    got = (facts.which, facts.container, facts.no_previous, facts.waiting_reason, facts.text)
    assert got == (which, container, no_previous, waiting, text)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n", "objects"),
        ('{"apiVersion": "v1", "kind": "PodList", "items": []}', "objects"),
        ("status:\n  phase: Running\n", "objects"),
        ("Name:         web-1\nNamespace:    shop\n", "describe"),
        (
            "    Last State:     Terminated\n      Reason:       OOMKilled\n    Restart Count:  3\n",
            "describe",
        ),
        ("NAME    READY   STATUS    RESTARTS   AGE\nweb-1   1/1     Running   0          1m\n", "get-pods"),
        ("LAST SEEN   TYPE     REASON    OBJECT    MESSAGE\n", "events"),
        ("Events:\n  Type    Reason   Age   From     Message\n", "events"),
        ('{"level":"error","msg":"boom"}\n{"level":"info","msg":"x"}\n', "logs"),
        ("Traceback (most recent call last):\n  File \"x\", line 1\nKeyError: 'A'\n", "logs"),
        (
            "    NAME    READY   STATUS    RESTARTS   AGE\n    web-1   1/1     Running   0          1m\n",
            "get-pods",
        ),
        (
            "> LAST SEEN   TYPE     REASON    OBJECT    MESSAGE\n> 2m   Normal   Pulled   pod/x   ok\n",
            "events",
        ),
        ("```\nName:   web-1\nNamespace:   shop\n```\n", "describe"),
        ("status: 200 ok\n", "unknown"),
        ("hello there\n", "unknown"),
    ],
)
def test_detect(text: str, kind: str) -> None:
    assert detect(text) == kind


def test_an_unreadable_paste_says_so_instead_of_raising() -> None:
    facts = parse_paste('{"kind": "Pod", "status": {', name="broken.json")
    assert (facts.kind, facts.pods, len(facts.notes)) == ("objects", (), 1)


# --- lists of pods: each pod quotes its own lines ----------------------------------------------------

LIST_SIZE = 300


def _pod_list() -> dict[str, Any]:
    """A PodList of pods that share their container's name, each with its own restarts and last exit."""
    listing = json.loads((CORPUS / "exits-zero-json-podlist" / "pods.json").read_text())
    template = listing["items"][0]
    items = []
    for number in range(LIST_SIZE):
        pod = json.loads(json.dumps(template))
        pod["metadata"]["name"] = f"worker-{number:03d}"
        status = pod["status"]["containerStatuses"][0]
        status["restartCount"] = 1000 + number
        status["lastState"]["terminated"].update(exitCode=number, reason=f"Reason{number}")
        items.append(pod)
    return {**listing, "items": items}


def _yaml(data: Any) -> str:
    """PyYAML's block style is kubectl's: list items at their key's indent."""
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper))


# As kubectl, `jq '.items'` and a file of `---` documents lay them out.
LIST_FORMS: dict[str, Callable[[dict[str, Any]], str]] = {
    "yaml": _yaml,
    "json": lambda listing: json.dumps(listing, indent=4),
    "yaml-documents": lambda listing: "".join(f"---\n{_yaml(i)}" for i in listing["items"]),
    "json-array": lambda listing: json.dumps(listing["items"], indent=2),
    "under-a-prompt": lambda listing: "$ kubectl get pods -o yaml\n" + _yaml(listing),
}


def _quoted_value(line: str) -> str:
    return line.split(":", 1)[1].strip().strip(",").strip('"').strip("'")


@pytest.mark.parametrize("form", LIST_FORMS)
def test_every_pod_of_a_long_list_quotes_its_own_lines(form: str) -> None:
    paste = parse_paste(LIST_FORMS[form](_pod_list()), name=f"pods.{form}")
    assert [f.pod.name for f in paste.pods] == [f"worker-{n:03d}" for n in range(LIST_SIZE)]
    wanted = ("once/restartCount", "once/lastState.terminated.exitCode", "once/lastState.terminated.reason")
    quoted = [{key: _quoted_value(f.sources[key]) for key in wanted if key in f.sources} for f in paste.pods]
    assert quoted == [
        dict(zip(wanted, (str(1000 + n), str(n), f"Reason{n}"), strict=True)) for n in range(LIST_SIZE)
    ]


def test_a_list_written_on_one_line_quotes_nothing_rather_than_another_pods_line() -> None:
    paste = parse_paste(json.dumps(_pod_list()), name="pods.json")
    assert len(paste.pods) == LIST_SIZE
    assert all(not facts.sources for facts in paste.pods)


_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"}}


@pytest.mark.parametrize(
    ("text", "namespace"),
    [
        (json.dumps(_POD, indent=4), "shop"),
        (json.dumps(_POD), "shop"),  # `jq -c`: one line
        (json.dumps({"kind": "List", "items": [_POD, _POD]}), "shop"),
        (json.dumps({**_POD, "metadata": {"name": "web-1", "namespace": "default"}}), "default"),
        (json.dumps({**_POD, "metadata": {"name": "web-1"}}), ""),  # not said: not guessed
        (_yaml(_POD), "shop"),
        ("status:\n  phase: Running\n  containerStatuses:\n  - name: web\n    restartCount: 2\n", ""),
    ],
)
def test_a_pods_namespace_is_what_its_object_says(text: str, namespace: str) -> None:
    paste = parse_paste(text)
    assert {facts.pod.namespace for facts in paste.pods} == {namespace}


# --- YAML from the parser's events: the safe loader's values ---------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: 1.5\nc: true\nd: yes\ne: ~\nf: null\ng:\nh: '1'\ni: \"true\"\n",
        "octal: 0o17\nold_octal: 017\nhex: 0x1f\nsexagesimal: 1:30\ninf: .inf\nnan_is_str: nan\n",
        "stamp: 2025-05-20T09:00:04Z\nquoted: '2025-05-20T09:00:04Z'\ndate: 2025-05-20\n",
        "message: |\n  line one\n\n  line three\nfolded: >\n  a\n  b\nempty: []\nnone: {}\n",
        "- a\n- - b\n  - c\n- {x: 1, y: [2, 3]}\n",
        "---\n---\nkind: Pod\n...\n---\n- 1\n---\nplain scalar\n",
        "a: 1\na: 2\n",  # the last one wins, as with the safe loader
        "1: one\n2.5: two\nnull: three\ntrue: four\n",
        "! '1': x\ntagged: !!str 5\n",  # an explicit tag: the safe loader's own path
        "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",  # anchors and a merge key: the same
        "? [a, b]\n: complex key\n",  # the safe loader refuses it: so must this
        "a: [1, 2\n",  # does not parse
    ],
)
def test_yaml_from_events_loads_what_the_safe_loader_loads(text: str) -> None:
    try:
        expected: Any = [d for d in yaml.load_all(text, Loader=yaml.SafeLoader) if d is not None]
    except yaml.YAMLError as error:
        expected = type(error)
    try:
        loaded: Any = yamlload.load_all(text)
    except yaml.YAMLError as error:
        loaded = type(error)
    assert loaded == expected


def test_yaml_from_events_loads_every_saved_object_as_the_safe_loader_does() -> None:
    for path in sorted(CORPUS.glob("*/*.yaml")):
        text = path.read_text().split("\n", 1)[1] if path.read_text().startswith("$") else path.read_text()
        assert yamlload.load_all(text) == list(yaml.safe_load_all(text)), path


# --- `get pods` rows: the pod record prints the pasted STATUS back ---------------------------------


def _row_pods(text: str) -> list[PastedPod]:
    """The pods of a `get pods` paste alone, put together as the commands put them."""
    return combine([parse_paste(text, name="pods.txt")], now=NOW)


def _corpus_rows() -> dict[str, PasteFacts]:
    """Every `get pods` row in the corpus, each alone in a paste of its own."""
    found = {}
    for path in sorted(CORPUS.glob("*/*")):
        paste = parse_paste(path.read_text(), name=path.name)
        for facts in paste.pods:
            if facts.status_text:
                found[f"{path.parent.name}/{path.name}: {facts.sources['status']}"] = dataclasses.replace(
                    paste, pods=(facts,), events=(), logs=()
                )
    return found


CORPUS_ROWS = _corpus_rows()


def test_the_corpus_has_get_pods_rows_of_several_forms() -> None:
    forms = {paste.pods[0].status_text for paste in CORPUS_ROWS.values()}
    assert {"Running", "CrashLoopBackOff", "ImagePullBackOff", "Init:CrashLoopBackOff"} <= forms


@pytest.mark.parametrize("row", CORPUS_ROWS)
def test_every_corpus_row_prints_its_status_back(row: str) -> None:
    paste = CORPUS_ROWS[row]
    (pasted,) = combine([paste], now=NOW)
    ready = re.search(r"\s(\d+)/\d+\s", paste.pods[0].sources["status"])
    assert ready is not None
    assert pod_status(pasted.pod, NOW) == paste.pods[0].status_text
    assert sum(s.ready for s in pasted.pod.container_statuses) == int(ready.group(1))


# Every STATUS printPod prints (printers.go), with the READY and RESTARTS it comes with.
ROWS = [
    "web-1   1/1   Running   0   5m",
    "web-1   0/1   Running   3 (40s ago)   5m",
    "web-1   2/3   Running   1   5m",
    "web-1   1/2   NotReady   4   9m",
    "web-1   0/1   CrashLoopBackOff   7 (2m ago)   31m",
    "web-1   1/2   CrashLoopBackOff   7 (2m ago)   31m",
    "web-1   0/1   ImagePullBackOff   0   6m",
    "web-1   0/1   ErrImagePull   0   48s",
    "web-1   0/1   InvalidImageName   0   48s",
    "web-1   0/1   CreateContainerConfigError   0   3m",
    "web-1   0/1   CreateContainerError   0   3m",
    "web-1   0/1   RunContainerError   2   3m",
    "web-1   0/1   ContainerCreating   0   5s",
    "web-1   0/1   PodInitializing   0   5s",
    "web-1   0/1   Completed   0   1h",
    "web-1   0/1   Completed   5 (1m ago)   1h",
    "web-1   0/1   Error   2   1h",
    "web-1   0/1   OOMKilled   3   5m",
    "web-1   1/2   OOMKilled   3   5m",
    "web-1   0/1   ContainerCannotRun   1   5m",
    "web-1   0/1   StartError   1   5m",
    "web-1   0/1   ContainerStatusUnknown   1   5m",
    "web-1   0/1   ExitCode:1   0   5m",
    "web-1   0/1   ExitCode:0   0   5m",
    "web-1   0/1   Signal:9   0   5m",
    "web-1   0/1   Pending   0   20m",
    "web-1   0/1   Succeeded   0   20m",
    "web-1   0/1   Failed   0   20m",
    "web-1   1/1   Unknown   0   20m",
    "web-1   0/1   Evicted   0   2d",
    "web-1   0/1   OutOfcpu   0   2d",
    "web-1   0/1   NodeAffinity   0   2d",
    "web-1   0/1   UnexpectedAdmissionError   0   2d",
    "web-1   0/1   SchedulingGated   0   2m",
    "web-1   1/1   Terminating   0   5m",
    "web-1   0/2   Terminating   6 (3m ago)   5m",
    "web-1   0/1   Init:0/1   0   30s",
    "web-1   0/1   Init:1/3   2 (10s ago)   2m",
    "web-1   0/2   Init:2/3   0   2m",
    "web-1   0/1   Init:CrashLoopBackOff   4 (62s ago)   3m1s",
    "web-1   0/1   Init:Error   1   3m",
    "web-1   0/1   Init:OOMKilled   1   3m",
    "web-1   0/1   Init:ImagePullBackOff   0   3m",
    "web-1   0/1   Init:CreateContainerConfigError   0   3m",
    "web-1   0/1   Init:ExitCode:2   0   3m",
    "web-1   0/1   Init:Signal:9   0   3m",
]


@pytest.mark.parametrize("row", ROWS)
def test_a_get_pods_row_prints_its_status_back(row: str) -> None:
    (pasted,) = _row_pods(f"NAME   READY   STATUS   RESTARTS   AGE\n{row}\n")
    _, ready, status, restarts = row.split()[:4]
    pod = pasted.pod
    assert (pod_status(pod, NOW), restart_count(pod)) == (status, int(restarts))
    if not status.startswith("Init:") and status != "Completed":
        assert sum(s.ready and s.state.kind == "running" for s in pod.container_statuses) == int(ready[0])


@pytest.mark.parametrize("row", ROWS)
def test_a_rows_ready_is_unknown_not_a_count_over_no_containers(row: str) -> None:
    """A row names no containers, so READY cannot be counted over them: "?", never "1/0"."""
    (pasted,) = _row_pods(f"NAME   READY   STATUS   RESTARTS   AGE\n{row}\n")
    assert ready(pasted.pod) == "?"


def test_a_describe_beside_the_row_gives_ready_its_count() -> None:
    case = "init-container-failing"
    describe = parse_paste((CORPUS / case / "describe.txt").read_text(), name="describe.txt")
    row = parse_paste((CORPUS / case / "get-pods.txt").read_text(), name="get-pods.txt")
    (pasted,) = combine([row, describe], now=NOW)
    said = re.search(r"\s(\d+/\d+)\s", (CORPUS / case / "get-pods.txt").read_text())
    assert said is not None and ready(pasted.pod) == said.group(1)


@pytest.mark.parametrize("row", ROWS)
def test_what_a_row_implies_rests_on_the_row_and_names_no_container(row: str) -> None:
    """Placeholder containers stand in for what READY and STATUS imply: the diagnosis and the
    commands it suggests never name one, and every fact quotes the pasted row."""
    (pasted,) = _row_pods(f"NAME   READY   STATUS   RESTARTS   AGE\n{row}\n")
    assert not is_placeholder(pasted.container) and not is_placeholder(primary_container(pasted.pod))
    diagnosis = quote_pasted(diagnose(pasted.diagnosis_input(NOW)), pasted)
    said = [diagnosis.headline, *diagnosis.next_steps, *(e.quote for e in diagnosis.evidence)]
    said += [m.command for m in pasted.missing]
    pod = pasted.pod
    names = [s.name for s in (*pod.container_statuses, *pod.init_container_statuses)]
    stand_ins = {name for name in (*names, *(c.name for c in pod.init_containers)) if is_placeholder(name)}
    assert not [(name, text) for name in stand_ins for text in said if name in text]
    assert set(pasted.sources.values()) == {row}


def test_a_row_that_says_terminating_is_deleted_as_of_the_paste() -> None:
    (pasted,) = _row_pods("NAME   READY   STATUS   RESTARTS   AGE\nweb-1   1/1   Terminating   0   5m\n")
    assert pasted.pod.deletion_timestamp == pasted.as_of == NOW
    assert not is_failing(pasted.pod, NOW), "its deadline is not in the row: not called overdue"


def test_a_describe_outranks_a_row_about_the_same_pod() -> None:
    case = "init-container-failing"
    describe = parse_paste((CORPUS / case / "describe.txt").read_text(), name="describe.txt")
    row = parse_paste((CORPUS / case / "get-pods.txt").read_text(), name="get-pods.txt")
    (pasted,) = combine([row, describe], now=NOW)
    assert pod_status(pasted.pod, NOW) == "Init:CrashLoopBackOff"
    assert all(not is_placeholder(s.name) for s in pasted.pod.init_container_statuses)
    assert all(not is_placeholder(c.name) for c in pasted.pod.init_containers)


@pytest.mark.parametrize(
    ("row", "log_command", "container"),
    [
        ("web-1   0/1   CrashLoopBackOff   7   31m", "$ kubectl logs web-1 -c app --previous", "app"),
        ("web-1   1/2   CrashLoopBackOff   7   31m", "$ kubectl logs web-1 -c app --previous", "app"),
        ("web-1   0/1   Init:1/2   3   2m", "$ kubectl logs web-1 -c migrate --previous", "migrate"),
    ],
)
def test_a_rows_container_takes_the_name_another_paste_gives(
    row: str, log_command: str, container: str
) -> None:
    text = f"$ kubectl get pods\nNAME   READY   STATUS   RESTARTS   AGE\n{row}\n{log_command}\nboom\n"
    (pasted,) = _row_pods(text)
    assert pasted.container == container
    assert pasted.quote("restartCount", container) == row


def test_a_hostile_ready_count_makes_a_bounded_pod() -> None:
    (pasted,) = _row_pods(
        "NAME   READY   STATUS   RESTARTS   AGE\nweb-1   99999999/99999999   Running   0   5m\n"
    )
    assert pod_status(pasted.pod, NOW) == "Running" and len(pasted.pod.container_statuses) <= 64
