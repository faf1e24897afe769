"""`kcrash` with no subcommand: parse kubectl-style flags, connect, run the console.

A bad kubeconfig, an unknown context, an unreachable server or missing access ends here with one
line on stderr and exit status 2, before any screen opens.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from kcrash.ui.themes import ThemeError, load_themes, resolve_theme_name

if TYPE_CHECKING:
    from kcrash.ui.clock import Clock

EXIT_USAGE = 2
METRICS_INTERVAL = 15.0
"""metrics-server resolves 15 s at best; sampling faster buys nothing on a real cluster."""
DEMO_METRICS_INTERVAL = 5.0
"""The lab computes memory on demand, so the demo's chart can fill faster."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kcrash",
        description="Why does this pod keep dying, and what do I do now? "
        "A terminal console for crash-looping pods.",
        epilog="Subcommands: `kcrash lab` (the simulated cluster), `kcrash diagnose` (one-shot report).",
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
    parser.add_argument("--demo", action="store_true", help="start the built-in lab cluster and open it")
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
    try:
        theme = resolve_theme_name(args.theme, load_themes())
    except ThemeError as exc:
        return _fail(str(exc))

    if args.files or args.logs:
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
        return _run(args, theme, demo.clock if demo else None, DEMO_METRICS_INTERVAL if demo else None)
    except KcrashError as exc:
        return _fail(str(exc))
    finally:
        if demo is not None:
            demo.stop()


def _run(args: argparse.Namespace, theme: str, clock: Clock | None, metrics_interval: float | None) -> int:
    from kcrash.cluster.config import connect
    from kcrash.cluster.source import ClusterSource
    from kcrash.ui.app import make_app

    conn = connect(args.kubeconfig, args.context, args.namespace, args.all_namespaces)
    source = ClusterSource(
        conn,
        namespace=conn.namespace,
        selector=args.selector,
        read_only=args.read_only,
        metrics_interval=metrics_interval or METRICS_INTERVAL,
    )
    app = make_app(source, clock=clock, theme=theme)
    try:
        result = app.run()
    finally:
        source.stop()
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
    return int(make_offline_app(source, theme=theme).run() or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
