"""A kubeconfig that points kubectl and client libraries at the lab."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

CONTEXT = "kcrash-lab"
USER = "kcrash-lab"


def kubeconfig(
    server: str, token: str, namespace: str = "crashlab", ca_pem: bytes | None = None
) -> dict[str, Any]:
    """`ca_pem` (the CA that signed an https server's certificate) goes in inline, as kubectl expects.
    Over plain http the user has no token: clients must not send one unencrypted."""
    cluster: dict[str, Any] = {"server": server}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode("ascii")
    user: dict[str, Any] = {"token": token} if server.startswith("https:") else {}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": cluster}],
        "users": [{"name": USER, "user": user}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": USER, "namespace": namespace}}
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(
    path: Path, server: str, token: str, namespace: str = "crashlab", *, ca_pem: bytes | None = None
) -> Path:
    """Write it readable by the owner only: it holds the bearer token."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(kubeconfig(server, token, namespace, ca_pem), sort_keys=False)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return path
