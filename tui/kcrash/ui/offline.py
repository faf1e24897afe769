"""The console on pasted kubectl output: `kcrash --from FILE [--from FILE ...] [--logs FILE]`.

`load_pastes` reads the files with `cluster.pastes.load_pastes`, as `kcrash diagnose --from` does
(the same readers, the same one-line refusals), and returns an `OfflineSource`: every question the
console asks of a cluster, answered from the pastes alone. Nothing is fetched and nothing can be
written, so undo and delete are not bound; copying still works. What no paste shows is named as
missing (in the log and memory sections, and as next steps of the diagnosis) rather than passed off
as "none".

`OfflineApp` is the console on such a source: the header says it is offline, from which files and
as of when; the clock stands still at that moment, so ages read as the paste said them; a paste
about one pod opens straight into its drill-down, several pods into the (static) pods list.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TextIO

from msgspec.structs import replace

from kcrash.cluster.access import Access, Permission
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.logs import LogFollower, LogResult
from kcrash.cluster.metrics import MemoryView
from kcrash.cluster.paste.model import AsOfBasis
from kcrash.cluster.pastes import Missing, PastedPod, PasteLoadError, quote_pasted
from kcrash.cluster.pastes import load_pastes as read_pastes
from kcrash.cluster.reflector import SyncState
from kcrash.cluster.rollout import UndoPlan
from kcrash.core.diagnose import diagnose
from kcrash.core.quantity import format_bytes
from kcrash.core.records import Deployment, Diagnosis, Event, Pod, Revision
from kcrash.core.sanitize import clean
from kcrash.core.status import primary_container
from kcrash.ui.app import KcrashApp
from kcrash.ui.clock import Clock, FrozenClock
from kcrash.ui.messages import PodsArrived
from kcrash.ui.patches import apply_textual_patches
from kcrash.ui.screens.detail import DetailScreen
from kcrash.ui.themes import DEFAULT_THEME

OFFLINE = Permission(False, "offline: the pods come from pastes, there is no cluster to change")
NO_METRICS = "No metrics in the pastes."
NO_EVENTS = "No events in the pastes."
NO_ROLLOUT = "No rollout history in the pastes."
PastedPart = Literal["events", "rollout"]
"""Drill-down sections whose emptiness offline may mean "not pasted" rather than "none"."""
LOG_HINT = "add it with --logs FILE"
MEMORY_SECONDS = 60.0
"""Pasted memory never changes: the screens need not ask for it as often as on a cluster."""


PasteError = PasteLoadError
"""A file kcrash cannot read or that holds no pod: one line, exit status 2."""


@dataclass(frozen=True, slots=True)
class OfflineMetrics:
    """What the screens read of a metrics sampler; offline nothing is ever sampled."""

    interval: float = 15.0
    samples_taken: int = 0
    available: bool | None = False


class OfflineSource:
    """Pasted pods, and what the console asks about one, answered from the pastes alone."""

    read_only = True  # nothing to write to: the screens leave undo and delete unbound
    context = ""  # copied kubectl commands name no context: the user's current one applies
    server = ""
    selector = ""

    def __init__(
        self,
        pasted: Sequence[PastedPod],
        *,
        files: Sequence[str],
        now: datetime,
        notes: Sequence[str] = (),
    ) -> None:
        self._pasted = {p.pod.key: p for p in pasted}
        namespaces = {p.pod.namespace for p in pasted}
        self.namespace: str | None = namespaces.pop() if len(namespaces) == 1 else None
        self.files = tuple(files)
        self.notes = tuple(notes)
        self.metrics = OfflineMetrics()
        dated = [p for p in pasted if p.as_of is not None]
        latest = max(dated, key=lambda p: p.as_of or now) if dated else None
        self.as_of: datetime = latest.as_of if latest is not None and latest.as_of else now
        self.as_of_basis: AsOfBasis = latest.as_of_basis if latest is not None else "unknown"
        self.banner = banner_text(self.files, self.as_of, self.as_of_basis)

    # -- the pod "stream" --------------------------------------------------------------------------
    def watch_pods(
        self,
        on_events: Callable[[list[tuple[str, Pod]]], None],
        on_resync: Callable[[list[Pod]], None],
        on_state: Callable[[SyncState], None],
    ) -> None:
        """The pasted pods, once; nothing will ever change them, so the stream stops at once."""
        on_resync(list(self.list_pods()))
        on_state(SyncState("stopped"))

    def stop(self) -> None:
        """Nothing runs in the background."""

    def list_pods(self) -> tuple[Pod, ...]:
        return tuple(p.pod for p in self._pasted.values())

    def pasted(self, pod: Pod) -> PastedPod:
        found = self._pasted.get(pod.key)
        if found is None:
            raise KcrashError(f"pod {pod.namespace}/{pod.name} is not in the pastes")
        return found

    # -- one pod -----------------------------------------------------------------------------------
    def events_for(self, pod: Pod) -> tuple[Event, ...]:
        return self.pasted(pod).events

    def read_log(self, pod: Pod, container: str, previous: bool, tail_lines: int = 200) -> LogResult:
        p = self.pasted(pod)
        text = p.previous_log if previous else p.current_log
        if text is None:
            return LogResult("", error=_no_log(p, previous))
        if p.container and container and container != p.container:
            return LogResult("", error=f"The pastes hold the log of {p.container}, not of {container}.")
        lines = text.splitlines(keepends=True)
        tail = lines[-tail_lines:] if tail_lines > 0 else lines
        return LogResult(clean("".join(tail)), truncated=len(tail) < len(lines), tail_lines=len(tail))

    def follow_log(self, pod: Pod, container: str) -> LogFollower:
        raise KcrashError("offline: there is no running container to follow, only what was pasted")

    def memory(self, pod: Pod) -> MemoryView:
        """Pasted PodMetrics, if any; one sample is a moment, not a history, so no chart for it."""
        p = self.pasted(pod)
        mine = [s for s in p.memory if s.container == primary_container(pod)]
        if len(mine) >= 2:
            return MemoryView(p.memory, True)
        if not mine:
            return MemoryView(p.memory, False, NO_METRICS)
        sample = mine[0]
        at = sample.at.astimezone(UTC).strftime("%H:%M:%S UTC")
        note = f"The pastes hold one memory sample ({format_bytes(sample.bytes)} at {at}), no history."
        return MemoryView(p.memory, False, note)

    def chart_shown(self, key: tuple[str, str]) -> None:
        """Pasted memory does not change: there is nothing to sample."""

    def keep_history(self, keys: Iterable[tuple[str, str]]) -> None:
        """Pasted memory is kept whole: there is nothing to choose."""

    def deployment_history(self, pod: Pod) -> tuple[Deployment | None, tuple[Revision, ...]]:
        p = self.pasted(pod)
        return p.deployment, p.revisions

    def not_pasted(self, pod: Pod, part: PastedPart) -> str:
        """What a section says when the pastes left its part out, or "" when they showed it (an
        Events section reading <none> is none): no paste of events is not "no events", and no paste
        of the owner or its Deployment is not "not run by a Deployment"."""
        p = self._pasted.get(pod.key)
        if p is None:
            return ""
        if part == "events":
            return NO_EVENTS if "events" in p.absent else ""
        # Without the spec no paste showed the owner (describe's "Controlled By" comes before it).
        owner_unknown = "spec" in p.absent or bool(_rollout_gap(p))
        return NO_ROLLOUT if p.deployment is None and owner_unknown else ""

    def diagnose(self, pod: Pod, now: datetime) -> Diagnosis:
        """The verdict `kcrash diagnose --from` gives, with the pasted lines it rests on, and what
        the pastes lack as next steps (the Events and Rollout sections cannot tell missing from none).
        """
        p = self.pasted(pod)
        verdict = quote_pasted(diagnose(p.diagnosis_input(now)), p)
        if not verdict.container and p.container:
            verdict = replace(verdict, container=p.container)
        return with_missing(verdict, (*p.missing, *_rollout_gap(p)))

    # -- actions: none offline ---------------------------------------------------------------------
    def access(self, namespace: str | None = None) -> Access:
        scope = namespace if namespace is not None else self.namespace
        return Access(scope or "", OFFLINE, OFFLINE, Permission(True))

    def plan_undo(self, pod: Pod) -> UndoPlan:
        raise KcrashError(OFFLINE.reason)

    def execute_undo(self, plan: UndoPlan) -> str:
        raise KcrashError(OFFLINE.reason)

    def delete_pod(self, pod: Pod) -> str:
        raise KcrashError(OFFLINE.reason)


def _no_log(p: PastedPod, previous: bool) -> str:
    """Why the pastes hold no log, and the command whose output would fill the gap."""
    if not previous:
        return "No current log in the pastes."
    gap = next((m for m in p.missing if m.what.startswith("no previous log")), None)
    if gap is None:
        return "No previous log in the pastes."
    if not gap.command:
        return gap.what[0].upper() + gap.what[1:] + "."
    return f"Not in the pastes: {gap.what.removeprefix('no ')}; `{gap.command}` prints it, {LOG_HINT}."


def _rollout_gap(p: PastedPod) -> tuple[Missing, ...]:
    """A pod run by a ReplicaSet whose Deployment no paste holds: its rollout history is unknown."""
    owner = p.pod.controller
    if p.deployment is not None or owner is None or owner.kind != "ReplicaSet":
        return ()
    ns = f" -n {shlex.quote(p.pod.namespace)}" if p.pod.namespace else ""
    return (
        Missing("the Deployment and its rollout history", f"kubectl get deployments,replicasets{ns} -o yaml"),
    )


def with_missing(verdict: Diagnosis, missing: Sequence[Missing]) -> Diagnosis:
    """The diagnosis with one next step per fact the pastes lack that a command would settle."""
    steps = tuple(_missing_step(m) for m in missing if m.command)
    return replace(verdict, next_steps=verdict.next_steps + steps) if steps else verdict


def _missing_step(gap: Missing) -> str:
    if gap.what.startswith("no previous log"):
        return f"Missing from the pastes: {gap.what}; `{gap.command}` prints it, {LOG_HINT}."
    return f"Missing from the pastes: {gap.what}; add the output of `{gap.command}` with --from."


def banner_text(files: Sequence[str], as_of: datetime, basis: AsOfBasis) -> str:
    """`offline · as of 2026-05-16 08:00 UTC · from describe.txt, logs.txt`."""
    names = [os.path.basename(f) or f for f in files]
    if len(set(names)) < len(names):  # two describe.txt from different folders: keep the folders
        names = list(files)
    moment = as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    when = {
        "events": f"as of {moment}",
        "latest-time": f"as of {moment} or later",
    }.get(basis, "no time in the pastes: ages as pasted")
    # The moment first: on a narrow terminal the file names are what gets cut.
    return f"offline · {when} · from {', '.join(names)}"


# -- reading the files ------------------------------------------------------------------------------


def load_pastes(
    files: Sequence[str],
    logs: str | None = None,
    *,
    now: datetime,
    namespace: str | None = None,
    selector: str = "",
    stdin: TextIO | None = None,
    err: TextIO | None = None,
) -> OfflineSource:
    """The pods the files speak of, read as `kcrash diagnose --from` reads them (`cluster.pastes`)."""
    out = err or sys.stderr
    loaded = read_pastes(
        files,
        [logs] if logs else [],
        stdin=stdin,
        now=now,
        namespace=namespace,
        selector=selector,
        say=lambda line: out.write(f"kcrash: {line}\n"),
    )
    if not loaded.pods:
        raise PasteError(loaded.no_pods())
    return OfflineSource(loaded.pods, files=loaded.labels, now=now, notes=loaded.notes)


def keys_from_terminal(stdin: TextIO | None = None) -> None:
    """After a paste read from a pipe, give the console the terminal to read keys from.

    Textual reads keys from file descriptor 0; once the pipe is drained, the controlling terminal
    is put in its place. No terminal (cron, CI): refuse, the pipe cannot be typed into.
    """
    stdin = stdin or sys.stdin
    if stdin.isatty():
        return
    try:
        tty = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        raise PasteError(
            "--from -: the console needs a terminal for its keys; save the paste to a file and give its name"
        ) from None
    try:
        os.dup2(tty, 0)
    finally:
        os.close(tty)


# -- the console on pastes --------------------------------------------------------------------------


class OfflineApp(KcrashApp):
    """The console on pastes: the header says so, and a single pod opens into its drill-down."""

    def __init__(
        self, source: OfflineSource, *, clock: Clock | None = None, theme: str = DEFAULT_THEME
    ) -> None:
        super().__init__(
            source,
            clock=clock or FrozenClock(source.as_of),
            theme=theme,
            metrics_seconds=MEMORY_SECONDS,
        )
        self.offline_banner = source.banner
        self.pastes = source
        self._opened = False

    def on_mount(self) -> None:
        for note in self.pastes.notes:
            self.notify(note, title="Not read", severity="warning", timeout=10, markup=False)

    def on_pods_arrived(self, _: PodsArrived) -> None:
        # Textual runs this before KcrashApp's handler, which fills the store: look after it ran.
        if not self._opened:
            self._opened = True
            self.call_later(self._open_single_pod)

    def _open_single_pod(self) -> None:
        keys = list(self.store.keys())
        if len(keys) == 1:
            self.open_screen(DetailScreen(keys[0]))


def make_offline_app(
    source: OfflineSource, *, clock: Clock | None = None, theme: str = DEFAULT_THEME
) -> OfflineApp:
    """The one way the CLI, the tests and the screenshot script open pastes in the console."""
    apply_textual_patches()
    return OfflineApp(source, clock=clock, theme=theme)
