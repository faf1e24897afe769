"""What the user may do here, asked of the server with SelfSubjectAccessReview (like `kubectl auth can-i`).

The answers decide which actions the console offers; the server still enforces RBAC on the action
itself. Answers are cached per namespace for the life of the source. In read-only mode nothing is
asked at all: the writes are off whatever RBAC says, and a review is a POST we promised not to send.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from kcrash.cluster.api import Api
from kcrash.cluster.errors import KcrashError


@dataclass(frozen=True, slots=True)
class Permission:
    """One verb on one resource: allowed or not, and the authorizer's reason when it gave one."""

    allowed: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Access:
    """The three checks the console needs, for one namespace ("" = cluster-wide)."""

    namespace: str
    delete_pods: Permission
    patch_deployments: Permission
    read_logs: Permission
    exec_pods: Permission = Permission(True, "not checked")
    debug_pods: Permission = Permission(True, "not checked")  # ephemeral containers


READ_ONLY = Permission(False, "read-only mode (--read-only)")


class AccessChecker:
    """Asks once per namespace, then answers from memory."""

    def __init__(self, api: Api, *, read_only: bool = False) -> None:
        self._api = api
        self._read_only = read_only
        self._cache: dict[str, Access] = {}
        self._lock = threading.Lock()

    def check(self, namespace: str | None) -> Access:
        scope = namespace or ""
        with self._lock:
            cached = self._cache.get(scope)
        if cached is not None:
            return cached
        if self._read_only:
            access = Access(
                scope,
                READ_ONLY,
                READ_ONLY,
                Permission(True, "not checked in read-only mode"),
                exec_pods=READ_ONLY,
                debug_pods=READ_ONLY,
            )
        else:
            access = Access(
                scope,
                delete_pods=self._ask(scope, "delete", "pods"),
                patch_deployments=self._ask(scope, "patch", "deployments", group="apps"),
                read_logs=self._ask(scope, "get", "pods", subresource="log"),
                exec_pods=self._ask(scope, "create", "pods", subresource="exec"),
                debug_pods=self._ask(scope, "patch", "pods", subresource="ephemeralcontainers"),
            )
        with self._lock:
            self._cache[scope] = access
        return access

    def _ask(
        self, namespace: str, verb: str, resource: str, group: str = "", subresource: str = ""
    ) -> Permission:
        try:
            allowed, reason = self._api.can_i(namespace, verb, resource, group, subresource)
        except KcrashError as exc:
            # The review itself failed: offer the action and let the server decide when it is used.
            return Permission(True, f"could not check ({exc}); the server will decide")
        return Permission(allowed, reason)
