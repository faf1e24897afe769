"""`Lab`: the simulated cluster and its API server, as one object tests and the CLI start and stop.

    with Lab(speed=20.0, seed=1) as lab:
        lab.write_kubeconfig(tmp / "kubeconfig")
        lab.call(lambda: lab.store.create("pods", pod))   # mutate on the lab's own loop

`start()` runs everything on a private event loop in a daemon thread; `serve()` runs it on the caller's
loop (the CLI). Either way the Store, the simulation and the HTTP server share that one loop, so store
changes made through `call()` reach watchers in order.

The server speaks https with a CA made at start (`lab.ca_pem`, also in the kubeconfig), because
kubectl sends its bearer token over https only; `tls=False` serves plain http and then lets
requests without a token in, as the lab user.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import secrets
import ssl
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from kcrash.lab.apiserver import ApiServer, ServerOptions
from kcrash.lab.apiserver.proxy import ServiceTarget
from kcrash.lab.clock import SimClock, rfc3339
from kcrash.lab.faults import Faults
from kcrash.lab.identity import stored_certificates, stored_token
from kcrash.lab.kubeconfig import write_kubeconfig
from kcrash.lab.logs import LogBook
from kcrash.lab.simulation import Simulation
from kcrash.lab.store import CLUSTER_SCOPED, Conflict, Store
from kcrash.lab.tls import Certificates, make_certificates

T = TypeVar("T")

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
DEFAULT_NODES = ("lab-node-1", "lab-node-2", "lab-node-3")
START_TIMEOUT = 300.0


class Lab:
    """A running lab: `url`, `token`, `ca_pem`, `store`, `clock`, `faults` (and `logs`, `sim`, `server`).

    `allow_anonymous` (requests without a token act as the lab user) defaults to on over plain
    http only, where kubectl cannot send a token; a wrong token is refused either way.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        speed: float = 1.0,
        seed: int = 0,
        extra_pods: int = 0,
        scenario_files: Sequence[Path] = (),
        load_files: Sequence[Path] = (),
        builtin_scenarios: bool = True,
        token: str | None = None,
        host: str = "127.0.0.1",
        options: ServerOptions | None = None,
        tls: bool = True,
        allow_anonymous: bool | None = None,
        state_dir: Path | None = None,
        preplay_seconds: float | None = None,
    ) -> None:
        self.host = host
        self.state_dir = state_dir
        self.port = port
        self.url = ""
        self.tls = tls
        self.ca_pem = b""  # PEM of the CA that signed the server's certificate, once started with tls
        self._certificates: Certificates | None = None
        self.token = token or (stored_token(state_dir) if state_dir else secrets.token_urlsafe(24))
        self.clock = SimClock(speed)
        self.store = Store(self.clock)
        self.faults = Faults(seed=seed)
        self.logs = LogBook()
        self.sim = Simulation(self.store, self.clock, self.logs, seed=seed)
        if preplay_seconds is not None:
            self.sim.preplay_seconds = preplay_seconds
        self.server = ApiServer(
            self.store,
            self.clock,
            self.logs,
            self.faults,
            self.token,
            live=self._live,
            options=options,
            allow_anonymous=not tls if allow_anonymous is None else allow_anonymous,
        )
        self.server.metrics_text = self.metrics_text
        self._extra_pods = extra_pods
        self._scenario_files = tuple(scenario_files)
        self._load_files = tuple(load_files)
        self._builtin = builtin_scenarios
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._ssl: ssl.SSLContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._sim_started = False

    def _live(self) -> bool:
        return bool(getattr(self.sim, "simulated", False))

    # -- in a thread (tests) ---------------------------------------------------------------------
    def start(self) -> Lab:
        """Start on a private loop in a daemon thread; returns once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the lab is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready, failure), name="kcrash-lab", daemon=True
        )
        self._thread.start()
        if not ready.wait(START_TIMEOUT):
            raise RuntimeError("the lab did not start in time")
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Close watches and log streams, stop the simulation and the server, join the thread."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        self._thread = None

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _thread_main(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._run_until_stopped(ready, failure))
        finally:
            _cancel_leftovers(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _run_until_stopped(self, ready: threading.Event, failure: list[BaseException]) -> None:
        self._stop = asyncio.Event()
        try:
            await self._open()
        except BaseException as exc:  # reported to the starting thread, which re-raises it
            failure.append(exc)
            ready.set()
            return
        ready.set()
        try:
            await self._stop.wait()
        finally:
            await self._close()

    # -- on the caller's loop (CLI) ----------------------------------------------------------------
    async def serve(self, ready: Callable[[Lab], None] | None = None) -> None:
        """Serve on the running loop until cancelled; `ready` is called once it accepts connections."""
        await self._open()
        try:
            if ready is not None:
                ready(self)
            await asyncio.Event().wait()
        finally:
            await self._close()

    # -- helpers for tests -------------------------------------------------------------------------
    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the lab's loop thread and return its result (store changes from tests)."""
        loop = self._loop
        if loop is None or loop.is_closed() or threading.get_ident() == self._loop_thread:
            return fn()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(timeout=30)

    # -- what a Prometheus sees --------------------------------------------------------------------
    def metrics_text(self) -> str:
        """`/metrics` now: cAdvisor's and kube-state-metrics' series of the simulated containers."""
        return self.sim.kubelet.series.exposition(self.sim.sched.now())

    def openmetrics_history(self, seconds: float | None = None, step: float = 15.0) -> str:
        """The last `seconds` (default: the pre-played stretch) of the same series as OpenMetrics,
        for `promtool tsdb create-blocks-from openmetrics`; call it on the lab's loop (`call`)."""
        now = self.sim.sched.now()
        span = self.sim.preplay_seconds if seconds is None else seconds
        since = (now - span) // step * step + step  # whole steps, none before the pre-play began
        return "".join(self.sim.kubelet.series.openmetrics(since, now, step))

    def add_service_target(
        self, address: str, namespace: str = "monitoring", name: str = "prometheus-k8s", port: str = "9090"
    ) -> None:
        """Serve `namespace/name:port`'s service proxy by forwarding to `address` (host:port, http)."""
        self.server.services.append(ServiceTarget(namespace, name, port, address))

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this lab's CA only (for urllib, aiohttp and the like)."""
        if self._certificates is None:
            raise RuntimeError("the lab serves https only once started, and not with tls=False")
        return self._certificates.client_context()

    def write_kubeconfig(self, path: Path, namespace: str = "crashlab") -> Path:
        """A kubeconfig with context `kcrash-lab`: the server, its CA (over https) and the bearer token."""
        if not self.url:
            raise RuntimeError("start the lab before writing its kubeconfig")
        return write_kubeconfig(Path(path), self.url, self.token, namespace, ca_pem=self.ca_pem or None)

    # -- lifecycle -------------------------------------------------------------------------------
    async def _open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.server.attach(self._loop)
        try:
            self._load()
            await self.sim.start()
            self._sim_started = True
            self._ensure_cluster_objects()
            await self._listen()
        except BaseException:
            await self._close()
            raise

    def _load(self) -> None:
        if self._builtin:
            self.sim.load_builtin()
        for scenario_file in self._scenario_files:
            self.sim.load_scenarios_file(Path(scenario_file))
        for objects_file in self._load_files:
            self.sim.load_objects_file(Path(objects_file))
        if self._extra_pods:
            self.sim.add_extra_pods(self._extra_pods)

    async def _listen(self) -> None:
        self._runner = web.AppRunner(
            self.server.app,
            handle_signals=False,
            shutdown_timeout=2.0,
            handler_cancellation=True,
            access_log=None,
        )
        await self._runner.setup()
        context = self._tls_context() if self.tls else None
        self._ssl = context
        self._site = web.TCPSite(self._runner, self.host, self.port, ssl_context=context)
        await self._site.start()
        self.port = int(self._runner.addresses[0][1])
        self.url = f"{'https' if context else 'http'}://{self.host}:{self.port}"
        self.server.address = f"{self.host}:{self.port}"

    def outage(self, seconds: float) -> None:
        """Go down for `seconds` (from any thread, returns at once): the port stops accepting, open
        connections and watches are cut, then the same server listens again, its state intact."""
        loop = self._loop
        if loop is None or loop.is_closed():
            raise RuntimeError("the lab is not running")
        asyncio.run_coroutine_threadsafe(self._down_for(seconds), loop)

    async def _down_for(self, seconds: float) -> None:
        runner, site = self._runner, self._site
        if runner is None or site is None:
            return
        await site.stop()
        self.server.hub.close_all()
        for handler in list(getattr(runner.server, "connections", ())):
            transport = handler.transport
            if transport is not None:
                transport.abort()
        await asyncio.sleep(seconds)
        self._site = web.TCPSite(runner, self.host, self.port, ssl_context=self._ssl)
        await self._site.start()

    def _tls_context(self) -> ssl.SSLContext:
        """A new CA and certificate for every start (nothing from an earlier run is trusted), unless
        a state folder keeps them."""
        if self.state_dir is not None:
            self._certificates = stored_certificates(self.state_dir, self.host)
        else:
            self._certificates = make_certificates(self.host)
        self.ca_pem = self._certificates.ca_pem
        return self._certificates.server_context()

    async def _close(self) -> None:
        self.server.close_streams()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._sim_started:
            self._sim_started = False
            await self.sim.stop()

    def _ensure_cluster_objects(self) -> None:
        """Namespaces every object lives in, and Nodes the pods run on (a few if none are named)."""
        namespaces = set(SYSTEM_NAMESPACES)
        for resource in self.store.resources():
            if resource in CLUSTER_SCOPED:
                continue
            objects, _ = self.store.list(resource)
            namespaces.update(o["metadata"].get("namespace", "") for o in objects)
        for name in sorted(n for n in namespaces if n):
            if self.store.get("namespaces", "", name) is None:
                _create_quietly(self.store, "namespaces", namespace_object(name))
        pods, _ = self.store.list("pods")
        node_names = {p.get("spec", {}).get("nodeName") for p in pods} - {None, ""}
        existing, _ = self.store.list("nodes")
        if not existing and not node_names:
            node_names = set(DEFAULT_NODES)
        for index, name in enumerate(sorted(str(n) for n in node_names)):
            if self.store.get("nodes", "", name) is None:
                _create_quietly(self.store, "nodes", node_object(name, index, rfc3339(self.clock.now())))


def calm_garbage_collector() -> None:
    """Call once a big lab is up: freeze what exists and collect young objects less often.

    With 20,000 pods the process holds millions of long-lived objects; CPython's full collections
    then pause the shared event loop for seconds while the simulation churns. Process-wide, so the
    CLI and benchmarks call it, not the library.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)


def _create_quietly(store: Store, resource: str, obj: dict[str, Any]) -> None:
    with contextlib.suppress(Conflict):
        store.create(resource, obj)


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def namespace_object(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def node_object(name: str, index: int, now: str) -> dict[str, Any]:
    capacity = {"cpu": "8", "memory": "32863332Ki", "pods": "110", "ephemeral-storage": "101430960Ki"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "lab.large",
            },
        },
        "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]},
        "status": {
            "capacity": capacity,
            "allocatable": capacity,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": f"10.0.0.{10 + index}"},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.34.0",
                "osImage": "Ubuntu 24.04.1 LTS",
                "kernelVersion": "6.8.0-45-generic",
                "containerRuntimeVersion": "containerd://1.7.22",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }
