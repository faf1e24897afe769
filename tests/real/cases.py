"""The differential script: every request case, in the order they run on each server.

Every case works in the run's own namespace `{ns}` on objects it (or `setup`) created, and scopes its
lists with a label, so cases do not see each other's objects. Pods name a node that does not exist so
no kubelet ever runs them. Add a case by appending to `CASES`.
"""

from __future__ import annotations

from typing import Any

from .differential import (
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_PATCH,
    TABLE,
    Case,
    Step,
    code_and_reason,
    event_types,
    has_bookmark,
)

PODS = "/api/v1/namespaces/{ns}/pods"
CONFIGMAPS = "/api/v1/namespaces/{ns}/configmaps"
DEPLOYMENTS = "/apis/apps/v1/namespaces/{ns}/deployments"
EVENTS = "/api/v1/namespaces/{ns}/events"
SECRETS = "/api/v1/namespaces/{ns}/secrets"
BASE = ("labelSelector", "set=base")
EXACT = ("resourceVersionMatch", "Exact")
PARTIAL = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


def pod(name: str, node: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "nodeName": node,
            "automountServiceAccountToken": False,
            "containers": [{"name": "app", "image": "busybox:1.36"}],
        },
    }


def token_pod(name: str, own_mount: bool = False) -> dict[str, Any]:
    """A pod that leaves automountServiceAccountToken alone: admission mounts the token, unless the
    pod mounts something at its path already."""
    body = pod(name, "node-x", set="token")
    del body["spec"]["automountServiceAccountToken"]
    if own_mount:
        path = "/var/run/secrets/kubernetes.io/serviceaccount"
        body["spec"]["volumes"] = [{"name": "mine", "emptyDir": {}}]
        body["spec"]["containers"][0]["volumeMounts"] = [{"name": "mine", "mountPath": path}]
    return body


def configmap(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": {"key": "value"},
    }


