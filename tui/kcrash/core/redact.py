"""Redaction of log lines before they are kept on disk: credentials people print by accident.

A pattern either names a group `value` (only that part is replaced, so `password=hunter2` reads
`password=[redacted]` and the reader still sees what was there) or not (the whole match goes).
The defaults cover what crash logs most often leak: key=value secrets, bearer tokens, JWTs,
passwords in URLs, AWS access keys and PEM private keys' bodies. Pure: strings in, strings out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MASK = "[redacted]"

DEFAULT_PATTERNS: tuple[str, ...] = (
    r"(?i)\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret)"
    r"\b[\"']?\s*[=:]\s*[\"']?(?P<value>[^\s\"',;&]+)",
    r"(?i)\bauthorization\s*[=:]\s*(?:bearer|basic)?\s*(?P<value>\S+)",
    r"(?i)\bbearer\s+(?P<value>[A-Za-z0-9._~+/=-]{8,})",
    r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}",
    r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:(?P<value>[^@\s/]+)@",
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
)


class RedactionError(ValueError):
    """A configured pattern is not a valid regular expression."""


@dataclass(frozen=True, slots=True)
class Redactor:
    """Compiled patterns; `line()` and `text()` return what may be written."""

    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def build(cls, extra: Iterable[str] = (), defaults: bool = True) -> Redactor:
        sources = (*(DEFAULT_PATTERNS if defaults else ()), *extra)
        compiled: list[re.Pattern[str]] = []
        for source in sources:
            try:
                compiled.append(re.compile(source))
            except re.error as exc:
                raise RedactionError(
                    f"redaction pattern {source!r} is not a regular expression: {exc}"
                ) from None
        return cls(tuple(compiled))

    def line(self, line: str) -> str:
        for pattern in self.patterns:
            line = pattern.sub(_mask, line)
        return line

    def text(self, text: str) -> str:
        return "\n".join(self.line(line) for line in text.split("\n"))


def _mask(match: re.Match[str]) -> str:
    if "value" not in match.re.groupindex or match.group("value") is None:
        return MASK
    start, end = match.span("value")
    whole = match.group(0)
    offset = match.start()
    return whole[: start - offset] + MASK + whole[end - offset :]
