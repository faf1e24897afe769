"""Pods that are not crashing but never get to run: evicted, unschedulable, waiting for a volume."""

from __future__ import annotations

from kcrash.core.diagnose.facts import Facts, events_with, latest
from kcrash.core.diagnose.wording import cmd_describe, diagnosis, merged, node_ref, ns_flag, quote
from kcrash.core.records import Diagnosis, Event, Evidence


def evicted(f: Facts) -> bool:
    return f.pod.reason == "Evicted"


def rule_evicted(f: Facts) -> Diagnosis | None:
    return diagnosis(
        "unknown",
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
    )


def unplaced(f: Facts) -> bool:
    """No node yet, and not finished: the scheduler still has the pod."""
    return not f.pod.node_name and f.pod.phase in ("Pending", "")


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
        "unknown",
        f"Not crashing: the pod is not scheduled - {message}",
        f,
        ev,
        [
            f"Read the scheduler's reasons: `{cmd_describe(f)}`",
            "Compare the pod's requests, nodeSelector, affinity and tolerations with the nodes: "
            "`kubectl describe nodes`",
        ],
    )


def mount_failures(f: Facts) -> list[Event]:
    return events_with(f, "FailedMount") + events_with(f, "FailedAttachVolume")


def waits_for_volume(f: Facts) -> bool:
    """Not running, with failed mounts or attachments on record."""
    running = f.status is not None and f.status.state.kind == "running"
    return not running and bool(mount_failures(f))


def rule_stuck_mount(f: Facts) -> Diagnosis | None:
    mounts = mount_failures(f)
    newest = latest(mounts)
    if newest is None:
        return None
    return diagnosis(
        "unknown",
        f"Stuck before start: a volume doesn't mount - {newest.message}",
        f,
        [merged(mounts, newest.reason)],
        [
            f"`{cmd_describe(f)}` (Volumes and Events)",
            f"Check the PVC: `kubectl get pvc{ns_flag(f)}`",
        ],
    )
