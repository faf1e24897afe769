"""Which cluster, as whom, in which namespace: kubeconfig and in-cluster config.

Static credentials (a token, a token file, a client certificate) are read by kcrash itself
(`credentials.py`) and sent through a transport of its own, without importing the `kubernetes`
package; everything else (exec plugins, OIDC, auth providers, proxies, in-cluster config) goes
through the `kubernetes` client's loader. This module reads the kubeconfig once, merging the files
like kubectl, and gives one-line answers when something is wrong: a missing file, bad YAML, an
unknown context (with the known ones listed). `connect` then asks the server for its version and
lists one pod, so an unreachable server, a 401 or a 403 is reported before any screen opens.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kcrash.cluster.credentials import Entry, check_tls_material, direct_transport, refuse_plain_http
from kcrash.cluster.errors import (
    TRANSPORT_ERRORS,
    KcrashError,
    from_http_error,
    from_transport_error,
)
from kcrash.cluster.retry import Retrier, is_read
from kcrash.cluster.transport import (
    KEEPALIVE_OPTIONS,
    USER_AGENT,
    ClientTransport,
    HttpError,
    Query,
    Transport,
    retries,
)

DEFAULT_KUBECONFIG = "~/.kube/config"
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
PROBE_TIMEOUT = (5.0, 10.0)  # (connect, read) seconds for the startup checks


@dataclass(frozen=True, slots=True)
class Renewal:
    """How to read a connection's credentials again: the kubeconfig files, and a fresh transport
    for the same context built from what they say now."""

    paths: tuple[str, ...]
    rebuild: Callable[[], Transport]

    def stamp(self) -> tuple[tuple[str, int, int], ...]:
        """What changes when a file is rewritten: each file's modification time and size."""
        found = []
        for path in self.paths:
            try:
                info = os.stat(path)
            except OSError:
                found.append((path, -1, -1))
                continue
            found.append((path, info.st_mtime_ns, info.st_size))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class Connection:
    """An authenticated client for one context, and the namespace scope the user asked for."""

    transport: Transport
    context: str
    server: str
    namespace: str | None  # None: all namespaces
    user: str = ""
    in_cluster: bool = False
    retrier: Retrier = field(default_factory=Retrier, compare=False)
    renewal: Renewal | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class KubeconfigContext:
    """What the kubeconfig says about the chosen context."""

    path: str  # the file list as given (may hold several, separated like $KUBECONFIG)
    name: str
    namespace: str
    user: str
    cluster: str = ""


@dataclass(frozen=True, slots=True)
class Kubeconfig:
    """The kubeconfig files merged like kubectl does: the first file to name an entry wins."""

    paths: list[str]
    current: str = ""
    contexts: dict[str, Entry] = field(default_factory=dict)
    clusters: dict[str, Entry] = field(default_factory=dict)
    users: dict[str, Entry] = field(default_factory=dict)


def connect(
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    all_namespaces: bool,
    *,
    check: bool = True,
    via_client: bool = False,
) -> Connection:
    """Load credentials, pick the namespace scope, and (with `check`) prove the server answers.
    `via_client` sends even static credentials through the `kubernetes` client's loader."""
    conn = _load(kubeconfig, context, namespace, all_namespaces, via_client)
    if check:
        check_connection(conn)
    return conn


def _load(
    kubeconfig: str | None, context: str | None, namespace: str | None, all_namespaces: bool, via_client: bool
) -> Connection:
    paths = kubeconfig_paths(kubeconfig)
    if not paths and kubeconfig is None and context is None and _in_cluster_available():
        return _in_cluster(namespace, all_namespaces)
    if not paths:
        raise KcrashError(_no_kubeconfig_message(kubeconfig))
    transport, chosen = _transport(paths, context, via_client)
    scope = None if all_namespaces else (namespace or chosen.namespace or "default")

    def rebuild() -> Transport:
        return _transport(paths, chosen.name, via_client)[0]

    return Connection(
        transport=transport,
        context=chosen.name,
        server=transport.server,
        namespace=scope,
        user=chosen.user,
        renewal=Renewal(tuple(paths), rebuild),
    )


