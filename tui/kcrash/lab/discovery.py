"""What the lab serves, and the discovery documents that tell clients so.

kubectl learns short names, scopes and kinds only from discovery, so a mistake here breaks it before
any request reaches a resource. Two formats are served from the same table:

- legacy: `/api` (APIVersions), `/apis` (APIGroupList), `/api/v1` and `/apis/<g>/<v>` (APIResourceList);
- aggregated v2 (`Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`):
  `/api` and `/apis` as APIGroupDiscoveryList, which client-go picks by the reply's Content-Type.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

READ = ("get", "list", "watch")
WRITE = ("create", "delete", "get", "list", "patch", "watch")
NO_DELETE = ("create", "get", "list", "patch", "watch")  # a namespace would have to be emptied first


@dataclass(frozen=True, slots=True)
class Subresource:
    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str = ""
    version: str = "v1"


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """One servable resource: where it lives in the URL space and in the Store."""

    group: str
    version: str
    name: str
    singular: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]
    store: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def allows(self, verb: str) -> bool:
        return verb in self.verbs

    def subresource(self, name: str) -> Subresource | None:
        return next((s for s in self.subresources if s.name == name), None)


_SCALE = Subresource("scale", "Scale", ("get", "patch", "update"), "autoscaling", "v1")

RESOURCES: tuple[ResourceInfo, ...] = (
    ResourceInfo("", "v1", "namespaces", "namespace", "Namespace", False, NO_DELETE, "namespaces", ("ns",)),
    ResourceInfo("", "v1", "nodes", "node", "Node", False, READ, "nodes", ("no",)),
    ResourceInfo(
        "",
        "v1",
        "pods",
        "pod",
        "Pod",
        True,
        WRITE,
        "pods",
        ("po",),
        ("all",),
        (Subresource("log", "Pod", ("get",)),),
    ),
    ResourceInfo("", "v1", "events", "event", "Event", True, WRITE, "events", ("ev",)),
    ResourceInfo("", "v1", "configmaps", "configmap", "ConfigMap", True, WRITE, "configmaps", ("cm",)),
    ResourceInfo("", "v1", "secrets", "secret", "Secret", True, WRITE, "secrets"),
    ResourceInfo(
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        True,
        WRITE,
        "deployments",
        ("deploy",),
        ("all",),
        (_SCALE,),
    ),
    ResourceInfo(
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        True,
        WRITE,
        "replicasets",
        ("rs",),
        ("all",),
        (_SCALE,),
    ),
    # None are defined; served (empty) because clients list them at start-up, and k9s holds its
    # first screen up to half a second for the list to sync when the group is missing.
    ResourceInfo(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "customresourcedefinition",
        "CustomResourceDefinition",
        False,
        READ,
        "customresourcedefinitions",
        ("crd", "crds"),
        ("api-extensions",),
    ),
    ResourceInfo("metrics.k8s.io", "v1beta1", "pods", "", "PodMetrics", True, ("get", "list"), "podmetrics"),
    ResourceInfo(
        "metrics.k8s.io", "v1beta1", "nodes", "", "NodeMetrics", False, ("get", "list"), "nodemetrics"
    ),
    ResourceInfo(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        "SelfSubjectAccessReview",
        False,
        ("create",),
        "",
    ),
)

_BY_PATH = {(r.group, r.version, r.name): r for r in RESOURCES}
_BY_STORE = {r.store: r for r in RESOURCES if r.store}


def find(group: str, version: str, name: str) -> ResourceInfo | None:
    return _BY_PATH.get((group, version, name))


def by_store(store_name: str) -> ResourceInfo | None:
    return _BY_STORE.get(store_name)


def stored_resources() -> list[str]:
    return [r.store for r in RESOURCES if r.store]


def group_versions() -> dict[str, list[str]]:
    """Named groups (not core) and their versions, in serving order."""
    found: dict[str, list[str]] = {}
    for r in RESOURCES:
        if r.group and r.version not in found.setdefault(r.group, []):
            found[r.group].append(r.version)
    return found


def serves_group_version(group: str, version: str) -> bool:
    return any(r.group == group and r.version == version for r in RESOURCES)


def _in_group_version(group: str, version: str) -> Iterable[ResourceInfo]:
    return (r for r in RESOURCES if r.group == group and r.version == version)


# -- legacy documents --------------------------------------------------------------------------


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_entry(group: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def api_group_list() -> dict[str, Any]:
    groups = [_group_entry(g, vs) for g, vs in group_versions().items()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group: str) -> dict[str, Any] | None:
    versions = group_versions().get(group)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def api_resource_list(group: str, version: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    for r in _in_group_version(group, version):
        entries.append(_legacy_resource(r))
        entries.extend(
            {
                "name": f"{r.name}/{s.name}",
                "singularName": "",
                "namespaced": r.namespaced,
                **({"group": s.group, "version": s.version} if s.group else {}),
                "kind": s.kind,
                "verbs": list(s.verbs),
            }
            for s in r.subresources
        )
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }


def _legacy_resource(r: ResourceInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": r.name,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    return entry


# -- aggregated (apidiscovery.k8s.io/v2) documents ---------------------------------------------


def aggregated_core() -> dict[str, Any]:
    return _discovery_list([_aggregated_group("", ["v1"])])


def aggregated_groups() -> dict[str, Any]:
    return _discovery_list([_aggregated_group(g, vs) for g, vs in group_versions().items()])


def _discovery_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }


def _aggregated_group(group: str, versions: list[str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"creationTimestamp": None}
    if group:
        metadata["name"] = group
    return {
        "metadata": metadata,
        "versions": [
            {
                "version": v,
                "resources": [_aggregated_resource(r) for r in _in_group_version(group, v)],
                "freshness": "Current",
            }
            for v in versions
        ],
    }


def _aggregated_resource(r: ResourceInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": r.name,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    if r.subresources:
        entry["subresources"] = [
            {
                "subresource": s.name,
                "responseKind": {"group": s.group, "version": s.version, "kind": s.kind},
                "verbs": list(s.verbs),
            }
            for s in r.subresources
        ]
    return entry
