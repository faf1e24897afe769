"""The Deployment and ReplicaSet controllers and the garbage collector, simplified but faithful.

They react to store watchers (a kubectl PATCH, a pod dying, a pod deleted) by queueing a sync on the
scheduler, never by polling. The Deployment controller follows kube-controller-manager's rolling
update arithmetic (maxSurge / maxUnavailable, unhealthy old replicas cleaned up first), revision
annotations (a rollback bumps the matching ReplicaSet to max+1) and status conditions, so
`kubectl rollout history|undo|status` behave as on a real cluster.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kcrash.lab.defaults import NAME_ALPHABET, default_deployment_spec, random_suffix, with_token_volume
from kcrash.lab.events import EventRecorder, stamp
from kcrash.lab.store import Change, Conflict, NotFound, Obj, Store

if TYPE_CHECKING:
    from kcrash.lab.scheduler import Scheduler

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
# Deployment annotations that are not copied onto its ReplicaSets (deployment/util).
NOT_COPIED = {
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
}
Key = tuple[str, str]


# -- names and hashes ------------------------------------------------------------------------------
def safe_encode(text: str) -> str:
    """k8s.io/apimachinery rand.SafeEncodeString: map bytes onto consonants and digits."""
    return "".join(NAME_ALPHABET[ord(ch) % len(NAME_ALPHABET)] for ch in text)


def without_hash(template: Obj) -> Obj:
    """The template with the pod-template-hash label removed (what rollback compares); shares the rest."""
    meta = template.get("metadata") or {}
    labels = meta.get("labels")
    if not labels or HASH_LABEL not in labels:
        return template
    trimmed = {k: v for k, v in labels.items() if k != HASH_LABEL}
    return {**template, "metadata": {**meta, "labels": trimmed}}


def canonical(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def template_hash(template: Obj) -> str:
    """pod-template-hash: a 32-bit hash of the template, its decimal form safe-encoded like the real one.

    The real controller hashes a go-spew dump with FNV-32a; any stable 32-bit hash gives names of
    the same shape, and sha256 is much faster here than FNV in pure Python.
    """
    digest = hashlib.sha256(canonical(without_hash(template)).encode()).digest()
    return safe_encode(str(int.from_bytes(digest[:4], "big")))


def template_key(template: Obj) -> str:
    """What makes two pod templates the same for the Deployment controller and for rollback."""
    return canonical(without_hash(template))


def new_uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def owner_ref(obj: Obj) -> Obj:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: Obj, kind: str) -> str | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == kind:
            return str(ref.get("uid"))
    return None


def revision_of(rs: Obj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def resolve_fencepost(value: object, replicas: int, round_up: bool) -> int:
    """intstr "25%" or 1 against `replicas` (GetScaledValueFromIntOrPercent)."""
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        scaled = float(text[:-1]) * replicas / 100.0
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(text)


def surge_and_unavailable(deployment: Obj) -> tuple[int, int]:
    spec = deployment["spec"]
    replicas = int(spec.get("replicas", 1))
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    surge = resolve_fencepost(rolling.get("maxSurge", "25%"), replicas, round_up=True)
    unavailable = resolve_fencepost(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def pod_ready(pod: Obj) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def pod_active(pod: Obj) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def rs_annotations(d: Obj, revision: int, existing: dict[str, str] | None) -> dict[str, str]:
    """SetNewReplicaSetAnnotations: copy the Deployment's annotations, record revision and sizes."""
    out = dict(existing or {})
    for key, value in (d["metadata"].get("annotations") or {}).items():
        if key not in NOT_COPIED:
            out[key] = value
    old = out.get(REVISION)
    if old is not None and old != str(revision):
        history = [h for h in out.get(REVISION_HISTORY, "").split(",") if h]
        out[REVISION_HISTORY] = ",".join([*history, old])
    out[REVISION] = str(revision)
    return replica_annotations(d, out)


