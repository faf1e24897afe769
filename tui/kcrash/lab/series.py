"""What a Prometheus would have scraped from the lab: cAdvisor's and kube-state-metrics' series.

The kubelet registers every app container instance it runs here (`started`); an `Instance` keeps
its finish time and reason as it dies, so one list of instances per container is the whole history
of that container. From it this module answers two questions:

- `exposition(now)`: the Prometheus text format a scrape of `/metrics` reads now;
- `openmetrics(since, until, step)`: the same series as OpenMetrics samples over a stretch of the
  past (the pre-played hour), for `promtool tsdb create-blocks-from openmetrics`.

Working sets are computed, not stored: the value at a moment is a function of the instance (start,
the behaviour's growth and plateau, the limit) plus noise derived from the container ID and the
15-second slot, so a scrape and the exported history agree where they overlap.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kcrash.lab.scenarios import Memory

if TYPE_CHECKING:
    from kcrash.lab.kubelet.state import Instance

MI = 1024.0 * 1024.0
SLOT = 15.0  # cAdvisor's housekeeping resolution: the noise changes once per slot
MAX_INSTANCES = 400  # per container: a crash loop at the 5-minute back-off makes 12 an hour
WORKING_SET = "container_memory_working_set_bytes"
LIMIT = "container_spec_memory_limit_bytes"
RESTARTS = "kube_pod_container_status_restarts_total"
LAST_REASON = "kube_pod_container_status_last_terminated_reason"

Key = tuple[str, str, str, str]  # namespace, pod, container, pod uid


@dataclass(eq=False, slots=True)
class Track:
    """One container of one pod, as the series name it."""

    namespace: str
    pod: str
    container: str
    uid: str
    node: str
    image: str
    memory: Memory
    limit_mi: float | None
    instances: list[Instance] = field(default_factory=list)
    gone_at: float = math.inf  # the pod was deleted then

    def running_at(self, moment: float) -> Instance | None:
        for inst in reversed(self.instances):
            started = inst.started_at
            if started is None or started > moment:
                continue
            if inst.finished_at is None or inst.finished_at > moment:
                return inst if moment < self.gone_at else None
            return None
        return None

    def restarts_at(self, moment: float) -> int | None:
        """The restart count the pod's status showed at `moment` (None: the pod did not exist)."""
        if moment >= self.gone_at:
            return None
        found = None
        for inst in self.instances:
            if _created(inst) <= moment:
                found = inst.number
        return found

    def last_reason_at(self, moment: float) -> str:
        """lastState.terminated.reason at `moment`: the newest instance that had finished by then."""
        reason = ""
        for inst in self.instances:
            if inst.finished_at is not None and inst.finished_at <= moment:
                reason = inst.reason or "Error"
        return reason


def _created(inst: Instance) -> float:
    if inst.started_at is not None:
        return inst.started_at
    return inst.finished_at if inst.finished_at is not None else math.inf


