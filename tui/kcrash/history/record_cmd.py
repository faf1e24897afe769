"""`kcrash record`: archive every crash in a scope, headless, for a tmux or systemd session.

    kcrash record [-n NS | -A] [-l SELECTOR] [--context C] [--kubeconfig F] [--quiet]

One LIST+WATCH of pods (the console's own), log reads only on crashes, rate-limited (see
`history.settings`). A line on stderr when the watch goes live or stale and every `REPORT_EVERY`
seconds with what was archived; SIGTERM or Ctrl-C stop it cleanly (the read under way finishes)
with a last such line. It imports no UI. Exit status: 0 stopped, 2 usage or connection error.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TextIO

from kcrash.cluster.errors import KcrashError
from kcrash.cluster.reflector import SyncState
from kcrash.cluster.source import ClusterSource
from kcrash.history.archive import ArchiveError
from kcrash.history.cluster_args import CommandError, Parser, add_cluster_flags, connection, open_archive
from kcrash.history.recorder import Recorder
from kcrash.history.settings import SettingsError, load_settings

EXIT_OK, EXIT_ERROR = 0, 2
REPORT_EVERY = 60.0
METRICS_INTERVAL = 15.0


def build_parser() -> Parser:
    parser = Parser(
        prog="kcrash record",
        description="Archive every container crash in the scope (log tail, Last State, events, memory) "
        "until stopped. `kcrash history` lists what was archived.",
    )
    add_cluster_flags(parser)
    parser.add_argument(
        "-l", "--selector", default="", metavar="SELECTOR", help="label selector, e.g. app=web"
    )
    parser.add_argument(
        "--report-every", type=float, default=REPORT_EVERY, metavar="S", help=argparse.SUPPRESS
    )
    parser.add_argument("--no-metrics", action="store_true", help="do not sample memory (metrics.k8s.io)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only the last line, on stop")
    return parser


def main(argv: list[str], out: TextIO | None = None) -> int:
    err = out or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        settings = load_settings()
        conn = connection(args)
        archive = open_archive(args, conn)
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except (CommandError, KcrashError, ArchiveError, SettingsError) as exc:
        err.write(f"kcrash record: {exc}\n")
        return EXIT_ERROR
    source = ClusterSource(
        conn,
        namespace=conn.namespace,
        selector=args.selector,
        read_only=True,
        metrics_interval=METRICS_INTERVAL,
    )
    recorder = Recorder(source, archive, settings)
    stop = threading.Event()
    _on_stop_signals(stop)
    scope = f"namespace {conn.namespace}" if conn.namespace else "all namespaces"

    def say(text: str) -> None:
        if not args.quiet:
            _say(err, text)

    say(f"recording crashes of {scope} on {conn.context or conn.server} into {archive.path}")
    state = _StateLines(say)
    recorder.start()

    def on_state(sync: SyncState) -> None:
        recorder.on_state(sync)
        state.hear(sync)

    source.watch_pods(recorder.on_events, recorder.on_resync, on_state)
    if not args.no_metrics:
        source.metrics.start()
    try:
        while not stop.wait(args.report_every):
            say(recorder.stats.line())
    except KeyboardInterrupt:
        pass
    finally:
        source.stop()
        recorder.stop()
        _say(err, f"stopped: {recorder.stats.line()}")
        archive.close()
    return EXIT_OK


class _StateLines:
    """One line when the watch goes live, and one when it goes stale (not one per retry)."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._live: bool | None = None

    def hear(self, state: SyncState) -> None:
        if state.live == self._live or state.phase == "connecting":
            return
        self._live = state.live
        self._say("watching: live" if state.live else f"watch interrupted: {state.last_error or state.phase}")


def _say(err: TextIO, text: str) -> None:
    err.write(f"kcrash record: {text}\n")
    err.flush()


def _on_stop_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, handler)
