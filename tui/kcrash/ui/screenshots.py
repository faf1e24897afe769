"""`python -m kcrash.ui.screenshots DIR`: SVG screenshots of the real console on the lab.

Starts the lab in-process, lets its scenarios play until every crash loop has shown itself, then
drives the app with Pilot and saves: the pods list, the drill-down of each cause, the log view,
the undo dialog, the command line, describe, YAML, events, the container menu and the debug
dialog at 80x24, and the pods list in every theme. Then, with no lab, the drill-down of a pasted
`kubectl describe` and previous log opened offline (`kcrash --from`).
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from textual.pilot import Pilot

from kcrash.cluster.config import connect
from kcrash.cluster.source import ClusterSource
from kcrash.core.status import pod_status
from kcrash.ui.app import KcrashApp, make_app
from kcrash.ui.demo import DEMO_CONTEXT, DEMO_NAMESPACE, Demo, start_demo
from kcrash.ui.offline import load_pastes, make_offline_app
from kcrash.ui.screens.pods import PodsScreen

SIZE = (140, 42)
WARM_UP_SECONDS = 60.0
LAB_SPEED = 6.0
MEMORY_SAMPLES = 12
METRICS_INTERVAL = 2.0

CAUSES = (
    "oom-leak",
    "crash-missing-env",
    "slow-start-liveness",
    "exit-zero",
    "bad-command",
    "db-unreachable",
    "bad-image-tag",
    "missing-secret",
    "missing-configmap",
    "bad-rollout",
)

OFFLINE_PASTES = Path(__file__).resolve().parents[3] / "tests" / "data" / "pastes" / "app-error-missing-env"
OFFLINE_FILES = ("describe.txt", "previous.log")

Step = Callable[[Pilot[int]], Awaitable[None]]
WORKFLOW_SHOTS = (
    "command-line-80x24",
    "describe-80x24",
    "yaml-80x24",
    "events-80x24",
    "log-containers-80x24",
    "debug-80x24",
)
ONLY: list[str] = []
"""Name patterns (`drill-*`) of the screenshots to make; empty: all of them."""


def _wanted(*names: str) -> bool:
    return not ONLY or any(fnmatch.fnmatch(name, pattern) for name in names for pattern in ONLY)


def _pods_screen(app: KcrashApp) -> PodsScreen:
    for screen in app.screen_stack:
        if isinstance(screen, PodsScreen):
            return screen
    raise RuntimeError("the pods screen is not open")


async def _wait_for(pilot: Pilot[int], ready: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError("the console did not reach the expected state")
        await pilot.pause(0.2)


async def _filter_to(pilot: Pilot[int], text: str) -> None:
    await pilot.press("slash", *text, "enter")
    await pilot.pause(0.3)


async def _open(pilot: Pilot[int], text: str) -> None:
    await _filter_to(pilot, text)
    await pilot.press("enter")
    await pilot.pause(3.0)  # diagnosis, events, logs and history arrive


async def _let_memory_build_up(pilot: Pilot[int], app: KcrashApp) -> None:
    """The chart shows what was sampled since the session began: give it a dozen samples."""
    await _wait_for(pilot, lambda: app.source.metrics.samples_taken >= MEMORY_SAMPLES, timeout=60.0)


def _shot(app: KcrashApp, directory: Path, name: str) -> None:
    if not _wanted(name):
        return
    app.save_screenshot(filename=f"{name}.svg", path=str(directory))
    sys.stdout.write(f"wrote {directory / name}.svg\n")


async def _session(
    demo: Demo, directory: Path, theme: str, steps: Callable[[Pilot[int], KcrashApp], Awaitable[None]]
) -> None:
    conn = connect(demo.kubeconfig, DEMO_CONTEXT, DEMO_NAMESPACE, False)
    source = ClusterSource(conn, namespace=conn.namespace, metrics_interval=METRICS_INTERVAL)
    app = make_app(source, clock=demo.clock, theme=theme)
    async with app.run_test(size=SIZE) as pilot:
        await _wait_for(pilot, lambda: app.sync_state.live and len(app.store) > 0)
        await pilot.pause(1.0)
        await steps(pilot, app)
    source.stop()


async def _all(directory: Path) -> None:
    demo = start_demo(speed=LAB_SPEED)
    try:
        _warm_up(demo)

        async def pods(pilot: Pilot[int], app: KcrashApp) -> None:
            _shot(app, directory, "pods")
            await pilot.resize_terminal(80, 24)
            await pilot.pause(0.5)
            _shot(app, directory, "pods-80x24")

        if _wanted("pods", "pods-80x24"):
            await _session(demo, directory, "dark", pods)

        async def narrow(pilot: Pilot[int], app: KcrashApp) -> None:
            """80x24, as over SSH on a bastion: help scrolled to its end, a drill-down, a log."""
            await pilot.resize_terminal(80, 24)
            await pilot.press("question_mark", "G")
            await pilot.pause(0.5)
            _shot(app, directory, "help-80x24-scrolled")
            await pilot.press("escape")
            await _open(pilot, "oom-leak")
            _shot(app, directory, "drill-oom-leak-80x24")
            await pilot.press("l")
            await pilot.pause(2.0)
            _shot(app, directory, "logs-80x24")

        if _wanted("help-80x24-scrolled", "drill-oom-leak-80x24", "logs-80x24"):
            await _session(demo, directory, "dark", narrow)

        for cause in (c for c in CAUSES if _wanted(f"drill-{c}")):

            async def drill(pilot: Pilot[int], app: KcrashApp, cause: str = cause) -> None:
                await pilot.resize_terminal(120, 42)
                if cause == "oom-leak":
                    await _let_memory_build_up(pilot, app)
                await _open(pilot, cause)
                _shot(app, directory, f"drill-{cause}")

            await _session(demo, directory, "dark", drill)

        async def logs(pilot: Pilot[int], app: KcrashApp) -> None:
            await _filter_to(pilot, "crash-missing-env")
            await pilot.press("l")
            await pilot.pause(2.0)
            _shot(app, directory, "logs")

        if _wanted("logs"):
            await _session(demo, directory, "dark", logs)

        async def undo(pilot: Pilot[int], app: KcrashApp) -> None:
            await _filter_to(pilot, "bad-rollout")
            await pilot.press("u")
            await pilot.pause(3.0)
            _shot(app, directory, "undo")

        if _wanted("undo"):
            await _session(demo, directory, "dark", undo)
        if _wanted(*WORKFLOW_SHOTS):
            await _session(demo, directory, "dark", partial(_workflows, directory=directory))

        for theme in (t for t in ("light", "high-contrast") if _wanted(f"pods-{t}", f"drill-oom-leak-{t}")):

            async def themed(pilot: Pilot[int], app: KcrashApp, theme: str = theme) -> None:
                _shot(app, directory, f"pods-{theme}")
                await _open(pilot, "oom-leak")
                _shot(app, directory, f"drill-oom-leak-{theme}")

            await _session(demo, directory, theme, themed)
    finally:
        demo.stop()
    if _wanted("offline-drilldown"):
        await _offline(directory)


async def _offline(directory: Path) -> None:
    """`kcrash --from describe.txt --from previous.log`: the drill-down of a paste, no cluster."""
    files = [str(OFFLINE_PASTES / name) for name in OFFLINE_FILES]
    app = make_offline_app(load_pastes(files, now=datetime.now(UTC)))
    async with app.run_test(size=(120, 42)) as pilot:
        await pilot.pause(2.0)  # the drill-down opens and its pieces arrive
        _shot(app, directory, "offline-drilldown")


async def _workflows(pilot: Pilot[int], app: KcrashApp, *, directory: Path) -> None:
    """The k9s-style workflows at 80x24: the command line completing, describe searched, the
    YAML, the events of the namespace, the container menu and the debug dialog."""
    await pilot.resize_terminal(80, 24)
    await pilot.press("colon", "n", "s", "space", "c", "r", "tab")
    await pilot.pause(1.0)
    await pilot.press("tab")
    await pilot.pause(0.3)
    _shot(app, directory, "command-line-80x24")
    await pilot.press("escape")
    await _filter_to(pilot, "oom-leak")
    await pilot.press("d")
    await pilot.pause(2.0)
    await pilot.press("slash", *"OOMKilled", "enter")
    await pilot.pause(0.5)
    _shot(app, directory, "describe-80x24")
    await pilot.press("y")
    await pilot.pause(2.0)
    _shot(app, directory, "yaml-80x24")
    await pilot.press("escape", "escape")
    await pilot.pause(0.5)
    await pilot.press("E")
    await pilot.pause(2.0)
    _shot(app, directory, "events-80x24")
    await pilot.press("escape")
    await pilot.pause(0.3)
    await _filter_to(pilot, "init-migrate")
    await pilot.press("l")
    await pilot.pause(1.5)
    await pilot.press("C")
    await pilot.pause(0.5)
    _shot(app, directory, "log-containers-80x24")
    await pilot.press("escape", "escape", "escape")
    await pilot.pause(0.3)
    await _filter_to(pilot, "bad-command")
    await pilot.press("D")
    await pilot.pause(0.5)
    _shot(app, directory, "debug-80x24")


def _warm_up(demo: Demo) -> None:
    """Let the scenarios play until the crash loops have restarted a few times."""
    conn = connect(demo.kubeconfig, DEMO_CONTEXT, DEMO_NAMESPACE, False)
    source = ClusterSource(conn, namespace=conn.namespace)
    deadline = time.monotonic() + WARM_UP_SECONDS
    while time.monotonic() < deadline:
        statuses = [pod_status(p) for p in source.list_pods()]
        if statuses.count("CrashLoopBackOff") >= 5:
            break
        time.sleep(1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kcrash.ui.screenshots")
    parser.add_argument("directory", type=Path)
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PATTERN",
        help="make only these (`drill-*`; repeatable)",
    )
    args = parser.parse_args(argv)
    ONLY[:] = args.only
    args.directory.mkdir(parents=True, exist_ok=True)
    # The debug dialog needs a kubectl on PATH: the one installed beside this Python (dev extras).
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    asyncio.run(_all(args.directory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