def _transport(
    paths: list[str], context: str | None, via_client: bool
) -> tuple[Transport, KubeconfigContext]:
    """Read the kubeconfig files now and build a transport for the context's credentials."""
    config = read_kubeconfig(paths)
    chosen = pick_context(config, context)
    cluster, user = config.clusters.get(chosen.cluster), config.users.get(chosen.user)
    refuse_plain_http(chosen.name, cluster, user)
    check_tls_material(chosen.name, cluster, user)
    transport: Transport | None = None
    if not via_client:
        transport = direct_transport(chosen.name, cluster, user)
    if transport is None:
        transport = _client_transport(paths, chosen)
    return transport, chosen


def _client_transport(paths: list[str], chosen: KubeconfigContext) -> Transport:
    """Credentials the `kubernetes` client's loader resolves: exec plugins, OIDC, proxies..."""
    from kubernetes import config as k8s_config

    configuration = _client_configuration()
    with _captured_client_errors() as errors:
        try:
            k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=os.pathsep.join(paths),
                context=chosen.name,
                client_configuration=configuration,
                persist_config=False,
            )
        except Exception as exc:  # the loader raises many kinds for one broken file
            raise KcrashError(
                f'cannot use context "{chosen.name}" from {_show(paths)}: {exc}; '
                "fix the kubeconfig or pick another context with --context"
            ) from exc
    if errors:
        raise KcrashError(
            f'the credentials plugin of context "{chosen.name}" failed: {errors[0]}; '
            "run it by hand (or log in again) and retry"
        )
    return ClientTransport(_api_client(configuration))


def kubeconfig_paths(kubeconfig: str | None) -> list[str]:
    """The kubeconfig files to merge, as kubectl finds them: --kubeconfig, $KUBECONFIG, ~/.kube/config."""
    if kubeconfig:
        path = os.path.expanduser(kubeconfig)
        if not os.path.isfile(path):
            raise KcrashError(
                f"kubeconfig {kubeconfig} does not exist: pass an existing file with --kubeconfig"
            )
        return [path]
    env = os.environ.get("KUBECONFIG", "")
    if env:
        found = [os.path.expanduser(p) for p in env.split(os.pathsep) if p]
        return [p for p in found if os.path.isfile(p)]
    default = os.path.expanduser(DEFAULT_KUBECONFIG)
    return [default] if os.path.isfile(default) else []


def read_kubeconfig(paths: list[str]) -> Kubeconfig:
    """Read and merge the files; each entry remembers its file (relative paths are resolved there)."""
    config = Kubeconfig(paths=paths)
    current = ""
    for path in paths:
        doc = _read_yaml(path)
        for key, merged, inner in (
            ("contexts", config.contexts, "context"),
            ("clusters", config.clusters, "cluster"),
            ("users", config.users, "user"),
        ):
            for entry in _named_entries(doc, key, path):
                merged.setdefault(str(entry["name"]), Entry(entry.get(inner) or {}, path))
        current = current or str(doc.get("current-context") or "")
    return Kubeconfig(paths, current, config.contexts, config.clusters, config.users)


def choose_context(paths: list[str], wanted: str | None) -> KubeconfigContext:
    """Merge the files like kubectl (first one wins per name) and find the context to use."""
    return pick_context(read_kubeconfig(paths), wanted)


def pick_context(config: Kubeconfig, wanted: str | None) -> KubeconfigContext:
    """The context to use: `wanted`, or the current one; a one-line error naming the known ones."""
    paths, contexts = config.paths, config.contexts
    known = ", ".join(sorted(contexts)) or "none"
    name = wanted or config.current
    if not contexts:
        raise KcrashError(
            f"kubeconfig {_show(paths)} has no contexts: add one with `kubectl config set-context`"
        )
    if not name:
        raise KcrashError(
            f"kubeconfig {_show(paths)} has no current-context: pick one with --context (known: {known})"
        )
    if name not in contexts:
        raise KcrashError(
            f'context "{name}" not found in {_show(paths)}; known contexts: {known} (pick one with --context)'
        )
    body = contexts[name].body
    return KubeconfigContext(
        path=os.pathsep.join(paths),
        name=name,
        namespace=str(body.get("namespace") or ""),
        user=str(body.get("user") or ""),
        cluster=str(body.get("cluster") or ""),
    )


