"""Which container instances of a pod have ended, as a watch sees them: what the crash archive keeps.

An instance ends visible in one of two places. `state.terminated` holds it from the exit until the
kubelet restarts the container; `lastState.terminated` holds it from then until the next instance
ends. The kubelet (`validateContainerLogStatus`) answers a log request for a dead instance so:
`previous=true` reads lastState's container; without it, a terminated state reads its own
container, and a waiting one (back-off) lastState's. So the log of lastState's instance is read
without `previous` while the next one waits and with it once the next one runs (`log_flag`). Either
way the instance is named by its container ID, which is what makes a termination seen twice (first
as state, then as lastState) one crash.

The restart number is the container's restartCount while that instance was its latest (0: the
first run), the number `kubectl get pods` shows in RESTARTS beside the crash: the kubelet counts
an instance when it creates it, so lastState's instance is restartCount - 1 once the next one runs,
and restartCount itself while the next one waits in back-off.
"""

from __future__ import annotations

from typing import Literal

from kcrash.core.records import ContainerState, ContainerStatus, Pod, Record

Place = Literal["state", "lastState"]


class Ended(Record, frozen=True):
    """One ended container instance and where its log is to be read."""

    container: str
    container_id: str
    restart: int
    state: ContainerState  # kind "terminated"
    place: Place
    init: bool = False
    image: str = ""


def ended_instances(pod: Pod) -> list[Ended]:
    """Every ended instance the pod's status shows (at most two per container), with a container ID."""
    found: list[Ended] = []
    for init, statuses in ((False, pod.container_statuses), (True, pod.init_container_statuses)):
        for status in statuses:
            found.extend(_ended(status, init))
    return found


def _ended(status: ContainerStatus, init: bool) -> list[Ended]:
    found: list[Ended] = []
    state, last = status.state, status.last_state
    if state.kind == "terminated" and state.container_id:
        found.append(
            Ended(status.name, state.container_id, status.restart_count, state, "state", init, status.image)
        )
    if last is not None and last.kind == "terminated" and last.container_id:
        restart = (
            status.restart_count - 1 if state.kind in ("running", "terminated") else status.restart_count
        )
        found.append(
            Ended(status.name, last.container_id, max(0, restart), last, "lastState", init, status.image)
        )
    return found


def log_flag(pod: Pod, ended: Ended) -> bool | None:
    """The `previous` flag that reads `ended`'s log from `pod` as it is now; None when the instance
    is no longer where the kubelet reads logs from (a newer one died since: its log is gone)."""
    status = pod.status_for(ended.container)
    if status is None:
        return None
    if ended.place == "state":
        state = status.state
        if state.kind == "terminated" and state.container_id == ended.container_id:
            return False
        # Restarted since: it moved to lastState, where the next paragraph finds it.
    last = status.last_state
    if last is None or last.kind != "terminated" or last.container_id != ended.container_id:
        return None
    return status.state.kind != "waiting"