def replica_annotations(d: Obj, existing: dict[str, str] | None) -> dict[str, str]:
    """SetReplicasAnnotations: the Deployment's size and surge; what scaling any ReplicaSet writes.

    Scaling never copies the Deployment's other annotations: an old ReplicaSet keeps the
    change-cause of its own revision after a rollback, so `kubectl rollout history` tells them apart.
    """
    surge, _ = surge_and_unavailable(d)
    replicas = int(d["spec"].get("replicas", 1))
    return {**(existing or {}), DESIRED: str(replicas), MAX_REPLICAS: str(replicas + surge)}


def build_deployment(
    name: str,
    namespace: str,
    replicas: int,
    template: Obj,
    created: float,
    uid: str,
    annotations: dict[str, str] | None = None,
    strategy: Obj | None = None,
) -> Obj:
    """A Deployment as stored after defaulting (selector from the template's `app` label)."""
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    selector = {"matchLabels": {"app": labels.get("app", name)}}
    spec: Obj = {"replicas": replicas, "selector": selector, "template": template}
    if strategy:
        spec["strategy"] = copy.deepcopy(strategy)
    meta: Obj = {
        "name": name,
        "namespace": namespace,
        "uid": uid,
        "creationTimestamp": stamp(created),
        "generation": 1,
        "labels": {"app": labels.get("app", name)},
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": default_deployment_spec(spec),
        "status": {},
    }


def build_replicaset(d: Obj, revision: int, replicas: int, created: float, uid: str) -> Obj:
    """The ReplicaSet a Deployment's current template gets: name <deployment>-<pod-template-hash>."""
    meta = d["metadata"]
    source = d["spec"]["template"]
    pod_hash = template_hash(source)
    labels = {**(source.get("metadata") or {}).get("labels", {}), HASH_LABEL: pod_hash}
    # Shares the spec with the Deployment's template: stored objects are never edited in place.
    template = {**source, "metadata": {**(source.get("metadata") or {}), "labels": labels}}
    selector = copy.deepcopy(d["spec"].get("selector") or {"matchLabels": {}})
    selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
    spec: Obj = {"replicas": replicas, "selector": selector, "template": template}
    if d["spec"].get("minReadySeconds"):
        spec["minReadySeconds"] = d["spec"]["minReadySeconds"]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{pod_hash}",
            "namespace": meta["namespace"],
            "uid": uid,
            "creationTimestamp": stamp(created),
            "generation": 1,
            "labels": dict(labels),
            "annotations": rs_annotations(d, revision, None),
            "ownerReferences": [owner_ref(d)],
        },
        "spec": spec,
        "status": {"replicas": 0},
    }


