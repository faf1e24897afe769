"""Durations written for people: kubectl's AGE style, Go's time.Duration style, and countdowns.

`human_duration`, `short_duration` and `parse_go_duration` are `kcrash.units`' (shared with the
lab): AGE and the "(2m3s ago)" of RESTARTS read exactly as `kubectl get pods` prints them.
"""

from __future__ import annotations

import math
from datetime import datetime

from kcrash.units.durations import human_duration, parse_go_duration, short_duration

__all__ = ["countdown", "human_duration", "parse_go_duration", "short_duration", "since"]


def since(moment: datetime | None, now: datetime) -> str:
    """`human_duration(now - moment)`, or "<unknown>" without a moment (kubectl's AGE cell)."""
    if moment is None:
        return "<unknown>"
    return human_duration((now - moment).total_seconds())


def countdown(seconds: float) -> str:
    """A ticking countdown, rounded up so it never says 0s while something is still pending.

    "45s", "2m14s", "5m00s", "1h02m"; zero or less is "0s".
    """
    whole = math.ceil(seconds - 1e-9) if seconds > 0 else 0
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{(whole % 3600) // 60:02d}m"
