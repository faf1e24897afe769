"""Reading the pod's JSON the way describe needs it, and kubectl's PrefixWriter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

RFC1123Z = "%a, %d %b %Y %H:%M:%S %z"


class Writer:
    """kubectl's PrefixWriter: two spaces of indent per level, text as given (tabs included)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, level: int, text: str) -> None:
        self.parts.append("  " * level + text)

    def text(self) -> str:
        return "".join(self.parts)


def as_map(doc: Any, key: str) -> Mapping[str, Any]:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def as_list(doc: Any, key: str) -> list[Any]:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    return value if isinstance(value, list) else []


def as_str(doc: Any, key: str) -> str:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    return "" if value is None else str(value)


def go_bool(value: Any) -> str:
    return "true" if value is True else "false"


def go_time(text: str) -> str:
    """An RFC 3339 timestamp as Go's RFC1123Z in local time, as kubectl prints it."""
    if not text:
        return "Mon, 01 Jan 0001 00:00:00 +0000"
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone().strftime(RFC1123Z)