def pod_from_template(
    template: Obj, name: str, namespace: str, created: float, uid: str, rng: random.Random, owner: Obj | None
) -> Obj:
    """A Pod as the API server stores it after admission (service account token volume, tolerations)."""
    meta_t = template.get("metadata") or {}
    # Shallow copies: nested parts stay shared with the template, and nobody edits stored objects.
    spec = with_token_volume(dict(template["spec"]), rng)
    spec.setdefault("serviceAccountName", "default")
    spec["serviceAccount"] = spec["serviceAccountName"]
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    spec.setdefault(
        "tolerations",
        [
            {
                "key": f"node.kubernetes.io/{t}",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            }
            for t in ("not-ready", "unreachable")
        ],
    )
    meta: Obj = {
        "name": name,
        "namespace": namespace,
        "uid": uid,
        "creationTimestamp": stamp(created),
        "labels": dict(meta_t.get("labels") or {}),
    }
    if meta_t.get("annotations"):
        meta["annotations"] = dict(meta_t["annotations"])
    if owner is not None:
        meta["generateName"] = owner["metadata"]["name"] + "-"
        meta["ownerReferences"] = [owner_ref(owner)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": {"phase": "Pending"}}


def _fresh(obj: Obj, spec: bool = False) -> Obj:
    """A shallow copy safe to change at the top and in metadata (and in spec when asked)."""
    out = dict(obj)
    out["metadata"] = dict(obj["metadata"])
    if spec:
        out["spec"] = dict(obj["spec"])
    return out


# -- the controllers -------------------------------------------------------------------------------
class Controllers:
    """Deployment controller, ReplicaSet controller and garbage collector."""

    def __init__(self, store: Store, sched: Scheduler, recorder: EventRecorder, rng: random.Random) -> None:
        self.store = store
        self.sched = sched
        self.recorder = recorder
        self.rng = rng
        self._rs_pods: dict[str, set[Key]] = {}
        self._deploy_rs: dict[str, set[Key]] = {}
        self._rs_owner: dict[str, Key] = {}  # rs uid -> deployment key
        self._rs_by_uid: dict[str, Key] = {}
        self._deploy_by_uid: dict[str, Key] = {}
        self._pod_seen: dict[Key, tuple[bool, bool]] = {}
        self._deploy_seen: dict[str, tuple[Obj, object, object]] = {}
        self._rs_seen: dict[str, tuple[object, object]] = {}
        self._queued: set[tuple[str, str, str]] = set()
        self._ignored: set[tuple[str, str, str]] = set()
        self._seen_spec: dict[str, tuple[int, str, Obj]] = {}
        self._deadline_timers: dict[str, float] = {}
        self._template_keys: dict[str, tuple[Obj, str]] = {}  # uid -> (template object, its key)
        store.add_watcher("deployments", self._on_deployment)
        store.add_watcher("replicasets", self._on_replicaset)
        store.add_watcher("pods", self._on_pod)

    def ignore(self, resource: str, namespace: str, name: str) -> None:
        """An object served as given: no controller acts on it."""
        self._ignored.add((resource, namespace, name))

    # -- watchers (only queue work) ------------------------------------------------------------
    def _on_deployment(self, change: Change) -> None:
        meta = change.obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if ("deployments", *key) in self._ignored:
            return
        uid = meta.get("uid", "")
        if change.type == "DELETED":
            self._deploy_by_uid.pop(uid, None)
            self._deploy_seen.pop(uid, None)
            self.sched.soon(lambda: self._collect_deployment(uid))
            return
        self._deploy_by_uid[uid] = key
        # Our own status writes keep the very same spec object: nothing to do for those.
        seen = (change.obj["spec"], meta.get("annotations"), meta.get("generation"))
        previous = self._deploy_seen.get(uid)
        self._deploy_seen[uid] = seen
        if (
            change.type == "MODIFIED"
            and previous is not None
            and previous[0] is seen[0]
            and previous[1:] == seen[1:]
        ):
            return
        self._enqueue("deployments", key)

    def _on_replicaset(self, change: Change) -> None:
        obj = change.obj
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        uid = meta.get("uid", "")
        owner = controller_of(obj, "Deployment")
        if change.type == "ADDED":
            self._rs_by_uid[uid] = key
            if owner is not None:
                self._deploy_rs.setdefault(owner, set()).add(key)
                deployment = self._deploy_by_uid.get(owner)
                if deployment is not None:
                    self._rs_owner[uid] = deployment
        if change.type == "DELETED":
            self._rs_by_uid.pop(uid, None)
            self._rs_seen.pop(uid, None)
            if owner is not None:
                self._deploy_rs.get(owner, set()).discard(key)
            self.sched.soon(lambda: self._collect_replicaset(uid))
        else:
            # Only a new size or a new status matters to the controllers (not annotations).
            seen = (obj["spec"].get("replicas"), obj.get("status"))
            if change.type == "MODIFIED" and self._rs_seen.get(uid) == seen:
                return
            self._rs_seen[uid] = seen
            if ("replicasets", *key) not in self._ignored:
                self._enqueue("replicasets", key)
        parent = self._rs_owner.get(uid)
        if parent is not None:
            self._enqueue("deployments", parent)
        if change.type == "DELETED":
            self._rs_owner.pop(uid, None)

    def _on_pod(self, change: Change) -> None:
        obj = change.obj
        owner = controller_of(obj, "ReplicaSet")
        if owner is None:
            return
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if change.type == "DELETED":
            self._pod_seen.pop(key, None)
        else:
            # A ReplicaSet counts active and ready pods: other status changes do not concern it.
            seen = (pod_active(obj), pod_ready(obj))
            if change.type == "MODIFIED" and self._pod_seen.get(key) == seen:
                return
            self._pod_seen[key] = seen
        if change.type == "ADDED":
            self._rs_pods.setdefault(owner, set()).add(key)
        elif change.type == "DELETED":
            self._rs_pods.get(owner, set()).discard(key)
            parent = self._rs_owner.get(owner)
            if parent is not None:
                self._enqueue("deployments", parent)
        rs_key = self._rs_by_uid.get(owner)
        if rs_key is not None:
            self._enqueue("replicasets", rs_key)

    def _enqueue(self, resource: str, key: Key) -> None:
        item = (resource, *key)
        if item in self._queued:
            return
        self._queued.add(item)
        sync = self._sync_deployment if resource == "deployments" else self._sync_replicaset
        self.sched.soon(lambda: self._run(item, sync))

    def _run(self, item: tuple[str, str, str], sync: Callable[[str, str], None]) -> None:
        self._queued.discard(item)
        sync(item[1], item[2])

    # -- lookups -------------------------------------------------------------------------------
    def _template_key(self, obj: Obj) -> str:
        """template_key of a Deployment's or ReplicaSet's template, cached while the template is unchanged."""
        uid = obj["metadata"]["uid"]
        template = obj["spec"]["template"]
        cached = self._template_keys.get(uid)
        if cached is not None and cached[0] is template:
            return cached[1]
        key = template_key(template)
        self._template_keys[uid] = (template, key)
        return key

    def _owned_replicasets(self, deployment: Obj) -> list[Obj]:
        uid = deployment["metadata"]["uid"]
        out = []
        for key in sorted(self._deploy_rs.get(uid, set())):
            rs = self.store.get("replicasets", *key)
            if rs is not None and controller_of(rs, "Deployment") == uid:
                out.append(rs)
        out.sort(key=lambda rs: (rs["metadata"].get("creationTimestamp", ""), rs["metadata"]["name"]))
        return out

    def pods_of(self, rs: Obj) -> list[Obj]:
        namespace = rs["metadata"]["namespace"]
        out = []
        for key in sorted(self._rs_pods.get(rs["metadata"]["uid"], set())):
            pod = self.store.get("pods", namespace, key[1])
            if pod is not None:
                out.append(pod)
        return out

    # -- ReplicaSet controller -----------------------------------------------------------------
    def _sync_replicaset(self, namespace: str, name: str) -> None:
        rs = self.store.get("replicasets", namespace, name)
        if rs is None or ("replicasets", namespace, name) in self._ignored:
            return
        pods = self.pods_of(rs)
        active = [p for p in pods if pod_active(p)]
        want = int(rs["spec"].get("replicas", 1))
        if len(active) < want:
            for _ in range(want - len(active)):
                active.append(self._create_pod(rs))
        elif len(active) > want:
            doomed = sorted(active, key=_deletion_rank)[: len(active) - want]
            for pod in doomed:
                self.delete_pod(pod)
                self.recorder.emit(
                    rs,
                    "Normal",
                    "SuccessfulDelete",
                    f"Deleted pod: {pod['metadata']['name']}",
                    "replicaset-controller",
                )
            active = [p for p in active if p not in doomed]
        self._write_rs_status(rs, active)

    def _create_pod(self, rs: Obj) -> Obj:
        meta = rs["metadata"]
        while True:
            name = f"{meta['name']}-{random_suffix(self.rng)}"
            if self.store.get("pods", meta["namespace"], name) is None:
                break
        pod = pod_from_template(
            rs["spec"]["template"], name, meta["namespace"], self.sched.now(), new_uid(self.rng), self.rng, rs
        )
        created = self.store.create("pods", pod)
        self.recorder.emit(rs, "Normal", "SuccessfulCreate", f"Created pod: {name}", "replicaset-controller")
        return created

    def delete_pod(self, pod: Obj, grace: float | None = None) -> None:
        """What the API server does on DELETE of a running pod: mark it, the kubelet finishes."""
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            return
        seconds = int(grace if grace is not None else pod["spec"].get("terminationGracePeriodSeconds", 30))
        moment = self.sched.now()

        def mark(obj: Obj) -> None:
            obj["metadata"]["deletionTimestamp"] = stamp(moment + seconds)
            obj["metadata"]["deletionGracePeriodSeconds"] = seconds

        with contextlib.suppress(NotFound):
            self.store.mutate("pods", meta["namespace"], meta["name"], mark)

    def _write_rs_status(self, rs: Obj, active: list[Obj]) -> None:
        ready = sum(1 for p in active if pod_ready(p))
        status: Obj = {"replicas": len(active)}
        if active:
            status["fullyLabeledReplicas"] = len(active)
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        status["observedGeneration"] = rs["metadata"].get("generation", 1)
        if status == rs.get("status"):
            return
        fresh = _fresh(rs)
        fresh["status"] = status
        self.store.replace("replicasets", fresh)

    # -- Deployment controller -----------------------------------------------------------------
    def _sync_deployment(self, namespace: str, name: str) -> None:
        d = self.store.get("deployments", namespace, name)
        if d is None or ("deployments", namespace, name) in self._ignored:
            return
        d = self._observe_generation(d)
        replica_sets = self._owned_replicasets(d)
        for rs in replica_sets:
            self._rs_owner[rs["metadata"]["uid"]] = (namespace, name)
        wanted = self._template_key(d)
        new_rs = next((rs for rs in replica_sets if self._template_key(rs) == wanted), None)
        progress = ""
        if not d["spec"].get("paused"):
            top = max((revision_of(rs) for rs in replica_sets), default=0)
            if new_rs is None:
                new_rs = self._create_replicaset(d, top + 1)
                replica_sets.append(new_rs)
                progress = f'Created new replica set "{new_rs["metadata"]["name"]}"'
            elif revision_of(new_rs) < top or self._needs_annotations(d, new_rs):
                bumped = revision_of(new_rs) < top
                new_rs = self._adopt_revision(d, new_rs, top + 1 if bumped else revision_of(new_rs))
                replica_sets = [
                    new_rs if r["metadata"]["uid"] == new_rs["metadata"]["uid"] else r for r in replica_sets
                ]
                if bumped:
                    progress = f'Found new replica set "{new_rs["metadata"]["name"]}"'
            d = self._set_revision(d, revision_of(new_rs))
            olds = [rs for rs in replica_sets if rs is not new_rs]
            strategy = (d["spec"].get("strategy") or {}).get("type", "RollingUpdate")
            if strategy == "Recreate":
                new_rs, olds = self._recreate(d, new_rs, olds)
            else:
                new_rs, olds = self._rolling(d, new_rs, olds)
            replica_sets = [new_rs, *olds]
            self._cleanup_history(d, olds)
        self._write_deployment_status(d, replica_sets, new_rs, progress)

    def _observe_generation(self, d: Obj) -> Obj:
        """Bump metadata.generation when the spec changed and nobody else did (the API server would)."""
        uid = d["metadata"]["uid"]
        generation = int(d["metadata"].get("generation", 1))
        seen = self._seen_spec.get(uid)
        if seen is not None and seen[2] is d["spec"]:
            return d  # the very same spec object: nothing changed it
        spec = canonical(d["spec"])
        self._seen_spec[uid] = (generation, spec, d["spec"])
        if seen is None or seen[1] == spec or seen[0] != generation:
            return d
        fresh = _fresh(d)
        fresh["metadata"]["generation"] = generation + 1
        stored = self.store.replace("deployments", fresh)
        self._seen_spec[uid] = (generation + 1, spec, stored["spec"])
        return stored

    def _needs_annotations(self, d: Obj, rs: Obj) -> bool:
        current = rs["metadata"].get("annotations") or {}
        return rs_annotations(d, revision_of(rs), current) != current

    def _create_replicaset(self, d: Obj, revision: int) -> Obj:
        rs = build_replicaset(d, revision, 0, self.sched.now(), new_uid(self.rng))
        try:
            return self.store.create("replicasets", rs)
        except Conflict:
            existing = self.store.get("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])
            assert existing is not None
            return existing

    def _adopt_revision(self, d: Obj, rs: Obj, revision: int) -> Obj:
        """A rollback found an old ReplicaSet with the template: it becomes the newest revision."""
        fresh = _fresh(rs)
        fresh["metadata"]["annotations"] = rs_annotations(d, revision, rs["metadata"].get("annotations"))
        return self.store.replace("replicasets", fresh)

    def _set_revision(self, d: Obj, revision: int) -> Obj:
        annotations = d["metadata"].get("annotations") or {}
        if annotations.get(REVISION) == str(revision):
            return d
        fresh = _fresh(d)
        fresh["metadata"]["annotations"] = {**annotations, REVISION: str(revision)}
        return self.store.replace("deployments", fresh)

    def _scale(self, d: Obj, rs: Obj, replicas: int) -> Obj:
        old = int(rs["spec"].get("replicas", 0))
        if old == replicas:
            return rs
        fresh = _fresh(rs, spec=True)
        fresh["spec"]["replicas"] = replicas
        fresh["metadata"]["generation"] = int(rs["metadata"].get("generation", 1)) + 1  # a spec change
        fresh["metadata"]["annotations"] = replica_annotations(d, rs["metadata"].get("annotations"))
        direction = "up" if replicas > old else "down"
        updated = self.store.replace("replicasets", fresh)
        self.recorder.emit(
            d,
            "Normal",
            "ScalingReplicaSet",
            f"Scaled {direction} replica set {rs['metadata']['name']} to {replicas} from {old}",
            "deployment-controller",
        )
        return updated

    def _rolling(self, d: Obj, new_rs: Obj, olds: list[Obj]) -> tuple[Obj, list[Obj]]:
        """rolloutRolling: the new ReplicaSet up within maxSurge, old ones down within maxUnavailable."""
        replicas = int(d["spec"].get("replicas", 1))
        surge, unavailable = surge_and_unavailable(d)
        new_count = int(new_rs["spec"].get("replicas", 0))
        if new_count > replicas:
            return self._scale(d, new_rs, replicas), olds
        if new_count < replicas:
            current = new_count + sum(int(rs["spec"].get("replicas", 0)) for rs in olds)
            room = replicas + surge - current
            if room > 0:
                return self._scale(d, new_rs, new_count + min(room, replicas - new_count)), olds
        if sum(int(rs["spec"].get("replicas", 0)) for rs in olds) == 0:
            return new_rs, olds
        all_count = new_count + sum(int(rs["spec"].get("replicas", 0)) for rs in olds)
        min_available = replicas - unavailable
        new_unavailable = new_count - int(new_rs.get("status", {}).get("availableReplicas", 0))
        budget = all_count - min_available - new_unavailable
        if budget <= 0:
            return new_rs, olds
        olds = self._cleanup_unhealthy(d, olds, budget)
        available = sum(int(rs.get("status", {}).get("availableReplicas", 0)) for rs in [new_rs, *olds])
        if available <= min_available:
            return new_rs, olds
        to_remove = available - min_available
        out = []
        for rs in olds:
            count = int(rs["spec"].get("replicas", 0))
            if to_remove > 0 and count > 0:
                step = min(count, to_remove)
                rs = self._scale(d, rs, count - step)
                to_remove -= step
            out.append(rs)
        return new_rs, out

    def _cleanup_unhealthy(self, d: Obj, olds: list[Obj], budget: int) -> list[Obj]:
        out = []
        done = 0
        for rs in olds:
            count = int(rs["spec"].get("replicas", 0))
            available = int(rs.get("status", {}).get("availableReplicas", 0))
            if done < budget and count > 0 and count != available:
                step = min(budget - done, count - available)
                rs = self._scale(d, rs, count - step)
                done += step
            out.append(rs)
        return out

    def _recreate(self, d: Obj, new_rs: Obj, olds: list[Obj]) -> tuple[Obj, list[Obj]]:
        if any(int(rs["spec"].get("replicas", 0)) > 0 for rs in olds):
            return new_rs, [self._scale(d, rs, 0) for rs in olds]
        if any(self._rs_pods.get(rs["metadata"]["uid"]) for rs in olds):
            return new_rs, olds  # wait for the old pods to be gone
        return self._scale(d, new_rs, int(d["spec"].get("replicas", 1))), olds

    def _cleanup_history(self, d: Obj, olds: list[Obj]) -> None:
        limit = int(d["spec"].get("revisionHistoryLimit", 10))
        idle = [
            rs
            for rs in olds
            if int(rs["spec"].get("replicas", 0)) == 0 and not self._rs_pods.get(rs["metadata"]["uid"])
        ]
        idle.sort(key=revision_of)
        for rs in idle[: max(0, len(idle) - limit)]:
            with contextlib.suppress(NotFound):
                self.store.delete("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _write_deployment_status(
        self, d: Obj, replica_sets: list[Obj], new_rs: Obj | None, progress: str
    ) -> None:
        spec = d["spec"]
        want = int(spec.get("replicas", 1))
        _, unavailable_allowed = surge_and_unavailable(d)

        def total(field: str) -> int:
            return sum(int((rs.get("status") or {}).get(field, 0)) for rs in replica_sets)

        replicas, ready, available = total("replicas"), total("readyReplicas"), total("availableReplicas")
        updated = int((new_rs or {}).get("status", {}).get("replicas", 0)) if new_rs is not None else 0
        old_status = d.get("status") or {}
        status: Obj = {"observedGeneration": d["metadata"].get("generation", 1)}
        for field, value in (
            ("replicas", replicas),
            ("updatedReplicas", updated),
            ("readyReplicas", ready),
            ("availableReplicas", available),
            ("unavailableReplicas", max(want - available, 0)),
        ):
            if value:
                status[field] = value
        now = self.sched.now()
        old_conditions = {c["type"]: c for c in old_status.get("conditions") or []}
        if available >= want - unavailable_allowed:
            avail = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        else:
            avail = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        rs_name = new_rs["metadata"]["name"] if new_rs is not None else d["metadata"]["name"]
        prog = self._progressing(
            d, old_status, status, old_conditions.get("Progressing"), rs_name, progress, now
        )
        status["conditions"] = [
            _condition(old_conditions.get("Available"), "Available", *avail, now, touch=False),
            prog,
        ]
        if _same_status(old_status, status):
            return
        fresh = _fresh(d)
        fresh["status"] = status
        self.store.replace("deployments", fresh)

    def _progressing(
        self,
        d: Obj,
        old: Obj,
        new: Obj,
        previous: Obj | None,
        rs_name: str,
        progress: str,
        now: float,
    ) -> Obj:
        want = int(d["spec"].get("replicas", 1))
        complete = (
            new.get("updatedReplicas", 0) == want
            and new.get("replicas", 0) == want
            and new.get("availableReplicas", 0) == want
        )
        moved = any(
            new.get(f, 0) > old.get(f, 0) for f in ("updatedReplicas", "readyReplicas", "availableReplicas")
        )
        moved = moved or new.get("replicas", 0) < old.get("replicas", 0)
        if complete:
            return _condition(
                previous,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
                now,
                touch=previous is None or previous.get("reason") != "NewReplicaSetAvailable",
            )
        if progress:
            reason = "NewReplicaSetCreated" if progress.startswith("Created") else "FoundNewReplicaSet"
            return _condition(previous, "Progressing", "True", reason, progress, now, touch=True)
        if previous is not None and previous.get("reason") == "ProgressDeadlineExceeded" and not moved:
            return previous
        deadline = float(d["spec"].get("progressDeadlineSeconds", 600))
        last = _parse_stamp(previous.get("lastUpdateTime")) if previous is not None else now
        if previous is not None and previous.get("status") == "True" and not moved and now - last > deadline:
            return _condition(
                previous,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs_name}" has timed out progressing.',
                now,
                touch=True,
            )
        cond = _condition(
            previous,
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            f'ReplicaSet "{rs_name}" is progressing.',
            now,
            touch=moved or previous is None or previous.get("reason") != "ReplicaSetUpdated",
        )
        self._arm_deadline(d, _parse_stamp(cond["lastUpdateTime"]) + deadline + 1.0)
        return cond

    def _arm_deadline(self, d: Obj, when: float) -> None:
        uid = d["metadata"]["uid"]
        if self._deadline_timers.get(uid) == when:
            return
        self._deadline_timers[uid] = when
        key = (d["metadata"]["namespace"], d["metadata"]["name"])
        self.sched.at(when, lambda: self._enqueue("deployments", key))

    # -- garbage collection --------------------------------------------------------------------
    def _collect_deployment(self, uid: str) -> None:
        for key in sorted(self._deploy_rs.pop(uid, set())):
            rs = self.store.get("replicasets", *key)
            if rs is not None and controller_of(rs, "Deployment") == uid:
                with contextlib.suppress(NotFound):
                    self.store.delete("replicasets", *key)
        self._seen_spec.pop(uid, None)

    def _collect_replicaset(self, uid: str) -> None:
        for pod in [p for p in self._pods_by_owner(uid) if not p["metadata"].get("deletionTimestamp")]:
            self.delete_pod(pod)

    def _pods_by_owner(self, uid: str) -> list[Obj]:
        out = []
        for key in sorted(self._rs_pods.get(uid, set())):
            pod = self.store.get("pods", *key)
            if pod is not None:
                out.append(pod)
        return out


def _deletion_rank(pod: Obj) -> tuple[Any, ...]:
    """ActivePodsWithRanks, simplified: unscheduled, pending, unready, restarting, newer go first."""
    status = pod.get("status") or {}
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase", ""), 0)
    restarts = sum(int(c.get("restartCount", 0)) for c in status.get("containerStatuses") or [])
    created = _parse_stamp(pod["metadata"].get("creationTimestamp"))
    return (bool(pod["spec"].get("nodeName")), phase_rank, pod_ready(pod), -restarts, -created)


def _condition(
    previous: Obj | None, kind: str, status: str, reason: str, message: str, now: float, touch: bool
) -> Obj:
    """A Deployment condition keeping lastTransitionTime unless the status flips."""
    moment = stamp(now)
    transition = moment
    update = moment
    if previous is not None:
        if previous.get("status") == status:
            transition = previous.get("lastTransitionTime", moment)
        if not touch and previous.get("status") == status and previous.get("reason") == reason:
            update = previous.get("lastUpdateTime", moment)
    return {
        "type": kind,
        "status": status,
        "lastUpdateTime": update,
        "lastTransitionTime": transition,
        "reason": reason,
        "message": message,
    }


def _parse_stamp(text: object) -> float:
    if not isinstance(text, str):
        return 0.0
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _same_status(old: Obj, new: Obj) -> bool:
    return old == new
