"""Container logs as the kubelet keeps them: the current instance and exactly one previous one.

Lines are stored without their trailing newline. An instance whose output ended in the middle of a
line (an OOM kill cuts the process off mid-write) is marked `partial`: the server must then not add a
newline after the last line. Every instance is bounded so a chatty container cannot grow the lab.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

MAX_LINES = 2000

LineCallback = Callable[[datetime, str, bool], None]  # moment, text, whether a newline ended it
EndCallback = Callable[[], None]
LogKey = tuple[str, str, str]  # namespace, pod, container


@dataclass(slots=True)
class _Follower:
    on_line: LineCallback
    on_end: EndCallback | None


@dataclass(slots=True)
class _Instance:
    """One run of a container: its output, whether it has ended, who follows it."""

    lines: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=MAX_LINES))
    ended: bool = False
    partial: bool = False
    followers: list[_Follower] = field(default_factory=list)


@dataclass(slots=True)
class _ContainerLogs:
    current: _Instance | None = None
    previous: _Instance | None = None


def _nothing() -> None:
    return None


def _moment(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


class LogBook:
    """Per (namespace, pod, container): the current instance and the one before it."""

    def __init__(self, max_lines: int = MAX_LINES) -> None:
        self._max_lines = max_lines
        self._containers: dict[LogKey, _ContainerLogs] = {}
        self._by_pod: dict[tuple[str, str], set[str]] = {}

    # -- reading (the API server) ----------------------------------------------------------
    def read(
        self, namespace: str, pod: str, container: str, previous: bool
    ) -> list[tuple[datetime, str]] | None:
        """The lines of the current (or previous) instance; None when there is no such instance."""
        instance = self._instance(namespace, pod, container, previous)
        if instance is None:
            return None
        return [(_moment(stamp), text) for stamp, text in instance.lines]

    def partial_last_line(self, namespace: str, pod: str, container: str, previous: bool) -> bool:
        """True when the instance's output stops mid-line (write no newline after the last line)."""
        instance = self._instance(namespace, pod, container, previous)
        return instance is not None and instance.partial

    def subscribe(
        self,
        namespace: str,
        pod: str,
        container: str,
        callback: LineCallback,
        on_end: EndCallback | None = None,
    ) -> Callable[[], None]:
        """Follow the current instance; returns the unsubscribe function.

        `callback` gets each line as it is written, with False for a last line cut off mid-write
        (no newline ever follows it). `on_end` (optional) is called once when the followed instance
        ends, as `kubectl logs -f` stops when the container exits.
        """
        instance = self._instance(namespace, pod, container, previous=False)
        if instance is None:
            return _nothing
        follower = _Follower(callback, on_end)
        instance.followers.append(follower)
        followed = instance

        def unsubscribe() -> None:
            if follower in followed.followers:
                followed.followers.remove(follower)

        return unsubscribe

    def instance_ended(self, namespace: str, pod: str, container: str) -> bool:
        instance = self._instance(namespace, pod, container, previous=False)
        return instance is None or instance.ended

    def has_instance(self, namespace: str, pod: str, container: str, previous: bool) -> bool:
        return self._instance(namespace, pod, container, previous) is not None

    # -- writing (the kubelet and the --load reader) -----------------------------------------
    def start_instance(self, namespace: str, pod: str, container: str) -> None:
        """A new container instance: the current one becomes the previous, the older one is gone."""
        logs = self._ensure(namespace, pod, container)
        if logs.current is not None:
            self._finish(logs.current)
        logs.previous = logs.current
        logs.current = _Instance(lines=deque(maxlen=self._max_lines))

    def keep_as_previous(self, namespace: str, pod: str, container: str) -> None:
        """The current instance has ended and is now the container's `lastState`.

        The kubelet serves `--previous` from lastState's containerID, and a plain read from it too
        while nothing newer has started (a container waiting out its back-off): both read this
        instance until `start_instance` replaces the current one.
        """
        logs = self._containers.get((namespace, pod, container))
        if logs is None or logs.current is None or not logs.current.ended:
            return
        logs.previous = logs.current

    def append(self, namespace: str, pod: str, container: str, stamp: float, text: str) -> None:
        """One complete line (no trailing newline) written by the current instance at `stamp`."""
        logs = self._containers.get((namespace, pod, container))
        if logs is None or logs.current is None or logs.current.ended:
            return
        self._write(logs.current, stamp, text, complete=True)

    def end_instance(
        self, namespace: str, pod: str, container: str, cut_line: str | None = None, stamp: float = 0.0
    ) -> None:
        """The current instance exited; `cut_line` is a last write that never got its newline."""
        logs = self._containers.get((namespace, pod, container))
        if logs is None or logs.current is None or logs.current.ended:
            return
        if cut_line:
            logs.current.partial = True
            self._write(logs.current, stamp, cut_line, complete=False)
        self._finish(logs.current)

    def load_instance(
        self,
        namespace: str,
        pod: str,
        container: str,
        lines: Iterable[tuple[float, str]],
        previous: bool,
        partial: bool = False,
        ended: bool = True,
    ) -> None:
        """Install a whole instance at once (objects served from files)."""
        instance = _Instance(lines=deque(lines, maxlen=self._max_lines), ended=ended, partial=partial)
        logs = self._ensure(namespace, pod, container)
        if previous:
            logs.previous = instance
        else:
            logs.current = instance

    def forget_pod(self, namespace: str, pod: str) -> None:
        for container in self._by_pod.pop((namespace, pod), set()):
            logs = self._containers.pop((namespace, pod, container), None)
            if logs is not None and logs.current is not None:
                self._finish(logs.current)

    def line_count(self) -> int:
        """Lines held in total (the benchmarks watch this stay bounded)."""
        total = 0
        for logs in self._containers.values():
            for instance in (logs.current, logs.previous):
                if instance is not None:
                    total += len(instance.lines)
        return total

    # -- helpers -----------------------------------------------------------------------------
    def _instance(self, namespace: str, pod: str, container: str, previous: bool) -> _Instance | None:
        logs = self._containers.get((namespace, pod, container))
        if logs is None:
            return None
        return logs.previous if previous else logs.current

    def _ensure(self, namespace: str, pod: str, container: str) -> _ContainerLogs:
        key = (namespace, pod, container)
        logs = self._containers.get(key)
        if logs is None:
            logs = self._containers[key] = _ContainerLogs()
            self._by_pod.setdefault((namespace, pod), set()).add(container)
        return logs

    @staticmethod
    def _write(instance: _Instance, stamp: float, text: str, complete: bool) -> None:
        """Keep the line and hand it to followers at once (a follower prints it as it comes)."""
        instance.lines.append((stamp, text))
        if instance.followers:
            moment = _moment(stamp)
            for follower in list(instance.followers):
                follower.on_line(moment, text, complete)

    @staticmethod
    def _finish(instance: _Instance) -> None:
        if instance.ended:
            return
        instance.ended = True
        followers, instance.followers = instance.followers, []
        for follower in followers:
            if follower.on_end is not None:
                follower.on_end()
