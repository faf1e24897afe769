"""The lab in a child process of its own, driven over a pipe.

The console under test and the lab must not share an interpreter lock, so the benchmark starts the
lab with `multiprocessing` (spawn) and talks to it through a `Connection`: pod counts, the request
log, readiness flips of chosen pods (latency probes) and a background churn at a given rate.

Churn and probes both flip container readiness through the lab's kubelet (`blip`), which writes the
pod's status at once, so every flip is one MODIFIED watch event. The churn keeps at most
`MAX_UNREADY` pods unready (half its flips put one back), so a long run does not leave the fleet
half broken, and it never touches the probe targets, whose flips the benchmark times on screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

START_TIMEOUT = 600.0
"""Seconds to wait for the child to say it is serving (20,000 extra pods pre-play for ~30 s)."""
ASK_TIMEOUT = 60.0
MAX_UNREADY = 50
LONG_OUTAGE = 1e9
"""Simulated seconds a churned pod stays unready unless the churn flips it back."""

PodKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class LabInfo:
    kubeconfig: Path
    url: str
    pods: int


@dataclass(frozen=True, slots=True)
class Request:
    """One entry of the lab's request log, as plain data that crosses the pipe."""

    method: str
    path: str
    query: str
    time: float


@dataclass(frozen=True, slots=True)
class Flip:
    """A probe's readiness flip: when it was written (time.monotonic) and READY before and after."""

    at: float
    before: str
    after: str


class LabError(RuntimeError):
    """The lab child failed, answered with an error, or did not answer in time."""


