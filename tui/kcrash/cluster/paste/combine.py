"""Several pastes about the same pod -> one PastedPod: one Pod record, its events, its logs.

- Pods match by name (and namespace where both pastes know it). A paste that names no pod (a
  describe cut above `Name:`, a bare `status:` stanza, a log without its command line) goes to the
  one pod the other pastes name, or to the one pod in trouble among several.
- Where pastes disagree the fuller one wins: objects, then describe, then a `get pods` row. A row's
  containers other than the one its STATUS speaks of carry placeholder names and are never named.
- The moment the pastes were taken (`as_of`) comes from their absolute times: describe's latest
  container start plus the age of the latest `Started` event, at least the latest time shown.
  Ages ("3m", "7 (2m ago)") become times from it; `now` stands in for pastes with no time at all.
- A log of unknown instance goes to `previous_log` unless the container is running now: while a
  container waits in CrashLoopBackOff, plain `kubectl logs` shows the instance that crashed.
- `missing` names each fact a cause may need that no paste holds, with the command that gets it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from msgspec.structs import replace

from kcrash.cluster.parse import ParsedObjects
from kcrash.cluster.paste.gaps import absent, evicted_from_events, missing, pod_logs, waiting_from_log
from kcrash.cluster.paste.model import (
    AsOfBasis,
    LogFacts,
    PastedEvent,
    PastedPod,
    PasteFacts,
    PodFacts,
    is_placeholder,
)
from kcrash.cluster.paste.runs import to_workload_pods
from kcrash.cluster.paste.text import ago
from kcrash.core.records import (
    ContainerStatus,
    Deployment,
    Event,
    MemorySample,
    Pod,
    Revision,
)
from kcrash.core.status import primary_container

_T = TypeVar("_T")
ATTRIBUTED = "pod not named"
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_IMAGE_IN_MESSAGE = re.compile(r'image "(?P<image>[^"]+)"')


@dataclass(slots=True)
class _Group:
    """Everything known about one pod while the pastes are put together."""

    name: str
    namespace: str = ""
    facts: list[tuple[PodFacts, PasteFacts]] = field(default_factory=list)
    events: list[tuple[PastedEvent, PasteFacts]] = field(default_factory=list)
    logs: list[LogFacts] = field(default_factory=list)
    pastes: list[str] = field(default_factory=list)
    remarks: list[tuple[str, str]] = field(default_factory=list)

    def matches(self, name: str, namespace: str) -> bool:
        return self.name == name and (not namespace or not self.namespace or namespace == self.namespace)

    def saw(self, paste: PasteFacts) -> None:
        if paste.name not in self.pastes:
            self.pastes.append(paste.name)


class _Groups:
    def __init__(self) -> None:
        self.groups: list[_Group] = []
        self._by_name: dict[str, list[_Group]] = {}  # a list of thousands of pods is read in linear time

    def get(self, name: str, namespace: str) -> _Group:
        same_name = self._by_name.setdefault(name, [])
        for group in same_name:
            if group.matches(name, namespace):
                group.namespace = group.namespace or namespace
                return group
        group = _Group(name=name, namespace=namespace)
        self.groups.append(group)
        same_name.append(group)
        return group

    def named(self) -> list[_Group]:
        return [group for group in self.groups if group.name]


# --- grouping -----------------------------------------------------------------------------------


def _group(pastes: Sequence[PasteFacts]) -> list[_Group]:
    groups = _Groups()
    unnamed: list[tuple[PodFacts, PasteFacts]] = []
    for paste in pastes:
        for facts in paste.pods:
            if not facts.pod.name:
                unnamed.append((facts, paste))
                continue
            group = groups.get(facts.pod.name, facts.pod.namespace)
            group.facts.append((facts, paste))
            group.saw(paste)
        for pasted in paste.events:
            event = pasted.event
            if event.involved_kind == "Pod" and event.involved_name:
                group = groups.get(event.involved_name, event.namespace)
                group.events.append((pasted, paste))
                group.saw(paste)
    for facts, paste in unnamed:
        group = _home(groups, "", facts.pod.namespace)
        group.facts.append((facts, paste))
        group.saw(paste)
        _say_attributed(groups, group, f"what {paste.name} shows")
    for paste in pastes:
        for log in paste.logs:
            named = groups.named()
            if log.quoted and not log.pod and len(named) > 1 and sum(map(_in_trouble, named)) != 1:
                continue  # words quoted in a chat, with several pods they could be about
            group = _home(groups, log.pod, log.namespace)
            group.logs.append(log)
            group.saw(paste)
            if not log.pod:
                _say_attributed(groups, group, f"the log in {paste.name}")
    return groups.groups


def _say_attributed(groups: _Groups, group: _Group, what: str) -> None:
    """Among several pods, a paste that names none was given to this one: say so, and why."""
    named = groups.named()
    if not group.name or len(named) < 2:
        return
    said = f"{what} names no pod: read as {group.name}'s, the one of {len(named)} pods failing"
    remark = (ATTRIBUTED, said)
    if remark not in group.remarks:
        group.remarks.append(remark)


def _home(groups: _Groups, name: str, namespace: str) -> _Group:
    """The group for a pod named `name`, or for an unnamed fact the one pod it can only be about."""
    if name:
        return groups.get(name, namespace)
    named = groups.named()
    if len(named) == 1:
        return named[0]
    troubled = [g for g in named if _in_trouble(g)]
    if len(troubled) == 1:
        return troubled[0]
    return groups.get("", namespace)


def _in_trouble(group: _Group) -> bool:
    for facts, _ in group.facts:
        for status in (*facts.pod.container_statuses, *facts.pod.init_container_statuses):
            if is_placeholder(status.name):  # implied by a `get pods` row, not a fact about trouble
                continue
            if status.restart_count or status.state.kind in ("waiting", "terminated"):
                return True
    return any(pasted.event.type == "Warning" for pasted, _ in group.events)


# --- merging ------------------------------------------------------------------------------------


def _first(values: Iterable[_T], default: _T) -> _T:
    """The first value that is set (non-empty), in rank order."""
    return next((value for value in values if value), default)


def _merge_pod(group: _Group, pods: list[Pod]) -> Pod:
    base = pods[0] if pods else Pod(namespace=group.namespace, name=group.name)
    containers = _first((p.containers for p in pods), ())
    inits = _first((p.init_containers for p in pods), ())
    return replace(
        base,
        namespace=group.namespace or base.namespace,
        name=group.name or base.name,
        uid=_first((p.uid for p in pods), ""),
        created_at=_first((p.created_at for p in pods), None),
        labels=_first((p.labels for p in pods), ()),
        owners=_first((p.owners for p in pods), ()),
        phase=_first((p.phase for p in pods), ""),
        reason=_first((p.reason for p in pods), ""),
        message=_first((p.message for p in pods), ""),
        node_name=_first((p.node_name for p in pods), ""),
        pod_ip=_first((p.pod_ip for p in pods), ""),
        start_time=_first((p.start_time for p in pods), None),
        conditions=_first((p.conditions for p in pods), ()),
        containers=containers,
        init_containers=inits,
        container_statuses=_statuses([p.container_statuses for p in pods]),
        init_container_statuses=_statuses([p.init_container_statuses for p in pods]),
        default_container=_first((p.default_container for p in pods), ""),
    )


def _statuses(candidates: list[tuple[ContainerStatus, ...]]) -> tuple[ContainerStatus, ...]:
    """The best-ranked statuses that name their containers, else a `get pods` summary; pieces of
    one container's status pasted apart (a `lastState:` block, a row) fill each other in."""
    named = next((s for s in candidates if s and all(status.name for status in s)), None)
    chosen = named if named is not None else next((s for s in candidates if s), ())
    if len(chosen) != 1:
        return chosen
    pieces = [s[0] for s in candidates if len(s) == 1 and s[0] is not chosen[0]]
    pieces = [p for p in pieces if not p.name or p.name == chosen[0].name or is_placeholder(p.name)]
    return (_filled(chosen[0], pieces),)


