"""Reading `--from` and `--logs` files into pasted pods, for `kcrash diagnose` and the console alike.

`load_pastes` reads each file (standard input for `-`) whatever encoding a shell wrote it in,
detects its form, puts the files about one pod together, and refuses in one line
(`PasteLoadError`) what it cannot read: a missing or unreadable file, a file holding nothing
kubectl prints, YAML or JSON that does not load, standard input given twice, a log that could
belong to any of several pods. Both commands call it, so they read and refuse files identically;
each adds its own prefix ("kcrash diagnose: ", "kcrash: ") to the line.
"""

from __future__ import annotations

import codecs
import dataclasses
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TextIO

import yaml
from msgspec.structs import replace

from kcrash.cluster.parse import ParsedObjects
from kcrash.cluster.paste.combine import combine
from kcrash.cluster.paste.facts import parse_paste
from kcrash.cluster.paste.logs import parse_logs
from kcrash.cluster.paste.model import PastedPod, PasteFacts, Skipped, is_placeholder
from kcrash.core.records import Deployment, Pod, Revision

STDIN, STDIN_NAME = "-", "<stdin>"
LOG_LIMIT = 256 * 1024  # what a --logs file may contribute: its last 256 KiB
FORMS = "give it what kubectl printed: get -o yaml|json, describe pod, get pods, get events, events or logs"
LOGS_NEED_FROM = "--logs needs --from: on a cluster the previous log is read from the API"
STDIN_HINT = "reading the paste from standard input; end it with Ctrl-D"
# A log's own command line names its pod, whichever command reads it.
NAME_THE_LOG = "put the `kubectl logs POD` line that printed it above the log"
# The top-level keys a saved object (or a stanza of one) opens with, to explain YAML that won't load.
_CHOICES_SHOWN = 6
_YAML_OBJECT = re.compile(r"^(?:apiVersion|kind|metadata|spec|status|items|containerStatuses):(?:\s|$)")


class PasteLoadError(Exception):
    """Files kcrash cannot read, or cannot put together without guessing: one line, exit status 2."""


class NothingToRead(PasteLoadError):
    """A file with nothing kcrash reads: refused alone, skipped beside files that have something."""

    def __init__(self, message: str, *, file: str, why: str) -> None:
        super().__init__(message)
        self.file, self.why = file, why


class OrphanLogError(PasteLoadError):
    """A log no paste names a pod for, among several failing pods: it would be guessed onto one.

    The message names the pods it could belong to; its way out works in both commands, and
    `saying` puts a command's own way first.
    """

    def __init__(self, files: str, pods: int, choices: Sequence[str] = ()) -> None:
        self.files, self.pods, self.choices = files, pods, tuple(choices)
        super().__init__(self.saying(NAME_THE_LOG))

    def saying(self, fix: str) -> str:
        shown = ", ".join(self.choices[:_CHOICES_SHOWN])
        beyond = len(self.choices) - _CHOICES_SHOWN
        more = f", and {beyond} more" if beyond > 0 else ""
        which = f" (it could be {shown}{more})" if shown else ""
        return f"the log in {self.files} belongs to one pod but the files hold {self.pods}{which}: {fix}"


@dataclass(frozen=True, slots=True)
class LoadedPastes:
    """The pods the files speak of, what in them could not be read, and the files as the user named them."""

    pods: tuple[PastedPod, ...]
    notes: tuple[str, ...]  # "pods.txt: part 2: not kubectl output kcrash reads (3 lines)", one each
    files: tuple[str, ...]  # the --from files, `<stdin>` for `-`
    logs: tuple[str, ...] = ()  # the --logs files, likewise
    skipped: tuple[Skipped, ...] = ()  # the notes as (file, why)

    @property
    def labels(self) -> tuple[str, ...]:
        """Every file read, --from files first."""
        return (*self.files, *self.logs)

    def no_pods(self) -> str:
        """The one line for files that hold no pod (after the namespace and selector filters)."""
        return f"no pods in {', '.join(self.files)}"