def deployment(name: str, image: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


def event(name: str, pod: str, kind: str, reason: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": "{ns}", "apiVersion": "v1"},
        "type": kind,
        "reason": reason,
        "message": f"{reason} for {pod}",
        "source": {"component": "kubelet"},
        "count": 1,
    }


def names(observation: Any) -> Any:
    """A list reduced to its status and item names (objects the script made, in order)."""
    body = observation["body"]
    if observation["code"] != 200 or not isinstance(body, dict):
        return observation
    return {"code": 200, "names": [i["metadata"]["name"] for i in body.get("items") or []]}


def without_labels(observation: Any) -> Any:
    """A namespace without its labels (the real one carries kubernetes.io/metadata.name, compared apart)."""
    body = dict(observation["body"])
    metadata = dict(body.get("metadata") or {})
    labels = metadata.pop("labels", {}) or {}
    body["metadata"] = metadata
    return {
        "code": observation["code"],
        "body": body,
        "name label": labels.get("kubernetes.io/metadata.name"),
    }


def spec_only(observation: Any) -> Any:
    body = observation["body"]
    # (not metadata or status: the deployment controllers annotate and count at their own pace)
    return {"code": observation["code"], "spec": body.get("spec")}


def get(path: str, *query: tuple[str, str], **options: Any) -> Step:
    return Step("GET", path, tuple(query), **options)


def post(path: str, body: Any, *query: tuple[str, str], **options: Any) -> Step:
    return Step("POST", path, tuple(query), body=body, **options)


def patch(path: str, body: Any, content_type: str, *query: tuple[str, str], **options: Any) -> Step:
    return Step("PATCH", path, tuple(query), body=body, content_type=content_type, **options)


def delete(path: str, body: Any = None, *query: tuple[str, str], **options: Any) -> Step:
    return Step("DELETE", path, tuple(query), body=body, **options)


def watch(path: str, *query: tuple[str, str], view: Any = event_types) -> Step:
    return Step("GET", path, (("watch", "true"), ("timeoutSeconds", "1"), *query), watch=True, view=view)


def labelled(selector: str) -> Step:
    return get(PODS, ("labelSelector", f"set=base,{selector}"))


def fielded(selector: str) -> Step:
    return get(PODS, BASE, ("fieldSelector", selector))


SETUP = Case(
    "setup",
    (
        post(PODS, pod("p-a", "node-x", set="base", app="web", tier="front")),
        post(PODS, pod("p-b", "node-y", set="base", app="api", tier="back")),
        post(PODS, pod("p-c", "node-x", set="base", app="web")),
        post(CONFIGMAPS, configmap("cm-a", set="base")),
        post(CONFIGMAPS, configmap("cm-b", set="base")),
    ),
)

CASES: tuple[Case, ...] = (
    SETUP,
    Case("list", (get(PODS, BASE), get(CONFIGMAPS, BASE))),
    Case(
        "label selectors",
        tuple(
            labelled(s)
            for s in (
                "app=web",
                "app==web",
                "app!=web",
                "app in (web,api)",
                "app notin (web)",
                "tier",
                "!tier",
            )
        ),
    ),
    Case(
        "field selectors",
        tuple(
            fielded(s)
            for s in (
                "metadata.name=p-a",
                "metadata.name!=p-a",
                "spec.nodeName=node-x",
                "spec.nodeName=node-x,metadata.name=p-c",
                "status.phase=Pending",
                "status.phase!=Pending",
                "metadata.namespace={ns}",
            )
        ),
    ),
    Case(
        "bad selectors",
        (
            get(PODS, ("labelSelector", "app in (")),
            get(PODS, ("labelSelector", "app=web=x")),
            get(PODS, ("fieldSelector", "spec.bogus=x")),
            get(CONFIGMAPS, ("fieldSelector", "spec.nodeName=x")),
            get(PODS, ("fieldSelector", "metadata.name")),
            get(DEPLOYMENTS, ("fieldSelector", "status.replicas=1")),
            get("/apis/apps/v1/namespaces/{ns}/replicasets", ("fieldSelector", "spec.replicas=1")),
            get("/apis/apps/v1/namespaces/{ns}/replicasets", ("fieldSelector", "status.replicas=1")),
            get(PODS, ("labelSelector", "app in (web")),
            get(PODS, ("labelSelector", "app,")),
            get(PODS, ("labelSelector", "=web")),
            get(PODS, ("labelSelector", "app notin web")),
            get(PODS, ("labelSelector", "!")),
        ),
    ),
    Case(
        "limit and continue",
        (
            get(PODS, BASE, ("limit", "2"), save={"token": "metadata.continue"}),
            get(PODS, BASE, ("limit", "2"), ("continue", "{token}")),
            get(PODS, BASE, ("limit", "2"), ("continue", "not-a-token")),
        ),
    ),
    Case(
        "list resource versions",
        (
            get(PODS, BASE, save={"rv": "metadata.resourceVersion"}),
            get(PODS, BASE, ("resourceVersion", "0")),
            get(PODS, BASE, ("resourceVersion", "{rv}"), ("resourceVersionMatch", "NotOlderThan")),
            get(PODS, BASE, ("resourceVersion", "{rv}"), ("resourceVersionMatch", "Exact")),
            get(PODS, BASE, ("resourceVersionMatch", "Exact")),
            get(PODS, BASE, ("resourceVersion", "0"), ("resourceVersionMatch", "Bogus")),
            get(PODS, BASE, ("resourceVersion", "abc")),
        ),
    ),
    Case(
        "exact list at an older version",
        (
            post(CONFIGMAPS, configmap("cm-x", set="exact"), save={"rv": "metadata.resourceVersion"}),
            patch(f"{CONFIGMAPS}/cm-x", {"data": {"key": "later"}}, MERGE_PATCH),
            post(CONFIGMAPS, configmap("cm-y", set="exact")),
            get(CONFIGMAPS, ("labelSelector", "set=exact"), ("resourceVersion", "{rv}"), EXACT),
            get(CONFIGMAPS, ("labelSelector", "set=exact"), ("resourceVersion", "99999999"), EXACT),
        ),
    ),
    Case(
        "table",
        (
            get(PODS, BASE, accept=TABLE),
            get(f"{PODS}/p-a", accept=TABLE),
            get(CONFIGMAPS, BASE, accept=TABLE),
            get(PODS, BASE, ("includeObject", "None"), accept=TABLE),
        ),
    ),
    Case(
        "get",
        (
            get(f"{PODS}/p-a"),
            get(f"{CONFIGMAPS}/cm-a"),
            get(f"{PODS}/missing"),
            get(f"{DEPLOYMENTS}/missing"),
            get("/api/v1/namespaces/no-such-namespace/pods/p-a"),
        ),
    ),
    Case(
        "create errors",
        (
            post(PODS, pod("p-a", "node-x", set="base")),
            post(CONFIGMAPS, configmap("Bad_Name")),
            post(PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "empty"}, "spec": {}}),
            post(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
            # The real message quotes its decoder ("cannot be handled as a ConfigMap: illegal base64")
            post(CONFIGMAPS, {**configmap("cm-kind"), "kind": "Secret"}, view=code_and_reason),
        ),
    ),
    Case(
        "patches",
        (
            post(CONFIGMAPS, configmap("cm-patch", set="patch")),
            patch(f"{CONFIGMAPS}/cm-patch", [{"op": "add", "path": "/data/added", "value": "1"}], JSON_PATCH),
            patch(f"{CONFIGMAPS}/cm-patch", {"data": {"key": None, "merged": "2"}}, MERGE_PATCH),
            patch(f"{CONFIGMAPS}/cm-patch", {"metadata": {"labels": {"extra": "yes"}}}, STRATEGIC_PATCH),
            patch(
                f"{CONFIGMAPS}/cm-patch", [{"op": "test", "path": "/data/added", "value": "2"}], JSON_PATCH
            ),
            patch(f"{CONFIGMAPS}/cm-patch", [{"op": "remove", "path": "/data/absent"}], JSON_PATCH),
            patch(f"{CONFIGMAPS}/cm-patch", "not json", MERGE_PATCH),
            patch(f"{CONFIGMAPS}/missing", {"data": {"a": "b"}}, MERGE_PATCH),
            patch(f"{CONFIGMAPS}/cm-patch", {"metadata": {"name": "renamed"}}, MERGE_PATCH),
            post(PODS, pod("p-patch", "node-x", set="patch")),
            patch(f"{PODS}/p-patch", {"metadata": {"labels": {"patched": "yes"}}}, STRATEGIC_PATCH),
            patch(
                f"{PODS}/p-patch",
                {"spec": {"containers": [{"name": "app", "image": "busybox:1.37"}]}},
                STRATEGIC_PATCH,
            ),
            patch(f"{PODS}/p-patch", {"spec": {"nodeName": "node-z"}}, MERGE_PATCH),
        ),
    ),
    Case(
        "update conflict",
        (
            post(CONFIGMAPS, configmap("cm-put", set="put"), save={"rv": "metadata.resourceVersion"}),
            patch(f"{CONFIGMAPS}/cm-put", {"data": {"key": "changed"}}, MERGE_PATCH),
            patch(
                f"{CONFIGMAPS}/cm-put",
                {"metadata": {"resourceVersion": "{rv}"}, "data": {"key": "stale"}},
                MERGE_PATCH,
            ),
        ),
    ),
    Case(
        "delete preconditions",
        (
            post(CONFIGMAPS, configmap("cm-del", set="del"), save={"uid": "metadata.uid"}),
            delete(
                f"{CONFIGMAPS}/cm-del", {"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}
            ),
            delete(f"{CONFIGMAPS}/cm-del", {"preconditions": {"resourceVersion": "1"}}),
            delete(f"{CONFIGMAPS}/cm-del", {"preconditions": {"uid": "{uid}"}}),
            delete(f"{CONFIGMAPS}/cm-del"),
            post(PODS, pod("p-del", "node-x", set="del"), save={"uid": "metadata.uid"}),
            delete(f"{PODS}/p-del", {"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}),
            delete(f"{PODS}/p-del", {"preconditions": {"uid": "{uid}"}, "gracePeriodSeconds": 0}),
        ),
    ),
    Case(
        "dry run",
        (
            post(CONFIGMAPS, configmap("cm-dry", set="dry"), ("dryRun", "All")),
            get(f"{CONFIGMAPS}/cm-dry"),
            post(CONFIGMAPS, configmap("cm-dry", set="dry")),
            patch(f"{CONFIGMAPS}/cm-dry", {"data": {"key": "dry"}}, MERGE_PATCH, ("dryRun", "All")),
            delete(f"{CONFIGMAPS}/cm-dry", None, ("dryRun", "All")),
            get(f"{CONFIGMAPS}/cm-dry"),
            post(CONFIGMAPS, configmap("cm-dry2"), ("dryRun", "Bogus")),
        ),
    ),
    Case(
        "self subject access review",
        tuple(
            post(
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                {
                    "apiVersion": "authorization.k8s.io/v1",
                    "kind": "SelfSubjectAccessReview",
                    "spec": {"resourceAttributes": attributes},
                },
                view=lambda o: {"code": o["code"], "allowed": o["body"].get("status", {}).get("allowed")},
            )
            for attributes in (
                {"namespace": "{ns}", "verb": "delete", "resource": "pods"},
                {"namespace": "{ns}", "verb": "patch", "group": "apps", "resource": "deployments"},
                {"verb": "list", "resource": "nodes"},
            )
        ),
    ),
    Case(
        "watch from a resource version",
        (
            post(CONFIGMAPS, configmap("cm-w", set="watch"), save={"rv": "metadata.resourceVersion"}),
            patch(f"{CONFIGMAPS}/cm-w", {"data": {"key": "1"}}, MERGE_PATCH),
            post(CONFIGMAPS, configmap("cm-w2", set="watch")),
            delete(f"{CONFIGMAPS}/cm-w"),
            watch(CONFIGMAPS, ("labelSelector", "set=watch"), ("resourceVersion", "{rv}")),
            watch(CONFIGMAPS, ("labelSelector", "set=watch"), ("resourceVersion", "0")),
            watch(
                CONFIGMAPS,
                ("labelSelector", "set=watch"),
                ("resourceVersion", "{rv}"),
                view=lambda o: o,
            ),
        ),
    ),
    Case(
        "watch field selector",
        (watch(PODS, ("fieldSelector", "spec.nodeName=node-y"), ("resourceVersion", "0")),),
    ),
    Case(
        "watch initial events",
        (
            watch(
                PODS,
                BASE,
                ("sendInitialEvents", "true"),
                ("allowWatchBookmarks", "true"),
                ("resourceVersionMatch", "NotOlderThan"),
            ),
            watch(PODS, BASE, ("sendInitialEvents", "true"), ("resourceVersionMatch", "NotOlderThan")),
        ),
    ),
    Case(
        "watch bookmarks",
        (
            Step(
                "GET",
                PODS,
                (BASE, ("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", "4")),
                watch=True,
                view=has_bookmark,
            ),
        ),
    ),
    Case(
        "watch too old",
        (
            watch(PODS, BASE, ("resourceVersion", "1")),
            # (An exact list at an old version: etcd still has it until compaction, the lab never keeps
            # it; a listed deviation, so no step here.)
        ),
    ),
    Case(
        "deployments",
        (
            post(DEPLOYMENTS, deployment("web", "nginx:1.27")),
            get(f"{DEPLOYMENTS}/web/scale"),
            patch(
                f"{DEPLOYMENTS}/web",
                {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}}}},
                STRATEGIC_PATCH,
                view=lambda o: {
                    "code": o["code"],
                    "generation": o["body"]["metadata"].get("generation"),
                    "image": o["body"]["spec"]["template"]["spec"]["containers"][0]["image"],
                },
            ),
            patch(f"{DEPLOYMENTS}/web", {"spec": {"replicas": -1}}, MERGE_PATCH),
            patch(f"{DEPLOYMENTS}/web/scale", {"spec": {"replicas": 0}}, MERGE_PATCH),
            get(DEPLOYMENTS, accept=TABLE, view=lambda o: o["body"].get("columnDefinitions")),
        ),
    ),
    Case(
        "events",
        (
            post(EVENTS, event("ev-a", "p-a", "Warning", "BackOff")),
            post(EVENTS, event("ev-b", "p-b", "Normal", "Pulled")),
            get(EVENTS, ("fieldSelector", "involvedObject.name=p-a")),
            get(EVENTS, ("fieldSelector", "involvedObject.kind=Pod,type=Warning"), view=names),
            get(EVENTS, ("fieldSelector", "reason=Pulled"), view=names),
            get(EVENTS, ("fieldSelector", "involvedObject.uid=nope"), view=names),
            get(EVENTS, ("fieldSelector", "involvedObject.name=p-a"), accept=TABLE),
        ),
    ),
    Case(
        "secrets and namespaces",
        (
            post(
                SECRETS,
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"}, "stringData": {"k": "v"}},
            ),
            get(f"{SECRETS}/s1"),
            get(SECRETS, ("fieldSelector", "type=Opaque"), view=names),
            get(f"{SECRETS}/s1", accept=TABLE),
            get("/api/v1/namespaces/{ns}", view=without_labels),
            get("/api/v1/namespaces", ("fieldSelector", "metadata.name={ns}"), accept=TABLE),
        ),
    ),
    Case(
        "more refusals",
        (
            watch(PODS, ("labelSelector", "app in (")),
            post(CONFIGMAPS, {**configmap("cm-rv"), "metadata": {"name": "cm-rv", "resourceVersion": "5"}}),
            get(CONFIGMAPS, ("limit", "-1"), ("labelSelector", "set=base"), view=names),
            delete(f"{CONFIGMAPS}/missing"),
            delete(f"{CONFIGMAPS}/cm-a", {"propagationPolicy": "Sideways"}),
        ),
    ),
    Case(
        "service account token",
        (
            post(PODS, token_pod("p-token")),
            get(f"{PODS}/p-token"),
            post(PODS, token_pod("p-own-mount", own_mount=True)),
        ),
    ),
    Case(
        "deployment defaults",
        (
            post(DEPLOYMENTS, deployment("defaults", "nginx:1.27"), view=spec_only),
            get(f"{DEPLOYMENTS}/defaults", view=spec_only),
        ),
    ),
    Case(
        "watch a selection as objects leave and join it",
        (
            post(CONFIGMAPS, configmap("cm-flip", set="flip"), save={"rv": "metadata.resourceVersion"}),
            patch(f"{CONFIGMAPS}/cm-flip", {"metadata": {"labels": {"set": "flop"}}}, MERGE_PATCH),
            patch(f"{CONFIGMAPS}/cm-flip", {"metadata": {"labels": {"set": "flip"}}}, MERGE_PATCH),
            patch(f"{CONFIGMAPS}/cm-flip", {"data": {"key": "again"}}, MERGE_PATCH),
            watch(CONFIGMAPS, ("labelSelector", "set=flip"), ("resourceVersion", "{rv}")),
            watch(CONFIGMAPS, ("labelSelector", "set=flip")),
            get(f"{CONFIGMAPS}/cm-flip", ("resourceVersion", "0")),
        ),
    ),
    Case(
        "across namespaces and metadata only",
        (
            get("/api/v1/pods", BASE, view=names),
            get("/api/v1/configmaps", ("labelSelector", "set=base"), ("limit", "1"), view=names),
            get(CONFIGMAPS, BASE, accept=PARTIAL),
            get(f"{DEPLOYMENTS}/defaults", accept=TABLE),
        ),
    ),
    Case(
        "logs errors",
        (
            get(f"{PODS}/missing/log"),
            get(f"{PODS}/p-a/log", ("container", "bogus")),
            get(f"{PODS}/p-a/log", ("tailLines", "-1")),
            get(f"{PODS}/missing/log", ("limitBytes", "0"), ("sinceSeconds", "0")),
        ),
    ),
)
