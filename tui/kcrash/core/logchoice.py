"""Which log of a container exists and tells the story: the previous instance's or the current one's.

`kubectl logs --previous` answers only for a container that has restarted. A container that
exited without a restart (a finished Job pod, a bare pod OOM-killed once) keeps its log as the
*current* instance's; a container that runs but never becomes ready says in its current log
what it waits for.
"""

from __future__ import annotations

from typing import Literal

from kcrash.core.records import ContainerStatus

LogKind = Literal["previous", "current", "none"]


def has_previous_log(status: ContainerStatus | None) -> bool:
    """Whether a previous (terminated, replaced) instance exists to read with --previous."""
    if status is None:
        return False
    last = status.last_state
    return status.restart_count > 0 or (last is not None and last.kind == "terminated")


def telling_log(status: ContainerStatus | None) -> LogKind:
    """The log the drill-down shows: the previous instance's when there is one; else the current
    one of a container that exited or runs without being ready; else none."""
    if status is None:
        return "none"
    if has_previous_log(status):
        return "previous"
    if status.state.kind == "terminated" or (status.state.kind == "running" and not status.ready):
        return "current"
    return "none"


def log_to_open(status: ContainerStatus | None) -> LogKind:
    """The log view's first instance: previous when it exists, else the current one."""
    return "previous" if has_previous_log(status) else "current"
