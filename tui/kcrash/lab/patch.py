"""The three PATCH flavours kubectl and client libraries send.

- JSON patch (RFC 6902, `application/json-patch+json`): what `kubectl rollout undo` sends.
- JSON merge patch (RFC 7386, `application/merge-patch+json`).
- Strategic merge patch (`application/strategic-merge-patch+json`, kubectl's default): a merge patch
  whose object lists merge by a key (containers by `name`, volumeMounts by `mountPath`, ...) and which
  understands the `$patch`, `$retainKeys`, `$setElementOrder/` and `$deleteFromPrimitiveList/`
  directives.

Every function returns a new document and leaves its input untouched.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

from kcrash.lab.errors import bad_request, unprocessable, unsupported_media_type

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
SUPPORTED = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)

# patchMergeKey of the list fields that carry `patchStrategy:"merge"` in k8s.io/api.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "ports": "containerPort",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "readinessGates": "conditionType",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "schedulingGates": "name",
}
# Lists of scalars whose strategy is merge (set union) instead of replace.
PRIMITIVE_MERGE = {"finalizers"}

_MISSING = object()


class PatchFailed(Exception):
    """A patch that parsed but does not apply to the document."""


def apply_patch(content_type: str, document: dict[str, Any], body: bytes) -> dict[str, Any]:
    """Apply a PATCH body of the given media type; errors are ApiErrors as the apiserver answers."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in SUPPORTED:
        raise unsupported_media_type(media, ", ".join((*SUPPORTED, APPLY_PATCH)))
    try:
        patch = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"error decoding patch: {exc}") from exc
    try:
        if media == JSON_PATCH:
            if not isinstance(patch, list):
                raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
            try:
                result: Any = json_patch(document, patch)
            except PatchFailed as exc:  # the apiserver words every failed operation the same way
                raise unprocessable(JSON_PATCH_FAILED) from exc
        else:
            patch = {} if patch is None else patch  # `null` decodes to an empty map: a no-op
            if not isinstance(patch, dict):
                raise bad_request(
                    f"error decoding patch: json: cannot unmarshal {_go_type(patch)} into Go value of "
                    "type map[string]interface {}"
                )
            if media == MERGE_PATCH:
                result = merge_patch(document, patch)
            else:
                result = strategic_merge_patch(document, patch)
    except PatchFailed as exc:
        raise unprocessable(str(exc)) from exc
    if not isinstance(result, dict):
        raise unprocessable("the patch did not produce an object")
    return result


JSON_PATCH_FAILED = "the server rejected our request due to an error in our request"


