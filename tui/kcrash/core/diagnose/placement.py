"""Pods that are not crashing but never get to run: evicted, unschedulable, waiting for a volume."""

from __future__ import annotations

import re
from collections.abc import Sequence

from kcrash.core.diagnose.facts import Facts, events_with, latest, when
from kcrash.core.diagnose.wording import cmd_describe, diagnosis, merged, node_ref, ns_flag, quote
from kcrash.core.records import Diagnosis, Event, Evidence


def evicted(f: Facts) -> bool:
    return f.pod.reason == "Evicted"


_LOW_ON = re.compile(r"low on resource: ([\w-]+)", re.I)
_EPHEMERAL = re.compile(r"ephemeral (?:local )?storage", re.I)


def eviction_detail(message: str) -> str:
    """`low-on-memory`, `low-on-ephemeral-storage` (node pressure), `ephemeral-storage-limit`."""
    low = _LOW_ON.search(message)
    if low:
        return f"low-on-{low.group(1).lower()}"
    return "ephemeral-storage-limit" if _EPHEMERAL.search(message) else ""


def rule_evicted(f: Facts) -> Diagnosis | None:
    return diagnosis(
        "evicted",
        f"Not a crash loop: the kubelet evicted the pod - {f.pod.message}",
        f,
        [Evidence("status.reason", quote(f"{f.pod.reason}: {f.pod.message}"))],
        [
            f"Check the node's pressure conditions: `kubectl describe node {node_ref(f)}`",
            "Set memory requests close to real use: pods using more than they request are evicted first",
            *(
                ["Its controller has already made a replacement; delete this pod once you have read it"]
                if f.pod.controller
                else []
            ),
        ],
        detail=eviction_detail(f.pod.message),
    )


def unplaced(f: Facts) -> bool:
    """No node yet, and not finished: the scheduler still has the pod."""
    return not f.pod.node_name and f.pod.phase in ("Pending", "")


_INSUFFICIENT = re.compile(r"Insufficient ([\w-]+(?:[./][\w-]+)*)")
# What else the scheduler says, in the order a reader should look at it: a taint usually rules out
# only the control plane, so it comes last.
_SCHEDULER_SAYS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"unbound (?:immediate )?PersistentVolumeClaims|persistentvolumeclaim .* not found", re.I),
        "unbound-pvc",
    ),
    (re.compile(r"didn't match (?:Pod's )?node (?:affinity|selector)", re.I), "node-affinity"),
    (
        re.compile(r"didn't (?:match|satisfy) (?:pod (?:anti-)?affinity|existing pods anti-affinity)", re.I),
        "pod-affinity",
    ),
    (re.compile(r"untolerated taint|had taint", re.I), "taint"),
)


def scheduling_detail(message: str) -> str:
    """`insufficient-memory`, `unbound-pvc`, `node-affinity`, `pod-affinity`, `taint` or ""."""
    short = _INSUFFICIENT.search(message)
    if short:
        return f"insufficient-{short.group(1).lower()}"
    return next((detail for pattern, detail in _SCHEDULER_SAYS if pattern.search(message)), "")


def rule_unschedulable(f: Facts) -> Diagnosis | None:
    failed = events_with(f, "FailedScheduling")
    cond = f.pod.condition("PodScheduled")
    if not failed and not (cond and cond.status == "False"):
        return None
    ev: list[Evidence | None] = [merged(failed, "FailedScheduling")]
    if cond and cond.status == "False":
        ev.append(Evidence("condition PodScheduled", quote(f"{cond.reason}: {cond.message}")))
    newest = latest(failed)
    message = newest.message if newest else cond.message if cond else ""
    return diagnosis(
        "unschedulable",
        f"Not crashing: the pod is not scheduled - {message}",
        f,
        ev,
        [
            f"Read the scheduler's reasons: `{cmd_describe(f)}`",
            "Compare the pod's requests, nodeSelector, affinity and tolerations with the nodes: "
            "`kubectl describe nodes`",
        ],
        detail=scheduling_detail(message),
    )


def mount_failures(f: Facts) -> list[Event]:
    """Failed attachments and mounts, oldest first."""
    return sorted(events_with(f, "FailedAttachVolume") + events_with(f, "FailedMount"), key=when)


def waits_for_volume(f: Facts) -> bool:
    """Not running, with failed mounts or attachments on record."""
    running = f.status is not None and f.status.state.kind == "running"
    return not running and bool(mount_failures(f))


_MOUNT_REASONS = ("FailedAttachVolume", "FailedMount")
_MULTI_ATTACH = "Multi-Attach error"
_MISSING_CLAIM = re.compile(r'persistentvolumeclaim "[^"]+" not found', re.I)
_MOUNT_TIMEOUT = re.compile(r"timed out waiting for the condition|context deadline exceeded", re.I)


def mount_detail(events: Sequence[Event]) -> str:
    """`multi-attach`, `missing-pvc`, `attach`, `timeout` or "": the root first, since a failed
    attachment shows up later as a mount that timed out."""
    messages = [e.message for e in events]
    if any(_MULTI_ATTACH in m for m in messages):
        return "multi-attach"
    if any(_MISSING_CLAIM.search(m) for m in messages):
        return "missing-pvc"
    if any(e.reason == "FailedAttachVolume" for e in events):
        return "attach"
    return "timeout" if any(_MOUNT_TIMEOUT.search(m) for m in messages) else ""


def rule_stuck_mount(f: Facts) -> Diagnosis | None:
    mounts = mount_failures(f)
    newest = latest(mounts)
    if newest is None:
        return None
    detail = mount_detail(mounts)
    # The message that names the root (a Multi-Attach error) over the newest (a timeout).
    telling = next((e for e in reversed(mounts) if _MULTI_ATTACH in e.message), newest)
    steps = [
        f"`{cmd_describe(f)}` (Volumes and Events)",
        f"Check the PVC: `kubectl get pvc{ns_flag(f)}`",
    ]
    if detail == "multi-attach":
        steps.insert(
            0,
            "The volume is still attached to another node (a pod there still uses it, or that node "
            "went away without detaching it): `kubectl get volumeattachments`",
        )
    return diagnosis(
        "volume-mount",
        f"Stuck before start: a volume doesn't mount - {telling.message}",
        f,
        [merged([e for e in mounts if e.reason == reason], reason) for reason in _MOUNT_REASONS],
        steps,
        detail=detail,
    )