class LabProcess:
    """Parent side: start, ask, stop. Use as a context manager so the child always goes away."""

    def __init__(self, extra_pods: int, seed: int, kubeconfig: Path) -> None:
        self.extra_pods = extra_pods
        self.seed = seed
        self.kubeconfig = kubeconfig
        self._context = multiprocessing.get_context("spawn")
        self._conn: Connection | None = None
        self._process: Any = None
        self.info: LabInfo | None = None

    def __enter__(self) -> LabProcess:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self, timeout: float = START_TIMEOUT) -> LabInfo:
        parent, child = self._context.Pipe()
        self._conn = parent
        self._process = self._context.Process(
            target=child_main,
            args=(child, self.extra_pods, self.seed, str(self.kubeconfig)),
            name="kcrash-bench-lab",
            daemon=True,  # multiprocessing ends it at interpreter exit if stop() was never reached
        )
        self._process.start()
        child.close()
        try:
            reply = self._receive(timeout)
        except BaseException:
            self.stop()
            raise
        self.info = LabInfo(Path(reply["kubeconfig"]), str(reply["url"]), int(reply["pods"]))
        return self.info

    @property
    def pid(self) -> int:
        return int(self._process.pid) if self._process is not None else 0

    def stop(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            with contextlib.suppress(OSError, EOFError, BrokenPipeError):
                conn.send(("stop", ()))
            conn.close()
        if process is not None:
            process.join(15)
            if process.is_alive():
                process.terminate()
                process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)

    # -- questions -------------------------------------------------------------------------------
    def ask(self, command: str, *args: Any, timeout: float = ASK_TIMEOUT) -> Any:
        if self._conn is None:
            raise LabError("the lab is not running")
        self._conn.send((command, args))
        return self._receive(timeout)

    def _receive(self, timeout: float) -> Any:
        assert self._conn is not None
        if not self._conn.poll(timeout):
            raise LabError(f"the lab did not answer within {timeout:.0f} s")
        try:
            status, value = self._conn.recv()
        except EOFError:
            raise LabError("the lab process ended") from None
        if status != "ok":
            raise LabError(str(value))
        return value

    def pod_count(self) -> int:
        return int(self.ask("pod_count"))

    def pod_changes_since(self, mark: int) -> int:
        """Pod watch events since `mark` (a store resourceVersion from `mark()`); -1 if compacted."""
        return int(self.ask("pod_changes_since", mark))

    def pod_keys(self) -> list[PodKey]:
        """(namespace, name) of every pod the lab has now."""
        return [(str(ns), str(name)) for ns, name in self.ask("pod_keys")]

    def mark(self) -> int:
        return int(self.ask("mark"))

    def clear_requests(self) -> None:
        self.ask("clear_requests")

    def requests(self) -> list[Request]:
        return [Request(*r) for r in self.ask("requests")]

    def ready_of(self, key: PodKey) -> str:
        return str(self.ask("ready_of", key))

    def usable_targets(self, keys: list[PodKey]) -> list[PodKey]:
        """Those of `keys` the kubelet runs with a running container (their readiness can flip)."""
        return [(str(ns), str(name)) for ns, name in self.ask("usable_targets", keys)]

    def flip(self, key: PodKey) -> Flip:
        at, before, after = self.ask("flip", key)
        return Flip(float(at), str(before), str(after))

    def start_churn(self, rate: float, seconds: float, exclude: list[PodKey]) -> None:
        self.ask("start_churn", rate, seconds, exclude)

    def churn_result(self, timeout: float) -> dict[str, float]:
        """Waits for the churn to end: {"events": n, "seconds": s} (restoring flipped pods included)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.ask("churn_result")
            if result is not None:
                return dict(result)
            time.sleep(0.2)
        raise LabError("the churn did not end in time")


# -- the child ---------------------------------------------------------------------------------


def child_main(conn: Connection, extra_pods: int, seed: int, kubeconfig: str) -> None:
    """Start the lab, say so, then answer commands until told to stop or the parent goes away."""
    from kcrash.lab.app import Lab, calm_garbage_collector

    parent = os.getppid()
    try:
        lab = Lab(port=0, speed=1.0, seed=seed, extra_pods=extra_pods).start()
    except BaseException as exc:
        conn.send(("error", f"the lab did not start: {exc}"))
        return
    try:
        calm_garbage_collector()
        lab.write_kubeconfig(Path(kubeconfig))
        handler = _Handler(lab, seed)
        conn.send(("ok", {"kubeconfig": kubeconfig, "url": lab.url, "pods": handler.pod_count()}))
        _serve(conn, handler, parent)
    finally:
        lab.stop()


def _serve(conn: Connection, handler: _Handler, parent: int) -> None:
    while True:
        if not conn.poll(1.0):
            if os.getppid() != parent:  # orphaned: the benchmark died without stopping us
                return
            continue
        try:
            command, args = conn.recv()
        except EOFError:
            return
        if command == "stop":
            return
        try:
            conn.send(("ok", handler.handle(command, args)))
        except Exception as exc:
            conn.send(("error", f"{command}: {type(exc).__name__}: {exc}"))


class _Handler:
    """Runs each command on the lab's loop thread (the only thread that may touch its store)."""

    def __init__(self, lab: Any, seed: int) -> None:
        self.lab = lab
        self.rng = random.Random(seed)
        self.churn: Any = None  # the asyncio task of the running churn

    def handle(self, command: str, args: tuple[Any, ...]) -> Any:
        method: Callable[..., Any] | None = getattr(self, "do_" + command, None)
        if method is None:
            raise ValueError(f"unknown command {command!r}")
        return method(*args)

    def pod_count(self) -> int:
        return int(self.lab.call(lambda: len(self.lab.store.list("pods")[0])))

    def do_pod_count(self) -> int:
        return self.pod_count()

    def do_pod_keys(self) -> list[PodKey]:
        def keys() -> list[PodKey]:
            pods = self.lab.store.list("pods")[0]
            return [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods]

        return list(self.lab.call(keys))

    def do_mark(self) -> int:
        return int(self.lab.call(lambda: self.lab.store.resource_version))

    def do_pod_changes_since(self, mark: int) -> int:
        def count() -> int:
            try:
                return len(self.lab.store.changes_since("pods", mark))
            except Exception:
                return -1

        return int(self.lab.call(count))

    def do_clear_requests(self) -> None:
        self.lab.faults.clear_requests()

    def do_requests(self) -> list[tuple[str, str, str, float]]:
        return [(r.method, r.path, r.query, r.time) for r in self.lab.faults.requests()]

    def do_ready_of(self, key: PodKey) -> str:
        return str(self.lab.call(lambda: _ready_text(self.lab.store.get("pods", key[0], key[1]))))

    def do_usable_targets(self, keys: list[PodKey]) -> list[PodKey]:
        kubelet = self.lab.sim.kubelet

        def usable() -> list[PodKey]:
            runs = [kubelet.pod(ns, name) for ns, name in keys]
            return [r.key for r in runs if r is not None and not r.deleting and kubelet.has_running(r)]

        return list(self.lab.call(usable))

    def do_flip(self, key: PodKey) -> tuple[float, str, str]:
        kubelet, store = self.lab.sim.kubelet, self.lab.store

        def flip() -> tuple[float, str, str]:
            run = kubelet.pod(*key)
            if run is None:
                raise LookupError(f"no running pod {key[0]}/{key[1]}")
            before = _ready_text(store.get("pods", *key))
            at = time.monotonic()
            if not kubelet.blip(run, outage=LONG_OUTAGE):
                raise LookupError(f"{key[0]}/{key[1]} has no container whose readiness can flip")
            return at, before, _ready_text(store.get("pods", *key))

        at, before, after = self.lab.call(flip)
        return float(at), str(before), str(after)

    def do_start_churn(self, rate: float, seconds: float, exclude: list[PodKey]) -> None:
        if self.churn is not None and not self.churn.done():
            raise RuntimeError("a churn is already running")
        coroutine = churn(self.lab.sim.kubelet, self.rng, rate, seconds, {tuple(k) for k in exclude})
        self.churn = self.lab.call(lambda: asyncio.ensure_future(coroutine))

    def do_churn_result(self) -> dict[str, float] | None:
        task = self.churn
        if task is None or not task.done():
            return None
        self.churn = None
        return dict(self.lab.call(task.result))


