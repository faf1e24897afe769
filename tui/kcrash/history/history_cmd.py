"""`kcrash history`: the crashes archived for a cluster, and the log of one of them.

    kcrash history [POD] [-n NS | -A] [-o text|json] [--limit N] [--context C] [--kubeconfig F]
    kcrash history POD --crash N [-c CONTAINER] [-o text|json]

POD is a pod's name, or a workload's (a Deployment's pods, old and new, share it). Crashes are
listed newest first. `--crash N` prints the log kept for restart N of POD (`-o json`: the whole
crash, log included). Nothing is asked of the cluster: the kubeconfig only names the archive.
Every string from the cluster is made safe for the terminal in text output; docs/history.md
lists the JSON fields. Exit status: 0 found, 1 nothing archived matches, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import orjson

from kcrash.cluster.errors import KcrashError
from kcrash.core.sanitize import clean, clean_line
from kcrash.history.archive import Archive, ArchiveError
from kcrash.history.cluster_args import CommandError, Parser, add_cluster_flags, connection, open_archive
from kcrash.history.crash import Crash

EXIT_OK, EXIT_NONE, EXIT_ERROR = 0, 1, 2
WORDS_WIDTH = 90
ARCHIVERS = "kcrash record, or the console while it runs, archives them"


def build_parser() -> Parser:
    parser = Parser(
        prog="kcrash history", description="List the crashes kcrash archived, or print one's log."
    )
    parser.add_argument("pod", nargs="?", metavar="POD", help="a pod's (or a workload's) name")
    add_cluster_flags(parser)
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text")
    parser.add_argument("--crash", type=int, metavar="N", help="print the log of POD's crash at restart N")
    parser.add_argument("-c", "--container", metavar="NAME", help="with --crash: the container")
    parser.add_argument("--limit", type=int, default=200, metavar="N", help="at most N crashes (default 200)")
    return parser


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        if args.crash is not None and not args.pod:
            raise CommandError("--crash N needs the POD whose crash it is: kcrash history POD --crash N")
        conn = connection(args)
        archive = open_archive(args, conn)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    except (CommandError, KcrashError, ArchiveError) as exc:
        err.write(f"kcrash history: {exc}\n")
        return EXIT_ERROR
    try:
        if args.crash is not None:
            return _print_crash(archive, conn.namespace, args, out, err)
        crashes = find(archive, conn.namespace, args.pod, limit=args.limit)
        if args.output == "json":
            out.write(
                orjson.dumps([crash.as_json() for crash in crashes], option=orjson.OPT_INDENT_2).decode()
            )
            out.write("\n")
        elif crashes:
            out.write(table(crashes))
        else:
            err.write(f"kcrash history: {_nothing(args.pod, conn.namespace)}\n")
        return EXIT_OK if crashes else EXIT_NONE
    finally:
        archive.close()


def find(
    archive: Archive, namespace: str | None, pod: str | None, *, limit: int, with_log: bool = False
) -> list[Crash]:
    """A pod's crashes, or if no pod of that name crashed, those of the workload of that name."""
    if pod is None:
        return archive.crashes(namespace=namespace, limit=limit, with_log=with_log)
    found = archive.crashes(namespace=namespace, pod=pod, limit=limit, with_log=with_log)
    return found or archive.crashes(namespace=namespace, workload=pod, limit=limit, with_log=with_log)


def table(crashes: list[Crash]) -> str:
    header = ("FINISHED (UTC)", "NAMESPACE", "POD", "CONTAINER", "RESTART", "EXIT", "REASON", "DYING WORDS")
    rows = [header, *(_row(crash) for crash in crashes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "   " + row[-1]
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _row(crash: Crash) -> tuple[str, ...]:
    moment = crash.moment
    words = clean_line(crash.dying_words) or (f"({clean_line(crash.log_error)})" if crash.log_error else "")
    if len(words) > WORDS_WIDTH:
        words = words[: WORDS_WIDTH - 1] + "…"
    return (
        moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-",
        clean_line(crash.namespace),
        clean_line(crash.pod),
        clean_line(crash.container),
        str(crash.restart),
        "-" if crash.exit_code is None else str(crash.exit_code),
        clean_line(crash.reason) or "-",
        words,
    )


def _print_crash(
    archive: Archive, namespace: str | None, args: argparse.Namespace, out: TextIO, err: TextIO
) -> int:
    pod: str = args.pod
    number: int = args.crash
    container: str | None = args.container
    crashes = [
        crash
        for crash in find(archive, namespace, pod, limit=100_000)
        if crash.restart == number and (container is None or crash.container == container)
    ]
    if not crashes:
        err.write(
            f"kcrash history: no crash at restart {number} of {clean_line(pod)} is archived "
            f"(kcrash history {clean_line(pod)} lists those that are)\n"
        )
        return EXIT_NONE
    places = sorted({f"{clean_line(crash.pod)} ({clean_line(crash.container)})" for crash in crashes})
    if len(places) > 1:
        err.write(
            f"kcrash history: restart {number} of {clean_line(pod)} is archived for {', '.join(places)}: "
            "name the pod, and the container with -c\n"
        )
        return EXIT_ERROR
    crash = archive.crash(crashes[0].id)
    assert crash is not None
    if args.output == "json":
        out.write(orjson.dumps(crash.as_json(with_log=True), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif crash.log:
        out.write(clean(crash.log).rstrip("\n") + "\n")
    else:
        err.write(
            f"kcrash history: no log was kept for this crash: {clean_line(crash.log_error) or 'empty'}\n"
        )
    return EXIT_OK


def _nothing(pod: str | None, namespace: str | None) -> str:
    where = f"in namespace {namespace}" if namespace else "in any namespace"
    if pod:
        return f"no crash of {clean_line(pod)} {where} is archived ({ARCHIVERS})"
    return f"no crash {where} is archived yet ({ARCHIVERS})"
