"""`kcrash diagnose`: the console's verdict on the command line, for a cluster or for what people paste.

    kcrash diagnose [POD ...] [-n NS | -A] [-l SELECTOR] [--context C] [--kubeconfig F]
                    [-o text|json] [--from FILE]... [--logs FILE] [--explain-rules]

With POD names, each named pod is diagnosed; without, every failing pod in the scope. The pods are
diagnosed side by side, and what they share (a namespace's events and workloads, ConfigMaps, the
memory sample) is read once for all of them (`cluster.shared_reads`).

`--from` (repeatable, `-` for standard input) reads whatever kubectl printed — `get -o yaml|json`,
a bare `status:` stanza, `describe pod`, `get pods`, event tables, `logs`, or a chat thread holding
several of them — detecting each file's form on its own and putting the files about one pod
together (`cluster.pastes.load_pastes`, which the console's `--from` reads them with too). It needs
no cluster: the client libraries are not even imported. `--logs` adds a previous-log excerpt
(`-` for standard input, which can be read once in all).

`--explain-rules` adds, per pod, what every rule of the diagnosis made of it, in the order they are
asked: whether it applied, whether it had a verdict, and which one won.

Against a cluster, reads the server turns away are retried (`cluster.retry`) within `--timeout`;
what still could not be read is listed per pod (`unread`), lowers the verdict's confidence where it
bears on the cause, and is summed up on stderr.

Exit status: 0 nothing is failing, 1 something is, 2 usage or connection error (one line on stderr),
3 the pods were diagnosed but some evidence could not be read (the verdicts say what is missing).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

import orjson
from msgspec.structs import replace

from kcrash.cluster.pastes import (
    NAME_THE_LOG,
    Missing,
    OrphanLogError,
    PastedPod,
    PasteLoadError,
    Skipped,
    crash_looping,
    label,
    load_pastes,
    quote_pasted,
    trouble_signs,
)
from kcrash.cluster.pastes import matches_selector as matches_selector  # where callers found it
from kcrash.core.diagnose import RuleTrace, diagnose, explain_rules
from kcrash.core.partial import Confidence, confidence
from kcrash.core.partial import summary as unread_summary
from kcrash.core.records import Diagnosis, DiagnosisInput, Pod, Unread
from kcrash.core.sanitize import clean_line
from kcrash.core.status import is_failing, last_exit, pod_status, restart_count
from kcrash.core.summary import diagnosis_json

if TYPE_CHECKING:
    from kcrash.cluster.source import ClusterSource

EXIT_OK, EXIT_FAILING, EXIT_ERROR, EXIT_PARTIAL = 0, 1, 2, 3
DEFAULT_TIMEOUT = 60.0
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
    skipped: tuple[Skipped, ...] = ()  # parts of the files that could not be read
    rules: tuple[RuleTrace, ...] = ()  # with --explain-rules: what every rule made of the pod
    unread: tuple[Unread, ...] = ()  # evidence asked of the cluster that could not be read

    @property
    def confidence(self) -> Confidence:
        return confidence(self.diagnosis.cause, self.unread)


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
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"total time to wait for the cluster, retries included (default: {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--explain-rules",
        action="store_true",
        help="after each pod, the diagnosis rules in order: which applied, which had a verdict, which won",
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
    partial = [v for v in verdicts if v.unread]
    for line in [*notes, *not_found, *partial_summary(partial)]:
        err.write(f"kcrash diagnose: {clean_line(line)}\n")
    write(out, args.output, verdicts, _scope_words(args))
    if not_found:
        return EXIT_ERROR
    if partial:
        return EXIT_PARTIAL
    return EXIT_FAILING if any(v.failing for v in verdicts) else EXIT_OK


def partial_summary(partial: Sequence[Verdict]) -> list[str]:
    """One line on stderr when some verdicts rest on partial evidence."""
    if not partial:
        return []
    doubtful = sum(1 for v in partial if v.confidence == "low")
    pods = f"{len(partial)} {'pod' if len(partial) == 1 else 'pods'}"
    missing = unread_summary(u for v in partial for u in v.unread)
    return [
        f"partial evidence for {pods} (unread: {missing}); {doubtful} verdict"
        f"{'' if doubtful == 1 else 's'} may change with it: run again when the cluster answers"
    ]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


# -- against a cluster ----------------------------------------------------------------------------


def online(args: argparse.Namespace, now: datetime) -> tuple[list[Verdict], list[str]]:
    # Imported here: the Kubernetes client takes over half a second to load, and --from needs none of it.
    from kcrash.cluster.config import check_connection, connect
    from kcrash.cluster.errors import KcrashError
    from kcrash.cluster.shared_reads import SharedSource

    try:
        conn = connect(args.kubeconfig, args.context, args.namespace, args.all_namespaces, check=False)
        conn.retrier.deadline = time.monotonic() + args.timeout
        check_connection(conn)
        args.namespace = conn.namespace  # the context's default, for "no failing pods in ..."
        # Diagnosing never changes anything: read-only guarantees no write is ever sent.
        source = SharedSource(conn, namespace=conn.namespace, selector=args.selector, read_only=True)
        pods, not_found = _chosen_pods(source, args.pods)
        judged = [(pod, is_failing(pod, now)) for pod in pods]
        chosen = [(pod, failing) for pod, failing in judged if failing or args.pods]
        inputs = source.gather_all([pod for pod, _ in chosen], now)
    except KcrashError as exc:
        raise CommandError(str(exc)) from None
    verdicts = [
        Verdict(pod, diagnose(inp), failing, now, rules=_rules(args, inp), unread=inp.unread)
        for (pod, failing), inp in zip(chosen, inputs, strict=True)
    ]
    return verdicts, not_found


def _rules(args: argparse.Namespace, inp: DiagnosisInput) -> tuple[RuleTrace, ...]:
    return tuple(explain_rules(inp)) if args.explain_rules else ()


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
    named = args.pods[0] if len(args.pods) == 1 else ""  # the pod a nameless log belongs to
    try:
        loaded = load_pastes(
            args.files,
            [args.logs] if args.logs else [],
            stdin=stdin,
            now=now,
            namespace=args.namespace,
            selector=args.selector,
            log_pod=named,
            say=lambda line: err.write(f"kcrash diagnose: {line}\n"),
        )
    except OrphanLogError as exc:
        fix = f"name the pod (kcrash diagnose POD --from ...), or {NAME_THE_LOG}"
        raise CommandError(exc.saying(fix)) from None
    except PasteLoadError as exc:
        raise CommandError(str(exc)) from None
    pasted = list(loaded.pods)
    if not pasted and not args.pods:
        raise CommandError(loaded.no_pods())
    chosen, not_found = _by_name(pasted, args.pods, "in the files") if args.pods else (pasted, [])
    judged = [(p, _failing(p, p.as_of or now)) for p in chosen]
    if not args.pods:
        judged = _asked_about(judged)
    verdicts = []
    for p, failing in judged:
        inp = p.diagnosis_input(now)
        diag = quote_pasted(diagnose(inp), p)
        if not diag.container and p.container:
            diag = replace(diag, container=p.container)
        if not args.pods:  # a pod in trouble, chosen as the question: failing if a cause is found
            failing = failing or diag.cause != "healthy"
        rules = _rules(args, inp)
        verdicts.append(Verdict(p.pod, diag, failing, p.as_of or now, p.missing, loaded.skipped, rules))
    return Offline(verdicts, not_found, list(loaded.notes))


def _asked_about(judged: list[tuple[PastedPod, bool]]) -> list[tuple[PastedPod, bool]]:
    """The failing pods; when none is, the pods showing signs of trouble (a paste is a question)."""
    failing = [(p, True) for p, is_failing_now in judged if is_failing_now]
    return failing or [(p, False) for p, _ in judged if trouble_signs(p)]


def _failing(p: PastedPod, at: datetime) -> bool:
    """Failing at the moment the pastes describe; with no state pasted, a crash log or a warning
    counts, and so does a plain log whose words name why the process died."""
    if _state_shown(p.pod):
        return is_failing(p.pod, at) or crash_looping(p.pod)
    if p.previous_log is not None or any(
        e.type == "Warning" or e.reason in _STOPPING_REASONS for e in p.events
    ):
        return True
    return p.current_log is not None and diagnose(p.diagnosis_input(at)).cause != "unknown"


# Normal events that still stop a container: the kubelet's Killing, a preemption.
_STOPPING_REASONS = frozenset({"Killing", "Preempted"})


def _state_shown(pod: Pod) -> bool:
    """Whether a paste showed the pod's state: a log or events pasted alone show none."""
    return bool(
        pod.container_statuses
        or pod.init_container_statuses
        or pod.phase
        or pod.reason
        or pod.deletion_timestamp
    )


