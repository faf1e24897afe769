"""`kcrash watch`: alerts on the command line, for scripts, pipes and after-deploy checks.

    kcrash watch [-n NS | -A] [-l SELECTOR] [--context C] [--kubeconfig F] [-o json|text]
                 [--once] [--webhook URL] [--config FILE]

Streams one alert a line until interrupted: a JSON object per line with `-o json` (the fields are
documented in docs/alerts.md), a readable line otherwise. Pods failing when it starts are listed
first with state "already-failing"; after that, every alert is something that just happened.
`--once` looks once and exits: 1 when anything is failing, 0 when nothing is (for
`kubectl rollout status deploy/api && kcrash watch --once -l app=api`).

Never imports Textual (a subprocess test holds it to that).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NoReturn, TextIO

import orjson

from kcrash.core.alerts import Alert, AlertConfigError, alert_json, alert_text
from kcrash.core.sanitize import clean_line

if TYPE_CHECKING:
    from kcrash.cluster.alertfeed import AlertFeed
    from kcrash.cluster.source import ClusterSource
    from kcrash.cluster.webhook import WebhookSender

EXIT_OK, EXIT_FIRED, EXIT_ERROR = 0, 1, 2


class CommandError(Exception):
    """Bad flags, a bad config file, no cluster: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{message} (see kcrash watch --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kcrash watch",
        description="Stream alerts about restarts, OOM kills, crash loops and stuck rollouts.",
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", help="namespace (default: the context's)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    parser.add_argument("-l", "--selector", default="", help="label selector, e.g. app=web")
    parser.add_argument("--context", help="kubeconfig context to use")
    parser.add_argument("--kubeconfig", help="kubeconfig file to use")
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text")
    parser.add_argument(
        "--once", action="store_true", help="look once: exit 1 if anything is failing, 0 if nothing is"
    )
    parser.add_argument("--webhook", metavar="URL", help="POST each alert as Slack-compatible JSON")
    parser.add_argument(
        "--config", metavar="FILE", help="alerts config (default: ~/.config/kcrash/alerts.toml)"
    )
    return parser


def main(argv: list[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as done:  # --help
            return int(done.code or 0)
        return _run(args, out, err)
    except CommandError as exc:
        err.write(f"kcrash watch: {clean_line(str(exc))}\n")
        return EXIT_ERROR


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # Imported here: `--help` and a bad flag need none of the Kubernetes client.
    from kcrash.cluster.alertconfig import load_alert_config
    from kcrash.cluster.alertfeed import AlertFeed
    from kcrash.cluster.config import connect
    from kcrash.cluster.errors import KcrashError
    from kcrash.cluster.source import ClusterSource

    try:
        config = load_alert_config(args.config)
    except AlertConfigError as exc:
        raise CommandError(str(exc)) from None
    webhook_url = args.webhook or config.webhook
    if webhook_url and not webhook_url.startswith(("http://", "https://")):
        raise CommandError(f"--webhook must be an http:// or https:// URL (got {webhook_url!r})")
    try:
        conn = connect(args.kubeconfig, args.context, args.namespace, args.all_namespaces)
    except KcrashError as exc:
        raise CommandError(str(exc)) from None
    # Watching never changes anything: read-only guarantees no write is ever sent.
    source = ClusterSource(conn, namespace=conn.namespace, selector=args.selector, read_only=True)
    writer = _Writer(out, args.output)
    sender = _webhook(webhook_url, err) if webhook_url else None

    def on_alert(alert: Alert) -> None:
        writer.write(alert)
        if sender is not None:
            sender.send(alert)

    feed = AlertFeed(source, config, on_alert, on_error=lambda line: _say(err, line))
    try:
        if args.once:
            try:
                alerts = feed.evaluate_once()
            except KcrashError as exc:
                raise CommandError(str(exc)) from None
            for alert in alerts:
                on_alert(alert)
            return EXIT_FIRED if alerts else EXIT_OK
        return _stream(feed, source, err)
    finally:
        if sender is not None:
            sender.close()


def _stream(feed: AlertFeed, source: ClusterSource, err: TextIO) -> int:
    from kcrash.cluster.errors import KcrashError

    done = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    feed.start()
    try:
        try:
            if not source.wait_answered(30.0):
                _say(err, "the server has not answered the first list yet; still trying")
        except KcrashError as exc:
            raise CommandError(str(exc)) from None
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        feed.stop()
    return EXIT_OK


def _webhook(url: str, err: TextIO) -> WebhookSender:
    from kcrash.cluster.webhook import WebhookSender

    return WebhookSender(url, on_error=lambda line: _say(err, line))


def _say(err: TextIO, line: str) -> None:
    err.write(f"kcrash watch: {clean_line(line)}\n")
    err.flush()


class _Writer:
    """One alert a line, flushed at once (a pipe must see it now), from whichever thread."""

    def __init__(self, out: TextIO, output: str) -> None:
        self._out = out
        self._json = output == "json"
        self._lock = threading.Lock()

    def write(self, alert: Alert) -> None:
        if self._json:
            line = orjson.dumps(alert_json(alert)).decode()
        else:
            line = alert_text(alert, datetime.now(UTC))
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()
