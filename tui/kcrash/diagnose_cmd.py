"""`kcrash diagnose`: the console's verdict on the command line, for a cluster or for what people paste.

    kcrash diagnose [POD ...] [-n NS | -A] [-l SELECTOR] [--context C] [--kubeconfig F]
                    [-o text|json] [--from FILE]... [--logs FILE]

With POD names, each named pod is diagnosed; without, every failing pod in the scope. `--from`
(repeatable, `-` for standard input) reads whatever kubectl printed — `get -o yaml|json`, a bare
`status:` stanza, `describe pod`, `get pods`, event tables, `logs`, or a chat thread holding several
of them — detecting each file's form on its own and putting the files about one pod together. It
needs no cluster: the client libraries are not even imported. `--logs` adds a previous-log excerpt
(`-` for standard input, which can be read once in all).

Exit status: 0 nothing is failing, 1 something is, 2 usage or connection error (one line on stderr).
"""

from __future__ import annotations

import argparse
import codecs
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

import orjson
import yaml

from kcrash.cluster.parse import ParsedObjects
from kcrash.cluster.paste.logs import parse_logs
from kcrash.cluster.pastes import Missing, PastedPod, PasteFacts, combine, parse_paste, quote_pasted
from kcrash.core.diagnose import diagnose
from kcrash.core.records import Deployment, Diagnosis, Pod, Revision
from kcrash.core.sanitize import clean_line
from kcrash.core.status import is_failing, last_exit, pod_status, restart_count
from kcrash.core.summary import diagnosis_json

if TYPE_CHECKING:
    from kcrash.cluster.source import ClusterSource

EXIT_OK, EXIT_FAILING, EXIT_ERROR = 0, 1, 2
LOG_LIMIT = 256 * 1024  # what a --logs file may contribute: its last 256 KiB
STDIN, STDIN_NAME = "-", "<stdin>"
FORMS = "give it what kubectl printed: get -o yaml|json, describe pod, get pods, get events, events or logs"
# The top-level keys a saved object (or a stanza of one) opens with, to explain YAML that won't load.
_YAML_OBJECT = re.compile(r"^(?:apiVersion|kind|metadata|spec|status|items|containerStatuses):(?:\s|$)")
_Item = TypeVar("_Item", Pod, PastedPod)


