"""kcrash's cluster layer against a real kube-apiserver: what it does that needs no node.

The lab's versions of these tests (tests/cluster/) steer the server through its fault switches; here
the same behaviour is driven through the API only: the reflector's paged list, watch and bookmarks
(not its 410 relist: see below); delete with a UID precondition; the rollout undo (server-side dry
run, then the JSON patch the real deployment controller acts on); and SelfSubjectAccessReview. Pods
name a node that does not exist, so the scheduler leaves them alone and no kubelet runs them.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from kcrash.cluster.api import Api
from kcrash.cluster.config import Connection, connect
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.reflector import Backoff, Reflector
from kcrash.cluster.source import ClusterSource
from kcrash.core.records import Pod
from kcrash.core.store import PodStore

pytestmark = pytest.mark.real

CHANGE_CAUSE = "kubernetes.io/change-cause"
REVISION = "deployment.kubernetes.io/revision"
MERGE_PATCH = "application/merge-patch+json"


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def namespace(api: Api) -> str:
    """A namespace of this module's own, with the `default` ServiceAccount pod admission needs."""
    name = f"cluster-{secrets.token_hex(3)}"
    api.send_json("create a namespace", "POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    wait_for(lambda: _exists(api, f"/api/v1/namespaces/{name}/serviceaccounts/default"), "its ServiceAccount")
    return name


def _exists(api: Api, path: str) -> bool:
    try:
        api.read_json("read", path)
    except KcrashError as error:
        if error.status == 404:
            return False
        raise
    return True


@pytest.fixture(scope="module")
def conn(kubeconfig: Path) -> Connection:
    return connect(str(kubeconfig), None, None, False, via_client=True)


@pytest.fixture(scope="module")
def api(conn: Connection) -> Api:
    return Api(conn)


@pytest.fixture
def source(conn: Connection, namespace: str) -> Iterator[ClusterSource]:
    running = ClusterSource(conn, namespace=namespace)
    yield running
    running.stop()


def create_pod(api: Api, namespace: str, name: str, **labels: str) -> dict[str, Any]:
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": "real"}},
        "spec": {
            "nodeName": "no-such-node",
            "automountServiceAccountToken": False,
            "containers": [{"name": "app", "image": "busybox:1.36"}],
        },
    }
    path = f"/api/v1/namespaces/{namespace}/pods"
    created: dict[str, Any] = api.send_json("create a pod", "POST", path, body)
    return created


def remove_pod(api: Api, namespace: str, name: str) -> None:
    """Delete at once: with no kubelet, a graceful delete would leave the pod terminating."""
    path = f"/api/v1/namespaces/{namespace}/pods/{name}"
    api.send_json("delete a pod", "DELETE", path, {"gracePeriodSeconds": 0})


def label_pod(api: Api, namespace: str, name: str, value: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/pods/{name}"
    api.send_json("label a pod", "PATCH", path, {"metadata": {"labels": {"touched": value}}}, MERGE_PATCH)


# -- the reflector ----------------------------------------------------------------------------------


class Consumer:
    def __init__(self) -> None:
        self.store = PodStore()
        self.resyncs = 0
        self.lock = threading.Lock()

    def on_events(self, batch: list[tuple[str, Pod]]) -> None:
        with self.lock:
            self.store.apply_batch(batch)

    def on_resync(self, pods: list[Pod]) -> None:
        with self.lock:
            self.resyncs += 1
            self.store.replace_all(pods)

    def on_state(self, state: Any) -> None:
        return None

    def versions(self) -> dict[tuple[str, str], str]:
        with self.lock:
            return {k: p.resource_version for k in self.store if (p := self.store.get(k)) is not None}


def start_reflector(
    api: Api,
    consumer: Consumer,
    namespace: str,
    watch: Callable[[str, int], Any] | None = None,
    **options: Any,
) -> Reflector[Pod]:
    reflector: Reflector[Pod] = Reflector(
        lambda token: api.list_pods(namespace, continue_token=token, limit=2),
        watch or (lambda rv, timeout: api.watch_pods(namespace, "", rv, timeout)),
        key=lambda pod: pod.key,
        version=lambda pod: pod.resource_version,
        on_events=consumer.on_events,
        on_resync=consumer.on_resync,
        on_state=consumer.on_state,
        backoff=Backoff(initial=0.05, cap=0.2, jitter=0.0),
        **options,
    )
    reflector.start()
    return reflector


def converged(consumer: Consumer, api: Api, namespace: str) -> Callable[[], bool]:
    def check() -> bool:
        fresh = {p.key: p.resource_version for p in api.list_all_pods(namespace).items}
        return consumer.versions() == fresh

    return check


def test_reflector_lists_in_pages_then_watches_every_change(api: Api, namespace: str) -> None:
    for i in range(5):  # more than one page of 2
        create_pod(api, namespace, f"listed-{i}")
    consumer = Consumer()
    reflector = start_reflector(api, consumer, namespace)
    try:
        wait_for(lambda: reflector.watches >= 1, "the first watch")
        assert consumer.resyncs == 1 and len(consumer.versions()) == 5
        create_pod(api, namespace, "watched")
        label_pod(api, namespace, "listed-1", "yes")
        remove_pod(api, namespace, "listed-0")
        wait_for(converged(consumer, api, namespace), "the watch to deliver every change")
        assert (namespace, "listed-0") not in consumer.store and (namespace, "watched") in consumer.store
        assert reflector.lists == 1
    finally:
        reflector.stop()


def test_bookmarks_advance_the_resume_version(api: Api, namespace: str) -> None:
    """A quiet namespace gets no events; the real watch cache's bookmarks still move its version on."""
    quiet = "kube-public"
    consumer = Consumer()
    # A short watch: the apiserver sends its bookmark two seconds before the watch's deadline.
    reflector = start_reflector(api, consumer, quiet, watch_timeout=(4, 4), min_watch=0.0)
    try:
        wait_for(lambda: reflector.watches >= 1, "the first watch")
        listed = reflector.resource_version
        create_pod(api, namespace, "elsewhere")  # pods elsewhere move the pods' version on
        wait_for(lambda: reflector.resource_version != listed, "a bookmark", timeout=30)
        assert int(reflector.resource_version) > int(listed)
        assert consumer.versions() == {} and reflector.lists == 1
    finally:
        reflector.stop()


# No 410 relist here: a real apiserver of v1.36 answers old resourceVersions from its watch cache, which
# keeps every event younger than 75 s and grows to 100k events, and serves continue tokens and exact
# lists from cache snapshots, so even an etcd compaction yields no 410 within a test's minutes
# (docs/lab.md). tests/cluster/test_reflector.py covers the relist against the lab's 410s.


# -- writes: delete with a UID precondition, undo with its server-side dry run, access ----------------------


def test_a_stale_uid_deletes_nothing_and_the_right_one_deletes(
    api: Api, namespace: str, source: ClusterSource
) -> None:
    create_pod(api, namespace, "victim")
    pod = api.get_pod(namespace, "victim")
    impostor = msgspec.structs.replace(pod, uid="00000000-0000-0000-0000-000000000000")
    with pytest.raises(KcrashError) as info:
        source.delete_pod(impostor)
    assert info.value.status == 409 and "newer pod" in str(info.value)
    assert api.get_pod(namespace, "victim").deletion_timestamp is None

    assert source.delete_pod(pod).startswith("pod/victim deleted")
    # Bound to a node, the pod waits for its kubelet: the real apiserver marks it terminating.
    assert api.get_pod(namespace, "victim").deletion_timestamp is not None
    remove_pod(api, namespace, "victim")


def deployment_body(name: str, image: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "annotations": {CHANGE_CAUSE: f"deploy {image}"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "containers": [{"name": "app", "image": image}],
                },
            },
        },
    }


