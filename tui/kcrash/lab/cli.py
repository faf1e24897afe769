"""`kcrash lab`: serve the simulated cluster until Ctrl-C.

kcrash lab [--port PORT] [--kubeconfig PATH] [--speed FACTOR] [--extra-pods N] [--seed N]
           [--scenarios FILE]... [--load FILE]... [--latency-ms MS] [--error-rate R]
           [--error-status 500|429|503] [--retry-after S] [--deny VERB:RESOURCE]... [--namespace NS]
           [--state-dir DIR] [--request-log FILE] [--drop-watches-every S] [--expire-every S]
           [--plain-http] [--preplay S] [--openmetrics-history FILE] [--prometheus-target HOST:PORT]
kcrash lab --control-plane real [--port PORT] [--kubeconfig PATH] [--namespace NS]

It serves https with a CA made at start; the kubeconfig it writes carries that CA and the token.
`--control-plane real` starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler built by
`make controlplane`, with the simulation's kubelet as its nodes and the built-in scenarios applied as
manifests (see docs/lab.md).

`/metrics` serves the simulated containers' cAdvisor and kube-state-metrics series for a Prometheus
to scrape; `--openmetrics-history FILE` writes the pre-played stretch of the same series for
`promtool tsdb create-blocks-from openmetrics`; `--prometheus-target` makes the service
`monitoring/prometheus-k8s:9090` proxy to a Prometheus on loopback (docs/history.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import yaml

from kcrash.lab.faults import ERROR_STATUSES, Faults

if TYPE_CHECKING:
    from kcrash.lab.app import Lab

PROG = "kcrash lab"
CONTROL_PLANES = ("embedded", "real")
# Flags of the simulation, with their defaults: a real control plane has none of them.
EMBEDDED_ONLY = {
    "speed": 1.0,
    "extra_pods": 0,
    "seed": 0,
    "scenarios": [],
    "load": [],
    "no_builtin": False,
    "latency_ms": 0.0,
    "error_rate": 0.0,
    "error_status": 500,
    "deny": [],
    "plain_http": False,
    "state_dir": None,
    "request_log": None,
    "drop_watches_every": None,
    "expire_every": None,
    "retry_after": 1,
    "preplay": None,
    "openmetrics_history": None,
    "prometheus_target": None,
}


class UsageError(Exception):
    """A bad flag or value; reported on one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _number(text: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None


def _positive_float(text: str) -> float:
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


def _port(text: str) -> int:
    value = int(_number(text, int))
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text}")
    return value


def _rate(text: str) -> float:
    value = _number(text, float)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text}")
    return value


def _existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


def _address(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:9090)")
    return text


