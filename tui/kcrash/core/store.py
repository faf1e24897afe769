"""The client-side table of pods, fed by watch events and relists, reporting what changed.

Watch events arrive one by one (`apply`) or in bursts (`apply_batch`, which coalesces a burst into
one Delta against the state before it). A relist after 410 Gone or a reconnect goes through
`replace_all`, whose Delta includes the pods deleted while the watch was away. resourceVersions
are opaque: they are compared for equality only, never ordered.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from kcrash.core.records import Pod

Key = tuple[str, str]  # (namespace, name)

_UPSERT = frozenset({"ADDED", "MODIFIED"})
_IGNORED = frozenset({"BOOKMARK"})


@dataclass(frozen=True, slots=True)
class Delta:
    """Keys that appeared, changed or disappeared, each in exactly one set."""

    added: frozenset[Key] = field(default_factory=frozenset)
    changed: frozenset[Key] = field(default_factory=frozenset)
    removed: frozenset[Key] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def __len__(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)

    @property
    def keys(self) -> frozenset[Key]:
        """Every key touched, whatever happened to it."""
        return self.added | self.changed | self.removed


def _same(old: Pod, new: Pod) -> bool:
    """Equal resourceVersions mean the same object version; without one, compare content."""
    if old is new:
        return True
    if old.resource_version and old.resource_version == new.resource_version:
        return True
    return old == new


class PodStore:
    """Pods keyed by (namespace, name). Pure: no IO, no clock, no locking (one owner thread)."""

    __slots__ = ("_pods",)

    def __init__(self, pods: Iterable[Pod] = ()) -> None:
        self._pods: dict[Key, Pod] = {pod.key: pod for pod in pods}

    def __len__(self) -> int:
        return len(self._pods)

    def __contains__(self, key: object) -> bool:
        return key in self._pods

    def __iter__(self) -> Iterator[Key]:
        return iter(self._pods)

    def get(self, key: Key) -> Pod | None:
        return self._pods.get(key)

    def keys(self) -> list[Key]:
        return list(self._pods)

    def values(self) -> list[Pod]:
        """A snapshot list, safe to keep while the store goes on changing."""
        return list(self._pods.values())

    def apply(self, kind: str, pod: Pod) -> bool:
        """Apply one watch event (ADDED, MODIFIED, DELETED; BOOKMARK is ignored).

        Returns whether the table changed: a repeat of the version already held is not a change,
        nor is deleting a pod that is not there. Raises ValueError for any other event type.
        """
        key = pod.key
        if kind in _UPSERT:
            old = self._pods.get(key)
            if old is not None and _same(old, pod):
                return False
            self._pods[key] = pod
            return True
        if kind == "DELETED":
            return self._pods.pop(key, None) is not None
        if kind in _IGNORED:
            return False
        raise ValueError(f"unknown watch event type {kind!r} (expected ADDED, MODIFIED, DELETED or BOOKMARK)")

    def apply_batch(self, events: Iterable[tuple[str, Pod]]) -> Delta:
        """Apply a burst of events and report the net change against the state before the burst.

        A pod added then deleted within the burst is in no set; one deleted and re-added is
        "changed" (or nowhere, if it came back identical).
        """
        before: dict[Key, Pod | None] = {}
        for kind, pod in events:
            key = pod.key
            if key not in before:
                before[key] = self._pods.get(key)
            self.apply(kind, pod)
        added: set[Key] = set()
        changed: set[Key] = set()
        removed: set[Key] = set()
        for key, old in before.items():
            new = self._pods.get(key)
            if old is None and new is not None:
                added.add(key)
            elif old is not None and new is None:
                removed.add(key)
            elif old is not None and new is not None and not _same(old, new):
                changed.add(key)
        return Delta(frozenset(added), frozenset(changed), frozenset(removed))

    def replace_all(self, pods: Iterable[Pod]) -> Delta:
        """Replace the table with a fresh LIST; pods missing from it were deleted while away."""
        fresh: dict[Key, Pod] = {pod.key: pod for pod in pods}
        old = self._pods
        added = fresh.keys() - old.keys()
        removed = old.keys() - fresh.keys()
        changed = {key for key, pod in fresh.items() if key in old and not _same(old[key], pod)}
        self._pods = fresh
        return Delta(frozenset(added), frozenset(changed), frozenset(removed))