# -- choosing pods --------------------------------------------------------------------------------


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
    row["unread"] = [{"what": u.what, "why": clean_line(u.why)} for u in verdict.unread]
    row["confidence"] = verdict.confidence
    # File names and what they held are the user's text: made safe like every other quote.
    row["skipped"] = [{"file": clean_line(s.file), "why": clean_line(s.why)} for s in verdict.skipped]
    if verdict.rules:
        row["explain"] = [
            {
                "rule": t.rule,
                "cause": t.cause,
                "applied": t.applied,
                "verdict": t.verdict,
                "winner": t.winner,
                "why": t.why,
            }
            for t in verdict.rules
        ]
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
    if verdict.unread:
        lines.append(
            f"  unread ({verdict.confidence} confidence): "
            + "; ".join(f"{u.what}: {u.why}" for u in verdict.unread)
        )
    if diag.cause == "unknown" and verdict.missing:
        lines.append("  missing (paste the output of these to settle it):")
        lines.extend(f"    - {m.what}" + (f": `{m.command}`" if m.command else "") for m in verdict.missing)
    if diag.next_steps:
        lines.append("  next steps:")
        lines.extend(f"    - {step}" for step in diag.next_steps)
    lines.extend(rules_lines(verdict.rules))
    # Every piece may carry cluster text: nothing reaches the terminal unsanitized.
    return "\n".join(clean_line(line) for line in lines)


