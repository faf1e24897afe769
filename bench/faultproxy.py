"""A fault-injecting HTTPS proxy in front of a real kube-apiserver, for the chaos suite.

The real apiserver has no fault switches, so the suite puts this proxy between kcrash and it, on
loopback: it terminates TLS with a CA of its own (the lab's certificate tooling), forwards every
request to the apiserver over TLS checked against the apiserver's CA, and passes the client's
`Authorization` header through, so the apiserver still authenticates and authorizes each request.

Its switches are named like the lab's (`set_error_rate`, `drop_watches_every`, `expire_every`,
`outage`, `reset`, `log_requests_to`) so a scenario drives either the same way:

- error rate: a fraction of API requests answered with 429 (+ Retry-After), 500 or 503 and a
  `Status` body, as the apiserver words them;
- dropped watches: every open watch stream ended at a chunk boundary, as an apiserver's watch
  timeout or a load balancer's idle cut ends it;
- expired resourceVersions: the next resumed watch answered with the apiserver's own form of 410,
  a 200 whose only event is an ERROR carrying `Expired`;
- outage: the port stops accepting and open connections are cut, then it listens again.

Each upstream request goes on a connection of its own (`Connection: close` upstream), so the proxy
never has to match answers to requests; the client's side stays keep-alive.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from kcrash.lab.faults import verb_of_request
from kcrash.lab.tls import Certificates, make_certificates

HOST = "127.0.0.1"
HEAD_LIMIT = 1 << 20
REASONS = {
    200: "OK",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
MESSAGES = {
    429: ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
    500: ("InternalError", 'an error on the server ("injected") has prevented the request from succeeding'),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
}


@dataclass
class _Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    began: float = field(default_factory=time.monotonic)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query

    @property
    def is_watch(self) -> bool:
        return any(part in ("watch=true", "watch=1") for part in self.query.split("&"))

    def header(self, name: str) -> str:
        return next((value for key, value in self.headers if key.lower() == name), "")


class FaultProxy:
    """`with FaultProxy(upstream_url, upstream_ca_pem) as proxy:` serves https on a free loopback port."""

    def __init__(self, upstream_url: str, upstream_ca_pem: bytes, seed: int = 1) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or HOST, parts.port or 443)
        self._upstream_tls = ssl.create_default_context(cadata=upstream_ca_pem.decode("ascii"))
        self.certificates: Certificates = make_certificates(HOST)
        self._tls = self.certificates.server_context()
        self.port = 0
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._error_rate = 0.0
        self._error_status = 500
        self._retry_after = 1
        self._force_410 = 0
        self._log: TextIO | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._watches: set[asyncio.Task[Any]] = set()
        self._timers: list[asyncio.TimerHandle] = []

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    @property
    def ca_pem(self) -> bytes:
        return self.certificates.ca_pem

    # -- life ------------------------------------------------------------------------------------
    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> FaultProxy:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="fault-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(30) or not self.port:
            raise RuntimeError("the fault proxy did not start")
        return self

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._listen())
            ready.set()
            loop.run_forever()
        finally:
            ready.set()
            loop.run_until_complete(self._close_all())
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, HOST, self.port, ssl=self._tls, reuse_address=True
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(15)
        self.log_requests_to(None)

    async def _close_all(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._server is not None:
            self._server.close()
        self._cut_clients()

    def _cut_clients(self) -> None:
        for writer in list(self._clients):
            writer.transport.abort()
        self._clients.clear()

    def _call(self, action: Callable[[], Any]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            raise RuntimeError("the fault proxy is not running")
        loop.call_soon_threadsafe(action)

    # -- switches ----------------------------------------------------------------------------------
    def set_error_rate(self, rate: float, status: int = 500, retry_after: int = 1) -> None:
        if status not in MESSAGES:
            raise ValueError(f"error status must be one of {tuple(MESSAGES)}")
        with self._lock:
            self._error_rate, self._error_status, self._retry_after = rate, status, max(1, retry_after)

    def outage(self, seconds: float) -> None:
        """Go down for `seconds`: the port refuses connections and open ones are cut (returns at once)."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the fault proxy is not running")
        asyncio.run_coroutine_threadsafe(self._down_for(seconds), loop)

    async def _down_for(self, seconds: float) -> None:
        if self._server is not None:
            self._server.close()
        self._cut_clients()
        await asyncio.sleep(seconds)
        await self._listen()

    def drop_watches(self) -> None:
        self._call(self._end_watches)

    def _end_watches(self) -> None:
        for task in list(self._watches):
            task.cancel()

    def expire_next_watch(self) -> None:
        """The next resumed watch gets 410 Expired."""
        with self._lock:
            self._force_410 = 1

    def drop_watches_every(self, seconds: float) -> None:
        self._every(seconds, self._end_watches)

    def expire_every(self, seconds: float) -> None:
        """Every `seconds`, end the watches and answer the next resumed one with 410 Expired."""

        def expire() -> None:
            self.expire_next_watch()
            self._end_watches()

        self._every(seconds, expire)

    def _every(self, seconds: float, action: Callable[[], None]) -> None:
        def schedule() -> None:
            loop = self._loop
            assert loop is not None

            def tick() -> None:
                action()
                self._timers.append(loop.call_later(seconds, tick))

            self._timers.append(loop.call_later(seconds, tick))

        self._call(schedule)

    def reset(self) -> None:
        """No faults any more (timers stopped, error rate 0)."""
        with self._lock:
            self._error_rate = 0.0
            self._force_410 = 0

        def cancel() -> None:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()

        self._call(cancel)

    def log_requests_to(self, path: Path | None) -> None:
        """One JSON line per answered request (the lab's request log format)."""
        with self._lock:
            if self._log is not None:
                self._log.close()
            self._log = None if path is None else open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    # -- serving -----------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while (request := await _read_request(reader)) is not None:
                status = await self._answer(request, writer)
                self._record(request, status)
                if status < 0:
                    break
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError):
            pass  # the client went away, or an outage cut it
        except asyncio.CancelledError:
            pass  # the proxy is stopping: its connections end with it
        finally:
            self._clients.discard(writer)
            writer.transport.abort()

    async def _answer(self, request: _Request, writer: asyncio.StreamWriter) -> int:
        """Answer one request; the status sent, or -1 when the connection cannot go on."""
        injected = self._pick_error(request)
        if injected is not None:
            status, retry_after = injected
            await _send_status(writer, status, retry_after)
            return status
        if request.is_watch and self._take_410(request):
            await _send_expired(writer)
            return 410
        return await self._forward(request, writer)

    def _pick_error(self, request: _Request) -> tuple[int, int] | None:
        if not request.path.startswith(("/api/", "/apis/")):
            return None
        with self._lock:
            if self._error_rate <= 0 or self._random.random() >= self._error_rate:
                return None
            return self._error_status, self._retry_after

    def _take_410(self, request: _Request) -> bool:
        resumed = any(
            p.startswith("resourceVersion=") and p != "resourceVersion=0" for p in request.query.split("&")
        )
        with self._lock:
            if not resumed or self._force_410 <= 0:
                return False
            self._force_410 -= 1
            return True

    async def _forward(self, request: _Request, writer: asyncio.StreamWriter) -> int:
        host, port = self._upstream
        up_reader, up_writer = await asyncio.open_connection(host, port, ssl=self._upstream_tls)
        try:
            up_writer.write(_request_bytes(request))
            await up_writer.drain()
            head = await up_reader.readuntil(b"\r\n\r\n")
            status, headers = _parse_response_head(head)
            writer.write(head)
            await writer.drain()
            if _header(headers, "transfer-encoding").lower() == "chunked":
                return await self._relay_chunks(request, up_reader, writer, status)
            length = _header(headers, "content-length")
            if length:
                writer.write(await up_reader.readexactly(int(length)))
                await writer.drain()
                return status
            if status in (204, 304) or request.method == "HEAD":
                return status
            writer.write(await up_reader.read())  # framed by the end of the connection
            await writer.drain()
            return -1
        finally:
            up_writer.transport.abort()

    async def _relay_chunks(
        self, request: _Request, up: asyncio.StreamReader, writer: asyncio.StreamWriter, status: int
    ) -> int:
        """Copy whole chunks; a dropped watch ends at a chunk boundary with the last chunk."""
        copy = asyncio.ensure_future(_copy_chunks(up, writer))
        if request.is_watch:
            self._watches.add(copy)
        try:
            await copy
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        finally:
            self._watches.discard(copy)
        return status

    def _record(self, request: _Request, status: int) -> None:
        with self._lock:
            out = self._log
            if out is None:
                return
            line = {
                "time": round(time.time(), 3),
                "verb": verb_of_request(request.method, request.query),
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "status": status,
                "user_agent": request.header("user-agent"),
                "latency_ms": round((time.monotonic() - request.began) * 1000, 1),
            }
            out.write(json.dumps(line) + "\n")


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    if len(head) > HEAD_LIMIT:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:] if line)]
    length = int(_header(headers, "content-length") or 0)
    body = await reader.readexactly(length) if length else b""
    return _Request(method, target, headers, body)