class CommandError(Exception):
    """Bad flags, unreadable files, no cluster: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{message} (see kcrash diagnose --help)")


@dataclass(frozen=True, slots=True)
class Verdict:
    """One pod, what the diagnosis says about it, and the moment its state was judged at."""

    pod: Pod
    diagnosis: Diagnosis
    failing: bool
    at: datetime  # now, or the moment the pastes describe
    missing: tuple[Missing, ...] = ()  # facts no paste holds, with the command that gets each


@dataclass(frozen=True, slots=True)
class Offline:
    """What the files gave: the verdicts, pods named but not found, and what could not be read."""

    verdicts: list[Verdict]
    not_found: list[str]
    notes: list[str]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kcrash diagnose",
        description="Say why pods keep dying, with the evidence and what to do next.",
    )
    parser.add_argument(
        "pods", nargs="*", metavar="POD", help="pods to diagnose (default: every failing pod)"
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", help="namespace (default: the context's)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    parser.add_argument("-l", "--selector", default="", help="label selector, e.g. app=web")
    parser.add_argument("--context", help="kubeconfig context to use")
    parser.add_argument("--kubeconfig", help="kubeconfig file to use")
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text")
    parser.add_argument(
        "--from",
        dest="files",
        action="append",
        default=[],
        metavar="FILE",
        help="work offline from saved or pasted kubectl output: get -o yaml|json, describe pod, "
        "get pods, events, logs (repeatable; - reads standard input)",
    )
    parser.add_argument(
        "--logs",
        metavar="FILE",
        help="with --from: the crashed container's previous log (- reads standard input)",
    )
    return parser


def main(
    argv: list[str],
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    notes: list[str] = []
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as done:  # --help
            return int(done.code or 0)
        if args.logs and not args.files:
            raise CommandError("--logs needs --from: against a cluster the previous log is read from the API")
        now = datetime.now(UTC)
        if args.files:
            found = offline(args, now, stdin or sys.stdin, err)
            verdicts, not_found, notes = found.verdicts, found.not_found, found.notes
        else:
            verdicts, not_found = online(args, now)
    except CommandError as exc:
        err.write(f"kcrash diagnose: {clean_line(str(exc))}\n")
        return EXIT_ERROR
    for line in [*notes, *not_found]:
        err.write(f"kcrash diagnose: {clean_line(line)}\n")
    write(out, args.output, verdicts, _scope_words(args))
    if not_found:
        return EXIT_ERROR
    return EXIT_FAILING if any(v.failing for v in verdicts) else EXIT_OK


# -- against a cluster ----------------------------------------------------------------------------


def online(args: argparse.Namespace, now: datetime) -> tuple[list[Verdict], list[str]]:
    # Imported here: the Kubernetes client takes over half a second to load, and --from needs none of it.
    from kcrash.cluster.config import connect
    from kcrash.cluster.errors import KcrashError
    from kcrash.cluster.source import ClusterSource

    try:
        conn = connect(args.kubeconfig, args.context, args.namespace, args.all_namespaces)
        args.namespace = conn.namespace  # the context's default, for "no failing pods in ..."
        # Diagnosing never changes anything: read-only guarantees no write is ever sent.
        source = ClusterSource(conn, namespace=conn.namespace, selector=args.selector, read_only=True)
        pods, not_found = _chosen_pods(source, args.pods)
        verdicts = []
        for pod in pods:
            failing = is_failing(pod, now)
            if args.pods or failing:
                verdicts.append(Verdict(pod, source.diagnose(pod, now), failing, now))
    except KcrashError as exc:
        raise CommandError(str(exc)) from None
    return verdicts, not_found


def _chosen_pods(source: ClusterSource, names: Sequence[str]) -> tuple[list[Pod], list[str]]:
    from kcrash.cluster.errors import KcrashError

    if names and source.namespace:
        pods: list[Pod] = []
        not_found: list[str] = []
        for name in names:
            try:
                pods.append(source.api.get_pod(source.namespace, name))
            except KcrashError as exc:
                if exc.status != 404:
                    raise
                not_found.append(f'pod "{name}" not found in namespace "{source.namespace}"')
        return pods, not_found
    everything = sorted(source.list_pods(), key=lambda p: p.key)
    if not names:
        return everything, []
    return _by_name(everything, names, "in any namespace")


# -- from files: everything goes through the paste readers ----------------------------------------


def offline(args: argparse.Namespace, now: datetime, stdin: TextIO, err: TextIO) -> Offline:
    if [*args.files, args.logs].count(STDIN) > 1:
        raise CommandError("standard input can be read once: give - once, to --from or to --logs")
    named = _one_named_pod(args.pods)
    read = [(path, read_paste(path, stdin, err)) for path in args.files]
    pastes = [_facts(path, text) for path, text in read]
    notes = [
        f"{_label(path)}: {note}"
        for path, paste in zip(args.files, pastes, strict=True)
        for note in paste.notes
    ]
    if args.logs:
        pastes.append(previous_log_paste(_label(args.logs), read_log(args.logs, stdin, err)))
    if named is not None:
        pastes = [_logs_about(paste, *named) for paste in pastes]
    pasted = [_with_other_files(p, pastes) for p in combine(pastes, now=now)]
    _refuse_orphan_logs(pasted)
    if args.namespace:
        pasted = [p for p in pasted if p.pod.namespace in ("", args.namespace)]
    if args.selector:
        pasted = [p for p in pasted if matches_selector(p.pod, args.selector)]
    if not pasted and not args.pods:
        raise CommandError(f"no pods in {', '.join(_label(path) for path in args.files)}")
    chosen, not_found = _by_name(pasted, args.pods, "in the files") if args.pods else (pasted, [])
    verdicts = []
    for p in chosen:
        at = p.as_of or now
        failing = _failing(p, at)
        if args.pods or failing:
            diag = quote_pasted(diagnose(p.diagnosis_input(now)), p)
            if not diag.container and p.container:
                diag = replace(diag, container=p.container)
            verdicts.append(Verdict(p.pod, diag, failing, at, p.missing))
    return Offline(verdicts, not_found, notes)


def read_paste(path: str, stdin: TextIO, err: TextIO) -> str:
    """A file's text (standard input for `-`), whatever encoding a shell wrote it in."""
    if path == STDIN:
        if stdin.isatty():
            err.write("kcrash diagnose: reading the paste from standard input; end it with Ctrl-D\n")
        binary: IO[bytes] | None = getattr(stdin, "buffer", None)
        return decode(binary.read()) if binary is not None else stdin.read()
    try:
        with open(path, "rb") as handle:
            return decode(handle.read())
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None


def decode(raw: bytes) -> str:
    """UTF-8, or UTF-16 with its BOM (what Windows PowerShell's `>` writes); never fails."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace")
    return raw.decode("utf-8-sig", errors="replace")


def read_log(path: str, stdin: TextIO, err: TextIO) -> str:
    """A --logs file's last 256 KiB (standard input for `-`)."""
    if path != STDIN:
        return read_log_file(path)
    raw = read_paste(STDIN, stdin, err).encode()
    return decode(raw[-LOG_LIMIT:]) if len(raw) > LOG_LIMIT else raw.decode()


