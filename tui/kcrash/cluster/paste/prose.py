"""Errors quoted in a sentence: "Investigating the logs I see `Error: unknown flag: --leader-elect`",
"To fix Redis::CannotConnectError: Error connecting to Redis on 127.0.0.1:6379 (Errno::ECONNREFUSED)".

People describe a crash in words and quote the process's last line in them, in a code span or
inline. The quoted line is what the log said, so it is read as a log line: a code span that opens
the way a failing process's line does, or the rest of a sentence from where such a line starts
(an exception's class, `Error:`, `panic:`, `FATAL`, Go's `dial tcp ...`, a shell's `sh: ...`).
Words that merely mention an error ("the error is gone") open no such line and are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_CODE_SPAN = re.compile(r"`+([^`]+?)`+")
# An exception's class (`Redis::CannotConnectError:`, `ModuleNotFoundError:`), a qualified one
# (`java.net.ConnectException:`), a level or a panic, Go's dial error, a shell's complaint, npm's.
_OPENS = (
    r"(?:[A-Z][\w]*(?:(?:::|\.|\$)[A-Z]?[\w]+)*(?:Error|Exception|Failure|Fault)(?::|\s+\(|$))"
    r"|(?:[a-z][\w]*(?:\.[a-z][\w]*)+\.[A-Z]\w*(?:Error|Exception):)"
    r"|(?:(?:Error|error|FATAL|Fatal|fatal|panic|fatal error|ERROR|PANIC|CRITICAL):)"
    r"|(?:(?:ERROR|FATAL|PANIC|CRITICAL)\s)|(?:Traceback \(most recent call last\))"
    r"|(?:dial tcp \S+: )|(?:(?:/bin/)?(?:ba|da)?sh: )|(?:npm ERR!)|(?:Errno::E[A-Z]+)"
)
_OPENING = re.compile(_OPENS)
_STARTS = re.compile(rf"(?:^|(?<=[\s(\"'>:]))(?:{_OPENS})")
_MOST_LINES = 40  # a chat message, not a document


def _span_lines(line: str) -> list[str]:
    return [span.strip() for span in _CODE_SPAN.findall(line) if _OPENING.match(span.strip())]


def _inline(line: str) -> str:
    """The rest of the line from where a quoted error starts, code marks taken off; "" if none."""
    text = _CODE_SPAN.sub(lambda m: m.group(1), line)
    match = _STARTS.search(text)
    if match is None:
        return ""
    return text[match.start() :].strip().rstrip(".,;").strip()


def quoted_errors(lines: Sequence[str]) -> list[str]:
    """The lines of a failing process quoted in the sentences of a chat message, in order."""
    if len(lines) > _MOST_LINES:
        return []
    found: list[str] = []
    for line in lines:
        spans = _span_lines(line)
        found += spans or ([quoted] if (quoted := _inline(line)) else [])
    return list(dict.fromkeys(found))


# A crash loop named in a sentence ("The pod get created but then "CrashLoopBackOff" forever."):
# what the person saw in STATUS, though nothing else of the pod was pasted.
_CRASH_LOOP = re.compile(r"(?<![\w-])CrashLoopBackOff(?![\w-])")


def crash_loop_line(lines: Sequence[str]) -> str:
    """The first sentence line of a chat message that names a crash loop; "" when none does."""
    if len(lines) > _MOST_LINES:
        return ""
    return next((line.strip() for line in lines if _CRASH_LOOP.search(line)), "")