def load_pastes(
    files: Sequence[str],
    logs: Sequence[str] = (),
    *,
    stdin: TextIO | None,
    now: datetime,
    namespace: str | None = None,
    selector: str = "",
    log_pod: str = "",
    say: Callable[[str], object] | None = None,
) -> LoadedPastes:
    """Read the files and put together the pods they speak of.

    `now` stands in for the moment of pastes that carry no time. `namespace` and `selector` keep
    the pods a command was asked about (a pod whose namespace no paste tells is kept). `log_pod`
    ("name" or "namespace/name") is the pod a log that names none belongs to. `say` is told the
    one line to show before waiting on a terminal for a paste. `stdin` None reads `sys.stdin`.
    """
    if logs and not files:
        raise PasteLoadError(LOGS_NEED_FROM)
    if [*files, *logs].count(STDIN) > 1:
        raise PasteLoadError("standard input can be read once: give - once, to --from or to --logs")
    source = stdin or sys.stdin
    pastes, skipped = _read_files(files, source, say)
    skipped += [Skipped(paste.name, note) for paste in pastes for note in paste.notes]
    pastes += [previous_log_paste(label(path), read_log(path, source, say)) for path in logs]
    if log_pod:
        pod_namespace, _, pod_name = log_pod.rpartition("/")
        pastes = [_logs_about(paste, pod_namespace, pod_name) for paste in pastes]
    pasted = [with_other_files(p, pastes) for p in combine(pastes, now=now)]
    refuse_orphan_logs(pasted)
    pasted = [_named(p) for p in pasted]
    if namespace:
        pasted = [p for p in pasted if p.pod.namespace in ("", namespace)]
    if selector:
        pasted = [p for p in pasted if matches_selector(p.pod, selector)]
    return LoadedPastes(
        tuple(pasted),
        tuple(str(s) for s in skipped),
        tuple(label(path) for path in files),
        tuple(label(path) for path in logs),
        tuple(skipped),
    )


def _read_files(
    files: Sequence[str], stdin: TextIO, say: Callable[[str], object] | None
) -> tuple[list[PasteFacts], list[Skipped]]:
    """Each file's facts; a file with nothing kcrash reads is skipped when another has something."""
    pastes: list[PasteFacts] = []
    refused: list[NothingToRead] = []
    for path in files:
        try:
            pastes.append(paste_facts(path, read_paste(path, stdin, say)))
        except NothingToRead as error:
            refused.append(error)
    if refused and not pastes:
        raise refused[0]
    return pastes, [Skipped(error.file, error.why) for error in refused]


# -- reading files ----------------------------------------------------------------------------------


def label(path: str) -> str:
    """A file as the user knows it: `-` is standard input."""
    return STDIN_NAME if path == STDIN else path


def read_paste(path: str, stdin: TextIO, say: Callable[[str], object] | None = None) -> str:
    """A file's text (standard input for `-`), whatever encoding a shell wrote it in."""
    if path == STDIN:
        if stdin.isatty() and say is not None:
            say(STDIN_HINT)
        binary: IO[bytes] | None = getattr(stdin, "buffer", None)
        return decode(binary.read()) if binary is not None else stdin.read()
    try:
        with open(path, "rb") as handle:
            return decode(handle.read())
    except OSError as exc:
        raise PasteLoadError(f"cannot read {path}: {exc.strerror or exc}") from None


def decode(raw: bytes) -> str:
    """UTF-8, or UTF-16 with its BOM (what Windows PowerShell's `>` writes); never fails."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace")
    return raw.decode("utf-8-sig", errors="replace")


def read_log(path: str, stdin: TextIO, say: Callable[[str], object] | None = None) -> str:
    """A --logs file's last 256 KiB (standard input for `-`)."""
    if path != STDIN:
        return _read_log_file(path)
    raw = read_paste(STDIN, stdin, say).encode()
    return decode(raw[-LOG_LIMIT:]) if len(raw) > LOG_LIMIT else raw.decode()


def _read_log_file(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - LOG_LIMIT))
            raw = handle.read()
    except OSError as exc:
        raise PasteLoadError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode(raw)


# -- what one file says -----------------------------------------------------------------------------


