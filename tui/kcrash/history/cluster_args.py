"""Flags `kcrash record` and `kcrash history` share with the console, and the archive they name."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from kcrash.cluster.config import Connection, connect
from kcrash.history.archive import Archive, Identity


class CommandError(Exception):
    """Bad flags, no cluster, an unreadable archive: one line on stderr, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{message} (see {self.prog} --help)")


def add_cluster_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kubeconfig", metavar="PATH", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)"
    )
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current one)")
    parser.add_argument("-n", "--namespace", metavar="NS", help="namespace (default: the context's)")
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    parser.add_argument("--archive", metavar="FILE", type=Path, help=argparse.SUPPRESS)


def connection(args: argparse.Namespace) -> Connection:
    return connect(args.kubeconfig, args.context, args.namespace, args.all_namespaces, check=False)


def open_archive(args: argparse.Namespace, conn: Connection) -> Archive:
    identity = Identity(conn.server, conn.context)
    if args.archive is not None:
        return Archive(args.archive, identity)
    return Archive.for_cluster(identity)
