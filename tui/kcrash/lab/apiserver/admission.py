"""What the API server does to an object before it stores it: create, pod updates, the scale subresource.

Mirrors the registry strategies of kube-apiserver as far as the lab's kinds need them: names
(`generateName`, RFC 1123 checks), the namespace of the body against the URL, fields a client may
not set on create (`uid`, `resourceVersion`, `status`), the defaults kubectl relies on when it
prints the object back, and the `autoscaling/v1` Scale view of Deployments and ReplicaSets.
Every refusal is an `ApiError` with the status and words of the real server.
"""

from __future__ import annotations

import base64
import copy
import random
import re
from typing import Any

import orjson

from kcrash.lab import errors, protobody
from kcrash.lab.defaults import (
    TOKEN_MOUNT_PATH,
    default_deployment_spec,
    default_pod_spec,
    random_suffix,
    with_token_volume,
)
from kcrash.lab.discovery import ResourceInfo

Obj = dict[str, Any]

_SUFFIX = 5  # names.SimpleNameGenerator
_MAX_GENERATE_BASE = 63 - _SUFFIX
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
# validation.ValidatePodUpdate: what an update of a pod's spec may change.
_POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)


def decode_body(content_type: str, body: bytes, kind: str) -> Obj:
    """The request body as a JSON-shaped object: JSON, or protobuf from kubectl's typed clients."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == protobody.PROTOBUF:
        return protobody.decode_object(body, kind)
    if media not in ("application/json", ""):
        raise errors.unsupported_media_type(content_type, f"application/json, {protobody.PROTOBUF}")
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc
    if not isinstance(decoded, dict):
        raise errors.bad_request("couldn't get version/kind; json parse error: not an object")
    return decoded


def prepare_create(info: ResourceInfo, namespace: str, body: Obj, rng: random.Random) -> Obj:
    """The object to store for a POST to `info`'s collection in `namespace` (raises ApiError)."""
    obj = copy.deepcopy(body)
    _check_kind(info, obj)
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    _check_namespace(info, namespace, meta)
    _name(info, meta, rng)
    if meta.get("resourceVersion"):
        # (a plain Go error inside the registry: 500 without a reason)
        raise errors.reasonless(500, "resourceVersion should not be set on objects to be created")
    for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
        meta.pop(key, None)
    obj["apiVersion"], obj["kind"] = info.api_version, info.kind
    _DEFAULTS.get(info.store, _as_given)(obj)
    if info.store == "pods" and _mounts_token(obj["spec"]):
        obj["spec"] = with_token_volume(obj["spec"], rng)
    return obj


def _mounts_token(spec: Obj) -> bool:
    """ServiceAccount admission mounts a token unless the pod opts out or mounts that path itself."""
    if spec.get("automountServiceAccountToken") is False:
        return False
    containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
    mounts = [m for c in containers if isinstance(c, dict) for m in c.get("volumeMounts") or []]
    return not any(isinstance(m, dict) and m.get("mountPath") == TOKEN_MOUNT_PATH for m in mounts)


def _check_kind(info: ResourceInfo, obj: Obj) -> None:
    kind = obj.get("kind")
    if kind not in (None, "", info.kind):
        raise errors.bad_request(
            f"the server could not find the requested resource (kind {kind} sent to {info.name})"
        )
    version = obj.get("apiVersion")
    if version not in (None, "", info.api_version):
        raise errors.bad_request(
            f"the API version in the data ({version}) does not match the expected API version "
            f"({info.api_version})"
        )


def _check_namespace(info: ResourceInfo, namespace: str, meta: Obj) -> None:
    if not info.namespaced:
        meta.pop("namespace", None)
        return
    given = meta.get("namespace")
    if given not in (None, "") and given != namespace:
        raise errors.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    meta["namespace"] = namespace


def _name(info: ResourceInfo, meta: Obj, rng: random.Random) -> None:
    """A given name is checked; else `generateName` plus five random characters (SimpleNameGenerator)."""
    name = meta.get("name")
    generate = meta.get("generateName")
    if not name and generate:
        name = meta["name"] = str(generate)[:_MAX_GENERATE_BASE] + random_suffix(rng, _SUFFIX)
    if not name:
        raise errors.invalid(
            info.kind, info.group, "", [("metadata.name", "Required value: name or generateName is required")]
        )
    if not isinstance(name, str):
        raise errors.bad_request("metadata.name must be a string")
    label_only = info.store == "namespaces"
    pattern, words, limit = (
        (_DNS1123_LABEL, _LABEL_MESSAGE, 63) if label_only else (_DNS1123_SUBDOMAIN, _SUBDOMAIN_MESSAGE, 253)
    )
    if len(name) > limit:
        raise errors.invalid(
            info.kind,
            info.group,
            name,
            [("metadata.name", f'Invalid value: "{name}": must be no more than {limit} characters')],
        )
    if not pattern.fullmatch(name):
        cause = ("metadata.name", f'Invalid value: "{name}": {words}')
        raise errors.invalid(info.kind, info.group, name, [cause])


# -- defaults and checks per kind -------------------------------------------------------------------
def _as_given(obj: Obj) -> None:
    return None


def _pod(obj: Obj) -> None:
    spec = obj.get("spec")
    name = obj["metadata"]["name"]
    containers = spec.get("containers") if isinstance(spec, dict) else None
    if not isinstance(containers, list) or not containers:
        raise errors.invalid("Pod", "", name, [("spec.containers", "Required value")])
    causes = _container_causes("spec.containers", containers)
    if causes:
        raise errors.invalid("Pod", "", name, causes)
    assert isinstance(spec, dict)
    obj["spec"] = _admitted_pod_spec(default_pod_spec(spec))
    obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj["spec"])}  # the kubelet writes the rest