def _go_type(value: Any) -> str:
    """How encoding/json names a JSON value's type in an unmarshal error."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "array" if isinstance(value, list) else "string"


# -- RFC 6902 ----------------------------------------------------------------------------------


def json_patch(document: Any, operations: list[Any]) -> Any:
    doc = copy.deepcopy(document)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation:
            raise PatchFailed("invalid operation: missing 'op'")
        doc = _apply_operation(doc, operation)
    return doc


def _apply_operation(doc: Any, operation: dict[str, Any]) -> Any:
    op = operation["op"]
    path = _pointer(operation.get("path"))
    if op == "add":
        return _add(doc, path, copy.deepcopy(_required(operation, "value")))
    if op == "remove":
        return _remove(doc, path, op)
    if op == "replace":
        value = copy.deepcopy(_required(operation, "value"))
        _get(doc, path, op)
        return _set(doc, path, value, op)
    if op == "move":
        source = _pointer(operation.get("from"))
        value = _get(doc, source, op)
        return _add(_remove(doc, source, op), path, value)
    if op == "copy":
        value = copy.deepcopy(_get(doc, _pointer(operation.get("from")), op))
        return _add(doc, path, value)
    if op == "test":
        if _get(doc, path, op) != _required(operation, "value"):
            raise PatchFailed(f"testing value {_render(path)} failed: test failed")
        return doc
    raise PatchFailed(f"Unexpected kind: {op}")


def _required(operation: dict[str, Any], key: str) -> Any:
    if key not in operation:
        raise PatchFailed(f"{operation['op']} operation missing '{key}'")
    return operation[key]


def _pointer(text: Any) -> list[str]:
    if not isinstance(text, str):
        raise PatchFailed("operation missing path")
    if text == "":
        return []
    if not text.startswith("/"):
        raise PatchFailed(f"invalid JSON pointer: {text}")
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _render(path: list[str]) -> str:
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in path)


def _container(doc: Any, path: list[str], op: str) -> Any:
    node = doc
    for part in path[:-1]:
        node = _child(node, part, path, op)
    return node


def _child(node: Any, part: str, path: list[str], op: str) -> Any:
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list):
        index = _index(part, len(node) - 1, path, op)
        return node[index]
    raise PatchFailed(f"{op} operation does not apply: doc is missing path: {_render(path)}: missing value")


def _index(part: str, last: int, path: list[str], op: str) -> int:
    if not part.isdigit() or int(part) > last:
        raise PatchFailed(
            f"{op} operation does not apply: doc is missing path: {_render(path)}: missing value"
        )
    return int(part)


def _get(doc: Any, path: list[str], op: str) -> Any:
    if not path:
        return doc
    return _child(_container(doc, path, op), path[-1], path, op)


def _set(doc: Any, path: list[str], value: Any, op: str) -> Any:
    if not path:
        return value
    parent = _container(doc, path, op)
    if isinstance(parent, dict):
        parent[path[-1]] = value
    elif isinstance(parent, list):
        parent[_index(path[-1], len(parent) - 1, path, op)] = value
    else:
        raise PatchFailed(f"{op} operation does not apply: doc is missing path: {_render(path)}")
    return doc


def _add(doc: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    parent = _container(doc, path, "add")
    key = path[-1]
    if isinstance(parent, dict):
        parent[key] = value
    elif isinstance(parent, list):
        index = len(parent) if key == "-" else _index(key, len(parent), path, "add")
        parent.insert(index, value)
    else:
        raise PatchFailed(f"add operation does not apply: doc is missing path: {_render(path)}")
    return doc


def _remove(doc: Any, path: list[str], op: str) -> Any:
    if not path:
        raise PatchFailed(f"{op} operation does not apply: cannot remove the document root")
    parent = _container(doc, path, op)
    key = path[-1]
    if isinstance(parent, dict) and key in parent:
        del parent[key]
    elif isinstance(parent, list):
        del parent[_index(key, len(parent) - 1, path, op)]
    else:
        raise PatchFailed(
            f"{op} operation does not apply: doc is missing path: {_render(path)}: missing value"
        )
    return doc


# -- RFC 7386 ----------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# -- strategic merge patch ---------------------------------------------------------------------


def strategic_merge_patch(original: Any, patch: dict[str, Any]) -> Any:
    merged = _merge_map(copy.deepcopy(original) if isinstance(original, dict) else {}, patch)
    return {} if merged is _MISSING else merged


def _merge_map(original: dict[str, Any], patch: dict[str, Any]) -> Any:
    directive = patch.get("$patch")
    if directive == "delete":
        return _MISSING
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = original
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        _merge_field(result, key, value)
    _apply_list_directives(result, patch)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        for key in [k for k in result if k not in retain]:
            del result[key]
    return result


def _merge_field(result: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        result.pop(key, None)
    elif isinstance(value, dict):
        current = result.get(key)
        merged = _merge_map(current if isinstance(current, dict) else {}, value)
        if merged is _MISSING:
            result.pop(key, None)
        else:
            result[key] = merged
    elif isinstance(value, list):
        result[key] = _merge_list(key, result.get(key), value)
    else:
        result[key] = copy.deepcopy(value)


def _merge_list(key: str, original: Any, patch: list[Any]) -> list[Any]:
    current = original if isinstance(original, list) else []
    if key in PRIMITIVE_MERGE:
        return current + [item for item in patch if item not in current]
    merge_key = MERGE_KEYS.get(key)
    if merge_key is None or not all(isinstance(item, dict) for item in patch):
        return copy.deepcopy(patch)
    if any(item.get("$patch") == "replace" for item in patch):
        return [copy.deepcopy(item) for item in patch if item.get("$patch") != "replace"]
    result = list(current)
    for item in patch:
        _merge_list_item(result, merge_key, item)
    return result


def _merge_list_item(result: list[Any], merge_key: str, item: dict[str, Any]) -> None:
    wanted = item.get(merge_key, _MISSING)
    position = next(
        (
            i
            for i, existing in enumerate(result)
            if isinstance(existing, dict) and existing.get(merge_key) == wanted
        ),
        -1,
    )
    if item.get("$patch") == "delete":
        if position >= 0:
            del result[position]
        return
    if position < 0:
        result.append({k: copy.deepcopy(v) for k, v in item.items() if k != "$patch"})
        return
    merged = _merge_map(result[position], item)
    if merged is _MISSING:
        del result[position]
    else:
        result[position] = merged


def _apply_list_directives(result: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/") and isinstance(value, list):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [item for item in result[field] if item not in value]
        elif key.startswith("$setElementOrder/") and isinstance(value, list):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = _reorder(field, result[field], value)


def _reorder(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    merge_key = MERGE_KEYS.get(field)

    def identity(item: Any) -> Any:
        if merge_key and isinstance(item, dict):
            return item.get(merge_key)
        return item

    rank = {orjson.dumps(identity(entry)): index for index, entry in enumerate(order)}
    return sorted(items, key=lambda item: rank.get(orjson.dumps(identity(item)), len(rank)))
