"""kcrash's describe and YAML of every lab pod against real kubectl's, section by section.

Each top-level section of `kubectl describe pod` (Name … Tolerations, Containers, Conditions,
Volumes, Events) must be the same text; event rows are compared without their Age, which kubectl
counts on its own clock. A lab at real speed keeps the pods still between the two reads; a pod
that changed meanwhile (a restart) is read again.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import yaml

from kcrash.cluster.config import connect
from kcrash.cluster.describe import describe_pod, tabwrite
from kcrash.cluster.podyaml import pod_yaml
from kcrash.cluster.source import ClusterSource
from kcrash.lab.app import Lab

pytestmark = pytest.mark.kubectl


def sections(text: str) -> dict[str, str]:
    """Top-level sections by title: a line that starts in column 0 opens one."""
    found: dict[str, str] = {}
    title = ""
    for line in text.splitlines():
        if line and not line.startswith(" "):
            title = line.split(":", 1)[0]
            found[title] = ""
        found[title] += line + "\n"
    return found


def event_rows(section: str) -> list[tuple[str, ...]]:
    """Type, Reason, From, Message of each event row (Age left out)."""
    rows = []
    for line in section.splitlines()[3:]:
        cells = re.split(r"\s{2,}", line.strip(), maxsplit=4)
        rows.append((cells[0], cells[1], cells[3], cells[4]))
    return sorted(rows)


Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """At real speed: the pods hardly change between kcrash's read and kubectl's."""
    with Lab(speed=1.0, seed=1) as running:
        yield running


@pytest.fixture(scope="module")
def source(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> ClusterSource:
    kubeconfig = lab.write_kubeconfig(tmp_path_factory.mktemp("describe") / "config")
    conn = connect(str(kubeconfig), "kcrash-lab", "crashlab", False)
    return ClusterSource(conn, namespace="crashlab")


def test_describe_of_every_lab_pod_matches_kubectl_section_by_section(
    lab: Lab, source: ClusterSource, kubectl: Kubectl
) -> None:
    pods = source.api.list_all_pods("crashlab").items
    assert len(pods) >= 15
    compared_events = 0
    for pod in pods:
        for attempt in range(3):
            ours = sections(source.describe_pod(pod, lab.clock.now()))
            theirs = sections(kubectl("describe", "pod", pod.name).stdout)
            same = ours.keys() == theirs.keys() and all(ours[t] == theirs[t] for t in theirs if t != "Events")
            if same or attempt == 2:
                break
        assert list(ours) == list(theirs), pod.name
        for title in theirs:
            if title == "Events" and "<none>" not in theirs[title]:
                assert event_rows(ours[title]) == event_rows(theirs[title]), pod.name
                compared_events += 1
            else:
                assert ours[title] == theirs[title], f"{pod.name}: {title}"
    assert compared_events >= 10, "most lab pods have events to compare"


def test_yaml_is_the_pod_kubectl_prints(source: ClusterSource, kubectl: Kubectl) -> None:
    pod = next(p for p in source.api.list_all_pods("crashlab").items if p.name.startswith("oom-leak"))
    ours = yaml.safe_load(source.pod_yaml(pod))
    theirs = yaml.safe_load(kubectl("get", "pod", pod.name, "-o", "yaml").stdout)
    for part in ("metadata", "spec"):
        assert ours[part] == theirs[part]
    assert ours["status"]["containerStatuses"][0]["name"] == theirs["status"]["containerStatuses"][0]["name"]


def test_managed_fields_fold_to_one_line_naming_the_managers() -> None:
    pod = {
        "metadata": {
            "name": "web",
            "managedFields": [
                {"manager": "kubectl-client-side-apply", "fieldsV1": {"f:spec": {}}},
                {"manager": "kubelet", "subresource": "status", "fieldsV1": {"f:status": {}}},
            ],
        },
        "spec": {"containers": [{"name": "app", "image": "web:1"}]},
    }
    text = pod_yaml(pod)
    assert "managedFields: '<2 entries folded: kubectl-client-side-apply, kubelet>'" in text
    assert "f:spec" not in text and "image: web:1" in text


@pytest.mark.parametrize(
    ("lines", "aligned"),
    [
        ("a:\tb\nlonger:\tc\n", "a:       b\nlonger:  c\n"),
        # A line without a cell ends the block: the next block is sized on its own.
        ("a:\tb\nbreak\nlonger:\tc\n", "a:  b\nbreak\nlonger:  c\n"),
        # The text after a line's last tab is no cell: it never widens the column.
        ("x\ty\tzzzzzzzz\nxx\tyy\n", "x   y  zzzzzzzz\nxx  yy\n"),
    ],
)
def test_tabwrite_aligns_as_go_tabwriter(lines: str, aligned: str) -> None:
    assert tabwrite(lines) == aligned


def test_secret_references_print_as_kubectl_prints_them() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "n"},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "x",
                    "env": [
                        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
                    ],
                }
            ]
        },
        "status": {"phase": "Running"},
    }
    text = describe_pod(pod, (), datetime.now(UTC))
    assert re.search(r"TOKEN:\s+<set to the key 'password' in secret 'db'>\s+Optional: false\n", text)
