"""delete: DeleteOptions, preconditions, graceful pod deletion, dry run, and the garbage
collector's work done at once (dependents deleted in the background or orphaned).
"""

from __future__ import annotations

import contextlib
import copy
from datetime import timedelta
from typing import Any

import orjson
from aiohttp import web

from kcrash.lab import discovery, errors
from kcrash.lab.apiserver.base import ServerBase
from kcrash.lab.apiserver.encoding import dumps
from kcrash.lab.apiserver.requests import Query, Target, dry_run_requested
from kcrash.lab.clock import rfc3339
from kcrash.lab.discovery import ResourceInfo
from kcrash.lab.errors import ApiError
from kcrash.lab.store import Conflict, NotFound, Obj


class DeletesMixin(ServerBase):
    """delete, with its options and the dependents it takes along."""

    async def _delete(self, request: web.Request, target: Target, query: Query) -> web.Response:
        options = await self._delete_options(request, query)
        info = target.info
        current = self._lookup(target)
        self._check_preconditions(info, current, options)
        dry_run = dry_run_requested(options, "DeleteOptions")
        if info.store == "pods":
            result = self._delete_pod(current, options, dry_run)
            return self._json_body(self.encoder.encode("pods", result, cache=not dry_run))
        if not dry_run:
            self._delete_with_dependents(
                info.store, current, options.get("propagationPolicy") or "Background"
            )
        meta = current.get("metadata", {})
        details = {"name": meta.get("name", ""), "kind": info.name, "uid": meta.get("uid", "")}
        if info.group:  # the apiserver leaves an empty group out
            details["group"] = info.group
        return self._json_body(dumps(errors.success_status(details)))

    async def _delete_options(self, request: web.Request, query: Query) -> Obj:
        body = await request.read()
        options: Obj = {}
        if body.strip():
            try:
                options = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise errors.bad_request(f"error decoding DeleteOptions: {exc}") from exc
            if not isinstance(options, dict):
                raise errors.bad_request("DeleteOptions must be an object")
        grace = query.integer("gracePeriodSeconds")
        if grace is not None and "gracePeriodSeconds" not in options:
            options["gracePeriodSeconds"] = grace
        if query.text("propagationPolicy") and "propagationPolicy" not in options:
            options["propagationPolicy"] = query.text("propagationPolicy")
        dry = request.query.getall("dryRun", [])
        if dry and "dryRun" not in options:
            options["dryRun"] = list(dry)
        if query.flag("orphanDependents") and "propagationPolicy" not in options:
            options["propagationPolicy"] = "Orphan"
        _validate_delete_options(options)
        return options

    def _check_preconditions(self, info: ResourceInfo, current: Obj, options: Obj) -> None:
        preconditions = options.get("preconditions") or {}
        meta = current.get("metadata", {})
        wanted_uid = preconditions.get("uid")
        if wanted_uid is not None and wanted_uid != meta.get("uid"):
            raise errors.uid_precondition_failed(
                info.kind, info.group, meta.get("name", ""), wanted_uid, meta.get("uid", "")
            )
        wanted_rv = preconditions.get("resourceVersion")
        if wanted_rv is not None and str(wanted_rv) != meta.get("resourceVersion"):
            why = (
                f"the ResourceVersion in the precondition ({wanted_rv}) does not match the ResourceVersion "
                f"in record ({meta.get('resourceVersion')}). The object might have been modified"
            )
            raise errors.conflict(info.kind, info.group, meta.get("name", ""), why)

    def _delete_pod(self, pod: Obj, options: Obj, dry_run: bool) -> Obj:
        meta = pod.get("metadata", {})
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        grace = max(0, int(grace))
        if self._graceful(pod, grace):
            existing = meta.get("deletionGracePeriodSeconds")
            if existing is not None and int(existing) <= grace:
                return pod
            return self._mark_terminating(pod, grace, dry_run)
        # Deleting at once still sets deletionTimestamp (grace 0) first, as the apiserver's graceful
        # path does; the answer and the DELETED event carry that last version.
        marked = self._mark_terminating(pod, 0, dry_run)
        if dry_run:
            return marked
        return self._remove(("pods", meta.get("namespace", ""), meta.get("name", "")), meta.get("uid"))

    def _graceful(self, pod: Obj, grace: int) -> bool:
        phase = (pod.get("status") or {}).get("phase")
        scheduled = bool((pod.get("spec") or {}).get("nodeName"))
        return grace > 0 and self.live() and scheduled and phase not in ("Succeeded", "Failed")

    def _mark_terminating(self, pod: Obj, grace: int, dry_run: bool) -> Obj:
        deadline = rfc3339(self.clock.now() + timedelta(seconds=grace))

        def mark(obj: Obj) -> None:
            meta = obj["metadata"]
            if "deletionTimestamp" not in meta and "generation" in meta:  # counted as a spec change
                meta["generation"] = int(meta["generation"]) + 1
            meta["deletionTimestamp"] = deadline
            meta["deletionGracePeriodSeconds"] = grace

        if dry_run:
            preview = copy.deepcopy(pod)
            mark(preview)
            return preview
        meta = pod["metadata"]
        try:
            return self.store.mutate("pods", meta.get("namespace", ""), meta["name"], mark)
        except NotFound as exc:
            raise errors.not_found("pods", "", meta["name"]) from exc

    def _remove(self, key: tuple[str, str, str], uid: str | None) -> Obj:
        resource, namespace, name = key
        info = discovery.by_store(resource)
        group = info.group if info else ""
        try:
            return self.store.delete(resource, namespace, name, uid=uid)
        except NotFound as exc:
            raise errors.not_found(info.name if info else resource, group, name) from exc
        except Conflict as exc:
            raise errors.conflict(info.name if info else resource, group, name, str(exc)) from exc

    def _delete_with_dependents(self, resource: str, owner: Obj, policy: str) -> None:
        """Delete an owner; its dependents go too (Background/Foreground) or lose the reference (Orphan)."""
        meta = owner.get("metadata", {})
        dependent_resource = {"deployments": "replicasets", "replicasets": "pods"}.get(resource)
        dependents = self._dependents(dependent_resource, meta) if dependent_resource else []
        self._remove((resource, meta.get("namespace", ""), meta.get("name", "")), meta.get("uid"))
        for dependent in dependents:
            self._release_or_delete(dependent_resource or "", dependent, meta.get("uid"), policy)

    def _dependents(self, resource: str, owner_meta: Obj) -> list[Obj]:
        items, _ = self.store.list(resource, owner_meta.get("namespace", ""))
        uid = owner_meta.get("uid")
        return [
            o for o in items if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])
        ]

    def _release_or_delete(self, resource: str, obj: Obj, owner_uid: Any, policy: str) -> None:
        meta = obj["metadata"]
        if policy == "Orphan":

            def release(fresh: Obj) -> None:
                refs = [
                    r for r in fresh["metadata"].get("ownerReferences") or [] if r.get("uid") != owner_uid
                ]
                fresh["metadata"]["ownerReferences"] = refs

            with contextlib.suppress(NotFound):
                self.store.mutate(resource, meta.get("namespace", ""), meta["name"], release)
            return
        with contextlib.suppress(ApiError):
            if resource == "pods":
                self._delete_pod(obj, {}, dry_run=False)
            else:
                self._delete_with_dependents(resource, obj, policy)


def _validate_delete_options(options: Obj) -> None:
    policy = options.get("propagationPolicy")
    if policy is not None and policy not in ("Orphan", "Background", "Foreground"):
        raise errors.invalid(
            "DeleteOptions",
            "meta.k8s.io",
            "",
            [
                (
                    "propagationPolicy",
                    f'Unsupported value: "{policy}": supported values: '
                    '"Foreground", "Background", "Orphan", "nil"',
                )
            ],
        )
    grace = options.get("gracePeriodSeconds")
    if grace is not None and not isinstance(grace, int):
        raise errors.bad_request("gracePeriodSeconds must be an integer")
