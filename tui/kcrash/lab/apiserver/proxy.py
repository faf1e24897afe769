"""The API server's service proxy, as far as the lab needs it: Services that forward to loopback.

`/api/v1/namespaces/{ns}/services/[{scheme}:]{name}:{port}/proxy/{path}` is how a client reaches
a Service without a route of its own (kubectl proxy, `kubectl get --raw`, kcrash finding
Prometheus). The lab has no Services; `--prometheus-target HOST:PORT` registers one
(`monitoring/prometheus-k8s:9090` by default) whose proxy forwards to HOST:PORT, so a client can be
tested against a real Prometheus behind the lab. Anything else under a service proxy is a 404 as
kube-apiserver answers for a Service that does not exist; a target that refuses is a 503 with
kube-apiserver's words ("error trying to reach service").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from kcrash.lab import errors

PROXY_PATH = re.compile(
    r"^/api/v1/namespaces/(?P<ns>[^/]+)/services/(?:(?P<scheme>https?):)?(?P<name>[^/:]+)(?::(?P<port>[^/]*))?"
    r"/proxy(?P<rest>/.*)?$"
)
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}
TIMEOUT = aiohttp.ClientTimeout(total=60)


@dataclass(frozen=True, slots=True)
class ServiceTarget:
    """A Service `namespace/name` whose port `port` forwards to `address` (host:port, plain http)."""

    namespace: str
    name: str
    port: str
    address: str


@dataclass(frozen=True, slots=True)
class ProxyRequest:
    namespace: str
    name: str
    port: str
    rest: str


def parse_proxy_path(path: str) -> ProxyRequest | None:
    match = PROXY_PATH.match(path)
    if match is None:
        return None
    return ProxyRequest(match["ns"], match["name"], match["port"] or "", match["rest"] or "/")


def find_target(targets: list[ServiceTarget], request: ProxyRequest) -> ServiceTarget:
    for target in targets:
        if (target.namespace, target.name) != (request.namespace, request.name):
            continue
        if request.port and request.port != target.port:
            raise errors.service_unavailable(f'no endpoints available for service "{request.name}"')
        return target
    raise errors.not_found("services", "", request.name)


async def forward(target: ServiceTarget, request: web.Request, rest: str) -> web.Response:
    """Send the request on to the target and hand its answer back as it came."""
    url = f"http://{target.address}{rest}"
    body = await request.read()
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT, auto_decompress=True) as client,
            client.request(request.method, url, params=request.query, data=body or None) as answer,
        ):
            content = await answer.read()
            headers = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
            return web.Response(body=content, status=answer.status, headers=headers)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise errors.service_unavailable(
            f"error trying to reach service: dial tcp {target.address}: {exc}"
        ) from None
