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
from dataclasses import dataclass

_CODE_SPAN = re.compile(r"`+([^`]+?)`+")
# An exception's class (`Redis::CannotConnectError:`, `ModuleNotFoundError:`), a qualified one
# (`java.net.ConnectException:`), a level or a panic, Go's dial error, a shell's complaint, npm's.
_OPENS = (
    r"(?:[A-Z][\w]*(?:(?:::|\.|\$)[A-Z]?[\w]+)*(?:Error|Exception|Failure|Fault)(?::|\s+\(|$))"
    r"|(?:[a-z][\w]*(?:\.[a-z][\w]*)*\.[A-Z]\w*(?:Error|Exception):)"
    r"|(?:(?:Error|error|FATAL|Fatal|fatal|panic|fatal error|ERROR|PANIC|CRITICAL):)"
    r"|(?:(?:ERROR|FATAL|PANIC|CRITICAL)\s)|(?:Traceback \(most recent call last\))"
    r"|(?:exec \S+: (?:no such file or directory|exec format error|permission denied))"
    r"|(?:(?:mkdir|chown|chmod|cp|mv|ln|touch|rm|install|tee): (?:cannot|can't|changing)\b)|(?:x509: )"
    r"|(?:dial tcp(?: \S+)?: )|(?:(?:/bin/)?(?:ba|da)?sh: )|(?:npm ERR!)|(?:Errno::E[A-Z]+)"
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
        spans = [span for span in _span_lines(line) if not is_status_word(span)]
        found += spans or ([quoted] if (quoted := _inline(line)) and not is_status_word(quoted) else [])
    return list(dict.fromkeys(found))


# A crash loop named in a sentence ("The pod get created but then "CrashLoopBackOff" forever."):
# what the person saw in STATUS, though nothing else of the pod was pasted. People type it in any
# case and order: "CrashLoopBackoff", "crash loop backoff", "crashloop", "CrashBackOffLoop". A loop
# that is not one word and names no back-off is a verb ("pods that crash-loop"), not a status seen.
_CRASH_LOOP = re.compile(
    r"(?<![\w/-])(?:crash[\s-]?loo[pk][\s-]?back[\s-]?off|crash[\s-]?back[\s-]?off[\s-]?loop|"
    r"crashloop(?:ing|s|ed)?)(?![\w-])",
    re.I,
)


# Other reasons people read off STATUS and write in a sentence ("stuck in ImagePullBackOff", "it
# gets OOMKilled"), in any case: the waiting reasons, and the OOM kill (a termination).
_WAITING_NAMED = re.compile(
    r"(?<![\w/-])(ImagePullBackOff|ErrImagePull|ErrImageNeverPull|InvalidImageName|"
    r"CreateContainerConfigError|CreateContainerError|RunContainerError)(?![\w-])",
    re.I,
)
_WAITING_SPELLED = {
    name.lower(): name
    for name in (
        "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName",
        "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
    )
}  # fmt: skip
_OOM_NAMED = re.compile(r"(?<![\w/-])(?:oom[\s-]?kill(?:ed|s)?|killed by the oom[\s-]?killer)(?![\w-])", re.I)


# A restart loop told in words, with no reason named: "it is restarted again and again", "keeps
# restarting" (or crashing), "but its again restarting".
_RESTARTING = re.compile(
    r"\b(?:keeps?|kept)\s+(?:on\s+)?(?:restarting|crashing|dying)\b"
    r"|\brestart(?:s|ed|ing)?\b[^.;]{0,40}?\b(?:again and again|over and over|every\s?time|each time|"
    r"in a loop|endlessly|forever|constantly|continuously|repeatedly)\b"
    r"|\bagain\s+restart(?:s|ed|ing)\b|\brestart(?:s|ed|ing)? again\b|\brestart[\s-]loop\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class NamedStatus:
    """What a chat message says it saw in STATUS: a waiting reason, an OOM kill, or both."""

    waiting: str  # CrashLoopBackOff, ImagePullBackOff, ... ("" when none is named)
    oom: bool  # "OOMKilled": the last termination
    line: str  # the first line naming one
    restarting: bool = False  # a restart loop told in words ("restarted again and again")


def _waiting_in(line: str) -> tuple[int, str] | None:
    """Where in the line a waiting reason is named, and which."""
    found = [(m.start(), "CrashLoopBackOff") for m in _CRASH_LOOP.finditer(line)]
    found += [(m.start(), _WAITING_SPELLED[m.group(1).lower()]) for m in _WAITING_NAMED.finditer(line)]
    return min(found) if found else None


def named_status(lines: Sequence[str]) -> NamedStatus | None:
    """The status a chat message names, from its sentences; None when it names none."""
    if len(lines) > _MOST_LINES:
        return None
    waiting, oom, restarting, first = "", False, False, ""
    for line in lines:
        named = _waiting_in(line)
        killed = bool(_OOM_NAMED.search(line))
        again = bool(_RESTARTING.search(line))
        if (named or killed or again) and not first:
            first = line.strip()
        if named and not waiting:
            waiting = named[1]
        oom, restarting = oom or killed, restarting or again
    return NamedStatus(waiting=waiting, oom=oom, line=first, restarting=restarting) if first else None


def is_status_word(text: str) -> bool:
    """Whether a quoted "error" is a reason kubectl shows (`CreateContainerConfigError`), which a
    sentence names as the status it saw, not as a line of the log."""
    return bool(_WAITING_NAMED.match(text.strip("`'\" ")))


# An exit code told in words: "exit code = 0", "an exit status of zero", "exited with `0`",
# "(i.e, exit status 0)", a command that "contains exit 0", or a success ("completes successfully").
# Between the verb and the value only these words may stand; a negation just before it ("does not
# exit with 0") or a hedge anywhere in the line ("possível", "maybe") makes it no statement of what
# happened.
_EXIT_WORD = re.compile(r"\bexit(?:s|ed|ing)?\b", re.I)
_FILLER = re.compile(
    r"""[\s`'"*(=:,]*(?:(?:with|code|status|value|of|an?|the|is|was|i\.e\.?)\b[\s`'"*(=:,]*)*""", re.I
)
_VALUE = re.compile(r"(?P<value>\d{1,3}|zero)(?![\w.%])", re.I)
_NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\bwithout|\bno)\s+(?:\w+\s+){0,2}$", re.I)
_HEDGE = re.compile(
    r"\b(?:poss[ií]vel|possibl[ey]|maybe|perhaps|probably|guess|suppose|might|whether)\b", re.I
)


# An end told as a success: "the container is completing successfully", "exits normally".
_SUCCESS = re.compile(
    r"\b(?:complet|finish|exit|terminat|end)(?:e?s|e?d|ing|e)?\s+(?:successfully|normally|cleanly|"
    r"without (?:an )?error)\b",
    re.I,
)


# A normal end told without "success": "it is restarted every time it finishes", "since execution
# is completed ... its again restarting", "runs to completion". Only in a line that names no
# failure: "the download completes, then it crashes" tells no clean end.
_COMPLETION = re.compile(r"\b(?:runs? to completion|complet(?:es|ed|ing)|finish(?:es|ed|ing))\b", re.I)
_FAILURE_WORDS = re.compile(
    r"\b(?:crash\w*|error\w*|fail\w*|exception|panic\w*|kill\w*|oom\w*|segfault|timeout|timed out)\b", re.I
)


def _ended(line: str, found: re.Match[str] | None) -> bool:
    return found is not None and not _NEGATED.search(line[max(0, found.start() - 30) : found.start()])


def _stated_in(line: str) -> int | None:
    if _HEDGE.search(line):
        return None
    if _ended(line, _SUCCESS.search(line)):
        return 0
    if not _FAILURE_WORDS.search(_CRASH_LOOP.sub("", line)) and _ended(line, _COMPLETION.search(line)):
        return 0
    for word in _EXIT_WORD.finditer(line):
        if _NEGATED.search(line[max(0, word.start() - 30) : word.start()]):
            continue
        filler = _FILLER.match(line, word.end())
        value = _VALUE.match(line, filler.end() if filler else word.end())
        if value is not None:
            return 0 if value["value"].lower() == "zero" else int(value["value"])
    return None


def stated_exit(lines: Sequence[str]) -> tuple[int, str] | None:
    """The exit code a chat message says the process ended with, and the line saying it."""
    if len(lines) > _MOST_LINES:
        return None
    for line in lines:
        code = _stated_in(line)
        if code is not None:
            return code, line.strip()
    return None
