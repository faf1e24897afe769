"""`kcrash` with no subcommand: parse kubectl-style flags, connect, run the console.

A bad kubeconfig, an unknown context, an unreachable server or missing access ends here with one
line on stderr and exit status 2, before any screen opens.

Launch time is mostly imports and the first LIST, so they overlap: a thread loads the kubeconfig
and sends the pod LIST (the server's answer to it doubles as the connection check) while this one
loads Textual and the screens. Textual is therefore imported inside `main`, never at module level.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from kcrash.version import VersionAction

if TYPE_CHECKING:
    from kcrash.cluster.source import ClusterSource
    from kcrash.history.recorder import Recorder
    from kcrash.ui.app import KcrashApp
    from kcrash.ui.clock import Clock

EXIT_USAGE = 2
METRICS_INTERVAL = 15.0
"""metrics-server resolves 15 s at best; sampling faster buys nothing on a real cluster."""
DEMO_METRICS_INTERVAL = 5.0
"""The lab computes memory on demand, so the demo's chart can fill faster."""
ANSWER_WAIT = 10.0
"""Seconds to wait for the server to answer the first LIST before the screen opens anyway (then
saying "connecting"): a refusal within this time is reported on stderr instead of on a screen."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kcrash",
        description="Why does this pod keep dying, and what do I do now? "
        "A terminal console for crash-looping pods.",
        epilog="Subcommands: `kcrash lab` (the simulated cluster), `kcrash diagnose` (one-shot report), "
        "`kcrash watch` (alerts, headless), `kcrash record` (archive crashes, headless), "
        "`kcrash history` (the archived crashes), `kcrash completion bash|zsh` (shell completion script).",
    )
    parser.add_argument(
        "--kubeconfig", metavar="PATH", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)"
    )
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current one)")
    parser.add_argument("-n", "--namespace", metavar="NS", help="namespace (default: the context's)")
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="pods of every namespace")
    parser.add_argument(
        "-l", "--selector", default="", metavar="SELECTOR", help="label selector, e.g. app=web"
    )
    parser.add_argument("--read-only", action="store_true", help="no writes: undo and delete are not offered")
    parser.add_argument(
        "--theme", default="dark", metavar="NAME", help="dark (default), light or high-contrast"
    )
    parser.add_argument(
        "--prometheus",
        default="",
        metavar="URL",
        help="the Prometheus holding the cluster's memory history, e.g. http://127.0.0.1:9090 "
        "(default: prometheus_url in history.toml, else looked for through the API server's service proxy)",
    )
    parser.add_argument("--demo", action="store_true", help="start the built-in lab cluster and open it")
    parser.add_argument("--version", action=VersionAction, help="print the version and exit")
    parser.add_argument("--demo-speed", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--from",
        dest="files",
        action="append",
        default=[],
        metavar="FILE",
        help="open saved or pasted kubectl output offline, no cluster: describe pod, get pods, "
        "events, logs, get -o yaml|json (repeatable; - reads standard input)",
    )
    parser.add_argument("--logs", metavar="FILE", help="with --from: the crashed container's previous log")
    return parser


def _fail(message: str) -> int:
    sys.stderr.write(f"kcrash: {message}\n")
    return EXIT_USAGE


def main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has printed usage and the error
        return int(exit_.code or 0)
    offline = bool(args.files or args.logs)
    # Off to the server first; the theme (which loads Textual) is read while it answers.
    early = None if offline or args.demo else _Connecting(args, METRICS_INTERVAL).start()

    from kcrash.ui.themes import ThemeError, load_themes, resolve_theme_name

    try:
        theme = resolve_theme_name(args.theme, load_themes())
    except ThemeError as exc:
        if early is not None:
            early.cancel()
        return _fail(str(exc))

    if offline:
        return _run_offline(args, theme)

    from kcrash.cluster.errors import KcrashError

    demo = None
    try:
        if args.demo:
            from kcrash.ui.demo import DEMO_CONTEXT, DEMO_NAMESPACE, start_demo

            try:
                demo = start_demo(speed=args.demo_speed)
            except Exception as exc:  # the lab failed to start: say so in one line
                return _fail(f"could not start the demo cluster: {exc}")
            args.kubeconfig, args.context = demo.kubeconfig, DEMO_CONTEXT
            if not args.all_namespaces and not args.namespace:
                args.namespace = DEMO_NAMESPACE
            early = _Connecting(args, DEMO_METRICS_INTERVAL).start()
        assert early is not None
        return _run(early, theme, demo.clock if demo else None)
    except KcrashError as exc:
        return _fail(str(exc))
    finally:
        if demo is not None:
            demo.stop()


class _Connecting:
    """Load the kubeconfig and start the pod LIST+WATCH on a thread of its own."""

    def __init__(self, args: argparse.Namespace, metrics_interval: float) -> None:
        self._args = args
        self._metrics_interval = metrics_interval
        self._source: ClusterSource | None = None
        self._error: BaseException | None = None
        self._prometheus: tuple[str, tuple[str, ...]] = ("", ())
        self._thread = threading.Thread(target=self._connect, name="kcrash-connect", daemon=True)

    def start(self) -> _Connecting:
        # Everything the thread imports is imported here first, on the calling thread, which goes
        # on to import Textual: with both threads importing at once, about one launch in a hundred
        # died inside importlib itself (`NameError: name 'sys' is not defined` in
        # `_find_and_load`, CPython 3.11). The thread then only loads, connects and lists.
        import encodings.idna  # noqa: F401  # what ssl asks for at the first connection

        from kcrash.cluster import config, source  # noqa: F401

        # history.toml too is read here (tomllib, platformdirs): the thread imports nothing.
        self._prometheus = _prometheus_settings(self._args.prometheus)
        self._thread.start()
        return self

    def _connect(self) -> None:
        from kcrash.cluster.config import connect
        from kcrash.cluster.source import ClusterSource

        args = self._args
        try:
            # No separate reachability probe: the answer to the LIST says the same, a request sooner.
            conn = connect(args.kubeconfig, args.context, args.namespace, args.all_namespaces, check=False)
            url, locations = self._prometheus
            source = ClusterSource(
                conn,
                namespace=conn.namespace,
                selector=args.selector,
                read_only=args.read_only,
                metrics_interval=self._metrics_interval,
                kubeconfig=args.kubeconfig,
                prometheus_url=url,
                prometheus_locations=locations,
            )
            source.start_watch()
            self._source = source
        except BaseException as exc:  # re-raised in the main thread by `source()`
            self._error = exc

    def join(self) -> None:
        """Wait for the thread: its imports are done, so the caller's own do not race them."""
        self._thread.join()

    def source(self, answer_wait: float = ANSWER_WAIT) -> ClusterSource:
        """The started source, once the server answered its first LIST (or `answer_wait` passed);
        raises what went wrong (a KcrashError for everything the user can fix)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._source is not None
        try:
            self._source.wait_answered(answer_wait)
        except BaseException:
            self._source.stop()
            raise
        return self._source

    def cancel(self) -> None:
        self._thread.join()
        if self._source is not None:
            self._source.stop()


def _prometheus_settings(given: str) -> tuple[str, tuple[str, ...]]:
    """Where to look for Prometheus: --prometheus, else history.toml's URL, else its services (a
    settings file that cannot be read means the defaults here: the recorder reports it)."""
    from kcrash.history.settings import HistorySettings, SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError:
        settings = HistorySettings()
    return given or settings.prometheus_url, settings.prometheus_services


def _run(early: _Connecting, theme: str, clock: Clock | None) -> int:
    early.join()
    from kcrash.ui.app import make_app

    source = early.source()
    # The demo's cluster is born and dies with the console: its crashes are archived in a folder
    # that goes with it, so the Crashes section and `p` in the log view show what they do.
    scratch = tempfile.TemporaryDirectory(prefix="kcrash-demo-") if clock is not None else None
    recorder, archive_note = _recorder(source, Path(scratch.name) if scratch else None)
    app = make_app(source, clock=clock, theme=theme, recorder=recorder)
    app.archive_note = archive_note
    try:
        result = app.run()
    finally:
        source.stop()
        if recorder is not None:
            recorder.stop()
            recorder.archive.close()
        if scratch is not None:
            scratch.cleanup()
    return _exit_status(app, result)


def _recorder(source: ClusterSource, root: Path | None = None) -> tuple[Recorder | None, str]:
    """The crash archive of the source's cluster, recorded into while the console runs; None and
    the line that says why when it cannot be opened: the console works without it."""
    from kcrash.history.archive import Archive, ArchiveError, Identity
    from kcrash.history.recorder import Recorder
    from kcrash.history.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        archive = Archive.for_cluster(Identity(source.server, source.context), root)
    except (ArchiveError, SettingsError) as exc:
        return None, str(exc)
    return Recorder(source, archive, settings), ""


def _exit_status(app: KcrashApp, result: int | None) -> int:
    """The app's own status; an error that ended it is status 1 and names its traceback's file."""
    if app.return_code:
        where = f": traceback in {app.crash_log}" if app.crash_log else ""
        print(f"kcrash: the console stopped on an internal error{where}", file=sys.stderr)
        return app.return_code
    return int(result or 0)


def _run_offline(args: argparse.Namespace, theme: str) -> int:
    """`--from`: the pastes in the console, refused in one line when kcrash cannot read them."""
    from datetime import UTC, datetime

    from kcrash.core.sanitize import clean_line
    from kcrash.ui.offline import PasteError, keys_from_terminal, load_pastes, make_offline_app

    if args.demo:
        return _fail("--from opens pastes offline; --demo opens the lab cluster: give one of them")
    try:
        source = load_pastes(
            args.files, args.logs, now=datetime.now(UTC), namespace=args.namespace, selector=args.selector
        )
        if "-" in (*args.files, args.logs):
            keys_from_terminal()
    except PasteError as exc:
        return _fail(clean_line(str(exc)))
    app = make_offline_app(source, theme=theme)
    return _exit_status(app, app.run())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
