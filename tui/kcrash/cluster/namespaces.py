"""Whether the namespace in scope exists: no pods in a namespace that does not exist is a typo,
not a quiet namespace. Only a 404 for the namespace itself says so; a user who may not read
namespaces (403) or a failed read gets no claim either way."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from kcrash.cluster.api import Api
from kcrash.cluster.errors import KcrashError
from kcrash.core.sanitize import clean_line

SHOWN = 3
"""Existing namespaces named as choices: the first few, not the cluster's own (kube-*) unless
there are no others."""


def missing_namespace(api: Api, namespace: str) -> str:
    """'namespace "x" not found; ...' with the namespaces that exist, or "" when it exists or
    whether it does cannot be told."""
    try:
        api.read_json(f"get namespace {namespace}", f"/api/v1/namespaces/{quote(namespace, safe='')}")
    except KcrashError as exc:
        if exc.status == 404:
            return not_found_text(namespace, namespace_names(api))
    return ""


def namespace_names(api: Api) -> tuple[str, ...]:
    """The cluster's namespaces, the cluster's own (kube-*) last; () when they cannot be listed."""
    try:
        doc = api.read_json("list namespaces", "/api/v1/namespaces", (("limit", 500),))
    except KcrashError:
        return ()
    items = doc.get("items") if isinstance(doc, dict) else None
    names = (str((item.get("metadata") or {}).get("name") or "") for item in items or ())
    return tuple(sorted((name for name in names if name), key=lambda name: (name.startswith("kube-"), name)))


def not_found_text(namespace: str, existing: Sequence[str], shown: int = SHOWN) -> str:
    """One line naming the missing namespace and the first few that exist."""
    text = f'namespace "{clean_line(namespace)}" not found'
    existing = [name for name in existing if not name.startswith("kube-")] or list(existing)
    if not existing:
        return text
    choices = ", ".join(clean_line(name) for name in existing[:shown])
    more = f" (+{len(existing) - shown} more)" if len(existing) > shown else ""
    return f"{text}; try {choices}{more}"
