"""`kcrash diagnose`: the console's verdict on the command line, for a cluster or for saved files.

    kcrash diagnose [POD ...] [-n NS | -A] [-l SELECTOR] [--context C] [--kubeconfig F]
                    [-o text|json] [--from FILE]... [--logs FILE]

With POD names, each named pod is diagnosed; without, every failing pod in the scope. `--from`
reads what `kubectl get pod(s) -o yaml|json` wrote (a Pod, a PodList, a List with Events,
Deployments and ReplicaSets) and needs no cluster; `--logs` adds a previous-log excerpt.

Exit status: 0 nothing is failing, 1 something is, 2 usage or connection error (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, TextIO

import orjson
import yaml

from kcrash.cluster.config import connect
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.parse import ParsedObjects, parse_objects
from kcrash.cluster.source import ClusterSource
from kcrash.core.diagnose import diagnose
from kcrash.core.records import Deployment, Diagnosis, DiagnosisInput, Event, Pod, Revision
from kcrash.core.sanitize import clean_line
from kcrash.core.status import is_failing, last_exit, pod_status, restart_count
from kcrash.core.summary import diagnosis_json

EXIT_OK, EXIT_FAILING, EXIT_ERROR = 0, 1, 2
LOG_LIMIT = 256 * 1024  # what a --logs file may contribute: its last 256 KiB


class UsageError(Exception):
    """Bad flags or files: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see kcrash diagnose --help)")


@dataclass(frozen=True, slots=True)
class Verdict:
    """One pod and what the diagnosis says about it."""

    pod: Pod
    diagnosis: Diagnosis
    failing: bool


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
        help="work offline from `kubectl get ... -o yaml|json` output (repeatable)",
    )
    parser.add_argument("--logs", metavar="FILE", help="with --from: the crashed container's previous log")
    return parser


