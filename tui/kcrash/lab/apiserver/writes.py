"""create, patch and the scale subresource: decoding the body, admission (defaults and checks on
create, `_admit_update` for changes), dry run, and the store write.
"""

from __future__ import annotations

import copy
import uuid

import orjson
from aiohttp import web

from kcrash.lab import errors
from kcrash.lab.apiserver import admission
from kcrash.lab.apiserver.base import ServerBase
from kcrash.lab.apiserver.encoding import dumps
from kcrash.lab.apiserver.requests import Query, Target, dry_run_requested
from kcrash.lab.clock import rfc3339
from kcrash.lab.discovery import ResourceInfo
from kcrash.lab.patch import apply_patch
from kcrash.lab.selectors import selector_from_label_selector
from kcrash.lab.store import Conflict, NotFound, Obj


class WritesMixin(ServerBase):
    """create, patch and scale."""

    async def _create(self, request: web.Request, target: Target) -> web.Response:
        info = target.info
        dry_run = dry_run_requested({"dryRun": request.query.getall("dryRun", [])}, "CreateOptions")
        content_type = request.headers.get("Content-Type", "")
        body = admission.decode_body(content_type, await request.read(), info.kind)
        obj = admission.prepare_create(info, target.namespace, body, self._names)
        if info.store == "deployments":
            _validate_deployment(info, obj, obj)
        if info.namespaced and self.store.get("namespaces", "", target.namespace) is None:
            raise errors.not_found("namespaces", "", target.namespace)
        name = obj["metadata"]["name"]
        if self.store.get(info.store, target.namespace, name) is not None:
            raise errors.already_exists(info.name, info.group, name)
        if dry_run:
            obj["metadata"]["uid"] = str(uuid.uuid4())
            obj["metadata"]["creationTimestamp"] = rfc3339(self.clock.now())
            return self._json_body(self.encoder.encode(info.store, obj, cache=False), status=201)
        try:
            stored = self.store.create(info.store, obj)
        except Conflict as exc:
            raise errors.already_exists(info.name, info.group, name) from exc
        return self._json_body(self.encoder.encode(info.store, stored), status=201)

    # -- the scale subresource ---------------------------------------------------------------------
    async def _scale(self, request: web.Request, target: Target, verb: str) -> web.Response:
        info = target.info
        options = "PatchOptions" if verb == "patch" else "UpdateOptions"
        dry_run = verb != "get" and dry_run_requested({"dryRun": request.query.getall("dryRun", [])}, options)
        current = self._lookup(target)
        if verb == "get":
            return self._json_body(dumps(admission.scale_of(current)))
        body = await request.read()
        content_type = request.headers.get("Content-Type", "")
        if verb == "patch":
            wanted = apply_patch(content_type, admission.scale_of(current), body)
        else:
            wanted = admission.decode_body(content_type, body, "Scale")
            rv = (wanted.get("metadata") or {}).get("resourceVersion")
            if rv not in (None, "") and str(rv) != current["metadata"].get("resourceVersion"):
                raise errors.modified_conflict(info.name, info.group, target.name)
        patched = copy.deepcopy(current)
        patched["spec"]["replicas"] = admission.replicas_from_scale(info, target.name, wanted)
        result = self._admit_update(info, current, patched)
        if result != current and not dry_run:
            result = self.store.replace(info.store, result)
        return self._json_body(dumps(admission.scale_of(result)))

    # -- patch -----------------------------------------------------------------------------------
    async def _patch(self, request: web.Request, target: Target, query: Query) -> web.Response:
        info = target.info
        dry_run = dry_run_requested({"dryRun": request.query.getall("dryRun", [])}, "PatchOptions")
        current = self._lookup(target)
        body = await request.read()
        patched = apply_patch(request.headers.get("Content-Type", ""), current, body)
        result = self._admit_update(info, current, patched)
        if result == current:
            return self._json_body(self.encoder.encode(info.store, current))
        if dry_run:
            return self._json_body(self.encoder.encode(info.store, result, cache=False))
        try:
            stored = self.store.replace(info.store, result)
        except NotFound as exc:
            raise errors.not_found(info.name, info.group, target.name) from exc
        return self._json_body(self.encoder.encode(info.store, stored))

    def _admit_update(self, info: ResourceInfo, current: Obj, patched: Obj) -> Obj:
        """Validate a patched object and restore what a client may not change (like the registry does)."""
        old_meta, new_meta = current.get("metadata", {}), patched.get("metadata")
        if not isinstance(new_meta, dict):
            raise errors.invalid(
                info.kind,
                info.group,
                old_meta.get("name", ""),
                [("metadata", "Required value: metadata is required")],
            )
        if new_meta.get("name") != old_meta.get("name"):
            raise errors.bad_request(
                f"the name of the object ({new_meta.get('name')}) does not match the name on the URL "
                f"({old_meta.get('name')})"
            )
        if info.namespaced and new_meta.get("namespace", old_meta.get("namespace")) != old_meta.get(
            "namespace"
        ):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        wanted_rv = new_meta.get("resourceVersion")
        if wanted_rv not in (None, "") and str(wanted_rv) != old_meta.get("resourceVersion"):
            raise errors.modified_conflict(info.name, info.group, old_meta.get("name", ""))
        for key in ("uid", "creationTimestamp", "namespace", "resourceVersion", "deletionTimestamp"):
            if key in old_meta:
                new_meta[key] = old_meta[key]
        patched["kind"], patched["apiVersion"] = info.kind, info.api_version
        if "status" in current:  # status has its own subresource; the main resource keeps it
            patched["status"] = current["status"]
        else:
            patched.pop("status", None)
        if info.store == "deployments":
            _validate_deployment(info, current, patched)
        if info.store == "pods":
            admission.check_pod_update(current, patched)
        if "generation" not in old_meta:
            new_meta.pop("generation", None)
        elif patched.get("spec") != current.get("spec"):
            new_meta["generation"] = int(old_meta.get("generation") or 1) + 1
        else:
            new_meta["generation"] = old_meta["generation"]
        if "kind" not in current:
            comparable = {k: v for k, v in patched.items() if k not in ("kind", "apiVersion")}
            return current if comparable == current else patched
        return patched


def _validate_deployment(info: ResourceInfo, current: Obj, patched: Obj) -> None:
    name = patched["metadata"].get("name", "")
    causes: list[tuple[str, str]] = []
    raw_spec = patched.get("spec")
    spec: Obj = raw_spec if isinstance(raw_spec, dict) else {}
    replicas = spec.get("replicas", 1)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        causes.append(
            (
                "spec.replicas",
                f"Invalid value: {orjson.dumps(replicas).decode()}: must be greater than or equal to 0",
            )
        )
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers")
    if not isinstance(containers, list) or not containers:
        causes.append(("spec.template.spec.containers", "Required value"))
    else:
        for index, container in enumerate(containers):
            for key in ("name", "image"):
                if not isinstance(container, dict) or not container.get(key):
                    causes.append((f"spec.template.spec.containers[{index}].{key}", "Required value"))
    old_selector = (current.get("spec") or {}).get("selector")
    if spec.get("selector") != old_selector:
        causes.append(
            (
                "spec.selector",
                f"Invalid value: {orjson.dumps(spec.get('selector')).decode()}: field is immutable",
            )
        )
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not selector_from_label_selector(spec.get("selector")).matches(labels):
        causes.append(
            (
                "spec.template.metadata.labels",
                f"Invalid value: {orjson.dumps(labels).decode()}: "
                "`selector` does not match template `labels`",
            )
        )
    if causes:
        raise errors.invalid(info.kind, info.group, name, causes)
