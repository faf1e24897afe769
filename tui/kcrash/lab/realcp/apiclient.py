"""A small JSON client for the real kube-apiserver: bearer token, the cluster CA, no proxies.

The lab imports no Kubernetes client library, so the node side speaks HTTP itself: one request at a
time per call (`request`), and watches as a line-per-event stream (`watch`).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
WATCH_SECONDS = 300


class ApiFailure(Exception):
    """The apiserver answered with an error status, or could not be reached."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status


@dataclass(frozen=True)
class ApiClient:
    url: str
    token: str
    ca_pem: bytes

    def _opener(self) -> urllib.request.OpenerDirector:
        context = ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))
        return urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = JSON,
        query: dict[str, str] | None = None,
        timeout: float = 15.0,
    ) -> Obj:
        """Send one request; the decoded JSON answer, or ApiFailure with the Status message."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            self._address(path, query), data=data, method=method, headers=self._headers(content_type)
        )
        try:
            with self._opener().open(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise ApiFailure(error.code, _status_message(error.read())) from None
        except OSError as error:
            raise ApiFailure(0, str(getattr(error, "reason", error))) from None
        return json.loads(raw) if raw else {}

    def watch(self, path: str, resource_version: str) -> Iterator[Obj]:
        """Watch events ({type, object}) from `resource_version` until the server ends the stream."""
        query = {
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(WATCH_SECONDS),
        }
        request = urllib.request.Request(self._address(path, query), headers=self._headers(JSON))
        try:
            response = self._opener().open(request, timeout=WATCH_SECONDS + 30)
        except urllib.error.HTTPError as error:
            raise ApiFailure(error.code, _status_message(error.read())) from None
        except OSError as error:
            raise ApiFailure(0, str(getattr(error, "reason", error))) from None
        with response:
            for line in response:
                if line.strip():
                    yield json.loads(line)

    def _address(self, path: str, query: dict[str, str] | None) -> str:
        suffix = "?" + urllib.parse.urlencode(query) if query else ""
        return f"{self.url}{path}{suffix}"

    def _headers(self, content_type: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": content_type,
            "Accept": JSON,
            "User-Agent": "kcrash-lab-kubelet",
        }


def _status_message(raw: bytes) -> str:
    try:
        status = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")[:300]
    if isinstance(status, dict):
        return str(status.get("message") or status.get("reason") or "")
    return ""