def working_set_mi(memory: Memory, limit_mi: float | None, inst: Instance, moment: float) -> float:
    """The working set of a running instance at `moment`, with the slot's noise."""
    start = inst.started_at if inst.started_at is not None else moment
    value = memory.start_mi + memory.growth_mi_per_min * max(0.0, moment - start) / 60.0
    if memory.plateau_mi is not None:
        value = min(value, memory.plateau_mi)
    if memory.noise_mi:
        slot = int(moment // SLOT)
        share = zlib.crc32(f"{inst.container_id}:{slot}".encode()) / 0xFFFFFFFF
        value += memory.noise_mi * (2.0 * share - 1.0)
    if limit_mi is not None:
        value = min(value, limit_mi - 0.5)  # at the limit the kernel kills it
    return max(1.0, value)


class SeriesBook:
    """Every app container the kubelet ran, kept until `horizon` seconds after its pod is gone."""

    def __init__(self, now: Callable[[], float], horizon: float = 2 * 3600.0) -> None:
        self._now = now
        self.horizon = horizon
        self._tracks: dict[Key, Track] = {}
        self._of_pod: dict[tuple[str, str], list[Key]] = {}
        self._pruned = -math.inf

    def __len__(self) -> int:
        return len(self._tracks)

    def track(self, key: Key, make: Callable[[], Track]) -> Track:
        """The track of a container, made on first sight."""
        found = self._tracks.get(key)
        if found is None:
            found = self._tracks[key] = make()
            self._of_pod.setdefault(key[:2], []).append(key)
        return found

    def started(self, track: Track, inst: Instance) -> None:
        track.instances.append(inst)
        if len(track.instances) > MAX_INSTANCES:
            del track.instances[0]

    def gone(self, namespace: str, pod: str) -> None:
        """The pod was deleted: its containers' series stop now."""
        now = self._now()
        for key in self._of_pod.get((namespace, pod), ()):
            track = self._tracks[key]
            if track.gone_at == math.inf:
                track.gone_at = now
        if now - self._pruned > 60.0:  # a sweep a minute at most, however many pods go
            self._prune(now)

    def _prune(self, now: float) -> None:
        self._pruned = now
        for key, track in list(self._tracks.items()):
            if track.gone_at < now - self.horizon:
                del self._tracks[key]
                keys = self._of_pod[key[:2]]
                keys.remove(key)
                if not keys:
                    del self._of_pod[key[:2]]

    # -- the two outputs -------------------------------------------------------------------------
    def exposition(self, now: float) -> str:
        """`/metrics` now, in the Prometheus text format (version 0.0.4), without timestamps:
        the scraper stamps samples with its own time, so a lab running at --speed stays scrapable."""
        tracks = sorted(self._tracks.values(), key=lambda t: (t.namespace, t.pod, t.container))
        lines: list[str] = []
        for name, kind, help_text, sample in _FAMILIES:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            for track in tracks:
                for labels, value in sample(track, now):
                    lines.append(f"{name}{{{_labels(labels)}}} {_number(value)}")
        return "\n".join(lines) + "\n"

    def openmetrics(self, since: float, until: float, step: float = SLOT) -> Iterator[str]:
        """The series between `since` and `until`, one sample per `step`, as OpenMetrics lines
        (families grouped, each series in time order, `# EOF` last)."""
        tracks = sorted(self._tracks.values(), key=lambda t: (t.namespace, t.pod, t.container))
        moments = [since + i * step for i in range(int((until - since) // step) + 1)]
        for name, kind, help_text, sample in _FAMILIES:
            family = name.removesuffix("_total") if kind == "counter" else name
            yield f"# HELP {family} {help_text}\n"
            yield f"# TYPE {family} {kind}\n"
            for track in tracks:
                series: dict[str, list[tuple[float, float]]] = {}
                for moment in moments:
                    for labels, value in sample(track, moment):
                        series.setdefault(_labels(labels), []).append((moment, value))
                for labels_text, points in series.items():
                    for moment, value in points:
                        yield f"{name}{{{labels_text}}} {_number(value)} {moment:.3f}\n"
        yield "# EOF\n"


Sample = tuple[dict[str, str], float]


def _pod_labels(track: Track) -> dict[str, str]:
    return {"namespace": track.namespace, "pod": track.pod, "container": track.container, "uid": track.uid}


def _working_set(track: Track, moment: float) -> list[Sample]:
    inst = track.running_at(moment)
    if inst is None:
        return []
    labels = {
        "container": track.container,
        "id": f"/kubepods/pod{track.uid}/{inst.container_id}",
        "image": track.image,
        "name": inst.container_id,
        "namespace": track.namespace,
        "pod": track.pod,
    }
    return [(labels, float(int(working_set_mi(track.memory, track.limit_mi, inst, moment) * MI)))]


def _limit(track: Track, moment: float) -> list[Sample]:
    inst = track.running_at(moment)
    if inst is None:
        return []
    labels = {"container": track.container, "namespace": track.namespace, "pod": track.pod}
    return [(labels, (track.limit_mi or 0.0) * MI)]


def _restarts(track: Track, moment: float) -> list[Sample]:
    count = track.restarts_at(moment)
    return [] if count is None else [(_pod_labels(track), float(count))]


def _last_reason(track: Track, moment: float) -> list[Sample]:
    if track.restarts_at(moment) is None:
        return []
    reason = track.last_reason_at(moment)
    return [({**_pod_labels(track), "reason": reason}, 1.0)] if reason else []


_FAMILIES: tuple[tuple[str, str, str, Callable[[Track, float], list[Sample]]], ...] = (
    (WORKING_SET, "gauge", "Current working set of the container in bytes", _working_set),
    (LIMIT, "gauge", "Memory limit for the container in bytes", _limit),
    (RESTARTS, "counter", "The number of container restarts per container.", _restarts),
    (LAST_REASON, "gauge", "Describes the last reason the container was in terminated state.", _last_reason),
)


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)
