"""A field selected out of a pod on the command line (yq, jq, `-o jsonpath`): the printed value put
back where the path says it sits."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kcrash.cluster.paste.selected import expression, parse_path
from kcrash.cluster.paste.text import parse_command
from kcrash.cluster.pastes import parse_paste
from kcrash.diagnose_cmd import main

LAST_STATE_YAML = """\
terminated:
  containerID: containerd://0891e323bc69
  exitCode: 137
  finishedAt: "2025-01-21T03:09:31Z"
  reason: OOMKilled
  startedAt: "2025-01-21T03:09:06Z"
"""
LAST_STATE_JSON = '{"terminated":{"containerID":"containerd://0891e323bc69","exitCode":137,"finishedAt":"2025-01-21T03:09:31Z","reason":"OOMKilled","startedAt":"2025-01-21T03:09:06Z"}}'


@pytest.mark.parametrize(
    ("line", "path"),
    [
        (
            "$ kubectl get pod web-1 -o yaml | yq '.status.containerStatuses[0].lastState'",
            ("status", "containerStatuses", 0, "lastState"),
        ),
        ("$ kubectl get pod web-1 -o yaml | yq eval '.status.phase' -", ("status", "phase")),
        ('$ kubectl get pod web-1 -o json | jq -r ".status.reason"', ("status", "reason")),
        ("$ kubectl get pods -o json | jq '.items[2].status.message'", ("items", 2, "status", "message")),
        (
            "$ kubectl get pod web-1 -o jsonpath='{.status.containerStatuses[0].state}'",
            ("status", "containerStatuses", 0, "state"),
        ),
        ("$ kubectl get pod web-1 -o jsonpath='{.metadata[\"name\"]}'", ("metadata", "name")),
        ("$ kubectl get pod web-1 -o json | jq '.status.containerStatuses[] | .lastState'", None),
        ("$ kubectl get pod web-1 -o jsonpath='{.status.containerStatuses[*].lastState}'", None),
        ("$ kubectl get pod web-1 -o yaml | grep -A5 lastState", None),
        ("$ kubectl get pod web-1 -o yaml", None),
    ],
)
def test_the_path_a_command_line_selects(line: str, path: tuple[str | int, ...] | None) -> None:
    command = parse_command(line)
    assert command is not None
    assert parse_path(expression(command)) == path


@pytest.mark.parametrize(
    ("command", "output"),
    [
        (
            "kubectl get pod -o yaml -n shop web-1 | yq '.status.containerStatuses[0].lastState'",
            LAST_STATE_YAML,
        ),
        (
            "kubectl get pod web-1 -n shop -o json | jq '.status.containerStatuses[0].lastState'",
            LAST_STATE_JSON,
        ),
        (
            "kubectl get pod web-1 -n shop -o jsonpath='{.status.containerStatuses[0].lastState}'",
            LAST_STATE_JSON,
        ),
    ],
)
def test_a_selected_last_state_is_the_pods_last_termination(
    tmp_path: Path, command: str, output: str
) -> None:
    path = tmp_path / "laststate.txt"
    path.write_text(f"$ {command}\n{output}\n")
    out, err = io.StringIO(), io.StringIO()
    code = main(["--from", str(path), "-o", "json"], stdout=out, stderr=err, stdin=io.StringIO(""))
    (row,) = json.loads(out.getvalue())
    assert (code, row["namespace"], row["pod"], row["cause"], row["exit_code"]) == (
        1,
        "shop",
        "web-1",
        "oom-killed",
        137,
    )
    assert "OOMKilled" in row["evidence"][0]["quote"]


@pytest.mark.parametrize(
    ("selector", "output", "field", "value"),
    [
        ("yq '.status.reason'", "Evicted", "reason", "Evicted"),
        ("jq '.status.reason'", '"Evicted"', "reason", "Evicted"),
        ("jq -r '.status.phase'", "Failed", "phase", "Failed"),
        (
            "yq '.status.message'",
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 87608Ki.",
            "message",
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 87608Ki.",
        ),
    ],
)
def test_a_selected_scalar_is_taken_as_printed(selector: str, output: str, field: str, value: str) -> None:
    (facts,) = parse_paste(f"$ kubectl get pod web-1 -o yaml | {selector}\n{output}\n").pods
    assert (facts.pod.name, getattr(facts.pod, field)) == ("web-1", value)


def test_the_nth_item_of_a_listing_is_the_nth_row_of_its_table() -> None:
    text = (
        "$ kubectl -n ci get pods -l app=ctl\n"
        "NAME        READY   STATUS                   RESTARTS   AGE\n"
        "ctl-aaaaa   0/1     ContainerStatusUnknown   2          11h\n"
        "ctl-bbbbb   0/1     ContainerStatusUnknown   2          5h\n"
        "ctl-ccccc   1/1     Running                  0          24m\n"
        "\n"
        "$ kubectl -n ci get pods -l app=ctl -o yaml | yq '.items[1].status.reason'\n"
        "Evicted\n"
        "\n"
        "$ kubectl -n ci get pods -l app=other -o yaml | yq '.items[0].status.reason'\n"
        "Evicted\n"
    )
    pods = {(p.pod.name, p.pod.reason) for p in parse_paste(text).pods}
    assert ("ctl-bbbbb", "Evicted") in pods
    assert ("ctl-aaaaa", "Evicted") not in pods
    assert ("", "Evicted") in pods  # another listing: which pod is not told


@pytest.mark.parametrize(
    "text",
    [
        "$ kubectl get pod web-1 -o yaml | yq '.status.containerStatuses[0].lastState'\nnull\n",
        "$ kubectl get pod web-1 -o yaml | yq '.status.containerStatuses[0].lastState'\n: not yaml [\n",
        "$ kubectl get pod web-1 -o yaml | yq '.spec.nodeName.foo'\n{}\n",
    ],
)
def test_a_selection_that_says_nothing_is_no_pod_state(text: str) -> None:
    for facts in parse_paste(text).pods:
        assert not facts.pod.container_statuses and not facts.pod.reason
