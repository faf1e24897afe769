"""How a request reaches the API server: a urllib3 pool, the credentials' headers, and HTTP errors
as `HttpError`, whichever way the credentials were loaded.

- `DirectTransport` serves kubeconfig users with static credentials (a bearer token or token file, a
  client certificate): the admin, kind, k3s, kubeadm and service-account kubeconfigs. kcrash reads
  those itself (`credentials.py`) and never imports the `kubernetes` package, whose loader alone
  costs ~0.3 s of interpreter time at launch: a third of the budget for a 1,000-pod table.
- `ClientTransport` serves everything else (exec plugins, OIDC and other auth providers, basic auth,
  impersonation, proxies, in-cluster config) through the `kubernetes` client's loader and
  `ApiClient`, which refresh the credentials before each request as kubectl does.

Both send the same request the same way: one retry on a connection that failed before reaching
the server and none after, TCP keepalive for long watches, and the raw, unread urllib3 response
back to the caller. Answers the server gave (429, 5xx) are retried above, in `retry.py`.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import orjson
import urllib3
from urllib3.connection import HTTPConnection
from urllib3.util.retry import Retry

Timeout = tuple[float, float]  # (connect, read) seconds
Query = Sequence[tuple[str, str]]
USER_AGENT = "kcrash/0.1"


class HttpError(Exception):
    """The server answered with a status outside 2xx; `body` is its (unread-by-anyone-else) answer."""

    def __init__(
        self, status: int, reason: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.body = body
        self.headers = dict(headers or {})


class Transport(Protocol):
    """Sends one request; returns the unread response of a 2xx answer, raises HttpError otherwise
    (and urllib3/OS errors when no answer came)."""

    server: str

    def request(
        self, method: str, path: str, query: Query, headers: dict[str, str], body: Any, timeout: Timeout
    ) -> Any: ...


def retries() -> Retry:
    """One retry on a refused or failed connection, never on a request that reached the server.
    A status the server answered (429 with Retry-After among them) comes back as it is: `retry.py`
    decides what is sent again. Left to urllib3, a 429 became "too many 429 error responses", a
    connection failure."""
    return Retry(total=1, connect=1, read=0, status=0, redirect=0, other=0, respect_retry_after_header=False)


def _keepalive_options(idle: int = 30, interval: int = 15, count: int = 9) -> list[tuple[int, int, int]]:
    """TCP keepalive as client-go asks for it (probe after 30 s idle, drop after 9 missed probes
    15 s apart), so long watches through idle proxies and load balancers stay up, or fail fast."""
    options = [*HTTPConnection.default_socket_options, (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval), ("TCP_KEEPCNT", count)):
        if hasattr(socket, name):  # not every platform names them all
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    return options


KEEPALIVE_OPTIONS = _keepalive_options()


class DirectTransport:
    """Requests through a urllib3 pool of kcrash's own, for credentials that never change."""

    def __init__(self, server: str, pool: urllib3.PoolManager, headers: Callable[[], dict[str, str]]) -> None:
        self.server = server.rstrip("/")
        self._pool = pool
        self._headers = headers

    def request(
        self, method: str, path: str, query: Query, headers: dict[str, str], body: Any, timeout: Timeout
    ) -> Any:
        url = self.server + path
        if query:
            url += "?" + urlencode(query, quote_via=quote)
        sent = {"User-Agent": USER_AGENT, **self._headers(), **headers}
        payload = None if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))
        response = self._pool.request(
            method,
            url,
            body=payload,
            headers=sent,
            timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
            preload_content=False,
            redirect=False,
        )
        if not 200 <= response.status <= 299:
            answer = response.read()
            response.release_conn()
            raise HttpError(response.status, response.reason or "", answer, dict(response.headers))
        return response


class ClientTransport:
    """Requests through the `kubernetes` client's ApiClient (its auth refresh, TLS and proxies)."""

    def __init__(self, api_client: Any) -> None:
        self.client = api_client
        self.server = str(api_client.configuration.host).rstrip("/")

    def request(
        self, method: str, path: str, query: Query, headers: dict[str, str], body: Any, timeout: Timeout
    ) -> Any:
        from kubernetes.client.exceptions import ApiException

        client = self.client
        serialized = client.param_serialize(
            method,
            path,
            query_params=list(query),
            header_params=dict(headers),
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = client.call_api(*serialized, _request_timeout=timeout)
        except ApiException as exc:  # raised for errors found before a response object exists
            raise _from_api_exception(exc) from None
        if not 200 <= response.status <= 299:
            answer = response.read()
            raise HttpError(
                response.status, response.reason or "", bytes(answer or b""), dict(response.headers or {})
            )
        return response.response


def _from_api_exception(exc: Any) -> HttpError:
    body = exc.body
    data = body if isinstance(body, bytes) else str(body or "").encode()
    return HttpError(int(exc.status or 0), str(exc.reason or ""), data, dict(exc.headers or {}))
