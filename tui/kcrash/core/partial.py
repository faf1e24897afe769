"""Verdicts built on partial evidence: which missing pieces could have changed which causes.

A read that failed (throttled past the deadline, a 500, a 403) leaves a piece out of the
diagnosis. Whether that makes the verdict doubtful depends on the cause found: an OOM kill is
read from the pod's status and needs no log, while "the app exits with an error" rests on the log
that was not read, and a lost rollout history hides the revision that started it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

from kcrash.core.records import Cause, Unread

Confidence = Literal["high", "low"]

_FROM_STATUS: frozenset[Cause] = frozenset(
    {"oom-killed", "image-pull", "unschedulable", "evicted", "healthy"}
)
_ALL: frozenset[Cause] = frozenset(
    {
        "app-error",
        "oom-killed",
        "liveness-probe",
        "startup-probe",
        "exits-zero",
        "command-not-found",
        "image-pull",
        "config-missing",
        "dependency-unreachable",
        "killed",
        "evicted",
        "unschedulable",
        "volume-mount",
        "unknown",
    }
)
_CHANGES: dict[str, frozenset[Cause]] = {
    "previous log": _ALL - _FROM_STATUS,
    "current log": _ALL - _FROM_STATUS,
    "events": _ALL - {"oom-killed", "exits-zero", "command-not-found"},
    "rollout history": frozenset(
        {
            "app-error",
            "config-missing",
            "command-not-found",
            "exits-zero",
            "dependency-unreachable",
            "unknown",
        }
    ),
    "ConfigMap": frozenset({"config-missing", "app-error", "unknown"}),
    "memory metrics": frozenset({"oom-killed", "killed", "unknown"}),
}


def _kind(what: str) -> str:
    return "ConfigMap" if what.startswith("ConfigMap ") else what


def mattered(cause: Cause, unread: Iterable[Unread]) -> tuple[Unread, ...]:
    """The unread pieces that could have changed (or confirmed) a verdict of `cause`."""
    return tuple(u for u in unread if cause in _CHANGES.get(_kind(u.what), _ALL))


def confidence(cause: Cause, unread: Sequence[Unread]) -> Confidence:
    """ "low" when a piece that bears on the cause found could not be read."""
    return "low" if mattered(cause, unread) else "high"


def summary(unread: Iterable[Unread]) -> str:
    """`previous log ×2, events`: what went unread over many pods, most frequent first."""
    counts = Counter(_kind(u.what) for u in unread)
    return ", ".join(f"{what} ×{n}" if n > 1 else what for what, n in counts.most_common())