def rules_lines(traces: Sequence[RuleTrace]) -> list[str]:
    """The rules in the order they are asked, one a line; the winner marked `*`."""
    if not traces:
        return []
    width = max(len(t.rule) for t in traces)
    lines = ["  rules (asked in this order; the first with a verdict wins):"]
    for number, t in enumerate(traces, 1):
        mark = "*" if t.winner else " "
        lines.append(f"   {mark}{number:>3}. {t.rule:<{width}}  {t.cause:<22}  {t.why}")
    return lines


def _state_words(pod: Pod, at: datetime) -> str:
    """`CrashLoopBackOff, 7 restarts`; a log or events pasted alone show no state at all."""
    status = pod_status(pod, at) if _state_shown(pod) else ""
    if not status:  # nothing shown, or only a last state: no STATUS kubectl would print
        return "state not in the input"
    restarts = restart_count(pod)
    return f"{status}, {restarts} {'restart' if restarts == 1 else 'restarts'}"


def _pod_label(pod: Pod) -> str:
    return f"{pod.namespace}/{pod.name}" if pod.namespace else pod.name


def _scope_words(args: argparse.Namespace) -> str:
    if args.files:
        return "in " + ", ".join(label(path) for path in args.files)
    if args.all_namespaces:
        return "in any namespace"
    return f'in namespace "{args.namespace}"' if args.namespace else "in the current namespace"
