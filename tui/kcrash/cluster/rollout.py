"""`kubectl rollout undo` of the Deployment that owns a pod, following kubectl's recipe exactly.

kubectl `pkg/polymorphichelpers/rollback.go` (DeploymentRollbacker) and `pkg/util/deployment`:
1. GET the Deployment; LIST ReplicaSets with its selector; keep those it controls (ControllerRef UID).
2. Revision = annotation `deployment.kubernetes.io/revision` (absent = 0, unparsable = skipped);
   the target is the second-highest; none: `no rollout history found for deployment "X"`.
3. A paused Deployment is refused with kubectl's words.
4. A target template equal to the current one (ignoring label `pod-template-hash`) is skipped:
   `skipped rollback (current template already matches revision N)`.
5. Otherwise ONE JSON Patch (`application/json-patch+json`): replace /spec/template with the
   ReplicaSet's template minus `pod-template-hash`, and replace /metadata/annotations with the
   ReplicaSet's annotations, keeping the Deployment's own values of the six annotations kubectl skips.

The pod leads to its Deployment through its owner chain: pod -> ReplicaSet (GET, for its owner) ->
Deployment. Before anything is sent for real, the same patch goes to the server with dryRun=All.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from kcrash.cluster.api import Api
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.parse import parse_deployment, parse_replicaset, parse_time
from kcrash.core.quantity import format_bytes, format_cpu
from kcrash.core.records import ContainerSpec, Deployment, Pod, Probe, Revision

REVISION = "deployment.kubernetes.io/revision"
TEMPLATE_HASH = "pod-template-hash"
# kubectl's annotationsToSkip: kept from the Deployment, never copied from the ReplicaSet.
ANNOTATIONS_TO_SKIP = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class UndoPlan:
    """What `rollout undo` would do, checked by the server in a dry run, before anyone confirms."""

    namespace: str
    deployment: str
    from_revision: int
    to_revision: int
    to_replicaset: str
    changes: tuple[str, ...]  # human lines: image, env names, resources, probes, command
    kubectl: str  # the equivalent command
    patch: str  # the JSON Patch, exactly as it will be sent ("" when nothing will be sent)
    dry_run_ok: bool = False
    dry_run_error: str = ""
    refused: str = ""  # kubectl's refusal (paused Deployment): nothing will be sent
    skipped: str = ""  # kubectl's "skipped rollback (...)": nothing to do

    @property
    def ready(self) -> bool:
        """Whether execute_undo would send the PATCH."""
        return bool(self.patch) and not self.refused and not self.skipped and self.dry_run_ok

    @property
    def operations(self) -> list[dict[str, Any]]:
        return list(orjson.loads(self.patch)) if self.patch else []


@dataclass(frozen=True, slots=True)
class _Chain:
    """A pod's ReplicaSet, the Deployment controlling it, and every ReplicaSet that Deployment owns."""

    replicaset: Obj
    deployment: Obj
    owned: list[Obj]


# -- owner chain ----------------------------------------------------------------------------------


def _chain(api: Api, pod: Pod) -> _Chain:
    owner = pod.controller
    if owner is None or owner.kind != "ReplicaSet":
        what = f"{owner.kind} {owner.name}" if owner else "nothing"
        raise KcrashError(
            f"pod/{pod.name} is not managed by a Deployment (owned by {what}); "
            "rollout undo applies to Deployments only"
        )
    replicaset = api.get_replicaset(pod.namespace, owner.name)
    ref = _controller(replicaset)
    if ref is None or ref.get("kind") != "Deployment":
        raise KcrashError(
            f"replicaset/{owner.name} is not managed by a Deployment; "
            "rollout undo applies to Deployments only"
        )
    deployment = api.get_deployment(pod.namespace, str(ref.get("name")))
    uid = _meta(deployment).get("uid")
    if ref.get("uid") and uid and ref.get("uid") != uid:
        raise KcrashError(f"deployment/{ref.get('name')} was replaced since the pod was created; reload")
    selector = label_selector(_map(_map(deployment, "spec"), "selector"))
    owned = [rs for rs in api.list_replicasets(pod.namespace, selector) if _controlled_by(rs, deployment)]
    return _Chain(replicaset, deployment, owned)


