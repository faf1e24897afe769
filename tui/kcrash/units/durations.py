"""Durations as Kubernetes writes them: kubectl's AGE (`human_duration`, k8s.io/apimachinery's
HumanDuration) and Go's `time.Duration.String()` both ways (`short_duration`, `parse_go_duration`),
the form the kubelet writes in its messages ("back-off 5m0s restarting failed container=...").
"""

from __future__ import annotations

import re

_NS = 1
_US = 1_000 * _NS
_MS = 1_000 * _US
_SECOND = 1_000 * _MS
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE


def _to_ns(seconds: float) -> int:
    """Seconds as integer nanoseconds, the unit Go's arithmetic works in."""
    return round(seconds * _SECOND)


def _trunc_div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Go's `/` on integers does."""
    q = abs(a) // b
    return q if a >= 0 else -q


def human_duration(seconds: float) -> str:
    """HumanDuration: about 2-3 significant figures ("45s", "3m10s", "70m", "2d1h", "2y1d").

    Up to two seconds in the future still reads "0s" (clock skew); further is "<invalid>".
    """
    ns = _to_ns(seconds)
    whole_seconds = _trunc_div(ns, _SECOND)
    if whole_seconds < -1:
        return "<invalid>"
    if whole_seconds < 0:
        return "0s"
    if whole_seconds < 60 * 2:
        return f"{whole_seconds}s"
    minutes = ns // _MINUTE
    if minutes < 10:
        secs = (ns // _SECOND) % 60
        return f"{minutes}m" if secs == 0 else f"{minutes}m{secs}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = ns // _HOUR
    if hours < 8:
        mins = minutes % 60
        return f"{hours}h" if mins == 0 else f"{hours}h{mins}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def _fraction(value: int, scale: int) -> str:
    """`value / scale` with trailing zeros dropped: 1500, 1000 -> "1.5"."""
    whole, rest = divmod(value, scale)
    if rest == 0:
        return str(whole)
    digits = str(rest).rjust(len(str(scale)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def short_duration(seconds: float) -> str:
    """Go's `time.Duration.String()`: "0s", "500ms", "10s", "1m20s", "5m0s", "1h0m0s"."""
    ns = _to_ns(seconds)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < _SECOND:
        for unit, scale in (("ms", _MS), ("µs", _US)):
            if ns >= scale:
                return f"{sign}{_fraction(ns, scale)}{unit}"
        return f"{sign}{ns}ns"
    hours, rest = divmod(ns, _HOUR)
    minutes, rest = divmod(rest, _MINUTE)
    secs = _fraction(rest, _SECOND) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}"
    if minutes:
        return f"{sign}{minutes}m{secs}"
    return f"{sign}{secs}"


_GO_UNITS = {"ns": _NS, "us": _US, "µs": _US, "μs": _US, "ms": _MS, "s": _SECOND, "m": _MINUTE, "h": _HOUR}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration string such as "5m0s", "1m20s", "2.5s" or "300ms".

    Raises ValueError for anything else, including an empty string.
    """
    body = text.strip()
    sign = 1
    if body[:1] in ("-", "+"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f"not a Go duration: {text!r}")
    total = 0.0
    position = 0
    while position < len(body):
        match = _GO_PART.match(body, position)
        if match is None:
            raise ValueError(f"not a Go duration: {text!r}")
        total += float(match.group(1)) * _GO_UNITS[match.group(2)] / _SECOND
        position = match.end()
    return sign * total