def _request_bytes(request: _Request) -> bytes:
    kept = [(k, v) for k, v in request.headers if k.lower() not in ("connection", "keep-alive")]
    lines = [
        f"{request.method} {request.target} HTTP/1.1",
        *(f"{k}: {v}" for k, v in kept),
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body


def _parse_response_head(head: bytes) -> tuple[int, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:] if line)]
    return status, headers


def _header(headers: list[tuple[str, str]], name: str) -> str:
    return next((value for key, value in headers if key.lower() == name), "")


async def _copy_chunks(up: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        size_line = await up.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            trailer = await up.readuntil(b"\r\n")
            while trailer != b"\r\n":
                trailer = await up.readuntil(b"\r\n")
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return
        data = await up.readexactly(size + 2)
        writer.write(size_line + data)
        await writer.drain()


async def _send_status(writer: asyncio.StreamWriter, status: int, retry_after: int) -> None:
    reason, message = MESSAGES[status]
    details = {"retryAfterSeconds": retry_after} if status == 429 else {}
    body = json.dumps(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "details": details,
            "code": status,
        }
    ).encode()
    extra = f"Retry-After: {retry_after}\r\n" if status in (429, 503) else ""
    writer.write(
        (
            f"HTTP/1.1 {status} {REASONS[status]}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n"
        ).encode()
        + body
    )
    await writer.drain()


async def _send_expired(writer: asyncio.StreamWriter) -> None:
    """What an apiserver sends a watch resumed from a compacted resourceVersion."""
    event = (
        json.dumps(
            {
                "type": "ERROR",
                "object": {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Failure",
                    "message": "too old resource version",
                    "reason": "Expired",
                    "code": 410,
                },
            }
        ).encode()
        + b"\n"
    )
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{len(event):x}\r\n".encode()
        + event
        + b"\r\n0\r\n\r\n"
    )
    await writer.drain()
