"""The paths outside the resource API: health and version, discovery (plain and aggregated) and
the OpenAPI documents, `/metrics` (the simulated containers' series), and the service proxy.
"""

from __future__ import annotations

from aiohttp import web

from kcrash.lab import discovery, errors, openapi
from kcrash.lab.apiserver.base import USER, ServerBase
from kcrash.lab.apiserver.encoding import dumps
from kcrash.lab.apiserver.proxy import find_target, forward, parse_proxy_path
from kcrash.lab.apiserver.requests import JSON, wants_aggregated_discovery
from kcrash.lab.store import Obj

VERSION = {
    "major": "1",
    "minor": "34",
    "gitVersion": "v1.34.0+kcrash-lab",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.24.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
OPEN_PATHS = ("/healthz", "/livez", "/readyz", "/version")


def is_open_path(path: str) -> bool:
    """Health and version: answered without credentials."""
    return path in OPEN_PATHS or path.startswith(("/healthz/", "/livez/", "/readyz/"))


class EndpointsMixin(ServerBase):
    """Everything but the resources: health, version, discovery, OpenAPI, metrics, service proxy."""

    async def _outside_api(self, request: web.Request, path: str) -> web.StreamResponse | None:
        """The answer for an authenticated request outside the resource API; None if it is not one."""
        if path == "/metrics" and request.method == "GET" and self.metrics_text is not None:
            return web.Response(text=self.metrics_text(), content_type="text/plain", charset="utf-8")
        proxied = parse_proxy_path(request.path)
        if proxied is not None:
            if self.faults.is_denied("get", "services", "proxy"):
                raise errors.forbidden(USER, "get", "services", "", proxied.namespace, proxied.name, "proxy")
            return await forward(find_target(self.services, proxied), request, proxied.rest)
        if request.method == "GET":
            return self._discovery(path, request.headers.get("Accept", ""))
        return None

    def _open_endpoint(self, path: str) -> web.Response:
        if path == "/version":
            return web.Response(body=dumps(VERSION), headers={"Content-Type": JSON})
        return web.Response(text="ok", content_type="text/plain")

    def _discovery(self, path: str, accept: str) -> web.Response | None:
        if path.startswith(openapi.PREFIX):
            spec = openapi.document(path)
            return self._json_body(dumps(spec)) if spec is not None else None
        aggregated = wants_aggregated_discovery(accept)
        if path == "/api":
            if aggregated:
                return self._aggregated(discovery.aggregated_core())
            return self._json_body(dumps(discovery.api_versions(self.address)))
        if path == "/apis":
            if aggregated:
                return self._aggregated(discovery.aggregated_groups())
            return self._json_body(dumps(discovery.api_group_list()))
        parts = [p for p in path.split("/") if p]
        if parts == ["api", "v1"]:
            return self._json_body(dumps(discovery.api_resource_list("", "v1")))
        if len(parts) == 2 and parts[0] == "apis":
            group = discovery.api_group(parts[1])
            return self._json_body(dumps(group)) if group else None
        if len(parts) == 3 and parts[0] == "apis" and discovery.serves_group_version(parts[1], parts[2]):
            return self._json_body(dumps(discovery.api_resource_list(parts[1], parts[2])))
        return None

    def _aggregated(self, document: Obj) -> web.Response:
        headers = {"Content-Type": discovery.AGGREGATED_V2, "Vary": "Accept"}
        return web.Response(body=dumps(document), headers=headers)
