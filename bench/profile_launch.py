"""Where kcrash's launch time goes, inside one process, against a lab that is already running.

    .venv/bin/python bench/profile_launch.py --kubeconfig FILE [--phases] [--app] [--profile OUT]
                                             [--width 200] [--height 50]

Start a lab first (`kcrash lab --extra-pods 20000 --kubeconfig FILE`) and wait for its line.
- `--phases` times each step of the hot path on its own, one after the other: the imports,
  loading the kubeconfig, the paged LIST turned into records, the store, a row per pod, sorting;
- `--app` runs the real console headless (`run_test`) the way `kcrash -A` starts it (the LIST
  sent while the screens load) and times launch -> every pod in the table;
- `--profile OUT` runs `--app` under cProfile in every thread and writes the merged stats to OUT
  (read them with `python -m pstats OUT`, then `sort tottime`, `stats 30`).
No terminal is involved: bench/run.py measures from outside, through tmux.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import pstats
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))

Figures = dict[str, float]


@contextmanager
def step(name: str, figures: Figures) -> Iterator[None]:
    began = time.perf_counter()
    yield
    figures[name] = time.perf_counter() - began


def phases(kubeconfig: str) -> Figures:
    """Each step of launch -> table on its own, in the order the console takes them."""
    figures: Figures = {}
    with step("import kubernetes", figures):
        import kubernetes  # noqa: F401
    with step("import textual", figures):
        import textual.app  # noqa: F401
    with step("import kcrash", figures):
        from kcrash.cluster.config import connect
        from kcrash.cluster.source import ClusterSource
        from kcrash.core.store import PodStore
        from kcrash.ui.rows import build_row, sort_key
        from kcrash.ui.widgets.pod_table import _SortedRows
    with step("kubeconfig", figures):
        source = ClusterSource(connect(kubeconfig, None, None, True, check=False), namespace=None)
    with step("list+parse", figures):
        pods = source.list_pods()
    with step("store", figures):
        PodStore().replace_all(pods)
    now = datetime.now(UTC)
    with step("rows", figures):
        rows = [build_row(pod, now) for pod in pods]
    with step("sort", figures):
        key = sort_key("problems")
        _SortedRows((key(row), row.key) for row in rows)
    figures["pods"] = float(len(pods))
    return figures


def run_app(kubeconfig: str, width: int, height: int) -> Figures:
    """The real console, headless, started as `kcrash -A` starts it; seconds to a full table."""
    figures: Figures = {}
    began = time.perf_counter()
    from kcrash.cluster.config import connect
    from kcrash.cluster.source import ClusterSource

    source = ClusterSource(connect(kubeconfig, None, None, True, check=False), namespace=None)
    source.start_watch()
    figures["list sent"] = time.perf_counter() - began
    from kcrash.ui.app import make_app
    from kcrash.ui.widgets.pod_table import PodTable

    app = make_app(source)
    figures["app built"] = time.perf_counter() - began

    def table_full() -> bool:
        tables = app.screen.query(PodTable)
        return app.sync_state.live and bool(tables) and tables.first().total_count == len(app.store) > 0

    async def drive() -> None:
        async with app.run_test(size=(width, height)) as pilot:
            deadline = time.monotonic() + 120
            while not table_full() and time.monotonic() < deadline:
                await pilot.pause(0.01)
            await pilot.pause()  # one more frame: the rows are drawn
            figures["table full"] = time.perf_counter() - began
            figures["pods"] = float(len(app.store))

    asyncio.run(drive())
    source.stop()
    return figures


def profiled(run: Callable[[], Figures], out: str) -> Figures:
    """`run` under cProfile, in this thread and every thread it starts; stats merged into `out`."""
    profiles: list[cProfile.Profile] = []
    original = threading.Thread.run

    def run_profiled(thread: threading.Thread) -> None:
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.runcall(original, thread)

    threading.Thread.run = run_profiled  # type: ignore[method-assign]
    main = cProfile.Profile()
    try:
        return main.runcall(run)
    finally:
        threading.Thread.run = original  # type: ignore[method-assign]
        stats = pstats.Stats(main)
        for profile in profiles:
            with contextlib.suppress(TypeError):  # a thread still running has no stats yet
                stats.add(profile)
        stats.dump_stats(out)


def show(figures: Figures) -> None:
    for name, value in figures.items():
        print(f"{name:>18}  {value:8.3f}")


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
        show(phases(args.kubeconfig))
    if args.app or args.profile:

        def app() -> Figures:
            return run_app(args.kubeconfig, args.width, args.height)

        show(profiled(app, args.profile) if args.profile else app())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
