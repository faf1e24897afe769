"""`kcrash lab --control-plane real`: start a real control plane, run the lab's nodes against it (the
built-in scenarios applied as manifests), write the kubeconfig, serve until Ctrl-C or SIGTERM, and stop
every part. When a part dies, say which in one line and stop the rest."""

from __future__ import annotations

import contextlib
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from kcrash.lab.realcp.apiclient import ApiClient
from kcrash.lab.realcp.binaries import MissingBinaries, find_binaries
from kcrash.lab.realcp.controlplane import ControlPlane, StartError
from kcrash.lab.realcp.nodes import LabNodes, NodeStartError
from kcrash.lab.scenarios import ScenarioSet, load_builtin_scenarios

PROG = "kcrash lab"
CHECK_EVERY = 0.2


def serve_real(port: int, kubeconfig: Path | None, namespace: str) -> int:
    try:
        binaries = find_binaries()
    except MissingBinaries as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    cp = ControlPlane(binaries, port=port, namespace=namespace)
    previous: dict[int, Any] = {}
    written: Path | None = None
    nodes: LabNodes | None = None
    try:
        previous = _on_signals(stop)
        cp.start()
        scenarios = load_builtin_scenarios()
        nodes = LabNodes(ApiClient(cp.url, cp.admin_token, cp.ca_pem), scenarios)
        nodes.start()
        path = kubeconfig or Path(tempfile.gettempdir()) / f"kcrash-lab-{cp.port}.kubeconfig"
        cp.write_kubeconfig(path)
        written = None if kubeconfig else path
        print(
            f"{PROG}: real control plane {binaries.version} serving {cp.url} with "
            f"{len(nodes.node_names)} nodes and {len(scenarios.scenarios)} scenarios — "
            f"export KUBECONFIG={path}; kubectl get pods -n {_scenario_namespace(scenarios)}",
            flush=True,
        )
        return _serve_until_stopped(cp, stop)
    except (StartError, NodeStartError) as exc:
        if not stop.is_set():
            print(f"{PROG}: error: the control plane did not start: {exc}", file=sys.stderr)
            return 1
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        if nodes is not None:
            nodes.stop()
        cp.stop()
        _restore(previous)
        if written is not None:  # a default kubeconfig is useless once the control plane is gone
            with contextlib.suppress(OSError):
                written.unlink()


def _scenario_namespace(scenarios: ScenarioSet) -> str:
    return scenarios.scenarios[0].namespace if scenarios.scenarios else "default"


def _serve_until_stopped(cp: ControlPlane, stop: threading.Event) -> int:
    while not stop.wait(CHECK_EVERY):
        crashed = cp.crashed()
        if crashed is not None:
            print(
                f"{PROG}: error: {crashed.describe_exit()}; stopping the others", file=sys.stderr, flush=True
            )
            return 1
    return 0


def _on_signals(stop: threading.Event) -> dict[int, Any]:
    """SIGINT and SIGTERM both mean: stop the parts and leave, also in the middle of starting them.

    Only the first one interrupts; a second one while the parts are being stopped changes nothing.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            return
        stop.set()
        raise KeyboardInterrupt

    return {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}


def _restore(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        with contextlib.suppress(TypeError, ValueError):
            signal.signal(signum, handler)
