"""The API server as one aiohttp application (`ApiServer`): a catch-all route that parses the URL the
way kube-apiserver lays it out, then authentication (bearer token), fault injection, authorization
(the Faults deny rules), and the verb, handed to the part that serves it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiohttp import web

from kcrash.lab import discovery, errors
from kcrash.lab.apiserver.access import AccessReviewMixin
from kcrash.lab.apiserver.base import USER, LogSource, ServerOptions
from kcrash.lab.apiserver.deletes import DeletesMixin
from kcrash.lab.apiserver.encoding import dumps
from kcrash.lab.apiserver.endpoints import EndpointsMixin, is_open_path
from kcrash.lab.apiserver.lists import ListsMixin
from kcrash.lab.apiserver.logs import LogsMixin
from kcrash.lab.apiserver.requests import JSON, Query, Target, parse_target, resolve, verb_of
from kcrash.lab.apiserver.watch import WatchStream
from kcrash.lab.apiserver.writes import WritesMixin
from kcrash.lab.clock import SimClock
from kcrash.lab.errors import ApiError
from kcrash.lab.faults import Faults
from kcrash.lab.store import Store


class ApiServer(ListsMixin, WritesMixin, DeletesMixin, LogsMixin, AccessReviewMixin, EndpointsMixin):
    """The aiohttp application serving the Store."""

    def __init__(
        self,
        store: Store,
        clock: SimClock,
        logs: LogSource,
        faults: Faults,
        token: str,
        *,
        live: Callable[[], bool],
        options: ServerOptions | None = None,
        allow_anonymous: bool = False,
    ) -> None:
        super().__init__(
            store, clock, logs, faults, token, live=live, options=options, allow_anonymous=allow_anonymous
        )
        self.app = web.Application(client_max_size=4 * 1024 * 1024)
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        faults.on_drop_watches(self._drop_watches_threadsafe)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.faults.record(
            request.method,
            request.path,
            request.query_string,
            request.headers.get("Content-Type", ""),
            request.headers.get("Accept", ""),
        )
        started = time.monotonic()
        latency = self.faults.latency_ms
        if latency > 0:
            await asyncio.sleep(latency / 1000.0)
        try:
            response = await self._route(request)
        except ApiError as error:
            response = self._status(error)
        agent = request.headers.get("User-Agent", "")
        elapsed = time.monotonic() - started
        self.faults.answered(
            request.method, request.path, request.query_string, response.status, agent, elapsed
        )
        return response

    def _status(self, error: ApiError) -> web.Response:
        headers = {"Content-Type": JSON, **error.headers}
        return web.Response(body=dumps(error.status()), status=error.code, headers=headers)

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if is_open_path(path):
            return self._open_endpoint(path)
        self._authenticate(request)
        answer = await self._outside_api(request, path)
        if answer is not None:
            return answer
        parsed = parse_target(path)
        if parsed is None or not discovery.serves_group_version(parsed[0], parsed[1]):
            raise errors.page_not_found()
        target = resolve(*parsed)
        query = Query(request.query)
        verb = verb_of(request.method, target, query)
        self._check_verb(target, verb)
        self._authorize(target, verb)
        self._inject_fault()
        return await self._serve(request, target, verb, query)

    def _authenticate(self, request: web.Request) -> None:
        """A wrong or malformed credential is 401; no credential at all is 401 too, unless allowed.

        kubectl (client-go's clientcmd) never sends a token over plain http, so a lab served over
        http takes credential-less requests as the lab user (`allow_anonymous`); over https it does not.
        """
        header = request.headers.get("Authorization", "").strip()
        if not header:
            if self.allow_anonymous:
                return
            raise errors.unauthorized()
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or credential.strip() != self.token:
            raise errors.unauthorized()

    def _check_verb(self, target: Target, verb: str) -> None:
        if target.subresource:
            sub = target.info.subresource(target.subresource)
            if sub is None or verb not in sub.verbs:
                raise errors.method_not_allowed()
            return
        if not target.info.allows(verb):
            raise errors.method_not_allowed()

    def _authorize(self, target: Target, verb: str) -> None:
        info = target.info
        if self.faults.is_denied(verb, info.name, target.subresource, info.group):
            raise errors.forbidden(
                USER, verb, info.name, info.group, target.namespace, target.name, target.subresource
            )

    def _inject_fault(self) -> None:
        picked = self.faults.pick_error()
        if picked is None:
            return
        status, retry_after = picked
        if status == 429:
            raise errors.too_many_requests(retry_after)
        if status == 503:
            raise errors.service_unavailable("the server is currently unable to handle the request")
        raise errors.internal("injected fault")

    async def _serve(
        self, request: web.Request, target: Target, verb: str, query: Query
    ) -> web.StreamResponse:
        if verb == "watch":
            return await self._watch(request, target, query)
        if verb == "list":
            return self._list(request, target, query)
        if target.subresource == "log":
            return await self._logs(request, target, query)
        if target.subresource == "scale":
            return await self._scale(request, target, verb)
        if verb == "get":
            return self._get(request, target)
        if verb == "delete":
            return await self._delete(request, target, query)
        if verb == "patch":
            return await self._patch(request, target, query)
        if verb == "create" and target.info.name == "selfsubjectaccessreviews":
            return await self._access_review(request)
        if verb == "create" and not target.name:
            return await self._create(request, target)
        raise errors.method_not_allowed()

    async def _watch(self, request: web.Request, target: Target, query: Query) -> web.StreamResponse:
        stream = WatchStream(self, request, target, query)
        return await stream.run()