# DefaultTolerationSeconds: every pod tolerates a not-ready or unreachable node for five minutes.
_DEFAULT_TOLERATIONS = [
    {
        "key": f"node.kubernetes.io/{taint}",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    }
    for taint in ("not-ready", "unreachable")
]


def _admitted_pod_spec(spec: Obj) -> Obj:
    """What SetDefaults_Pod and the Priority, ServiceAccount and DefaultTolerationSeconds admission
    plugins add to a pod (not to a template); the token volume comes after, in prepare_create."""
    spec = dict(spec)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = spec["serviceAccount"] = account
    tolerations = list(spec.get("tolerations") or [])
    present = {(t.get("key"), t.get("effect")) for t in tolerations if isinstance(t, dict)}
    for default in _DEFAULT_TOLERATIONS:
        if (default["key"], "NoExecute") not in present and (default["key"], None) not in present:
            tolerations.append(dict(default))
    spec["tolerations"] = tolerations
    return spec


def qos_class(spec: Obj) -> str:
    """v1qos.GetPodQOS for cpu and memory: BestEffort without any, Guaranteed when limits = requests."""
    containers = [c for c in (spec.get("containers") or []) + (spec.get("initContainers") or []) if c]
    requested = limited = False
    guaranteed = True
    for container in containers:
        resources = container.get("resources") or {}
        requests = {k: v for k, v in (resources.get("requests") or {}).items() if k in ("cpu", "memory")}
        limits = {k: v for k, v in (resources.get("limits") or {}).items() if k in ("cpu", "memory")}
        requested = requested or bool(requests)
        limited = limited or bool(limits)
        if set(limits) != {"cpu", "memory"} or any(requests.get(k, v) != v for k, v in limits.items()):
            guaranteed = False
    if not requested and not limited:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _deployment(obj: Obj) -> None:
    raw = obj.get("spec")
    obj["spec"] = default_deployment_spec(raw if isinstance(raw, dict) else {})
    template = obj["spec"].get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        template["spec"] = default_pod_spec(template["spec"])
    obj["status"] = {}


def _replicaset(obj: Obj) -> None:
    spec = dict(obj.get("spec") or {})
    spec.setdefault("replicas", 1)
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        template["spec"] = default_pod_spec(template["spec"])
    obj["spec"] = spec
    obj["status"] = {"replicas": 0}


def _namespace(obj: Obj) -> None:
    name = obj["metadata"]["name"]
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    obj["spec"] = {"finalizers": ["kubernetes"]}
    obj["status"] = {"phase": "Active"}


def _secret(obj: Obj) -> None:
    """`stringData` is write-only: the server folds it into `data` (base64), a key in both wins here."""
    obj.setdefault("type", "Opaque")
    plain = obj.pop("stringData", None)
    if isinstance(plain, dict) and plain:
        data = dict(obj.get("data") or {})
        for key, value in plain.items():
            data[key] = base64.b64encode(str(value).encode("utf-8")).decode("ascii")
        obj["data"] = data


def _event(obj: Obj) -> None:
    """core/v1 Event fields without omitempty: serialised as null or "" when a client leaves them out."""
    for key in ("eventTime", "firstTimestamp", "lastTimestamp"):
        obj.setdefault(key, None)
    for key in ("reportingComponent", "reportingInstance"):
        obj.setdefault(key, "")


_DEFAULTS = {
    "events": _event,
    "pods": _pod,
    "deployments": _deployment,
    "replicasets": _replicaset,
    "namespaces": _namespace,
    "secrets": _secret,
}


def _container_causes(path: str, containers: list[Any]) -> list[tuple[str, str]]:
    causes = []
    for index, container in enumerate(containers):
        for key in ("name", "image"):
            if not isinstance(container, dict) or not container.get(key):
                causes.append((f"{path}[{index}].{key}", "Required value"))
    return causes


def check_pod_update(current: Obj, patched: Obj) -> None:
    """ValidatePodUpdate, in short: images may change, the rest of the spec may not."""
    old, new = current.get("spec") or {}, patched.get("spec") or {}
    if _without_images(old) != _without_images(new):
        name = current["metadata"]["name"]
        raise errors.invalid("Pod", "", name, [("spec", f"Forbidden: {_POD_UPDATE_FORBIDDEN}")])


def _without_images(spec: Obj) -> Obj:
    out = dict(spec)
    for key in ("containers", "initContainers"):
        if isinstance(out.get(key), list):
            out[key] = [{**c, "image": ""} if isinstance(c, dict) else c for c in out[key]]
    for key in ("activeDeadlineSeconds", "tolerations"):
        out.pop(key, None)
    return out


# -- the scale subresource ---------------------------------------------------------------------------
def scale_of(obj: Obj) -> Obj:
    """The autoscaling/v1 Scale of a Deployment or ReplicaSet."""
    meta = obj["metadata"]
    selector = (obj.get("spec") or {}).get("selector") or {}
    labels = selector.get("matchLabels") or {}
    replicas = int((obj.get("spec") or {}).get("replicas", 1))
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: meta[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in meta
        },
        "spec": {"replicas": replicas} if replicas else {},  # ScaleSpec.replicas is omitempty
        "status": {
            "replicas": int((obj.get("status") or {}).get("replicas", 0)),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        },
    }


def replicas_from_scale(info: ResourceInfo, name: str, scale: Obj) -> int:
    """spec.replicas of a Scale sent back, checked like ValidateScale."""
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.invalid(
            "Scale",
            "autoscaling",
            name,
            [
                (
                    "spec.replicas",
                    f"Invalid value: {orjson.dumps(replicas).decode()}: must be greater than or equal to 0",
                )
            ],
        )
    return replicas