def _filled(status: ContainerStatus, pieces: list[ContainerStatus]) -> ContainerStatus:
    """A status with what it lacks taken from other pastes of the same container, best first."""
    for piece in pieces:
        if piece.name and piece.name != status.name:
            continue
        status = replace(
            status,
            name=status.name or piece.name,
            state=piece.state if status.state.kind == "unknown" else status.state,
            last_state=status.last_state or piece.last_state,
            restart_count=status.restart_count or piece.restart_count,
        )
    return status


def _name_summary(pod: Pod, group: _Group, events: list[PastedEvent]) -> Pod:
    """Give a `get pods` row's container (its one nameless status) the name of the pod's container,
    when only one name is known."""
    init = bool(pod.init_container_statuses)
    statuses = pod.init_container_statuses if init else pod.container_statuses
    nameless = [i for i, status in enumerate(statuses) if not status.name]
    if len(nameless) != 1:
        return pod
    specs = pod.init_containers if init else pod.containers
    names = {spec.name for spec in specs if not is_placeholder(spec.name)}
    if not names:
        names = {log.container for log in group.logs if log.container}
        names |= {e.event.container for e in events if e.event.container}
    if len(names) != 1:
        return pod
    renamed = list(statuses)
    renamed[nameless[0]] = replace(statuses[nameless[0]], name=names.pop())
    if init:
        return replace(pod, init_container_statuses=tuple(renamed))
    return replace(pod, container_statuses=tuple(renamed))


def _merge_sources(ranked: list[PodFacts], pod: Pod) -> dict[str, str]:
    sources: dict[str, str] = {}
    statuses = (*pod.container_statuses, *pod.init_container_statuses)
    only = [s.name for s in statuses if not is_placeholder(s.name)]
    for facts in reversed(ranked):  # the best paste last, so its lines win
        for key, line in facts.sources.items():
            if key.startswith("/") and len(only) == 1 and only[0]:
                key = only[0] + key
            sources[key] = line
    return sources


# --- events -------------------------------------------------------------------------------------


def _resolve(pasted: PastedEvent, anchor: datetime | None, pod: Pod) -> PastedEvent:
    event = pasted.event
    if event.last_seen is None and pasted.yearless is not None and anchor is not None:
        moment = _in_year_of(pasted.yearless, anchor)
        event = replace(event, last_seen=moment, first_seen=moment)
    if event.last_seen is None and event.first_seen is None:
        event = replace(
            event, last_seen=ago(anchor, pasted.last_age), first_seen=ago(anchor, pasted.first_age)
        )
    if not event.field_path:
        image = _IMAGE_IN_MESSAGE.search(event.message)
        spec = next(
            (s for s in (*pod.containers, *pod.init_containers) if image and s.image == image.group("image")),
            None,
        )
        if spec is not None:
            kind = "initContainers" if spec.init else "containers"
            event = replace(event, field_path=f"spec.{kind}{{{spec.name}}}")
    return dataclasses.replace(
        pasted,
        event=replace(
            event, namespace=event.namespace or pod.namespace, involved_name=event.involved_name or pod.name
        ),
    )


def _in_year_of(yearless: datetime, anchor: datetime) -> datetime | None:
    """A time without its year in the latest year that puts it no later than a day past `anchor`."""
    for year in (anchor.year, anchor.year - 1):
        try:
            moment = yearless.replace(year=year)
        except ValueError:  # Feb 29 in a year without one
            continue
        if moment <= anchor + timedelta(days=1):
            return moment
    return None


def _same(a: Event, b: Event) -> bool:
    """One event seen in two pastes: describe names no container where `get events` does."""
    return (
        (a.type, a.reason) == (b.type, b.reason)
        and a.message.split() == b.message.split()
        and (a.container == b.container or not a.container or not b.container)
    )


def _events(
    group: _Group, pod: Pod, ranked: list[tuple[PodFacts, PasteFacts]], as_of: datetime | None
) -> list[PastedEvent]:
    """Describe's events and event-table rows; one event in two pastes once, with the larger count."""
    kept: list[PastedEvent] = []
    every = [(e, paste) for facts, paste in ranked for e in facts.events] + group.events
    for pasted, paste in every:
        resolved = _resolve(pasted, paste.as_of or as_of, pod)
        index = next((i for i, k in enumerate(kept) if _same(k.event, resolved.event)), None)
        if index is None:
            kept.append(resolved)
            continue
        old = kept[index]
        best = resolved if resolved.event.count > old.event.count else old
        field_path = old.event.field_path or resolved.event.field_path
        kept[index] = dataclasses.replace(best, event=replace(best.event, field_path=field_path))
    return sorted(kept, key=lambda e: e.event.last_seen or _EARLIEST)


