"""Static kubeconfig credentials read by kcrash itself: a bearer token (inline or from a file) or a
client certificate, a CA, `insecure-skip-tls-verify` and `tls-server-name`.

Anything else a kubeconfig can ask for (an exec plugin, an auth provider, basic auth, impersonation,
a proxy, an unknown field) makes `direct_transport` answer None, and the `kubernetes` client's own
loader takes over (`config.py`). Relative file paths are resolved against the folder of the
kubeconfig file that names them, as kubectl does. Certificate data is written to private temporary
files because Python's TLS loads client certificates from files only; they go when kcrash exits.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import urllib3

from kcrash.cluster.errors import KcrashError
from kcrash.cluster.transport import KEEPALIVE_OPTIONS, DirectTransport, retries

CLUSTER_KEYS = frozenset(
    {
        "server",
        "certificate-authority",
        "certificate-authority-data",
        "insecure-skip-tls-verify",
        "tls-server-name",
        "disable-compression",
        "extensions",
    }
)
USER_KEYS = frozenset(
    {
        "token",
        "tokenFile",
        "client-certificate",
        "client-key",
        "client-certificate-data",
        "client-key-data",
        "extensions",
    }
)
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
MAX_POOLS = 4  # pools by host: there is one server
CONNECTIONS = 16
"""Connections kept open to the server: the WATCH holds one, and the drill-down's reads (or
`diagnose`'s) run side by side; with urllib3's default of one, each of those opened a new TLS
connection and dropped it after."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A named kubeconfig entry's body and the file it came from."""

    body: Mapping[str, Any]
    source: str


def direct_transport(context: str, cluster: Entry | None, user: Entry | None) -> DirectTransport | None:
    """A transport for static credentials, or None when the `kubernetes` loader must handle them."""
    if cluster is None or not _plain(cluster.body, CLUSTER_KEYS) or not cluster.body.get("server"):
        return None
    user_body: Mapping[str, Any] = user.body if user is not None else {}
    if not _plain(user_body, USER_KEYS) or any(os.environ.get(name) for name in PROXY_VARIABLES):
        return None
    server = str(cluster.body["server"])
    token = _token(context, user_body, user.source if user else "")
    pool = _pool(context, server, cluster, user)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return DirectTransport(server, pool, lambda: headers)


def _plain(body: Mapping[str, Any], known: frozenset[str]) -> bool:
    return isinstance(body, Mapping) and set(body) <= known


def _pool(context: str, server: str, cluster: Entry, user: Entry | None) -> urllib3.PoolManager:
    body = cluster.body
    options: dict[str, Any] = {
        "num_pools": MAX_POOLS,
        "retries": retries(),
        "socket_options": KEEPALIVE_OPTIONS,
    }
    if server.startswith("https:"):
        options.update(_verification(context, cluster))
        if user is not None:
            options.update(_client_certificate(context, user))
        if body.get("tls-server-name"):
            options["server_hostname"] = str(body["tls-server-name"])
    return urllib3.PoolManager(**options)


def _verification(context: str, cluster: Entry) -> dict[str, Any]:
    body = cluster.body
    if body.get("insecure-skip-tls-verify") is True:
        # Asked for in the kubeconfig; urllib3's per-request warning would land on the screen.
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        return {"cert_reqs": "CERT_NONE", "assert_hostname": False}
    if body.get("certificate-authority-data"):
        pem = _decoded(context, "certificate-authority-data", body["certificate-authority-data"])
        return {"cert_reqs": "CERT_REQUIRED", "ca_cert_data": pem.decode("ascii", "replace")}
    if body.get("certificate-authority"):
        return {"cert_reqs": "CERT_REQUIRED", "ca_certs": _file(context, cluster, "certificate-authority")}
    return {"cert_reqs": "CERT_REQUIRED"}  # the system's trust store


def _client_certificate(context: str, user: Entry) -> dict[str, Any]:
    cert = _material(context, user, "client-certificate")
    key = _material(context, user, "client-key")
    if cert is None and key is None:
        return {}
    if cert is None or key is None:
        raise KcrashError(
            f'user of context "{context}" has a client certificate without its key (or a key without '
            "its certificate): fix the user in your kubeconfig"
        )
    return {"cert_file": cert, "key_file": key}


def _material(context: str, user: Entry, field: str) -> str | None:
    """The path of a client certificate or key: the file named, or the data written to a private file."""
    if user.body.get(f"{field}-data"):
        return _private_file(_decoded(context, f"{field}-data", user.body[f"{field}-data"]))
    if user.body.get(field):
        return _file(context, user, field)
    return None


def _token(context: str, body: Mapping[str, Any], source: str) -> str:
    if body.get("token"):
        return str(body["token"]).strip()
    if body.get("tokenFile"):
        path = _resolve(source, str(body["tokenFile"]))
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as exc:
            raise KcrashError(
                f'cannot read the token file of context "{context}" ({path}): {exc.strerror}; '
                "fix tokenFile in your kubeconfig"
            ) from None
    return ""


def _file(context: str, entry: Entry, field: str) -> str:
    path = _resolve(entry.source, str(entry.body[field]))
    if not os.path.isfile(path):
        raise KcrashError(f'{field} of context "{context}" does not exist: {path}; fix the kubeconfig')
    return path


def _resolve(source: str, path: str) -> str:
    """A kubeconfig path as kubectl reads it: relative to the folder of the file that names it."""
    path = os.path.expanduser(path)
    if os.path.isabs(path) or not source:
        return path
    return os.path.join(os.path.dirname(os.path.abspath(source)), path)


def _decoded(context: str, field: str, value: Any) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise KcrashError(f'{field} of context "{context}" is not valid base64: fix the kubeconfig') from None


_private_dir: str | None = None


def _private_file(data: bytes) -> str:
    """Write `data` to a file only this user can read, removed when kcrash exits."""
    global _private_dir
    if _private_dir is None:
        _private_dir = tempfile.mkdtemp(prefix="kcrash-")  # mode 0700
        atexit.register(shutil.rmtree, _private_dir, True)
    handle, path = tempfile.mkstemp(dir=_private_dir)  # mode 0600
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return path