def read_log_file(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - LOG_LIMIT))
            raw = handle.read()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode(raw)


def _label(path: str) -> str:
    return STDIN_NAME if path == STDIN else path


def _facts(path: str, text: str) -> PasteFacts:
    """What one --from file says; a file that says nothing kcrash reads is a usage error."""
    # The file's own name, not its folders, hints at what it holds ("previous.log").
    facts = parse_paste(text, name=os.path.basename(_label(path)))
    if facts.pods or facts.events or facts.logs or facts.objects is not None:
        return replace(facts, name=_label(path))
    if facts.kind == "objects" and facts.notes:  # JSON that does not load: say where
        raise CommandError(f"{_label(path)}: {facts.notes[0].split(': ', 1)[-1]}")
    if problem := yaml_problem(text):
        raise CommandError(f"{_label(path)}: {problem}")
    empty = " (it is empty)" if not text.strip() else ""
    raise CommandError(f"nothing kcrash reads in {_label(path)}{empty}: {FORMS}")


def yaml_problem(text: str) -> str:
    """Why a file that opens like a saved object (`apiVersion:`, `kind:`) is not YAML, or "".

    The object may sit under the command line that printed it.
    """
    lines = text.splitlines()
    opening = [i for i, line in enumerate(lines) if line.strip()][:2]
    start = next((i for i in opening if _YAML_OBJECT.match(lines[i])), None)
    if start is None:
        return ""
    try:
        for _ in yaml.safe_load_all("\n".join(lines[start:])):
            pass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {start + mark.line + 1})" if mark is not None else ""
        return f"YAML does not load{where}: {getattr(exc, 'problem', None) or 'not YAML'}"
    return ""


def previous_log_paste(path: str, text: str) -> PasteFacts:
    """A --logs file: the previous instance's log by declaration, whatever its lines look like."""
    log = parse_logs(text.splitlines(), name=os.path.basename(path))
    if not log.kubectl_lines:
        # Written by `kubectl logs > file`: keep it byte for byte, a last line without its
        # newline is the process dying mid-write.
        log = replace(log, text=text)
    return PasteFacts(name=path, kind="logs", logs=(replace(log, which="previous"),), kinds=("logs",))


def _one_named_pod(names: Sequence[str]) -> tuple[str, str] | None:
    """(namespace, name) when exactly one pod is named: the pod a nameless log belongs to."""
    if len(names) != 1:
        return None
    namespace, _, name = names[0].rpartition("/")
    return namespace, name


def _logs_about(paste: PasteFacts, namespace: str, name: str) -> PasteFacts:
    if not any(not log.pod for log in paste.logs):
        return paste
    logs = tuple(
        log if log.pod else replace(log, pod=name, namespace=log.namespace or namespace) for log in paste.logs
    )
    return replace(paste, logs=logs)


def _refuse_orphan_logs(pasted: list[PastedPod]) -> None:
    """A log no paste names a pod for, among several pods, would be guessed onto one: ask instead."""
    orphans = [p for p in pasted if not p.pod.name and _only_logs(p)]
    others = len(pasted) - len(orphans)
    if not orphans or not others:
        return
    files = ", ".join(name for p in orphans for name in p.pastes)
    raise CommandError(
        f"the log in {files} belongs to one pod but the files hold {others}: name the pod "
        "(kcrash diagnose POD --from ...)"
    )


def _only_logs(p: PastedPod) -> bool:
    pod = p.pod
    return not (pod.container_statuses or pod.init_container_statuses or pod.phase or p.events)


def _failing(p: PastedPod, at: datetime) -> bool:
    """Failing at the moment the pastes describe; with no state pasted, a crash log or a warning counts."""
    pod = p.pod
    if pod.container_statuses or pod.init_container_statuses or pod.phase:
        return is_failing(pod, at)
    return p.previous_log is not None or any(e.type == "Warning" for e in p.events)


def _with_other_files(p: PastedPod, pastes: Sequence[PasteFacts]) -> PastedPod:
    """The Deployment, ReplicaSets and PodMetrics of a pod saved in other files than its own."""
    objects = [paste.objects for paste in pastes if paste.objects is not None]
    if p.deployment is None:
        deployment, revisions = _history(p.pod, objects)
        if deployment is not None:
            p = replace(p, deployment=deployment, revisions=revisions)
    if not p.memory:
        memory = next((m for o in objects if (m := o.metrics_for(p.pod.namespace, p.pod.name))), ())
        if memory:
            p = replace(p, memory=memory, absent=p.absent - {"metrics"})
    return p


