"""Defaults the API server applies to objects, shared with the controllers that write the store
directly (as kube-controller-manager's objects would arrive after the apiserver's defaulting and
admission): Deployment spec defaults, the ServiceAccount token volume, generated name suffixes.
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