def replica_sets(api: Api, namespace: str, name: str) -> dict[str, dict[str, Any]]:
    """revision -> ReplicaSet of one Deployment."""
    path = f"/apis/apps/v1/namespaces/{namespace}/replicasets"
    listing = api.read_json("list", path, (("labelSelector", f"app={name}"),))
    return {rs["metadata"]["annotations"].get(REVISION, ""): rs for rs in listing["items"]}


def image_of(obj: dict[str, Any]) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def pod_of_revision(api: Api, namespace: str, rs: dict[str, Any]) -> Pod | None:
    owner = rs["metadata"]["name"]
    owned = [p for p in api.list_all_pods(namespace).items if p.controller and p.controller.name == owner]
    return owned[0] if owned else None


def test_undo_runs_its_dry_run_then_the_real_deployment_controller_rolls_back(
    api: Api, namespace: str, source: ClusterSource
) -> None:
    name = "undo-web"
    deployments = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    api.send_json("create a deployment", "POST", deployments, deployment_body(name, "nginx:1.27"))
    wait_for(lambda: "1" in replica_sets(api, namespace, name), "revision 1")
    bad = deployment_body(name, "nginx:1.28-broken")
    api.send_json("change the image", "PATCH", f"{deployments}/{name}", bad, MERGE_PATCH)
    second = wait_for(lambda: replica_sets(api, namespace, name).get("2"), "revision 2")
    pod = wait_for(lambda: pod_of_revision(api, namespace, second), "a pod of revision 2")

    plan = source.plan_undo(pod)
    assert plan.ready, plan
    assert (plan.from_revision, plan.to_revision) == (2, 1)
    assert plan.dry_run_error in ("", None), plan.dry_run_error
    assert source.execute_undo(plan) == f"deployment.apps/{name} rolled back"

    def rolled_back() -> bool:
        first = replica_sets(api, namespace, name).get("3")
        return first is not None and image_of(first) == "nginx:1.27"

    wait_for(rolled_back, "the deployment controller to make revision 1 revision 3")
    deployment = api.read_json("read", f"{deployments}/{name}")
    assert image_of(deployment) == "nginx:1.27"
    _, revisions = source.deployment_history(pod)
    causes = {r.number: r.change_cause for r in revisions}
    assert causes[3] == "deploy nginx:1.27" and causes[2] == "deploy nginx:1.28-broken", causes


def test_access_review_answers_for_the_admin(source: ClusterSource, namespace: str) -> None:
    access = source.access(namespace)
    assert access.delete_pods.allowed and access.patch_deployments.allowed


def test_access_review_reasons_come_from_rbac(api: Api, namespace: str) -> None:
    allowed, _ = api.can_i(namespace, "delete", "pods")
    assert allowed
    answer = json.dumps(api.can_i(namespace, "create", "no-such-things", "example.com"))
    assert answer.startswith("[true")  # system:masters may do anything, known resource or not
