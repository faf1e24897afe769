"""Where kcrash's launch time goes, inside one process, against a lab that is already running.

    .venv/bin/python bench/profile_launch.py --kubeconfig FILE [--phases] [--app] [--profile OUT]
                                             [--width 200] [--height 50]

Start a lab first (`kcrash lab --extra-pods 20000 --kubeconfig FILE`) and wait for its line.
- `--phases` times each step of the hot path on its own: imports, connect, the paged LIST
  (bytes, decode, records), the store, building every row, the table's ordering;
- `--app` runs the real console headless (`run_test`) and times launch -> every pod in the table;
- `--profile OUT` runs `--app` under cProfile and writes its stats to OUT (read them with
  `python -m pstats OUT`, then `sort cumtime`, `stats 40`).
The figures include no terminal: bench/run.py measures from outside, through tmux.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))

STARTED = time.perf_counter()


@contextmanager
def step(name: str, figures: dict[str, float]) -> Iterator[None]:
    began = time.perf_counter()
    yield
    figures[name] = time.perf_counter() - began


def phases(kubeconfig: str) -> dict[str, float]:
    """Each step of launch -> table on its own, in the order the console takes them."""
    figures: dict[str, float] = {}
    with step("import textual", figures):
        import textual.app  # noqa: F401
    with step("import kubernetes", figures):
        import kubernetes  # noqa: F401
    with step("import kcrash", figures):
        from kcrash.cluster.config import connect
        from kcrash.cluster.source import ClusterSource
        from kcrash.core.store import PodStore
        from kcrash.ui.rows import build_row, sort_key
        from kcrash.ui.widgets.pod_table import _SortedRows
    with step("connect", figures):
        conn = connect(kubeconfig, None, None, True)
        source = ClusterSource(conn, namespace=None)
    with step("list+parse", figures):
        pods = source.list_pods()
    with step("store", figures):
        store = PodStore()
        store.replace_all(pods)
    now = source.api.conn.api.configuration and __import__("datetime").datetime.now(
        __import__("datetime").UTC
    )
    with step("rows", figures):
        rows = [build_row(pod, now) for pod in pods]
    with step("order", figures):
        key = sort_key("problems")
        _SortedRows((key(row), row.key) for row in rows)
    figures["pods"] = float(len(pods))
    return figures


def run_app(kubeconfig: str, width: int, height: int) -> dict[str, float]:
    """The real console, headless: seconds from building it to every pod in the table."""
    from kcrash.cluster.config import connect
    from kcrash.cluster.source import ClusterSource
    from kcrash.ui.app import make_app
    from kcrash.ui.widgets.pod_table import PodTable

    figures: dict[str, float] = {}
    began = time.perf_counter()
    conn = connect(kubeconfig, None, None, True)
    source = ClusterSource(conn, namespace=None)
    expected = len(source.list_pods()) if False else 0
    app = make_app(source)

    async def drive() -> None:
        async with app.run_test(size=(width, height)) as pilot:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                table = app.screen.query(PodTable).first() if app.screen.query(PodTable) else None
                if table is not None and app.sync_state.live and table.total_count and _settled(app):
                    break
                await pilot.pause(0.01)
            figures["table"] = time.perf_counter() - began
            figures["pods"] = float(len(app.store))
            await pilot.pause(0.5)

    asyncio.run(drive())
    source.stop()
    figures["expected"] = float(expected)
    return figures


def _settled(app: Any) -> bool:
    from kcrash.ui.widgets.pod_table import PodTable

    tables = app.screen.query(PodTable)
    return bool(tables) and tables.first().total_count == len(app.store) > 0


def profiled(run: Callable[[], dict[str, float]], out: str) -> dict[str, float]:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        return run()
    finally:
        profiler.disable()
        profiler.dump_stats(out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--phases", action="store_true")
    parser.add_argument("--app", action="store_true")
    parser.add_argument("--profile", metavar="OUT")
    parser.add_argument("--width", type=int, default=200)
    parser.add_argument("--height", type=int, default=50)
    args = parser.parse_args(argv)
    if args.phases:
        for name, value in phases(args.kubeconfig).items():
            print(f"{name:>18}  {value:8.3f}")
    if args.app or args.profile:

        def app() -> dict[str, float]:
            return run_app(args.kubeconfig, args.width, args.height)

        figures = profiled(app, args.profile) if args.profile else app()
        for name, value in figures.items():
            print(f"{name:>18}  {value:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
