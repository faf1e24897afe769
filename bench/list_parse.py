"""How long kcrash takes to LIST and parse all pods of a big cluster, against the lab.

    .venv/bin/python bench/list_parse.py [--sizes 1000 10000] [--rounds 5]

For each size the lab starts with that many extra pods (spread over ten namespaces, plus the
scenarios), and every round lists all namespaces the way the reflector does (pages of 500,
`_preload_content=False`, orjson, parse.py). Printed per size:
- list+parse: the whole paged LIST turned into Pod records (what the console waits for);
- of which parse: parse_pod alone over the same bytes;
- models: the same LIST deserialized into the client's model objects (what kcrash avoids), once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))

from kubernetes import client as k8s  # noqa: E402

from kcrash.cluster.api import Api  # noqa: E402
from kcrash.cluster.config import connect  # noqa: E402
from kcrash.cluster.parse import parse_pod  # noqa: E402
from kcrash.lab.app import Lab  # noqa: E402


def raw_pages(api: Api) -> list[bytes]:
    """The same paged LIST, kept as bytes (to time parsing on its own)."""
    pages: list[bytes] = []
    token = ""
    while True:
        kwargs: dict[str, Any] = {"limit": 500, "_preload_content": False}
        if token:
            kwargs["_continue"] = token
        response = api.core.list_pod_for_all_namespaces(**kwargs)
        body = response.read()
        response.release_conn()
        pages.append(body)
        token = orjson.loads(body)["metadata"].get("continue") or ""
        if not token:
            return pages


def time_parse(pages: list[bytes]) -> float:
    docs = [orjson.loads(page) for page in pages]
    started = time.perf_counter()
    for doc in docs:
        for item in doc["items"]:
            parse_pod(item)
    return time.perf_counter() - started


def time_models(api: Api) -> float:
    started = time.perf_counter()
    token = None
    while True:
        page = api.core.list_pod_for_all_namespaces(limit=500, _continue=token)
        token = page.metadata._continue
        if not token:
            return time.perf_counter() - started


def bench(size: int, rounds: int) -> None:
    with Lab(speed=1.0, seed=1, extra_pods=size) as lab, tempfile.TemporaryDirectory() as tmp:
        kubeconfig = lab.write_kubeconfig(Path(tmp) / "config")
        api = Api(connect(str(kubeconfig), None, None, True))
        api.list_all_pods(None)  # warm the lab's encoder cache and the connection
        timings = []
        count = 0
        for _ in range(rounds):
            started = time.perf_counter()
            count = len(api.list_all_pods(None).items)
            timings.append(time.perf_counter() - started)
        parse = min(time_parse(raw_pages(api)) for _ in range(rounds))
        models = time_models(api)
        print(
            f"{count:>6} pods  list+parse median {statistics.median(timings):.3f} s "
            f"(min {min(timings):.3f})  of which parse {parse:.3f} s  "
            f"[client models: {models:.2f} s]"
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
