"""What pasted kubectl output says, before and after the pastes about one pod are put together.

A paste rarely carries absolute times: describe's Events and `get pods` speak in ages ("3m",
"7 (2m ago)"). Parsing keeps those ages as seconds before the moment the paste was taken
(`PastedEvent.last_age`); `combine` turns them into times once it has settled that moment.

`sources` map a fact to the pasted line it rests on, so a diagnosis can quote what the user pasted.
Keys are API-style paths: pod facts bare ("status.phase"), container facts prefixed with the
container ("web/lastState.terminated.reason"); `PastedPod` adds bare keys for the container the
facts are about, and "events[i]" for its i-th event. Lines holding plain env values are never kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from msgspec.structs import replace

from kcrash.cluster.parse import ParsedObjects
from kcrash.core.records import (
    AbsentPart,
    Deployment,
    DiagnosisInput,
    Event,
    MemorySample,
    Pod,
    Revision,
)

PasteKind = Literal["objects", "describe", "get-pods", "events", "logs", "unknown"]
LogWhich = Literal["previous", "current", "unknown"]
# How the moment a paste was taken is known: from event ages against the container's start
# ("events"), as no earlier than the latest time it shows ("latest-time", a lower bound), from the
# caller's clock ("now"), or not at all.
AsOfBasis = Literal["events", "latest-time", "now", "unknown"]


@dataclass(frozen=True, slots=True)
class PastedEvent:
    """An event row. Its times stay None until `combine` knows when the paste was taken."""

    event: Event
    last_age: int | None = None  # seconds before the paste; None for "<invalid>"/"<unknown>"
    first_age: int | None = None
    line: str = ""  # the pasted row, wrapped continuation lines joined with a space
    # A time without its year (a journal's "Jan 28 16:11:08"), in the year 2000: the year is the
    # paste's, put in by `combine`.
    yearless: datetime | None = None


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What one paste says about one pod; what it does not show stays at the record's defaults."""

    pod: Pod
    sources: Mapping[str, str] = field(default_factory=dict)
    events: tuple[PastedEvent, ...] = ()
    # Parts the paste covers: "spec", "status", "events" (an Events section, even "<none>").
    shows: frozenset[str] = frozenset()
    rank: int = 0  # how much to trust it over another paste: objects 3, describe 2, get-pods 1
    age: int | None = None  # `get pods` AGE in seconds
    last_restart_age: int | None = None  # `get pods` RESTARTS "7 (2m ago)" -> 120
    status_text: str = ""  # `get pods` STATUS as printed
    cut_off: str = ""  # the section a describe paste broke off in, "" when it ran to the end
    terminating: bool = False  # `get pods` STATUS Terminating: being deleted, since no paste tells when
    # Evidence the reader adds beside the diagnosis's own: (source, text), e.g. a row's trend.
    remarks: tuple[tuple[str, str], ...] = ()
    # Asked for by a command that made a workload (`kubectl create deployment web`): its pods are
    # named `web-<hash>-<5>`, so these facts go to the one pod so named.
    workload: bool = False


def placeholder_name(index: int, total: int, *, init: bool = False) -> str:
    """`(container 2 of 3)`: a name standing in for a container a `get pods` row implies."""
    return f"({'init container' if init else 'container'} {index} of {total})"


def is_placeholder(container: str) -> bool:
    """Whether a name is a `placeholder_name`: no real one starts with "(" (they are DNS labels)."""
    return container.startswith("(")


@dataclass(frozen=True, slots=True)
class LogFacts:
    """One `kubectl logs` paste: the log text with kubectl's own lines taken out and read as facts."""

    text: str
    which: LogWhich = "unknown"
    pod: str = ""
    namespace: str = ""
    container: str = ""
    no_previous: bool = False  # kubectl said there is no previous terminated container
    unavailable: bool = False  # the kubelet could not find the log any more
    waiting_reason: str = ""  # "container ... is waiting to start: <reason>"
    containers: tuple[str, ...] = ()  # from "Defaulted container x out of: ..." / "choose one of"
    kubectl_lines: tuple[str, ...] = ()  # kubectl's own lines, verbatim, for quoting
    # Only lines a chat message quoted: given to a pod when there is one it can be about, never
    # refused as a log that could belong to several.
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class PasteFacts:
    """Everything one paste says."""

    name: str
    kind: PasteKind
    pods: tuple[PodFacts, ...] = ()
    events: tuple[PastedEvent, ...] = ()  # event tables outside a describe
    logs: tuple[LogFacts, ...] = ()
    objects: ParsedObjects | None = None  # deployments, ReplicaSets and metrics of an objects paste
    as_of: datetime | None = None  # when the paste was taken, where its own times tell
    as_of_basis: AsOfBasis = "unknown"
    kinds: tuple[PasteKind, ...] = ()  # every part's kind when one paste held several outputs
    notes: tuple[str, ...] = ()  # what could not be read, one line each


@dataclass(frozen=True, slots=True)
class Skipped:
    """A part of a file kcrash could not read, and why; the rest of the file is read."""

    file: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}: {self.why}"


@dataclass(frozen=True, slots=True)
class Missing:
    """A fact the pastes lack, and the command whose output would settle it."""

    what: str  # "no events", "no previous log", ...
    command: str

    def __str__(self) -> str:
        return self.what


@dataclass(frozen=True, slots=True)
class PastedPod:
    """One pod as all the pastes about it tell it, ready for the diagnosis."""

    pod: Pod
    container: str = ""  # the container the facts are about ("" when no paste names one)
    events: tuple[Event, ...] = ()
    previous_log: str | None = None
    current_log: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    missing: tuple[Missing, ...] = ()
    as_of: datetime | None = None  # the moment the pastes describe
    as_of_basis: AsOfBasis = "unknown"
    pastes: tuple[str, ...] = ()  # names of the pastes that said something about this pod
    deployment: Deployment | None = None
    revisions: tuple[Revision, ...] = ()
    memory: tuple[MemorySample, ...] = ()
    absent: frozenset[AbsentPart] = frozenset()  # what no paste shows, where empty is not "none"
    # False when no paste names the pod and `pod.name` is a placeholder saying so, for people to
    # read: the diagnosis is given the pod without it, so no command it suggests names it.
    name_pasted: bool = True
    # Evidence about the pastes themselves, (source, text): a trend over `get pods` rows, a log
    # given to this pod because it is the one failing.
    remarks: tuple[tuple[str, str], ...] = ()

    def quote(self, source: str, container: str = "") -> str | None:
        """The pasted line behind `source` ("lastState.terminated.reason"), for `container`."""
        if container:
            line = self.sources.get(f"{container}/{source}")
            if line is not None:
                return line
            if container != self.container:
                return None
        return self.sources.get(source)

    def event_line(self, event: Event) -> str | None:
        """The pasted row an event came from."""
        for index, candidate in enumerate(self.events):
            if candidate == event:
                return self.sources.get(f"events[{index}]")
        return None

    def diagnosis_input(self, now: datetime) -> DiagnosisInput:
        """The input for `core.diagnose`; `now` stands in when no paste tells its own time."""
        return DiagnosisInput(
            pod=self.pod if self.name_pasted else replace(self.pod, name=""),
            now=self.as_of or now,
            events=self.events,
            previous_log=self.previous_log,
            current_log=self.current_log,
            memory=self.memory,
            deployment=self.deployment,
            revisions=self.revisions,
            # A paste holds no metrics unless someone pasted PodMetrics objects.
            metrics_available=bool(self.memory),
            absent=self.absent,
        )
