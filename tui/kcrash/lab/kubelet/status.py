"""Pod status as the kubelet reports it, rendered from a `PodRun` at a moment `now`.

Pure functions: they read the run records and return new dicts (shared, read-only ones for the
conditions that repeat across pods); the only state they carry forward, when each condition last
changed, is returned to the caller rather than written into the run.
"""

from __future__ import annotations

import functools
import hashlib

from kcrash.lab.events import stamp
from kcrash.lab.kubelet.state import ContainerRun, Instance, PodRun
from kcrash.lab.store import Obj

EPOCH = "1970-01-01T00:00:00Z"

Conditions = dict[str, tuple[str, float]]
"""Pod condition type -> (status, when it last changed)."""


def image_id(image: str) -> str:
    repo = image.split("@", 1)[0]
    last = repo.rsplit("/", 1)
    if ":" in last[-1]:
        repo = repo.rsplit(":", 1)[0]
    if "/" not in repo:
        repo = f"docker.io/library/{repo}"
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


@functools.lru_cache(maxsize=65536)
def _shared_condition(name: str, value: str, second: int, reason: str | None, message: str | None) -> Obj:
    """Pod conditions repeat across pods and status versions: one shared (read-only) dict each."""
    out: Obj = {"type": name, "status": value, "lastProbeTime": None, "lastTransitionTime": stamp(second)}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


def condition(name: str, value: str, since: float) -> Obj:
    """A pod condition without reason or message (as the scheduler writes PodScheduled)."""
    return _shared_condition(name, value, int(since // 1), None, None)


def transitioned(conditions: Conditions, values: dict[str, str], now: float) -> Conditions:
    """`conditions` with each of `values` set, stamped `now` where the status changed.

    The same mapping when nothing changed; a new one otherwise (the argument is never modified).
    """
    out = conditions
    for name, value in values.items():
        previous = conditions.get(name)
        if previous is None or previous[0] != value:
            if out is conditions:
                out = dict(conditions)
            out[name] = (value, now)
    return out


def terminated(inst: Instance) -> Obj:
    """The `terminated` state of one finished instance."""
    out: Obj = {"exitCode": inst.exit_code, "reason": inst.reason}
    if inst.signal:
        out["signal"] = inst.signal
    if inst.message:
        out["message"] = inst.message
    out["startedAt"] = EPOCH if inst.started_at is None else stamp(inst.started_at)
    out["finishedAt"] = stamp(inst.finished_at or 0.0)
    out["containerID"] = f"containerd://{inst.container_id}"
    return out


def container_status(c: ContainerRun) -> Obj:
    """One entry of containerStatuses / initContainerStatuses."""
    out: Obj = {"name": c.name, "image": c.image, "imageID": "", "ready": c.ready}
    out["restartCount"] = max(c.restart_count, 0)
    out["started"] = c.state == "running" and c.started
    if c.current is not None:
        out["containerID"] = f"containerd://{c.current.container_id}"
        out["imageID"] = image_id(c.image)
    if c.state == "running" and c.current is not None:
        out["state"] = {"running": {"startedAt": stamp(c.current.started_at or 0.0)}}
    elif c.state == "terminated" and c.current is not None:
        out["state"] = {"terminated": terminated(c.current)}
    else:
        waiting: Obj = {"reason": c.waiting_reason}
        if c.waiting_message:
            waiting["message"] = c.waiting_message
        out["state"] = {"waiting": waiting}
    out["lastState"] = {"terminated": terminated(c.last)} if c.last is not None else {}
    return out


def pod_phase(run: PodRun, init: list[Obj], apps: list[Obj]) -> str:
    """The kubelet's getPhase over container statuses just rendered."""
    policy = run.spec.get("restartPolicy", "Always")
    pending_init = failed_init = 0
    for st in init:
        state = st["state"]
        if "running" in state:
            pending_init += 1
        elif "terminated" in state:
            if state["terminated"]["exitCode"] != 0:
                failed_init += 1
        elif st["lastState"].get("terminated"):
            if st["lastState"]["terminated"]["exitCode"] != 0:
                failed_init += 1
        else:
            pending_init += 1
    running = waiting = stopped = succeeded = 0
    for st in apps:
        state = st["state"]
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"]["exitCode"] == 0
        elif st["lastState"].get("terminated"):
            stopped += 1
        else:
            waiting += 1
    if failed_init and policy == "Never":
        return "Failed"
    if (pending_init and not run.init_done) or waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if policy == "Always" and not run.deleting:
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never" or run.deleting:
            return "Failed"
        return "Running"
    return "Pending"


def render_status(run: PodRun, now: float) -> tuple[Obj, Conditions]:
    """The pod's status at `now`, and its conditions with this render's transitions applied."""
    init_statuses = [container_status(c) for c in run.init]
    app_statuses = [container_status(c) for c in run.apps]
    phase = pod_phase(run, init_statuses, app_statuses)
    unready = [c.name for c in run.apps if not c.ready]
    incomplete = [
        c.name for c in run.init if not (c.state == "terminated" and c.current and c.current.exit_code == 0)
    ]
    if run.init_done:
        incomplete = []
    ready = "False" if unready or phase in ("Succeeded", "Failed") else "True"
    conditions = transitioned(
        run.conditions,
        {
            "Initialized": "False" if incomplete else "True",
            "ContainersReady": ready,
            "Ready": ready,
            "PodReadyToStartContainers": "True" if run.sandbox_ready else "False",
        },
        now,
    )

    def cond(name: str, reason: str | None = None, message: str | None = None) -> Obj:
        value, since = conditions.get(name, ("False", run.start_time or now))
        return _shared_condition(name, value, int(since // 1), reason, message)

    if phase in ("Succeeded", "Failed"):
        not_ready: tuple[str | None, str | None] = ("PodCompleted", None)
    else:
        not_ready = ("ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]")
    not_initialized: tuple[str | None, str | None] = (
        ("ContainersNotInitialized", f"containers with incomplete status: [{' '.join(incomplete)}]")
        if incomplete
        else (None, None)
    )
    status: Obj = {
        "phase": phase,
        "conditions": [
            cond("PodReadyToStartContainers"),
            cond("Initialized", *not_initialized),
            cond("Ready", *(not_ready if ready == "False" else (None, None))),
            cond("ContainersReady", *(not_ready if ready == "False" else (None, None))),
            cond("PodScheduled"),
        ],
        "hostIP": run.node.ip,
        "hostIPs": [{"ip": run.node.ip}],
    }
    if run.ip:
        status["podIP"] = run.ip
        status["podIPs"] = [{"ip": run.ip}]
    if run.start_time is not None:
        status["startTime"] = stamp(run.start_time)
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    status["containerStatuses"] = app_statuses
    status["qosClass"] = run.qos
    return status, conditions
