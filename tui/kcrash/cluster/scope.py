"""Another scope for the console without a restart: a namespace, all of them, a label selector, or
another kubeconfig context.

`rescoped` builds the ClusterSource of the new scope; the console swaps it in and starts its
LIST+WATCH (and its memory sampler) while the old source stops. A namespace or selector change
keeps the connection (same credentials, same transport); a context change loads that context from
the kubeconfig the console was started with.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kcrash.cluster.config import connect, kubeconfig_paths, read_kubeconfig
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.namespaces import namespace_names
from kcrash.cluster.source import ClusterSource
from kcrash.core.sanitize import clean_line

SHOWN_CHOICES = 6
"""Names an "unknown name" line offers, the rest counted."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What the console looks at: a context, a namespace (None: all) and a label selector."""

    context: str
    namespace: str | None
    selector: str = ""


def scope_of(source: ClusterSource) -> Scope:
    return Scope(source.context, source.namespace, source.selector)


def rescoped(
    source: ClusterSource,
    *,
    context: str | None = None,
    namespace: str | None = None,
    all_namespaces: bool = False,
    selector: str | None = None,
) -> ClusterSource:
    """The source for the scope asked; what is not named stays as it is. A new context opens on
    its own namespace (from the kubeconfig) unless one is named. Raises KcrashError in one line."""
    other_cluster = context is not None and context != source.context
    if other_cluster:
        conn = connect(source.kubeconfig, context, namespace, all_namespaces, check=False)
    else:
        scope = None if all_namespaces else (namespace or source.namespace)  # None stays all
        conn = replace(source.conn, namespace=scope)
    return ClusterSource(
        conn,
        namespace=conn.namespace,
        selector=source.selector if selector is None else selector,
        read_only=source.read_only,
        metrics_interval=source.metrics.interval,
        kubeconfig=source.kubeconfig,
        prometheus_url="" if other_cluster else source.prometheus_url,  # --prometheus: the first cluster's
        prometheus_locations=source.prometheus_locations,
    )


def context_names(source: ClusterSource) -> tuple[str, ...]:
    """The contexts of the kubeconfig the console was started with; () when it cannot be read."""
    paths = kubeconfig_paths(source.kubeconfig)
    if not paths:
        return ()
    try:
        return tuple(sorted(read_kubeconfig(paths).contexts))
    except KcrashError:
        return ()


def namespaces(source: ClusterSource) -> tuple[str, ...]:
    """The cluster's namespaces (kube-* last); () when the user may not list them."""
    return namespace_names(source.api)


def unknown_name(kind: str, name: str, choices: tuple[str, ...]) -> str:
    """`no namespace "x"; choose one of: a, b, c (+4 more)` — one line."""
    if not choices:
        return f'no {kind} "{clean_line(name)}" could be checked: the list of {kind}s cannot be read'
    shown = ", ".join(clean_line(c) for c in choices[:SHOWN_CHOICES])
    more = f" (+{len(choices) - SHOWN_CHOICES} more)" if len(choices) > SHOWN_CHOICES else ""
    return f'no {kind} "{clean_line(name)}"; choose one of: {shown}{more}'