def _history(pod: Pod, groups: Iterable[ParsedObjects]) -> tuple[Deployment | None, tuple[Revision, ...]]:
    owner = pod.controller
    if owner is None or owner.kind != "ReplicaSet":
        return None, ()
    everything = list(groups)
    for group in everything:
        for deployment in group.deployments:
            if deployment.namespace != pod.namespace:
                continue
            revisions = tuple(r for g in everything for r in g.revisions_of(deployment))
            if any(r.name == owner.name for r in revisions):
                return deployment, tuple(sorted(revisions, key=lambda r: r.number))
    return None, ()


# -- choosing pods --------------------------------------------------------------------------------


def matches_selector(pod: Pod, selector: str) -> bool:
    """Equality-based selectors (`a=b`, `a==b`, `a!=b`, `a`, `!a`), comma-separated, as files allow."""
    labels = dict(pod.labels)
    for term in (t.strip() for t in selector.split(",") if t.strip()):
        if "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            ok = labels.get(key) != value
        elif "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            ok = labels.get(key) == value
        elif term.startswith("!"):
            ok = term[1:].strip() not in labels
        else:
            ok = term in labels
        if not ok:
            return False
    return True


def _pod_of(item: Pod | PastedPod) -> Pod:
    return item if isinstance(item, Pod) else item.pod


def _by_name(items: list[_Item], names: Sequence[str], where: str) -> tuple[list[_Item], list[str]]:
    chosen: list[_Item] = []
    not_found: list[str] = []
    for name in names:
        found = [i for i in items if name in (_pod_of(i).name, f"{_pod_of(i).namespace}/{_pod_of(i).name}")]
        if found:
            chosen.extend(i for i in found if i not in chosen)
        else:
            not_found.append(f'pod "{name}" not found {where}')
    return chosen, not_found


# -- output ---------------------------------------------------------------------------------------


def write(out: TextIO, output: str, verdicts: list[Verdict], scope: str) -> None:
    if output == "json":
        rows = [as_json(v) for v in verdicts]
        out.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if not verdicts:
        out.write(f"no failing pods {scope}\n")
        return
    out.write("\n\n".join(text_block(v) for v in verdicts) + "\n")


def as_json(verdict: Verdict) -> dict[str, Any]:
    pod = verdict.pod
    code, _reason = last_exit(pod)
    row = diagnosis_json(pod, verdict.diagnosis, pod_status(pod, verdict.at), restart_count(pod), code)
    row["missing"] = [{"what": m.what, "command": m.command} for m in verdict.missing]
    return row


def text_block(verdict: Verdict) -> str:
    """`namespace/pod (container): STATUS, N restarts`, cause and headline, evidence, next steps;
    for a cause left unknown, what the pastes lack and the command whose output would settle it."""
    pod, diag = verdict.pod, verdict.diagnosis
    container = f" ({diag.container})" if diag.container else ""
    lines = [
        f"{_pod_label(pod)}{container}: {_state_words(pod, verdict.at)}",
        f"  {diag.cause}: {diag.headline}",
    ]
    if diag.rollout_hint:
        lines.append(f"  rollout: {diag.rollout_hint}")
    if diag.evidence:
        lines.append("  evidence:")
        lines.extend(f"    - {e.source}: {e.quote}" for e in diag.evidence)
    if diag.cause == "unknown" and verdict.missing:
        lines.append("  missing (paste the output of these to settle it):")
        lines.extend(f"    - {m.what}" + (f": `{m.command}`" if m.command else "") for m in verdict.missing)
    if diag.next_steps:
        lines.append("  next steps:")
        lines.extend(f"    - {step}" for step in diag.next_steps)
    # Every piece may carry cluster text: nothing reaches the terminal unsanitized.
    return "\n".join(clean_line(line) for line in lines)


def _state_words(pod: Pod, at: datetime) -> str:
    """`CrashLoopBackOff, 7 restarts`; a log or events pasted alone show no state at all."""
    if not (pod.container_statuses or pod.init_container_statuses or pod.phase):
        return "state not in the input"
    restarts = restart_count(pod)
    return f"{pod_status(pod, at)}, {restarts} {'restart' if restarts == 1 else 'restarts'}"


def _pod_label(pod: Pod) -> str:
    name = pod.name or "(a pod the paste does not name)"
    return f"{pod.namespace}/{name}" if pod.namespace else name


def _scope_words(args: argparse.Namespace) -> str:
    if args.files:
        return "in " + ", ".join(_label(path) for path in args.files)
    if args.all_namespaces:
        return "in any namespace"
    return f'in namespace "{args.namespace}"' if args.namespace else "in the current namespace"
