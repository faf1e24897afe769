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
import ssl
import tempfile
import time
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
    token = TokenSource(context, user_body, user.source if user else "")
    token.read()  # a token file that cannot be read is said now, not at the first request
    pool = _pool(context, server, cluster, user)
    return DirectTransport(server, pool, token.headers)


CREDENTIAL_KEYS = ("token", "tokenFile", "username", "password", "auth-provider", "exec")


def refuse_plain_http(context: str, cluster: Entry | None, user: Entry | None) -> None:
    """Credentials never go over plain http (kubectl leaves them out): say which field would leak."""
    if cluster is None or user is None or not str(cluster.body.get("server") or "").startswith("http:"):
        return
    field = next((key for key in CREDENTIAL_KEYS if user.body.get(key)), "")
    if field:
        raise KcrashError(
            f'context "{context}" would send its user\'s `{field}` over plain http '
            f"({cluster.body['server']}): make the cluster's `server` https:// or remove `{field}` "
            "from the user in your kubeconfig"
        )


def check_tls_material(context: str, cluster: Entry | None, user: Entry | None) -> None:
    """Inline CA, client certificate and key data that do not load, named by their field, whichever
    loader then uses them: at the TLS handshake they would read as a network failure."""
    if cluster is not None and cluster.body.get("certificate-authority-data"):
        field = "certificate-authority-data"
        _check_ca(context, field, _decoded(context, field, cluster.body[field]).decode("ascii", "replace"))
    if user is not None and user.body.get("client-certificate-data") and user.body.get("client-key-data"):
        cert = _material(context, user, "client-certificate")
        key = _material(context, user, "client-key")
        if cert is not None and key is not None:
            _check_pair(context, user, cert, key)


TOKEN_FILE_TTL = 60.0
"""How long a token file's content is trusted before it is read again (client-go's token source
re-reads it every minute, so a rotated projected token is picked up without a restart)."""


class TokenSource:
    """The bearer token of a kubeconfig user: inline, or from a file read again every minute."""

    def __init__(self, context: str, body: Mapping[str, Any], source: str) -> None:
        self._context = context
        self._inline = str(body.get("token") or "").strip()
        self._file = (
            _resolve(source, str(body["tokenFile"])) if body.get("tokenFile") and not self._inline else ""
        )
        self._token = self._inline
        self._read_at: float | None = None

    def read(self) -> str:
        if not self._file:
            return self._token
        now = time.monotonic()
        if self._read_at is None or now - self._read_at >= TOKEN_FILE_TTL:
            self._token = _read_token_file(self._context, self._file)
            self._read_at = now
        return self._token

    def headers(self) -> dict[str, str]:
        token = self.read()
        return {"Authorization": f"Bearer {token}"} if token else {}


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
        text = pem.decode("ascii", "replace")
        _check_ca(context, "certificate-authority-data", text)
        return {"cert_reqs": "CERT_REQUIRED", "ca_cert_data": text}
    if body.get("certificate-authority"):
        path = _file(context, cluster, "certificate-authority")
        try:
            with open(path, encoding="ascii", errors="replace") as handle:
                _check_ca(context, "certificate-authority", handle.read())
        except OSError as exc:
            raise KcrashError(
                f'cannot read certificate-authority of context "{context}" ({path}): {exc.strerror}'
            ) from None
        return {"cert_reqs": "CERT_REQUIRED", "ca_certs": path}
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
    _check_pair(context, user, cert, key)
    return {"cert_file": cert, "key_file": key}


def _check_ca(context: str, field: str, pem: str) -> None:
    """A CA that does not load is the kubeconfig's fault, said now: the TLS handshake would call
    it a network failure."""
    try:
        ssl.create_default_context(cadata=pem)
    except (ssl.SSLError, ValueError):
        raise KcrashError(
            f'{field} of context "{context}" is not a PEM certificate: copy it again from the '
            "cluster's kubeconfig (base64 of the CA's PEM)"
        ) from None


def _check_pair(context: str, user: Entry, cert: str, key: str) -> None:
    try:
        ssl.create_default_context().load_cert_chain(cert, key)
    except (ssl.SSLError, ValueError):
        fields = "/".join(
            f
            for f in ("client-certificate-data", "client-key-data", "client-certificate", "client-key")
            if user.body.get(f)
        )
        raise KcrashError(
            f'{fields} of context "{context}" is not a PEM certificate and its matching key: '
            "copy them again from the cluster's kubeconfig"
        ) from None


def _material(context: str, user: Entry, field: str) -> str | None:
    """The path of a client certificate or key: the file named, or the data written to a private file."""
    if user.body.get(f"{field}-data"):
        return _private_file(_decoded(context, f"{field}-data", user.body[f"{field}-data"]))
    if user.body.get(field):
        return _file(context, user, field)
    return None


def _read_token_file(context: str, path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as exc:
        raise KcrashError(
            f'cannot read the token file of context "{context}" ({path}): {exc.strerror}; '
            "fix tokenFile in your kubeconfig"
        ) from None


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
