"""The answer when no rule fits: what is known, `unknown`, and the commands that would tell more."""

from __future__ import annotations

from kcrash.core.diagnose.facts import Facts, events_with
from kcrash.core.diagnose.wording import (
    cmd_describe,
    cmd_logs,
    diagnosis,
    log_evidence,
    merged,
    termination_evidence,
    waiting_evidence,
)
from kcrash.core.records import Diagnosis, Evidence


def always(f: Facts) -> bool:
    return True


def rule_unknown(f: Facts) -> Diagnosis:
    """What is known, and the commands that would tell more."""
    ev: list[Evidence | None] = [termination_evidence(f)]
    if f.waiting is not None:
        ev.append(waiting_evidence(f.waiting))
    lost = f.status is not None and f.status.last_state is None and f.termination is None and f.restarts
    if lost:
        ev.append(Evidence("lastState", "(empty: the last termination was not recorded)"))
    backoff = events_with(f, "BackOff")
    ev.append(merged(backoff, "BackOff"))
    if f.log_lines:
        ev.append(log_evidence(f, f.log_lines[-1]))
    what = (
        f"is waiting ({f.waiting.reason})"
        if f.waiting and f.waiting.reason
        else f"restarted ({_restarts(f.restarts)}), its state not known"
        if f.status and f.status.state.kind == "unknown" and f.restarts
        else f"is {f.status.state.kind}"
        if f.status
        else "has no status yet"
    )
    headline = f"{f.subject} {what}; the evidence doesn't name a cause yet"
    steps = [
        f"Last State and Events: `{cmd_describe(f)}`",
        f"The dying words of the previous instance: `{cmd_logs(f)}`",
    ]
    return diagnosis("unknown", headline, f, ev, steps, detail="last-state-lost" if lost else "")


def _restarts(count: int) -> str:
    return "1 restart" if count == 1 else f"{count} restarts"