def paste_facts(path: str, text: str) -> PasteFacts:
    """What one --from file says; a file that says nothing kcrash reads is refused."""
    # The file's own name, not its folders, hints at what it holds ("previous.log").
    facts = parse_paste(text, name=os.path.basename(label(path)))
    if facts.pods or facts.events or facts.logs or facts.objects is not None:
        return dataclasses.replace(facts, name=label(path))
    name = label(path)
    if facts.kind == "objects" and facts.notes:  # JSON that does not load: say where
        why = facts.notes[0].split(": ", 1)[-1]
        raise NothingToRead(f"{name}: {why}", file=name, why=why)
    if problem := yaml_problem(text):
        raise NothingToRead(f"{name}: {problem}", file=name, why=problem)
    empty = " (it is empty)" if not text.strip() else ""
    raise NothingToRead(
        f"nothing kcrash reads in {name}{empty}: {FORMS}", file=name, why=f"nothing kcrash reads{empty}"
    )


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
        log = dataclasses.replace(log, text=text)
    return PasteFacts(
        name=path, kind="logs", logs=(dataclasses.replace(log, which="previous"),), kinds=("logs",)
    )


def _logs_about(paste: PasteFacts, namespace: str, name: str) -> PasteFacts:
    if not any(not log.pod for log in paste.logs):
        return paste
    logs = tuple(
        log if log.pod else dataclasses.replace(log, pod=name, namespace=log.namespace or namespace)
        for log in paste.logs
    )
    return dataclasses.replace(paste, logs=logs)


# -- the files together -----------------------------------------------------------------------------


def with_other_files(p: PastedPod, pastes: Sequence[PasteFacts]) -> PastedPod:
    """The Deployment, ReplicaSets and PodMetrics of a pod saved in other files than its own."""
    objects = [paste.objects for paste in pastes if paste.objects is not None]
    if p.deployment is None:
        deployment, revisions = _history(p.pod, objects)
        if deployment is not None:
            p = dataclasses.replace(p, deployment=deployment, revisions=revisions)
    if not p.memory:
        memory = next((m for o in objects if (m := o.metrics_for(p.pod.namespace, p.pod.name))), ())
        if memory:
            p = dataclasses.replace(p, memory=memory, absent=p.absent - {"metrics"})
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


def refuse_orphan_logs(pasted: Sequence[PastedPod]) -> None:
    """A log no paste names a pod for, among several failing pods, would be guessed onto one:
    ask instead, naming the pods it could be about."""
    orphans = [p for p in pasted if not p.pod.name and _only_logs(p)]
    others = [p for p in pasted if p not in orphans]
    if not orphans or not others:
        return
    files = ", ".join(name for p in orphans for name in p.pastes)
    troubled = [p for p in others if _in_trouble(p)]
    choices = [_pod_label(p.pod) for p in (troubled or others)]
    raise OrphanLogError(files, len(others), choices)


def _in_trouble(p: PastedPod) -> bool:
    statuses = (*p.pod.container_statuses, *p.pod.init_container_statuses)
    shown = [s for s in statuses if not is_placeholder(s.name)]
    return any(s.restart_count or s.state.kind in ("waiting", "terminated") for s in shown) or any(
        e.type == "Warning" for e in p.events
    )


def _pod_label(pod: Pod) -> str:
    return f"{pod.namespace}/{pod.name}" if pod.namespace else pod.name


def _only_logs(p: PastedPod) -> bool:
    pod = p.pod
    return not (pod.container_statuses or pod.init_container_statuses or pod.phase or p.events)


def _named(p: PastedPod) -> PastedPod:
    """A pod no paste names (a log or a describe's Events pasted alone) gets a name saying so.

    It can never be a real pod's: Kubernetes names hold no spaces or parentheses. The diagnosis
    still sees no name (`PastedPod.name_pasted`), so the commands it suggests say `<pod>`.
    """
    if p.pod.name:
        return p
    files = ", ".join(os.path.basename(name) or name for name in p.pastes) or "the pastes"
    return dataclasses.replace(p, pod=replace(p.pod, name=f"(name not in {files})"), name_pasted=False)


# -- choosing pods ----------------------------------------------------------------------------------


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
