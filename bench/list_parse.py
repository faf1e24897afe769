"""How long kcrash takes to LIST and parse all pods of a big cluster, against the lab.

    .venv/bin/python bench/list_parse.py [--sizes 1000 10000] [--rounds 5]

For each size the lab starts with that many extra pods (spread over ten namespaces, plus the
scenarios), and every round lists all namespaces the way the reflector does (pages of 500, each
decoded by `podwire.py` straight into records). Printed per size:
- list+parse: the whole paged LIST turned into Pod records (what the console waits for);
- fast path: `podwire.decode_pod_list` alone over the same bytes (msgspec into records);
- forgiving path: `orjson.loads` + `parse_pod` alone over the same bytes (what a page the fast path
  declines costs, and what every page cost before it);
- models: the same LIST deserialized into the client's model objects (what kcrash avoids), once.
Each alone-figure is the best of the rounds, in a process that has already parsed the pages once.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))


from kcrash.cluster.api import Api
from kcrash.cluster.config import connect
from kcrash.cluster.parse import parse_pod
from kcrash.cluster.podwire import decode_pod_list
from kcrash.cluster.reflector import gc_paused
from kcrash.lab.app import Lab


def raw_pages(api: Api) -> list[bytes]:
    """The same paged LIST, kept as bytes (to time parsing on its own)."""
    pages: list[bytes] = []
    token = ""
    while True:
        body = api.pod_list_body(None, "", 500, token)
        pages.append(body)
        token = orjson.loads(body)["metadata"].get("continue") or ""
        if not token:
            return pages


def time_fast(pages: list[bytes]) -> float:
    with gc_paused():  # as the reflector parses
        started = time.perf_counter()
        for page in pages:
            if decode_pod_list(page) is None:
                raise SystemExit("the fast path declined a page the lab wrote")
        return time.perf_counter() - started


def time_forgiving(pages: list[bytes]) -> float:
    with gc_paused():
        started = time.perf_counter()
        for page in pages:
            for item in orjson.loads(page)["items"]:
                parse_pod(item)
        return time.perf_counter() - started


def time_models(kubeconfig: str) -> float:
    """The same LIST through the `kubernetes` client's generated API and its models."""
    from kubernetes import client as k8s

    transport: Any = connect(kubeconfig, None, None, True, via_client=True).transport
    core = k8s.CoreV1Api(transport.client)
    started = time.perf_counter()
    token = None
    while True:
        page = core.list_pod_for_all_namespaces(limit=500, _continue=token)
        token = page.metadata._continue if page.metadata else None
        if not token:
            return time.perf_counter() - started


def serve_lab(size: int, kubeconfig: str, ready: Any, stop: Any) -> None:
    """The lab in its own process, so its work does not share the client's interpreter lock."""
    with Lab(speed=1.0, seed=1, extra_pods=size) as lab:
        lab.write_kubeconfig(Path(kubeconfig))
        ready.set()
        stop.wait()


def bench(size: int, rounds: int) -> None:
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Event(), context.Event()
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = str(Path(tmp) / "config")
        server = context.Process(target=serve_lab, args=(size, kubeconfig, ready, stop), daemon=True)
        server.start()
        try:
            if not ready.wait(300):
                raise SystemExit("the lab did not start")
            measure(Api(connect(kubeconfig, None, None, True)), kubeconfig, rounds)
        finally:
            stop.set()
            server.join(30)


def measure(api: Api, kubeconfig: str, rounds: int) -> None:
    api.list_all_pods(None)  # warm the lab's encoder cache and the connection
    timings = []
    count = 0
    for _ in range(rounds):
        started = time.perf_counter()
        count = len(api.list_all_pods(None).items)
        timings.append(time.perf_counter() - started)
    pages = raw_pages(api)
    fast = min(time_fast(pages) for _ in range(rounds))
    forgiving = min(time_forgiving(pages) for _ in range(rounds))
    models = time_models(kubeconfig)
    print(
        f"{count:>6} pods  list+parse median {statistics.median(timings):.3f} s "
        f"(min {min(timings):.3f})  fast path {fast:.3f} s ({fast / count * 1e6:.0f} us/pod)  "
        f"forgiving path {forgiving:.3f} s ({forgiving / count * 1e6:.0f} us/pod, "
        f"{forgiving / fast:.1f}x)  [same LIST as client models: {models:.2f} s]",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for size in args.sizes:
        bench(size, args.rounds)


if __name__ == "__main__":
    main()