def check_connection(conn: Connection) -> None:
    """GET /version (reachable? credentials accepted?) then list one pod (allowed?)."""
    transport, retrier = conn.transport, conn.retrier
    path = f"/api/v1/namespaces/{conn.namespace}/pods" if conn.namespace else "/api/v1/pods"
    accept = {"Accept": "application/json"}
    try:
        probes: tuple[tuple[str, Query], ...] = (("/version", ()), (path, (("limit", "1"),)))
        for probe, query in probes:

            def request(probe: str = probe, query: Query = query) -> Any:
                return transport.request("GET", probe, query, accept, None, PROBE_TIMEOUT)

            _finish(retrier.run("connect", request, read=is_read("GET", probe)))
    except HttpError as exc:
        scope = f'in namespace "{conn.namespace}"' if conn.namespace else "in all namespaces"
        raise from_http_error(exc, f"list pods {scope}", conn.server) from None
    except TRANSPORT_ERRORS as exc:
        raise from_transport_error(exc, "connect", conn.server) from None


def _finish(response: Any) -> None:
    """Read the body before the connection goes back to the pool, or the next request breaks."""
    response.read()
    response.release_conn()


def _client_configuration() -> Any:
    from kubernetes import client as k8s

    configuration = k8s.Configuration()
    configuration.retries = retries()  # see transport.retries: writes go out exactly once
    configuration.socket_options = KEEPALIVE_OPTIONS
    return configuration


def _api_client(configuration: Any) -> Any:
    from kubernetes import client as k8s

    api = k8s.ApiClient(configuration=configuration)
    api.user_agent = USER_AGENT
    return api


def _in_cluster_available() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.isfile(
        "/var/run/secrets/kubernetes.io/serviceaccount/token"
    )


def _in_cluster(namespace: str | None, all_namespaces: bool) -> Connection:
    from kubernetes import config as k8s_config

    configuration = _client_configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except k8s_config.ConfigException as exc:
        raise KcrashError(f"in-cluster configuration is unusable: {exc}; pass --kubeconfig") from exc
    home = "default"
    if SERVICE_ACCOUNT_NAMESPACE.is_file():
        home = SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "default"
    transport = ClientTransport(_api_client(configuration))
    return Connection(
        transport=transport,
        context="in-cluster",
        server=transport.server,
        namespace=None if all_namespaces else (namespace or home),
        user="serviceaccount",
        in_cluster=True,
    )


def _read_yaml(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            doc = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise KcrashError(
            f"kubeconfig {path} is not valid YAML{where}: fix it or pass another file with --kubeconfig"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KcrashError(f"cannot read kubeconfig {path}: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise KcrashError(f"kubeconfig {path} is not a kubeconfig (expected a mapping with contexts)")
    return doc


def _named_entries(doc: dict[str, Any], key: str, path: str) -> Iterator[dict[str, Any]]:
    entries = doc.get(key) or []
    if not isinstance(entries, list):
        raise KcrashError(f"kubeconfig {path}: `{key}` must be a list")
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name"):
            yield entry


def _no_kubeconfig_message(kubeconfig: str | None) -> str:
    if os.environ.get("KUBECONFIG"):
        return (
            f"none of the files in KUBECONFIG ({os.environ['KUBECONFIG']}) exist: "
            "fix KUBECONFIG or pass --kubeconfig"
        )
    return f"no kubeconfig found at {DEFAULT_KUBECONFIG}: set KUBECONFIG or pass --kubeconfig FILE"


def _show(paths: list[str]) -> str:
    return os.pathsep.join(paths)


@contextmanager
def _captured_client_errors() -> Iterator[list[str]]:
    """Collect what the client's loader logs at ERROR (a failing exec plugin) instead of printing it."""
    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    root = logging.getLogger()
    handler = _Collect(level=logging.ERROR)
    root.addHandler(handler)
    try:
        yield messages
    finally:
        root.removeHandler(handler)
