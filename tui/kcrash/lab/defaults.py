"""Defaults the API server applies to objects: pod, container and Deployment spec defaults, the
ServiceAccount token volume, generated name suffixes.

Shared with the parts of the simulation that write the store directly (the controllers, the
scenarios), whose objects must look as if they had passed the API server's defaulting and admission.
"""

from __future__ import annotations

import random
from typing import Any

Obj = dict[str, Any]

# names.SimpleNameGenerator: consonants and digits, without vowels and look-alikes.
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def random_suffix(rng: random.Random, length: int = 5) -> str:
    return "".join(rng.choice(NAME_ALPHABET) for _ in range(length))


def default_deployment_spec(spec: Obj) -> Obj:
    spec = dict(spec)
    spec.setdefault("replicas", 1)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault(
        "strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    )
    return spec


def with_token_volume(spec: Obj, rng: random.Random) -> Obj:
    """The ServiceAccount admission plugin's projected token volume, mounted in every container
    (`spec` is changed; its container lists are replaced, not edited)."""
    volume = f"kube-api-access-{random_suffix(rng)}"
    mount = {"name": volume, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}
    for kind in ("initContainers", "containers"):
        if spec.get(kind):
            spec[kind] = [{**c, "volumeMounts": [*(c.get("volumeMounts") or []), mount]} for c in spec[kind]]
    spec["volumes"] = [*(spec.get("volumes") or []), _token_volume(volume)]
    return spec


TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"


def _token_volume(name: str) -> Obj:
    return {
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                            }
                        ]
                    }
                },
            ],
        },
    }


def _default_probe(probe: Obj) -> Obj:
    probe = dict(probe)
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1)):
        probe.setdefault(key, value)
    probe.setdefault("failureThreshold", 3)
    if "httpGet" in probe:
        probe["httpGet"] = {"scheme": "HTTP", **probe["httpGet"]}
    return probe


def image_pull_policy(image: str) -> str:
    """Always for :latest or an untagged image, else IfNotPresent (the API server's default)."""
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def default_container(container: Obj) -> Obj:
    container = dict(container)
    container.setdefault("imagePullPolicy", image_pull_policy(container.get("image", "")))
    container.setdefault("resources", {})
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        if name in container:
            container[name] = _default_probe(container[name])
    ports = container.get("ports")
    if ports:
        container["ports"] = [{"protocol": "TCP", **port} for port in ports]
    return container


def default_pod_spec(spec: Obj) -> Obj:
    spec = dict(spec)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec["containers"] = [default_container(c) for c in spec.get("containers", [])]
    if spec.get("initContainers"):
        spec["initContainers"] = [default_container(c) for c in spec["initContainers"]]
    return spec