async def churn(
    kubelet: Any, rng: random.Random, rate: float, seconds: float, exclude: set[Any]
) -> dict[str, float]:
    """Flip readiness of random running pods `rate` times a second for `seconds` (real time)."""
    runs = [r for r in kubelet.running_pods() if r.key not in exclude and kubelet.has_running(r)]
    unready: list[Any] = []
    flipped: set[Any] = set()  # keys of `unready`
    done = 0
    begin = time.monotonic()
    while runs and (elapsed := time.monotonic() - begin) < seconds:
        for _ in range(max(0, int(rate * elapsed) - done)):
            if unready and (len(unready) >= MAX_UNREADY or rng.random() < 0.5):
                run = unready.pop(rng.randrange(len(unready)))
                flipped.discard(run.key)
                done += 1 if kubelet.blip(run, outage=LONG_OUTAGE) else 0
                continue
            for _attempt in range(20):  # a crash-looping pod has nothing to flip: draw another
                run = runs[rng.randrange(len(runs))]
                if run.key not in flipped and not run.deleting and kubelet.blip(run, outage=LONG_OUTAGE):
                    unready.append(run)
                    flipped.add(run.key)
                    done += 1
                    break
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - begin
    for run in unready:  # put the fleet back as it was (not counted: the window is over)
        with contextlib.suppress(Exception):
            kubelet.blip(run, outage=LONG_OUTAGE)
    return {"events": float(done), "seconds": elapsed}


def _ready_text(pod: dict[str, Any] | None) -> str:
    """READY as kubectl prints it for app containers: ready/total."""
    if pod is None:
        return ""
    total = len(pod.get("spec", {}).get("containers") or [])
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"
