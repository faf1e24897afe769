"""The commands that made a pod (`kubectl run`, `kubectl create deployment`), read as its spec."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from paste_cli import diagnose_pastes

from kcrash.cluster.paste.runs import created_pods, workload_of
from kcrash.diagnose_cmd import main


@pytest.mark.parametrize(
    ("line", "image", "command", "args", "interactive", "policy", "workload"),
    [
        ("$ kubectl run bb --image=busybox", "busybox", (), (), False, "Always", False),
        ("kubectl run bb --image busybox --restart=Never -- sleep 30", "busybox", (), ("sleep", "30"), False,
         "Never", False),
        ("kubectl run -it --rm dbg --image=alpine -- sh", "alpine", (), ("sh",), True, "Always", False),
        ("oc run web --image=nginx --command -- nginx -g 'daemon off;'", "nginx",
         ("nginx", "-g", "daemon off;"), (), False, "Always", False),
        ("I ran `kubectl run busybox-1 --image=docker.io/library/busybox:latest --replicas=2` and",
         "docker.io/library/busybox:latest", (), (), False, "Always", True),
        ("kubectl create deployment hello --image=hello-world", "hello-world", (), (), False, "Always", True),
    ],
)  # fmt: skip
def test_a_create_command_says_what_the_pod_runs(
    line: str,
    image: str,
    command: tuple[str, ...],
    args: tuple[str, ...],
    interactive: bool,
    policy: str,
    workload: bool,
) -> None:
    (facts,) = created_pods(line)
    (spec,) = facts.pod.containers
    assert (spec.image, spec.command, spec.args, spec.interactive) == (image, command, args, interactive)
    assert (facts.pod.restart_policy, facts.workload) == (policy, workload)
    assert "spec" in facts.shows


@pytest.mark.parametrize(
    "line",
    [
        "kubectl run bb --image=busybox --overrides='{\"spec\": {}}'",  # may say anything else
        "kubectl run --restart=Never",  # no name, no image
        "we should run kubectl in CI",
    ],
)
def test_a_line_that_does_not_say_what_runs_is_not_read(line: str) -> None:
    assert created_pods(line) == []


@pytest.mark.parametrize(
    ("pod", "owner"),
    [
        ("web-7d9c5b8f4-x2b4q", "web"),
        ("web-x2b4q", "web"),
        ("web-api-7d9c5b8f4-x2b4q", "web-api"),
        ("webshop-7d9c5b8f4-x2b4q", ""),
        ("web", ""),
    ],
)
def test_a_pod_belongs_to_the_workload_its_name_extends(pod: str, owner: str) -> None:
    assert workload_of(pod, ["web", "web-api"]) == owner


LOOPING = """\
NAME                        READY   STATUS             RESTARTS   AGE
{name}   0/1     CrashLoopBackOff   5          3m
"""


def test_a_base_image_run_with_no_command_exits_zero(tmp_path: Path) -> None:
    (row,) = diagnose_pastes(
        tmp_path, "$ kubectl run bb --image=busybox\npod/bb created\n", LOOPING.format(name="bb")
    )
    assert (row["pod"], row["cause"], row["detail"]) == ("bb", "exits-zero", "base-image")
    assert any(e["quote"] == "kubectl run bb --image=busybox" for e in row["evidence"])


def test_the_spec_of_a_deployment_goes_to_its_pods(tmp_path: Path) -> None:
    rows = diagnose_pastes(
        tmp_path,
        "kubectl create deployment hello --image=hello-world\n",
        LOOPING.format(name="hello-5d9f7c6b8-abcde")
        + "hello-5d9f7c6b8-fghij   0/1     CrashLoopBackOff   4   3m\n",
    )
    assert {(r["pod"], r["cause"]) for r in rows} == {
        ("hello-5d9f7c6b8-abcde", "exits-zero"),
        ("hello-5d9f7c6b8-fghij", "exits-zero"),
    }


def test_an_interactive_run_is_not_called_exits_zero(tmp_path: Path) -> None:
    (row,) = diagnose_pastes(tmp_path, "$ kubectl run -it bb --image=busybox\n", LOOPING.format(name="bb"))
    assert row["cause"] == "unknown"


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: example
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: main
          image: {image}
"""


def test_a_workload_manifest_says_what_its_pods_run(tmp_path: Path) -> None:
    rows = diagnose_pastes(
        tmp_path,
        DEPLOYMENT.format(image="alpine"),
        LOOPING.format(name="example-5d9f7c6b8-abcde"),
    )
    assert [(r["pod"], r["cause"], r["detail"]) for r in rows] == [
        ("example-5d9f7c6b8-abcde", "exits-zero", "base-image")
    ]


def test_a_manifest_alone_whose_command_ends_will_crash_loop(tmp_path: Path) -> None:
    (row,) = diagnose_pastes(tmp_path, DEPLOYMENT.format(image="busybox:1.36"))
    assert (row["pod"], row["cause"]) == ("example", "exits-zero")
    assert "will restart it" in row["headline"]
    assert {"source": "status", "quote": "not in the input: the spec alone"} in row["evidence"]


def test_a_manifest_alone_of_a_server_is_no_question(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(DEPLOYMENT.format(image="nginx:1.27"))
    out, err = io.StringIO(), io.StringIO()
    main(["--from", str(path), "-o", "json"], stdout=out, stderr=err, stdin=io.StringIO(""))
    assert json.loads(out.getvalue() or "[]") == []
