"""SelfSubjectAccessReview: `kubectl auth can-i` and kcrash's permission checks, answered from the
Faults deny rules; the review arrives as JSON or, from kubectl's typed clients, as protobuf.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from kcrash.lab import errors
from kcrash.lab.apiserver.base import USER, ServerBase
from kcrash.lab.apiserver.encoding import dumps
from kcrash.lab.apiserver.requests import JSON
from kcrash.lab.store import Obj

PROTOBUF = "application/vnd.kubernetes.protobuf"


class AccessReviewMixin(ServerBase):
    """The selfsubjectaccessreviews create."""

    async def _access_review(self, request: web.Request) -> web.Response:
        spec = _access_review_spec(request.headers.get("Content-Type", JSON), await request.read())
        if not isinstance(spec, dict):
            raise errors.invalid(
                "SelfSubjectAccessReview",
                "authorization.k8s.io",
                "",
                [
                    (
                        "spec",
                        "Required value: exactly one of nonResourceAttributes or "
                        "resourceAttributes must be specified",
                    )
                ],
            )
        attributes = spec.get("resourceAttributes")
        allowed = True
        if isinstance(attributes, dict):
            allowed = not self.faults.is_denied(
                str(attributes.get("verb", "")),
                str(attributes.get("resource", "")),
                str(attributes.get("subresource", "")),
                str(attributes.get("group", "")),
            )
        status: Obj = {"allowed": allowed}
        if allowed:
            binding = f'ClusterRoleBinding "{USER}" of ClusterRole "cluster-admin"'
            status["reason"] = f'RBAC: allowed by {binding} to User "{USER}"'
        body = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }
        return self._json_body(dumps(body), status=201)


_RESOURCE_ATTRIBUTES = {
    1: "namespace",
    2: "verb",
    3: "group",
    4: "version",
    5: "resource",
    6: "subresource",
    7: "name",
}
_NON_RESOURCE_ATTRIBUTES = {1: "path", 2: "verb"}


def _access_review_spec(content_type: str, body: bytes) -> Any:
    """The review's spec from JSON, or from protobuf: kubectl's typed clients send that for `auth can-i`."""
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        if media == PROTOBUF:
            return _access_review_spec_from_protobuf(body)
        if media in (JSON, ""):
            review = orjson.loads(body)
            return review.get("spec") if isinstance(review, dict) else None
    except (orjson.JSONDecodeError, ValueError, IndexError, KeyError) as exc:
        raise errors.bad_request(f"error decoding SelfSubjectAccessReview: {exc}") from exc
    raise errors.unsupported_media_type(media, f"{JSON}, {PROTOBUF}")


def _access_review_spec_from_protobuf(body: bytes) -> Obj:
    """Decode just enough of the protobuf envelope (runtime.Unknown) and the review to read its spec."""
    if not body.startswith(b"k8s\x00"):
        raise ValueError("missing the protobuf envelope")
    envelope = _proto_fields(body[4:])
    review = _proto_fields(_proto_bytes(envelope, 2))
    spec_fields = _proto_fields(_proto_bytes(review, 2))
    spec: Obj = {}
    if 1 in spec_fields:
        spec["resourceAttributes"] = _proto_strings(_proto_bytes(spec_fields, 1), _RESOURCE_ATTRIBUTES)
    if 2 in spec_fields:
        spec["nonResourceAttributes"] = _proto_strings(_proto_bytes(spec_fields, 2), _NON_RESOURCE_ATTRIBUTES)
    return spec


def _proto_fields(data: bytes) -> dict[int, list[bytes | int]]:
    fields: dict[int, list[bytes | int]] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: bytes | int
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = data[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _proto_bytes(fields: dict[int, list[bytes | int]], number: int) -> bytes:
    value = fields.get(number, [b""])[0]
    if not isinstance(value, bytes):
        raise ValueError(f"protobuf field {number} is not a message")
    return value


def _proto_strings(data: bytes, names: dict[int, str]) -> dict[str, str]:
    fields = _proto_fields(data)
    return {name: _proto_bytes(fields, number).decode() for number, name in names.items() if number in fields}