# --- the whole ----------------------------------------------------------------------------------


def _pasted_pod(group: _Group, now: datetime | None) -> PastedPod:
    ranked = sorted(group.facts, key=lambda pair: -pair[0].rank)
    facts = [f for f, _ in ranked]
    pod = _merge_pod(group, [f.pod for f in facts])
    # An events paste speaks of the pod its rows name without being about it as a whole: its own
    # time counts when no paste of the pod itself tells one.
    timed = [paste for _, paste in ranked if paste.as_of is not None] or [
        paste for _, paste in group.events if paste.as_of is not None
    ]
    latest_paste = max(timed, key=lambda paste: paste.as_of or _EARLIEST) if timed else None
    as_of = latest_paste.as_of if latest_paste else now
    basis: AsOfBasis = latest_paste.as_of_basis if latest_paste else ("now" if now else "unknown")
    if pod.created_at is None:
        age = next((f.age for f in facts if f.age is not None), None)
        pod = replace(pod, created_at=ago(as_of, age))
    if facts and facts[0].terminating and pod.deletion_timestamp is None:
        # Being deleted when the paste was taken; its deadline is not in the row: say no later.
        pod = replace(pod, deletion_timestamp=as_of)
    events = _events(group, pod, ranked, as_of)
    pod = waiting_from_log(_name_summary(pod, group, events), group.logs)
    pod, eviction_line = evicted_from_events(pod, events)
    container = primary_container(pod) or next((log.container for log in group.logs if log.container), "")
    if not container and not (pod.container_statuses or pod.containers):
        named = {e.event.container for e in events if e.event.container}
        container = named.pop() if len(named) == 1 else ""  # events alone: the one container they name
    logs = pod_logs(group.logs, pod, container)
    shows = {part for f in facts for part in f.shows}
    cut_off = next((f.cut_off for f in facts if f.rank == 2 and f.cut_off), "")
    sources = _merge_sources(facts, pod)
    for key, line in logs.sources.items():
        sources.setdefault(key, line)  # a describe's own line beats kubectl's error line
    prefix = f"{container}/"
    sources.update(
        {key.removeprefix(prefix): line for key, line in list(sources.items()) if key.startswith(prefix)}
    )
    for index, pasted in enumerate(events):
        if pasted.line:
            sources[f"events[{index}]"] = pasted.line
    if eviction_line:
        sources.setdefault("status.reason", eviction_line)
    objects = next((paste.objects for _, paste in ranked if paste.objects is not None), None)
    deployment, revisions, memory = _rollout(objects, pod)
    return PastedPod(
        pod=pod,
        container=container,
        events=tuple(e.event for e in events),
        previous_log=logs.previous,
        current_log=logs.current,
        sources=sources,
        missing=missing(pod, container, shows, events, logs, cut_off),
        as_of=as_of,
        as_of_basis=basis,
        pastes=tuple(group.pastes),
        deployment=deployment,
        revisions=revisions,
        memory=memory,
        absent=absent(shows, events, basis, memory),
        remarks=(*(r for f in facts for r in f.remarks), *group.remarks),
    )


def _rollout(
    objects: ParsedObjects | None, pod: Pod
) -> tuple[Deployment | None, tuple[Revision, ...], tuple[MemorySample, ...]]:
    """The pod's Deployment, its revisions and memory samples, when an objects paste held them."""
    if objects is None:
        return None, (), ()
    memory = objects.metrics_for(pod.namespace, pod.name)
    owner = pod.controller
    names = {
        dep for ns, dep, rs in objects.revision_owners if owner and rs == owner.name and ns == pod.namespace
    }
    deployment = next(
        (d for d in objects.deployments if d.name in names and d.namespace == pod.namespace), None
    )
    revisions = objects.revisions_of(deployment) if deployment else ()
    return deployment, revisions, memory


def combine(pastes: Sequence[PasteFacts], *, now: datetime | None = None) -> list[PastedPod]:
    """One PastedPod per pod the pastes speak of, in the order they first appear."""
    return [
        _pasted_pod(group, now)
        for group in _group(to_workload_pods(pastes))
        if group.facts or group.events or group.logs
    ]
