"""The chaos suite's clusters: the lab, or the real control plane behind the fault proxy.

Both offer what a scenario needs under the same names: a kubeconfig for kcrash (through the faults),
one straight to the server (for the server's own answer), the fault switches, an outage, a churn of
pod changes at a given rate, and a restart with new credentials on the same address.

The real control plane runs no kubelet, so its pods never run: the suite creates them Pending. The
ones `diagnose` and the console look at (namespace `crashlab`) ask for a node label no node has, so
the scheduler marks them Unschedulable; the churn's thousands ask for a scheduler nobody runs, so
nothing but the churn writes to them. A pod bound by `nodeName` to a node that does not exist would
not do: the controller manager's pod garbage collector deletes such pods.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import random
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from faultproxy import FaultProxy
from kcrash.lab.app import Lab
from kcrash.lab.kubeconfig import write_kubeconfig
from kcrash.lab.realcp.binaries import find_binaries
from kcrash.lab.realcp.controlplane import ControlPlane

NAMESPACE = "crashlab"
CHURN_NAMESPACES = 10
WRITERS = 8
START_TIMEOUT = 600.0  # seven workers share two cores: a cold apiserver can take minutes


class LabCluster:
    """The embedded lab: its own fault switches."""

    target = "lab"

    def __init__(self, **options: Any) -> None:
        options.setdefault("speed", 20.0)
        options.setdefault("seed", 1)
        self.options = options
        self.lab = Lab(**options).start()
        self._log: Path | None = None

    def kubeconfig(self, path: Path) -> Path:
        return self.lab.write_kubeconfig(path)

    direct_kubeconfig = kubeconfig

    def log_requests_to(self, path: Path | None) -> None:
        self._log = path
        self.lab.faults.log_requests_to(path)

    def set_error_rate(self, rate: float, status: int = 500, retry_after: int = 1) -> None:
        self.lab.faults.set_error_rate(rate, status=status, retry_after=retry_after)

    def drop_watches_every(self, seconds: float) -> None:
        self.lab.faults.drop_watches_every(seconds)

    def expire_every(self, seconds: float) -> None:
        self.lab.faults.expire_every(seconds)

    def reset(self) -> None:
        self.lab.faults.reset()

    def outage(self, seconds: float) -> None:
        self.lab.outage(seconds)

    def answers(self) -> bool:
        return _answers(self.lab.url, self.lab.client_ssl_context())

    def churn(self, rate: float, seconds: float) -> int:
        loop = self.lab._loop
        assert loop is not None
        future = asyncio.run_coroutine_threadsafe(self.lab.sim.churn(rate, seconds), loop)
        return int(future.result(timeout=seconds + 120))

    def restart_with_new_credentials(self) -> None:
        """Stop, then start a lab on the same port with a new CA and token (nothing kept)."""
        port = self.lab.port
        self.lab.stop()
        self.lab = Lab(**{**self.options, "port": port}).start()
        self.lab.faults.log_requests_to(self._log)

    def stop(self) -> None:
        self.lab.stop()


class RealCluster:
    """A real control plane (etcd, kube-apiserver, controller manager, scheduler) behind a FaultProxy."""

    target = "real control plane"

    def __init__(self, work: Path) -> None:
        self.work = work
        self.binaries = find_binaries()
        self.plane = _start_plane(self.binaries, 0)
        self.proxy = FaultProxy(self.plane.url, self.plane.ca_pem).start()
        self._log: Path | None = None
        create_pending_pods(self.plane, NAMESPACE, 20, unschedulable=True)

    def kubeconfig(self, path: Path) -> Path:
        return write_kubeconfig(
            path, self.proxy.url, self.plane.admin_token, NAMESPACE, ca_pem=self.proxy.ca_pem
        )

    def direct_kubeconfig(self, path: Path) -> Path:
        return self.plane.write_kubeconfig(path)

    def new_proxy(self) -> None:
        """A fresh proxy (a request log and switches of its own) for the next scenario."""
        self.proxy.stop()
        self.proxy = FaultProxy(self.plane.url, self.plane.ca_pem).start()
        self.proxy.log_requests_to(self._log)

    def log_requests_to(self, path: Path | None) -> None:
        self._log = path
        self.proxy.log_requests_to(path)

    def set_error_rate(self, rate: float, status: int = 500, retry_after: int = 1) -> None:
        self.proxy.set_error_rate(rate, status=status, retry_after=retry_after)

    def drop_watches_every(self, seconds: float) -> None:
        self.proxy.drop_watches_every(seconds)

    def expire_every(self, seconds: float) -> None:
        self.proxy.expire_every(seconds)

    def reset(self) -> None:
        self.proxy.reset()

    def outage(self, seconds: float) -> None:
        self.proxy.outage(seconds)

    def answers(self) -> bool:
        return _answers(self.proxy.url, ssl.create_default_context(cadata=self.proxy.ca_pem.decode("ascii")))

    def create_churn_pods(self, count: int) -> None:
        for n in range(CHURN_NAMESPACES):
            self.plane.ensure_namespace(f"churn-{n}")
        names = [
            (f"churn-{i % CHURN_NAMESPACES}", f"churn-{i // CHURN_NAMESPACES:05d}") for i in range(count)
        ]
        _in_parallel(self.plane, [("POST", ns, name) for ns, name in names], rate=0)
        self.churn_pods = names

    def churn(self, rate: float, seconds: float) -> int:
        """Label patches on random churn pods, `rate` a second for `seconds`: one MODIFIED each."""
        rng = random.Random(1)
        count = int(rate * seconds)
        work = [("PATCH", *rng.choice(self.churn_pods)) for _ in range(count)]
        return _in_parallel(self.plane, work, rate=rate, until=time.monotonic() + seconds + 60)

    def restart_with_new_credentials(self) -> None:
        """Stop the control plane, then start a new one (new CA, new tokens) on the same port."""
        port = self.plane.port
        self.proxy.stop()
        self.plane.stop()
        self.plane = _start_plane(self.binaries, port)
        self.proxy = FaultProxy(self.plane.url, self.plane.ca_pem).start()
        self.proxy.log_requests_to(self._log)

    def stop(self) -> None:
        self.proxy.stop()
        self.plane.stop()


def _start_plane(binaries: Any, port: int) -> ControlPlane:
    plane = ControlPlane(binaries, port=port)
    try:
        plane.start(timeout=START_TIMEOUT)
    except BaseException:
        plane.stop()
        raise
    return plane


def _answers(url: str, context: ssl.SSLContext) -> bool:
    try:
        with urllib.request.urlopen(url + "/version", context=context, timeout=1):
            return True
    except OSError:
        return False


def pod_body(name: str, *, unschedulable: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "registry.invalid/app:1"}]}
    if unschedulable:
        spec["nodeSelector"] = {"kcrash.example/no-such-node": "true"}
    else:
        spec["schedulerName"] = "kcrash-nobody"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": spec,
    }


def create_pending_pods(plane: ControlPlane, namespace: str, count: int, *, unschedulable: bool) -> None:
    work = [("POST", namespace, f"pending-{i:02d}") for i in range(count)]
    _in_parallel(plane, work, rate=0, unschedulable=unschedulable)


def _in_parallel(
    plane: ControlPlane,
    work: list[tuple[str, str, str]],
    *,
    rate: float,
    until: float = float("inf"),
    unschedulable: bool = False,
) -> int:
    """Send (method, namespace, pod) requests from WRITERS threads, paced at `rate` a second
    (0: as fast as they go); returns how many the server accepted."""
    items: Iterator[tuple[int, tuple[str, str, str]]] = iter(enumerate(work))
    lock = threading.Lock()
    done = [0]
    begin = time.monotonic()

    def writer() -> None:
        connection = _connection(plane)
        while True:
            with lock:
                item = next(items, None)
            if item is None or time.monotonic() > until:
                return
            index, (method, namespace, name) = item
            if rate > 0:
                time.sleep(max(0.0, begin + index / rate - time.monotonic()))
            if _send_until_accepted(plane, connection, method, namespace, name, unschedulable, index):
                with lock:
                    done[0] += 1

    threads = [threading.Thread(target=writer, daemon=True) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0]


def _connection(plane: ControlPlane) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cadata=plane.ca_pem.decode("ascii"))
    return http.client.HTTPSConnection("127.0.0.1", plane.port, context=context, timeout=30)


def _send_until_accepted(
    plane: ControlPlane,
    connection: http.client.HTTPSConnection,
    method: str,
    namespace: str,
    name: str,
    unschedulable: bool,
    index: int,
) -> bool:
    """A pod is created again until the server takes it (a new namespace refuses pods until the
    controller manager has made its `default` ServiceAccount); a patch is sent once."""
    deadline = time.monotonic() + (60 if method == "POST" else 0)
    while True:
        if _send(plane, connection, method, namespace, name, unschedulable, index):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def _send(
    plane: ControlPlane,
    connection: http.client.HTTPSConnection,
    method: str,
    namespace: str,
    name: str,
    unschedulable: bool,
    index: int,
) -> bool:
    headers = {"Authorization": f"Bearer {plane.admin_token}"}
    if method == "POST":
        path = f"/api/v1/namespaces/{namespace}/pods"
        body = pod_body(name, unschedulable=unschedulable)
        headers["Content-Type"] = "application/json"
    else:
        path = f"/api/v1/namespaces/{namespace}/pods/{name}"
        body = {"metadata": {"labels": {"churn": str(index)}}}
        headers["Content-Type"] = "application/merge-patch+json"
    try:
        connection.request(method, path, body=json.dumps(body), headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status < 300 or (method == "POST" and response.status == 409)
    except (OSError, http.client.HTTPException):
        connection.close()  # the next request opens a new connection
        return False
