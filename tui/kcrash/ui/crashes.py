"""The drill-down's Crashes section: every archived crash of the pod and of its workload's earlier
pods, newest first, one row each with its dying words beside it, so a message that changed between
restarts stands out. Pure: archived crashes (and the time now) in, styled text out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from kcrash.core.humanize import human_duration
from kcrash.core.sanitize import clean_line
from kcrash.history.crash import Crash
from kcrash.ui.wrapping import GLUE, HANG, Block, Part

SHOWN = 12
NO_ARCHIVE = "no crash archive (offline, or it could not be opened)"
NONE_YET = (
    "none archived yet: each crash is archived as it happens, while kcrash runs or `kcrash record` does"
)


def crashes_content(crashes: Sequence[Crash], pod: str, now: datetime, *, headline: str = "") -> Block:
    """`headline` (when the loop began, the rollout before it) comes first, in bold."""
    parts: list[Part] = [(clean_line(headline), "bold $warning"), "\n"] if headline else []
    if not crashes:
        return Block.of([*parts, (NONE_YET, "$text-muted"), "\n"])
    previous_words = None
    for crash in list(crashes)[:SHOWN]:
        parts += _row(
            crash, pod, now, changed=previous_words is not None and crash.dying_words != previous_words
        )
        previous_words = crash.dying_words
    if len(crashes) > SHOWN:
        parts += [(f"… {len(crashes) - SHOWN} older (kcrash history {clean_line(pod)})", "$text-muted"), "\n"]
    return Block.of(parts)


def _row(crash: Crash, pod: str, now: datetime, *, changed: bool) -> list[Part]:
    moment = crash.moment
    ago = f"{human_duration((now - moment).total_seconds())} ago" if moment else "?"
    code = "-" if crash.exit_code is None else str(crash.exit_code)
    label = f"#{crash.restart}".ljust(4) + " " + ago.rjust(8) + " "
    parts: list[Part] = [(label.replace(" ", GLUE), "$text-muted")]
    parts.append(
        (f"exit {code} {clean_line(crash.reason)}".strip().replace(" ", GLUE), "bold" if code != "0" else "")
    )
    if crash.pod != pod:
        parts.append(("  " + ("pod/" + clean_line(crash.pod)).replace(" ", GLUE), "$accent"))
    words = clean_line(crash.dying_words)
    parts += ["  ", HANG]
    if words:
        parts.append((words, "$error" if changed else ""))
    else:
        parts.append((f"(no log: {clean_line(crash.log_error) or 'empty'})", "$text-muted"))
    parts.append("\n")
    return parts
