"""The lab kubelet's pod status rendering: pure functions of the run records and `now`."""

from __future__ import annotations

import copy

import pytest

from kcrash.lab.events import stamp
from kcrash.lab.kubelet.nodes import node_object
from kcrash.lab.kubelet.state import ContainerRun, Instance, Node, PodRun
from kcrash.lab.kubelet.status import (
    EPOCH,
    container_status,
    image_id,
    pod_phase,
    render_status,
    transitioned,
)
from kcrash.lab.scenarios import Behaviour
from kcrash.lab.store import Obj

T0 = 1_700_000_000.0
NODE = Node(name="lab-worker-1", ip="10.0.1.10", cidr_prefix="10.244.1.")


def container(name: str = "app", init: bool = False) -> ContainerRun:
    return ContainerRun(name, {"name": name, "image": "nginx:1.25"}, init, Behaviour())


def pod(apps: list[ContainerRun], init: list[ContainerRun] | None = None, policy: str = "Always") -> PodRun:
    return PodRun(
        namespace="crashlab",
        name="web-1",
        uid="uid-1",
        node=NODE,
        spec={"restartPolicy": policy},
        labels={},
        init=init or [],
        apps=apps,
        qos="BestEffort",
        start_time=T0,
    )


def running(c: ContainerRun, since: float, ready: bool = True) -> None:
    c.current = Instance(0, "c0", since)
    c.state, c.ready, c.started, c.restart_count = "running", ready, True, 0


def exited(c: ContainerRun, code: int, started: float | None = T0, reason: str = "Error") -> None:
    c.current = Instance(0, "c0", started, T0 + 5, code, reason)
    c.state, c.ready, c.started, c.restart_count = "terminated", False, False, 0


def conditions_by_type(status: Obj) -> dict[str, Obj]:
    return {c["type"]: c for c in status["conditions"]}


def test_render_reads_the_run_and_returns_the_transitions_without_writing_them() -> None:
    c = container()
    run = pod([c])
    run.sandbox_ready = True
    run.init_done = True
    before = copy.deepcopy(run.conditions)

    status, conditions = render_status(run, T0 + 10)

    assert run.conditions == before == {}
    assert conditions["Ready"] == ("False", T0 + 10)
    assert conditions["PodReadyToStartContainers"] == ("True", T0 + 10)
    assert status["phase"] == "Pending"
    ready = conditions_by_type(status)["Ready"]
    assert ready["reason"] == "ContainersNotReady"
    assert ready["message"] == "containers with unready status: [app]"
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}


def test_a_condition_keeps_its_transition_time_until_its_status_changes() -> None:
    c = container()
    run = pod([c])
    run.sandbox_ready = run.init_done = True
    running(c, T0 + 1, ready=False)
    _, run.conditions = render_status(run, T0 + 10)

    same_status, same = render_status(run, T0 + 50)
    assert same is run.conditions  # nothing changed: the very same mapping, no copy
    assert conditions_by_type(same_status)["Ready"]["lastTransitionTime"] == stamp(T0 + 10)

    c.ready = True
    status, changed = render_status(run, T0 + 60)
    assert changed["Ready"] == ("True", T0 + 60)
    assert run.conditions["Ready"] == ("False", T0 + 10)
    assert status["phase"] == "Running"
    assert conditions_by_type(status)["Ready"]["status"] == "True"
    assert "reason" not in conditions_by_type(status)["Ready"]


def test_an_unfinished_init_container_leaves_the_pod_uninitialized() -> None:
    init = container("migrate", init=True)
    running(init, T0 + 1, ready=False)
    run = pod([container()], init=[init])
    run.sandbox_ready = True

    status, _ = render_status(run, T0 + 10)

    initialized = conditions_by_type(status)["Initialized"]
    assert initialized["status"] == "False"
    assert initialized["reason"] == "ContainersNotInitialized"
    assert initialized["message"] == "containers with incomplete status: [migrate]"
    assert status["initContainerStatuses"][0]["name"] == "migrate"


@pytest.mark.parametrize(
    ("policy", "codes", "phase"),
    [
        ("Always", [0, 0], "Running"),
        ("Never", [0, 0], "Succeeded"),
        ("Never", [0, 1], "Failed"),
        ("OnFailure", [0, 0], "Succeeded"),
        ("OnFailure", [0, 1], "Running"),
    ],
)
def test_phase_of_stopped_containers_follows_the_restart_policy(
    policy: str, codes: list[int], phase: str
) -> None:
    apps = [container(f"c{i}") for i in range(len(codes))]
    for c, code in zip(apps, codes, strict=True):
        exited(c, code)
    run = pod(apps, policy=policy)
    run.init_done = True
    statuses = [container_status(c) for c in apps]
    assert pod_phase(run, [], statuses) == phase


def test_a_container_that_never_started_reports_the_epoch_as_its_start() -> None:
    c = container()
    exited(c, 128, started=None, reason="StartError")
    state = container_status(c)["state"]["terminated"]
    assert state["startedAt"] == EPOCH
    assert state["finishedAt"] == stamp(T0 + 5)
    assert state["reason"] == "StartError"


def test_image_id_names_the_full_repository() -> None:
    assert image_id("nginx:1.25").startswith("docker.io/library/nginx@sha256:")
    assert image_id("ghcr.io/acme/api:2").startswith("ghcr.io/acme/api@sha256:")
    assert image_id("registry:5000/api").startswith("registry:5000/api@sha256:")


def test_transitioned_leaves_its_argument_alone() -> None:
    current = {"Ready": ("True", T0)}
    out = transitioned(current, {"Ready": "False", "Initialized": "True"}, T0 + 3)
    assert current == {"Ready": ("True", T0)}
    assert out == {"Ready": ("False", T0 + 3), "Initialized": ("True", T0 + 3)}


def test_node_object_is_ready_since_two_days_before_now() -> None:
    obj = node_object(NODE, T0)
    ready = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    assert ready["lastTransitionTime"] == stamp(T0 - 2 * 86400)
    assert obj["spec"]["podCIDR"] == "10.244.1.0/24"