def _deny_rule(text: str) -> tuple[str, str]:
    try:
        return Faults.parse_deny(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Serve a simulated Kubernetes cluster for kcrash and kubectl.")
    parser.add_argument(
        "--control-plane",
        choices=CONTROL_PLANES,
        default="embedded",
        help=(
            "embedded: the simulated cluster (default); real: etcd and Kubernetes' own control plane, "
            "the lab's kubelet as its nodes"
        ),
    )
    parser.add_argument("--port", type=_port, default=0, help="TCP port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--kubeconfig", type=Path, help="where to write the kubeconfig")
    parser.add_argument("--namespace", default="crashlab", help="default namespace in the kubeconfig")
    parser.add_argument(
        "--speed", type=_positive_float, default=1.0, help="simulated seconds per real second"
    )
    parser.add_argument("--extra-pods", type=_non_negative_int, default=0, help="healthy filler pods to add")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the simulation")
    parser.add_argument(
        "--scenarios",
        type=_existing_file,
        action="append",
        default=[],
        metavar="FILE",
        help="extra scenario file (repeatable)",
    )
    parser.add_argument(
        "--load",
        type=_existing_file,
        action="append",
        default=[],
        metavar="FILE",
        help="YAML/JSON objects to serve as they are (repeatable)",
    )
    parser.add_argument("--no-builtin", action="store_true", help="skip the built-in scenarios")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every request")
    parser.add_argument("--error-rate", type=_rate, default=0.0, help="fraction of requests that fail")
    parser.add_argument(
        "--error-status",
        type=int,
        choices=ERROR_STATUSES,
        default=500,
        help="status of injected failures (429 adds Retry-After)",
    )
    parser.add_argument(
        "--deny",
        type=_deny_rule,
        action="append",
        default=[],
        metavar="VERB:RESOURCE",
        help="refuse a verb on a resource, e.g. delete:pods (repeatable)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="keep the CA, server key and token here, so a restarted lab keeps its identity",
    )
    parser.add_argument(
        "--request-log", type=Path, metavar="FILE", help="append one JSON line per request answered"
    )
    parser.add_argument(
        "--drop-watches-every",
        type=_positive_float,
        metavar="SECONDS",
        help="end every watch stream this often",
    )
    parser.add_argument(
        "--expire-every",
        type=_positive_float,
        metavar="SECONDS",
        help="this often, cut the watches and answer the resumed one with 410 Expired",
    )
    parser.add_argument(
        "--retry-after", type=int, default=1, metavar="SECONDS", help="Retry-After of injected 429s"
    )
    parser.add_argument(
        "--plain-http",
        action="store_true",
        help="serve http instead of https (kubectl then sends no token, so none is required)",
    )
    parser.add_argument(
        "--preplay",
        type=_positive_float,
        metavar="SECONDS",
        help="simulated seconds played before the lab opens (default 900; 3600 for a Prometheus hour)",
    )
    parser.add_argument(
        "--openmetrics-history",
        type=Path,
        metavar="FILE",
        help="write the pre-played stretch of /metrics' series as OpenMetrics (for promtool) at start",
    )
    parser.add_argument(
        "--prometheus-target",
        type=_address,
        metavar="HOST:PORT",
        help="serve the service proxy of monitoring/prometheus-k8s:9090 by forwarding to HOST:PORT",
    )
    return parser


def main(argv: list[str]) -> int:
    try:
        options = build_parser().parse_args(argv)
        if options.latency_ms < 0:
            raise UsageError("argument --latency-ms: must not be negative")
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if options.control_plane == "real":
        return _serve_real(options)
    from kcrash.lab.app import Lab  # the simulation is heavy to import: only once flags are good

    lab = Lab(
        port=options.port,
        speed=options.speed,
        seed=options.seed,
        extra_pods=options.extra_pods,
        scenario_files=options.scenarios,
        load_files=options.load,
        builtin_scenarios=not options.no_builtin,
        tls=not options.plain_http,
        state_dir=options.state_dir,
        preplay_seconds=options.preplay,
    )
    if options.prometheus_target:
        lab.add_service_target(options.prometheus_target)
    lab.faults.set_latency(options.latency_ms)
    lab.faults.set_error_rate(options.error_rate, options.error_status, options.retry_after)
    if options.request_log:
        lab.faults.log_requests_to(options.request_log)
    if options.drop_watches_every:
        lab.faults.drop_watches_every(options.drop_watches_every)
    if options.expire_every:
        lab.faults.expire_every(options.expire_every)
    for verb, resource in options.deny:
        lab.faults.deny(verb, resource)
    try:
        asyncio.run(_serve(lab, options.kubeconfig, options.namespace, options.openmetrics_history))
    except OSError as exc:
        print(
            f"{PROG}: error: cannot serve on 127.0.0.1:{options.port}: {exc.strerror or exc}", file=sys.stderr
        )
        return 1
    except (ValueError, yaml.YAMLError) as exc:  # a scenario or --load file that does not make sense
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def _serve_real(options: argparse.Namespace) -> int:
    given = [name for name, default in EMBEDDED_ONLY.items() if getattr(options, name) != default]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        print(f"{PROG}: error: {flags}: only for the embedded lab, not --control-plane real", file=sys.stderr)
        return 2
    from kcrash.lab.realcp.run import serve_real

    return serve_real(options.port, options.kubeconfig, options.namespace)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


async def _serve(lab: Lab, kubeconfig: Path | None, namespace: str, history: Path | None = None) -> None:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, task.cancel)
    written: list[Path] = []

    from kcrash.lab.app import calm_garbage_collector

    def announce(running: Lab) -> None:
        calm_garbage_collector()
        if history is not None:
            try:
                history.write_text(running.openmetrics_history(), encoding="utf-8")
            except OSError as exc:
                print(f"{PROG}: error: cannot write {history}: {exc.strerror or exc}", file=sys.stderr)
        path = kubeconfig or Path(tempfile.gettempdir()) / f"kcrash-lab-{running.port}.kubeconfig"
        running.write_kubeconfig(path, namespace)
        if kubeconfig is None:
            written.append(path)
        print(f"kcrash lab serving {running.url} — export KUBECONFIG={path}; kubectl get pods", flush=True)

    try:
        await lab.serve(announce)
    except asyncio.CancelledError:
        pass
    finally:
        for path in written:  # a default kubeconfig is useless once the lab is gone
            with contextlib.suppress(OSError):
                path.unlink()
