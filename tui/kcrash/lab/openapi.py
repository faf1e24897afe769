"""The OpenAPI v3 documents kubectl reads before it writes: just enough to say what a PATCH takes.

`kubectl apply|create -f` asks `/openapi/v3` whether the server validates fields itself (the
`fieldValidation` query parameter on each kind's PATCH operation, marked with
`x-kubernetes-group-version-kind`); when it does, kubectl sends `fieldValidation=Strict` instead of
validating against the full schemas, which the lab does not serve. The documents name paths and
operations only: no component schemas, so kubectl builds its strategic-merge patches from the
types compiled into it, as it does against servers without OpenAPI.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from kcrash.lab.discovery import RESOURCES, ResourceInfo

Obj = dict[str, Any]
PREFIX = "/openapi/v3"


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _group_versions() -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    for r in RESOURCES:
        if "patch" in r.verbs and (r.group, r.version) not in seen:
            seen.append((r.group, r.version))
    return seen


def document(path: str) -> Obj | None:
    """The document at `path` (`/openapi/v3` or `/openapi/v3/<gv path>`), None when there is none."""
    if path == PREFIX:
        return _index()
    for group, version in _group_versions():
        if path == f"{PREFIX}/{_gv_path(group, version)}":
            return _group_version(group, version)
    return None


def _index() -> Obj:
    paths = {}
    for group, version in _group_versions():
        body = orjson.dumps(_group_version(group, version))
        digest = hashlib.sha512(body).hexdigest()[:128].upper()
        paths[_gv_path(group, version)] = {
            "serverRelativeURL": f"{PREFIX}/{_gv_path(group, version)}?hash={digest}"
        }
    return {"paths": paths}


def _group_version(group: str, version: str) -> Obj:
    paths: Obj = {}
    for r in RESOURCES:
        if r.group == group and r.version == version and "patch" in r.verbs:
            paths[_item_path(r)] = {"patch": _patch_operation(r)}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "components": {},
    }


def _item_path(r: ResourceInfo) -> str:
    root = f"/{_gv_path(r.group, r.version)}"
    scope = "/namespaces/{namespace}" if r.namespaced else ""
    return f"{root}{scope}/{r.name}/{{name}}"


def _patch_operation(r: ResourceInfo) -> Obj:
    query = ("dryRun", "fieldManager", "fieldValidation", "force")
    return {
        "operationId": f"patch{r.kind}",
        "parameters": [{"name": name, "in": "query", "schema": {"type": "string"}} for name in query],
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind},
    }
