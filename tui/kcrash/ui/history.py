"""Container deaths seen during this session.

A pod record holds only the latest termination (`lastState`); the chart wants every restart since
kcrash started. Each time a container's lastState changes, the new termination is remembered here.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

from kcrash.core.records import Pod

PER_CONTAINER = 100


@dataclass(frozen=True, slots=True)
class Termination:
    """A container death seen this session (from lastState as it changed)."""

    at: datetime
    reason: str
    exit_code: int | None


class TerminationLog:
    """(namespace, pod) -> container -> terminations, oldest first, bounded."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], dict[str, deque[Termination]]] = {}

    def observe(self, pod: Pod) -> None:
        for status in (*pod.container_statuses, *pod.init_container_statuses):
            last = status.last_state
            if last is None or last.kind != "terminated" or last.finished_at is None:
                continue
            containers = self._seen.setdefault(pod.key, {})
            series = containers.setdefault(status.name, deque(maxlen=PER_CONTAINER))
            if not series or series[-1].at != last.finished_at:
                series.append(Termination(last.finished_at, last.reason, last.exit_code))

    def forget(self, key: tuple[str, str]) -> None:
        self._seen.pop(key, None)

    def of(self, pod: Pod, container: str) -> tuple[Termination, ...]:
        return tuple(self._seen.get(pod.key, {}).get(container, ()))
