"""Request bodies in Kubernetes protobuf, decoded into the JSON shape the lab stores.

kubectl's typed clients (`kubectl create deployment|configmap|secret|namespace`, `auth can-i`) send
`application/vnd.kubernetes.protobuf`: the magic `k8s\\0`, then a `runtime.Unknown` holding the
TypeMeta and the object's own message. The lab decodes the messages of the kinds it creates with a
table of field numbers taken from k8s.io/api's generated.proto files. The generated marshallers
write every non-pointer field, so empty strings, zero numbers, false and empty lists, maps and
messages are dropped, as JSON's `omitempty` would; a field missing from the table is skipped.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from kcrash.lab import errors

MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: str  # string | bytes | int | bool | map | map_bytes | map_quantity | a message name
    repeated: bool = False
    keep_zero: bool = False  # a pointer field: 0 / false is a value, not "unset"


def _f(name: str, kind: str = "string", repeated: bool = False, keep_zero: bool = False) -> Field:
    return Field(name, kind, repeated, keep_zero)


MESSAGES: dict[str, dict[int, Field]] = {
    "TypeMeta": {1: _f("apiVersion"), 2: _f("kind")},
    "Unknown": {1: _f("typeMeta", "TypeMeta"), 2: _f("raw", "bytes"), 3: _f("contentEncoding")},
    "ObjectMeta": {
        1: _f("name"),
        2: _f("generateName"),
        3: _f("namespace"),
        5: _f("uid"),
        6: _f("resourceVersion"),
        11: _f("labels", "map"),
        12: _f("annotations", "map"),
        13: _f("ownerReferences", "OwnerReference", repeated=True),
        14: _f("finalizers", repeated=True),
    },
    "OwnerReference": {
        1: _f("kind"),
        3: _f("name"),
        4: _f("uid"),
        5: _f("apiVersion"),
        6: _f("controller", "bool", keep_zero=True),
        7: _f("blockOwnerDeletion", "bool", keep_zero=True),
    },
    "ConfigMap": {
        1: _f("metadata", "ObjectMeta"),
        2: _f("data", "map"),
        3: _f("binaryData", "map_bytes"),
        4: _f("immutable", "bool", keep_zero=True),
    },
    "Secret": {
        1: _f("metadata", "ObjectMeta"),
        2: _f("data", "map_bytes"),
        3: _f("type"),
        4: _f("stringData", "map"),
        5: _f("immutable", "bool", keep_zero=True),
    },
    "Namespace": {1: _f("metadata", "ObjectMeta"), 2: _f("spec", "NamespaceSpec")},
    "NamespaceSpec": {1: _f("finalizers", repeated=True)},
    "Pod": {1: _f("metadata", "ObjectMeta"), 2: _f("spec", "PodSpec")},
    "Deployment": {1: _f("metadata", "ObjectMeta"), 2: _f("spec", "DeploymentSpec")},
    "ReplicaSet": {1: _f("metadata", "ObjectMeta"), 2: _f("spec", "ReplicaSetSpec")},
    "DeploymentSpec": {
        1: _f("replicas", "int", keep_zero=True),
        2: _f("selector", "LabelSelector"),
        3: _f("template", "PodTemplateSpec"),
        4: _f("strategy", "DeploymentStrategy"),
        5: _f("minReadySeconds", "int"),
        6: _f("revisionHistoryLimit", "int", keep_zero=True),
        7: _f("paused", "bool"),
        9: _f("progressDeadlineSeconds", "int", keep_zero=True),
    },
    "ReplicaSetSpec": {
        1: _f("replicas", "int", keep_zero=True),
        2: _f("selector", "LabelSelector"),
        3: _f("template", "PodTemplateSpec"),
        4: _f("minReadySeconds", "int"),
    },
    "DeploymentStrategy": {1: _f("type"), 2: _f("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: _f("maxUnavailable", "IntOrString"), 2: _f("maxSurge", "IntOrString")},
    "IntOrString": {1: _f("type", "int"), 2: _f("intVal", "int"), 3: _f("strVal")},
    "LabelSelector": {
        1: _f("matchLabels", "map"),
        2: _f("matchExpressions", "LabelSelectorRequirement", repeated=True),
    },
    "LabelSelectorRequirement": {1: _f("key"), 2: _f("operator"), 3: _f("values", repeated=True)},
    "PodTemplateSpec": {1: _f("metadata", "ObjectMeta"), 2: _f("spec", "PodSpec")},
    "PodSpec": {
        2: _f("containers", "Container", repeated=True),
        3: _f("restartPolicy"),
        4: _f("terminationGracePeriodSeconds", "int", keep_zero=True),
        5: _f("activeDeadlineSeconds", "int", keep_zero=True),
        6: _f("dnsPolicy"),
        7: _f("nodeSelector", "map"),
        8: _f("serviceAccountName"),
        10: _f("nodeName"),
        19: _f("schedulerName"),
        20: _f("initContainers", "Container", repeated=True),
    },
    "Container": {
        1: _f("name"),
        2: _f("image"),
        3: _f("command", repeated=True),
        4: _f("args", repeated=True),
        5: _f("workingDir"),
        6: _f("ports", "ContainerPort", repeated=True),
        7: _f("env", "EnvVar", repeated=True),
        8: _f("resources", "ResourceRequirements"),
        13: _f("terminationMessagePath"),
        14: _f("imagePullPolicy"),
        16: _f("stdin", "bool"),
        17: _f("stdinOnce", "bool"),
        18: _f("tty", "bool"),
        20: _f("terminationMessagePolicy"),
    },
    "ContainerPort": {
        1: _f("name"),
        2: _f("hostPort", "int"),
        3: _f("containerPort", "int"),
        4: _f("protocol"),
    },
    "EnvVar": {1: _f("name"), 2: _f("value")},
    "ResourceRequirements": {1: _f("limits", "map_quantity"), 2: _f("requests", "map_quantity")},
}


class ProtoError(ValueError):
    """The bytes are not the protobuf they claim to be."""


def decode_object(body: bytes, kind: str) -> Obj:
    """A protobuf request body for `kind` as a JSON-shaped object (raises ApiError 400/415)."""
    if not body.startswith(MAGIC):
        raise errors.bad_request("provided object is not protobuf: missing the k8s magic prefix")
    if kind not in MESSAGES:
        raise errors.unsupported_media_type(PROTOBUF, "application/json")
    try:
        unknown = decode_message(body[len(MAGIC) :], "Unknown")
        raw = unknown.get("raw", b"")
        obj = decode_message(raw if isinstance(raw, bytes) else b"", kind)
    except ProtoError as exc:
        raise errors.bad_request(f"unable to decode the protobuf body: {exc}") from exc
    type_meta = unknown.get("typeMeta") or {}
    return {**type_meta, **obj}


def decode_message(data: bytes, message: str) -> Obj:
    fields = MESSAGES[message]
    out: Obj = {}
    for number, value in _wire_fields(data):
        field = fields.get(number)
        if field is None:
            continue
        decoded = _value(field, value)
        if field.kind.startswith("map"):
            key, item = decoded
            out.setdefault(field.name, {})[key] = item
        elif field.repeated:
            out.setdefault(field.name, []).append(decoded)
        else:
            out[field.name] = decoded
    return {
        name: value
        for name, value in out.items()
        if _keep(value) or (value in (0, False) and _pointer(fields, name))
    }


def _pointer(fields: dict[int, Field], name: str) -> bool:
    return any(f.name == name and f.keep_zero for f in fields.values())


def _keep(value: object) -> bool:
    return value not in ("", 0, False, None) and value != {} and value != [] and value != b""


def _value(field: Field, value: bytes | int) -> Any:
    kind = field.kind
    if kind == "int":
        return _signed(_as_int(value))
    if kind == "bool":
        return bool(_as_int(value))
    data = _as_bytes(value)
    if kind == "string":
        return data.decode("utf-8", errors="replace")
    if kind == "bytes":
        return data
    if kind.startswith("map"):
        return _map_entry(kind, data)
    if kind == "IntOrString":
        parts = decode_message(data, kind)
        return parts.get("strVal", "") if parts.get("type") == 1 else parts.get("intVal", 0)
    return decode_message(data, kind)


def _map_entry(kind: str, data: bytes) -> tuple[str, Any]:
    entry = dict(_wire_fields(data))
    key = _as_bytes(entry.get(1, b"")).decode("utf-8", errors="replace")
    raw = _as_bytes(entry.get(2, b""))
    if kind == "map_bytes":
        return key, base64.b64encode(raw).decode("ascii")
    if kind == "map_quantity":
        quantity = dict(_wire_fields(raw))
        return key, _as_bytes(quantity.get(1, b"")).decode("ascii", errors="replace")
    return key, raw.decode("utf-8", errors="replace")


def _as_int(value: bytes | int) -> int:
    if not isinstance(value, int):
        raise ProtoError("expected a number")
    return value


def _as_bytes(value: bytes | int) -> bytes:
    if not isinstance(value, bytes):
        raise ProtoError("expected length-delimited bytes")
    return value


def _signed(value: int) -> int:
    """int32/int64 fields are plain varints: negative numbers arrive as 64-bit two's complement."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _wire_fields(data: bytes) -> list[tuple[int, bytes | int]]:
    out: list[tuple[int, bytes | int]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtoError("a field runs past the end")
            out.append((number, data[pos : pos + length]))
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ProtoError(f"unsupported wire type {wire}")
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ProtoError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