def label_selector(selector: Mapping[str, Any]) -> str:
    """A LabelSelector as the query string metav1.LabelSelectorAsSelector would make."""
    parts = [f"{k}={v}" for k, v in sorted(_map(selector, "matchLabels").items())]
    for expr in selector.get("matchExpressions") or ():
        key, op = str(expr.get("key")), str(expr.get("operator"))
        values = ",".join(sorted(str(v) for v in expr.get("values") or ()))
        if op == "In":
            parts.append(f"{key} in ({values})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def _controller(obj: Obj) -> Mapping[str, Any] | None:
    for ref in _meta(obj).get("ownerReferences") or ():
        if isinstance(ref, Mapping) and ref.get("controller") is True:
            return ref
    return None


def _controlled_by(obj: Obj, owner: Obj) -> bool:
    ref = _controller(obj)
    return ref is not None and ref.get("uid") == _meta(owner).get("uid")


# -- kubectl's pieces -----------------------------------------------------------------------------


def revision_of(obj: Obj) -> int | None:
    """deploymentutil.Revision: absent annotation = 0, unparsable = None (kubectl skips it)."""
    value = _map(_meta(obj), "annotations").get(REVISION)
    if value is None:
        return 0
    try:
        return int(str(value), 10)
    except ValueError:
        return None


def _by_creation(rs: Obj) -> tuple[datetime | str, str]:
    meta = _meta(rs)
    created = parse_time(meta.get("creationTimestamp")) or ""
    return created, str(meta.get("name") or "")


def all_replicasets(deployment: Obj, owned: list[Obj]) -> list[Obj]:
    """GetAllReplicaSets' order: the old ones by creation, then the new one (same template) last."""
    ordered = sorted(owned, key=_by_creation)
    template = _map(_map(deployment, "spec"), "template")
    new = next((rs for rs in ordered if equal_ignore_hash(_template(rs), template)), None)
    return [rs for rs in ordered if rs is not new] + ([new] if new is not None else [])


def previous_revision(deployment: Obj, owned: list[Obj]) -> tuple[Obj, int]:
    """deploymentRevision with toRevision=0: the ReplicaSet with the second-highest revision."""
    latest: Obj | None = None
    previous: Obj | None = None
    latest_rev = previous_rev = -1
    for rs in all_replicasets(deployment, owned):
        rev = revision_of(rs)
        if rev is None:
            continue
        if latest_rev < rev:
            previous_rev, previous = latest_rev, latest
            latest_rev, latest = rev, rs
        elif previous_rev < rev:
            previous_rev, previous = rev, rs
    if previous is None:
        raise KcrashError(f'no rollout history found for deployment "{_meta(deployment).get("name")}"')
    return previous, previous_rev


def equal_ignore_hash(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """equalIgnoreHash: two pod templates equal once `pod-template-hash` and empty fields are gone."""
    return bool(_normal(_without_hash(a)) == _normal(_without_hash(b)))


def _without_hash(template: Mapping[str, Any]) -> Obj:
    copied: Obj = copy.deepcopy(dict(template))
    labels = _map(copied, "metadata").get("labels")
    if isinstance(labels, dict):
        labels.pop(TEMPLATE_HASH, None)
    return copied


def _normal(value: Any) -> Any:
    """Semantic equality as Go sees JSON: nil, empty maps and empty lists are all "unset"."""
    if isinstance(value, Mapping):
        out = {k: _normal(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def restored_annotations(deployment: Obj, replicaset: Obj) -> dict[str, str]:
    """The Deployment's own values of the skipped annotations plus every other one of the ReplicaSet."""
    own = _map(_meta(deployment), "annotations")
    annotations = {k: str(own[k]) for k in ANNOTATIONS_TO_SKIP if k in own}
    for key, value in _map(_meta(replicaset), "annotations").items():
        if key not in ANNOTATIONS_TO_SKIP:
            annotations[key] = str(value)
    return annotations


def rollback_patch(deployment: Obj, replicaset: Obj) -> list[dict[str, Any]]:
    """getDeploymentPatch: replace /spec/template (minus the hash label), replace /metadata/annotations."""
    return [
        {"op": "replace", "path": "/spec/template", "value": _without_hash(_template(replicaset))},
        {
            "op": "replace",
            "path": "/metadata/annotations",
            "value": restored_annotations(deployment, replicaset),
        },
    ]


def paused_message(name: str) -> str:
    return (
        "you cannot rollback a paused deployment; resume it first with "
        f"'kubectl rollout resume deployment/{name}' and try again"
    )


def skipped_message(revision: int) -> str:
    return f"skipped rollback (current template already matches revision {revision})"


# -- the plan -------------------------------------------------------------------------------------


def plan_undo(api: Api, pod: Pod, *, context: str = "", dry_run: bool = True) -> UndoPlan:
    """Everything the confirm dialog shows, including the server's verdict on the same patch."""
    chain = _chain(api, pod)
    deployment = chain.deployment
    name = str(_meta(deployment).get("name"))
    namespace = pod.namespace
    target, to_revision = previous_revision(deployment, chain.owned)
    from_revision = revision_of(deployment) or _highest(chain.owned)
    current = parse_deployment(deployment)
    wanted = parse_replicaset(target)
    base = UndoPlan(
        namespace=namespace,
        deployment=name,
        from_revision=from_revision,
        to_revision=to_revision,
        to_replicaset=str(_meta(target).get("name")),
        changes=tuple(template_changes(current.containers, wanted.containers)),
        kubectl=kubectl_command(namespace, name, to_revision, context),
        patch="",
    )
    if _map(deployment, "spec").get("paused") is True:
        return _replace(base, refused=paused_message(name))
    if equal_ignore_hash(_template(target), _template(deployment)):
        return _replace(base, skipped=skipped_message(to_revision), changes=())
    operations = rollback_patch(deployment, target)
    plan = _replace(base, patch=orjson.dumps(operations).decode())
    if not dry_run or api.read_only:
        return _replace(plan, dry_run_error="not checked: read-only mode" if api.read_only else "not checked")
    try:
        api.patch_deployment_json(namespace, name, operations, dry_run=True)
    except KcrashError as exc:
        return _replace(plan, dry_run_error=str(exc))
    return _replace(plan, dry_run_ok=True)


def execute_undo(api: Api, plan: UndoPlan) -> str:
    """Send exactly one PATCH (json-patch+json); kubectl's answer as the result line."""
    if plan.refused:
        raise KcrashError(plan.refused)
    if plan.skipped:
        return plan.skipped
    if not plan.dry_run_ok:
        reason = plan.dry_run_error or "the dry run did not pass"
        raise KcrashError(f"rollback of deployment/{plan.deployment} not sent: {reason}")
    try:
        api.patch_deployment_json(plan.namespace, plan.deployment, plan.operations)
    except KcrashError as exc:
        raise KcrashError(f"failed restoring revision {plan.to_revision}: {exc}", status=exc.status) from None
    return f"deployment.apps/{plan.deployment} rolled back"


def deployment_history(api: Api, pod: Pod) -> tuple[Deployment | None, tuple[Revision, ...]]:
    """The owning Deployment and its revisions (oldest first); (None, ()) when no Deployment owns the pod."""
    owner = pod.controller
    if owner is None or owner.kind != "ReplicaSet":
        return None, ()
    try:
        chain = _chain(api, pod)
    except KcrashError as exc:
        if exc.status == 404 or "not managed by a Deployment" in str(exc):
            return None, ()
        raise
    revisions = sorted((parse_replicaset(rs) for rs in chain.owned), key=lambda r: (r.number, r.name))
    return parse_deployment(chain.deployment), tuple(revisions)


def kubectl_command(namespace: str, name: str, revision: int, context: str = "") -> str:
    parts = ["kubectl"]
    if context:
        parts.append(f"--context {context}")
    parts.append(f"-n {namespace} rollout undo deployment/{name} --to-revision={revision}")
    return " ".join(parts)


# -- what changes, in words -----------------------------------------------------------------------


def template_changes(current: tuple[ContainerSpec, ...], target: tuple[ContainerSpec, ...]) -> list[str]:
    """Human lines for what the rollback changes, container by container (current -> target)."""
    lines: list[str] = []
    now = {c.name: c for c in current}
    then = {c.name: c for c in target}
    for name in [*now, *(n for n in then if n not in now)]:
        before, after = now.get(name), then.get(name)
        if before is None and after is not None:
            lines.append(f"{name}: container comes back (image {after.image})")
        elif after is None:
            lines.append(f"{name}: container goes away")
        elif before is not None:
            lines.extend(f"{name}: {line}" for line in _container_changes(before, after))
    return lines or ["containers unchanged (the template differs elsewhere: labels, volumes or pod settings)"]


def _container_changes(before: ContainerSpec, after: ContainerSpec) -> list[str]:
    lines: list[str] = []
    if before.image != after.image:
        lines.append(f"image {before.image} → {after.image}")
    if before.command != after.command:
        lines.append(f"command {_words(before.command)} → {_words(after.command)}")
    if before.args != after.args:
        lines.append(f"args {_words(before.args)} → {_words(after.args)}")
    lines.extend(_env_changes(before, after))
    for label, old, new, fmt in (
        ("memory limit", before.memory_limit, after.memory_limit, format_bytes),
        ("memory request", before.memory_request, after.memory_request, format_bytes),
        ("cpu limit", before.cpu_limit, after.cpu_limit, format_cpu),
        ("cpu request", before.cpu_request, after.cpu_request, format_cpu),
    ):
        if old != new:
            lines.append(f"{label} {_amount(old, fmt)} → {_amount(new, fmt)}")
    for kind, old_probe, new_probe in (
        ("liveness", before.liveness, after.liveness),
        ("readiness", before.readiness, after.readiness),
        ("startup", before.startup, after.startup),
    ):
        if old_probe != new_probe:
            lines.append(f"{kind} probe {_probe(old_probe)} → {_probe(new_probe)}")
    return lines


def _env_names(spec: ContainerSpec) -> set[str]:
    names = set(spec.env_names)
    for ref in spec.env_refs:
        if ref.via == "env" and ref.env_name:
            names.add(ref.env_name)
        elif ref.via == "envFrom":
            names.add(f"(all keys of {ref.kind} {ref.name})")
    return names


def _env_changes(before: ContainerSpec, after: ContainerSpec) -> list[str]:
    old, new = _env_names(before), _env_names(after)
    lines = []
    if new - old:
        lines.append("env adds " + ", ".join(sorted(new - old)))
    if old - new:
        lines.append("env drops " + ", ".join(sorted(old - new)))
    return lines


def _amount(value: int | None, fmt: Any) -> str:
    return "none" if value is None else str(fmt(value))


def _probe(probe: Probe | None) -> str:
    if probe is None:
        return "none"
    return (
        f"{probe.handler} (delay {probe.initial_delay_seconds}s, every {probe.period_seconds}s, "
        f"timeout {probe.timeout_seconds}s, {probe.failure_threshold} failures)"
    )


def _words(parts: tuple[str, ...]) -> str:
    return "`" + " ".join(parts) + "`" if parts else "(image default)"


# -- small helpers --------------------------------------------------------------------------------


def _highest(owned: list[Obj]) -> int:
    return max((rev for rs in owned if (rev := revision_of(rs)) is not None), default=0)


def _template(obj: Obj) -> Mapping[str, Any]:
    return _map(_map(obj, "spec"), "template")


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _map(obj, "metadata")


def _map(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def _replace(plan: UndoPlan, **changes: Any) -> UndoPlan:
    return dataclasses.replace(plan, **changes)