def main(argv: list[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as done:  # --help
            return int(done.code or 0)
        if args.logs and not args.files:
            raise UsageError("--logs needs --from: against a cluster the previous log is read from the API")
        now = datetime.now(UTC)
        verdicts, missing = offline(args, now) if args.files else online(args, now)
    except (UsageError, KcrashError) as exc:
        err.write(f"kcrash diagnose: {clean_line(str(exc))}\n")
        return EXIT_ERROR
    for line in missing:
        err.write(f"kcrash diagnose: {clean_line(line)}\n")
    write(out, args.output, verdicts, now, _scope_words(args))
    if missing:
        return EXIT_ERROR
    return EXIT_FAILING if any(v.failing for v in verdicts) else EXIT_OK


# -- against a cluster ----------------------------------------------------------------------------


def online(args: argparse.Namespace, now: datetime) -> tuple[list[Verdict], list[str]]:
    conn = connect(args.kubeconfig, args.context, args.namespace, args.all_namespaces)
    args.namespace = conn.namespace  # the context's default, for "no failing pods in ..."
    # Diagnosing never changes anything: read-only guarantees no write is ever sent.
    source = ClusterSource(conn, namespace=conn.namespace, selector=args.selector, read_only=True)
    pods, missing = _chosen_pods(source, args.pods)
    verdicts = []
    for pod in pods:
        failing = is_failing(pod, now)
        if args.pods or failing:
            verdicts.append(Verdict(pod, source.diagnose(pod, now), failing))
    return verdicts, missing


def _chosen_pods(source: ClusterSource, names: Sequence[str]) -> tuple[list[Pod], list[str]]:
    if names and source.namespace:
        pods: list[Pod] = []
        missing: list[str] = []
        for name in names:
            try:
                pods.append(source.api.get_pod(source.namespace, name))
            except KcrashError as exc:
                if exc.status != 404:
                    raise
                missing.append(f'pod "{name}" not found in namespace "{source.namespace}"')
        return pods, missing
    everything = sorted(source.list_pods(), key=lambda p: p.key)
    if not names:
        return everything, []
    return _by_name(everything, names, "in any namespace")


# -- from files -----------------------------------------------------------------------------------


def offline(args: argparse.Namespace, now: datetime) -> tuple[list[Verdict], list[str]]:
    parsed = [parse_objects(doc) for path in args.files for doc in read_documents(path)]
    pods = [p for objects in parsed for p in objects.pods]
    if args.namespace:
        pods = [p for p in pods if p.namespace == args.namespace]
    if args.selector:
        pods = [p for p in pods if matches_selector(p, args.selector)]
    if not pods and not args.pods:
        raise UsageError(f"no pods in {', '.join(args.files)}")
    chosen, missing = _by_name(pods, args.pods, "in the files") if args.pods else (pods, [])
    if not args.pods:
        chosen = [p for p in chosen if is_failing(p, now)]
    previous_log = read_log_file(args.logs) if args.logs else None
    if previous_log is not None and len(chosen) != 1:
        raise UsageError(f"--logs belongs to one pod but {len(chosen)} were chosen: name the pod")
    verdicts = []
    for pod in chosen:
        inp = offline_input(pod, parsed, now, previous_log)
        verdicts.append(Verdict(pod, diagnose(inp), is_failing(pod, now)))
    return verdicts, missing


def read_documents(path: str) -> list[Any]:
    """The documents in a file: JSON (fast path) or YAML, possibly several separated by ---."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return [orjson.loads(raw)]
    except orjson.JSONDecodeError:
        pass
    try:
        return [doc for doc in yaml.safe_load_all(raw.decode("utf-8", errors="replace")) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(f"{path} is neither JSON nor YAML{where}") from None


def read_log_file(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - LOG_LIMIT))
            raw = handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return raw.decode("utf-8", errors="replace")


def offline_input(
    pod: Pod, parsed: Iterable[ParsedObjects], now: datetime, previous_log: str | None
) -> DiagnosisInput:
    """What the files say about one pod: its events, its Deployment and revisions, its metrics."""
    groups = list(parsed)
    events = tuple(e for g in groups for e in g.events if _about(e, pod))
    deployment, revisions = _history(pod, groups)
    memory = next((m for g in groups if (m := g.metrics_for(pod.namespace, pod.name))), ())
    return DiagnosisInput(
        pod=pod,
        now=now,
        events=events,
        previous_log=previous_log,
        memory=memory,
        deployment=deployment,
        revisions=revisions,
    )


def _about(event: Event, pod: Pod) -> bool:
    if event.involved_kind and event.involved_kind != "Pod":
        return False
    if event.involved_uid and pod.uid:
        return event.involved_uid == pod.uid
    return event.involved_name == pod.name and event.namespace in ("", pod.namespace)


def _history(pod: Pod, groups: list[ParsedObjects]) -> tuple[Deployment | None, tuple[Revision, ...]]:
    owner = pod.controller
    if owner is None or owner.kind != "ReplicaSet":
        return None, ()
    for group in groups:
        for deployment in group.deployments:
            if deployment.namespace != pod.namespace:
                continue
            revisions = tuple(r for g in groups for r in g.revisions_of(deployment))
            if any(r.name == owner.name for r in revisions):
                return deployment, tuple(sorted(revisions, key=lambda r: r.number))
    return None, ()


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


def _by_name(pods: list[Pod], names: Sequence[str], where: str) -> tuple[list[Pod], list[str]]:
    chosen: list[Pod] = []
    missing: list[str] = []
    for name in names:
        found = [p for p in pods if p.name == name or f"{p.namespace}/{p.name}" == name]
        if found:
            chosen.extend(p for p in found if p not in chosen)
        else:
            missing.append(f'pod "{name}" not found {where}')
    return chosen, missing


# -- output ---------------------------------------------------------------------------------------


def write(out: TextIO, output: str, verdicts: list[Verdict], now: datetime, scope: str) -> None:
    if output == "json":
        rows = [as_json(v, now) for v in verdicts]
        out.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if not verdicts:
        out.write(f"no failing pods {scope}\n")
        return
    out.write("\n\n".join(text_block(v, now) for v in verdicts) + "\n")


def as_json(verdict: Verdict, now: datetime) -> dict[str, Any]:
    pod = verdict.pod
    code, _reason = last_exit(pod)
    return diagnosis_json(pod, verdict.diagnosis, pod_status(pod, now), restart_count(pod), code)


def text_block(verdict: Verdict, now: datetime) -> str:
    """`namespace/pod (container): STATUS, N restarts`, cause and headline, evidence, next steps."""
    pod, diag = verdict.pod, verdict.diagnosis
    restarts = restart_count(pod)
    container = f" ({diag.container})" if diag.container else ""
    plural = "restart" if restarts == 1 else "restarts"
    lines = [
        f"{pod.namespace}/{pod.name}{container}: {pod_status(pod, now)}, {restarts} {plural}",
        f"  {diag.cause}: {diag.headline}",
    ]
    if diag.rollout_hint:
        lines.append(f"  rollout: {diag.rollout_hint}")
    if diag.evidence:
        lines.append("  evidence:")
        lines.extend(f"    - {e.source}: {e.quote}" for e in diag.evidence)
    if diag.next_steps:
        lines.append("  next steps:")
        lines.extend(f"    - {step}" for step in diag.next_steps)
    # Every piece may carry cluster text: nothing reaches the terminal unsanitized.
    return "\n".join(clean_line(line) for line in lines)


def _scope_words(args: argparse.Namespace) -> str:
    if args.files:
        return "in " + ", ".join(args.files)
    if args.all_namespaces:
        return "in any namespace"
    return f'in namespace "{args.namespace}"' if args.namespace else "in the current namespace"
