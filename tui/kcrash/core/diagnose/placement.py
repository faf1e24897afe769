"""Pods that are not crashing but never get to run: evicted, unschedulable, waiting for a volume."""

from __future__ import annotations

import re
from collections.abc import Sequence

from msgspec.structs import replace

from kcrash.core.diagnose.facts import Facts, events_with, latest, when
from kcrash.core.diagnose.wording import (
    cmd_describe,
    diagnosis,
    in_namespace,
    merged,
    node_ref,
    ns_flag,
    quote,
)
from kcrash.core.records import Diagnosis, Event, Evidence


def eviction_events(f: Facts) -> list[Event]:
    """The kubelet's `Evicted` events about the pod (it records one per eviction, whatever the
    pressure), oldest first."""
    return events_with(f, "Evicted")


def evicted(f: Facts) -> bool:
    """Evicted: the pod's status says so, or, with its state not pasted, an `Evicted` event does.
    A pod that runs again after an Evicted event is a replacement's name reused (a StatefulSet)."""
    if f.pod.reason == "Evicted":
        return True
    running = f.status is not None and f.status.state.kind == "running"
    return not running and bool(eviction_events(f))


_LOW_ON = re.compile(r"low on resource: ([\w-]+)", re.I)
# "The node had condition: [MemoryPressure]." (a pod admitted onto a node already under pressure)
_CONDITION = re.compile(r"had condition: \[(\w+?)Pressure\]", re.I)
_EPHEMERAL = re.compile(r"ephemeral (?:local )?storage|EmptyDir volume \S+ exceeds the limit", re.I)
_PRESSURE_RESOURCE = {"memory": "memory", "disk": "ephemeral-storage", "pid": "pids"}


def eviction_detail(message: str) -> str:
    """`low-on-memory`, `low-on-ephemeral-storage` (node pressure), `ephemeral-storage-limit`
    (the pod's own limit: a container's, the pod's total, or an emptyDir's sizeLimit)."""
    low = _LOW_ON.search(message)
    if low:
        return f"low-on-{low.group(1).lower()}"
    condition = _CONDITION.search(message)
    if condition and condition.group(1).lower() in _PRESSURE_RESOURCE:
        return f"low-on-{_PRESSURE_RESOURCE[condition.group(1).lower()]}"
    return "ephemeral-storage-limit" if _EPHEMERAL.search(message) else ""


def _eviction_message(f: Facts, events: Sequence[Event]) -> str:
    """The status message, else the event that names the resource (not the bare condition)."""
    if f.pod.message:
        return f.pod.message
    telling = [e for e in events if _LOW_ON.search(e.message) or _EPHEMERAL.search(e.message)]
    last = latest(telling) or latest(events)
    return last.message if last else ""


def rule_evicted(f: Facts) -> Diagnosis | None:
    events = eviction_events(f)
    message = _eviction_message(f, events)
    detail = eviction_detail(message)
    status = (
        [Evidence("status.reason", quote(f"{f.pod.reason}: {f.pod.message}"))]
        if f.pod.reason == "Evicted"
        else []
    )
    storage = "ephemeral-storage" in detail
    return diagnosis(
        "evicted",
        f"Not a crash loop: the kubelet evicted the pod - {message}",
        f,
        [*status, merged(events, "Evicted")],
        [
            f"Check the node's pressure conditions: `kubectl describe node {node_ref(f)}`",
            "Set ephemeral-storage requests and limits, and move bulky writes (logs, caches) to a volume"
            if storage
            else "Set memory requests close to real use: pods using more than they request are evicted first",
            *(
                ["Its controller has already made a replacement; delete this pod once you have read it"]
                if f.pod.controller
                else []
            ),
        ],
        detail=detail,
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


# The kubelet's own words for a volume it cannot set up inside the container (a `Failed` event,
# the container waiting in CreateContainerConfigError): a subPath that can't be prepared.
_SUBPATH = re.compile(r"\bsubPath\b", re.I)


def mount_failures(f: Facts) -> list[Event]:
    """Failed attachments, mounts and subPath preparations, oldest first."""
    subpath = [e for e in events_with(f, "Failed") if _SUBPATH.search(e.message)]
    return sorted(events_with(f, "FailedAttachVolume") + events_with(f, "FailedMount") + subpath, key=when)


def waits_for_volume(f: Facts) -> bool:
    """Not running, with failed mounts or attachments on record."""
    running = f.status is not None and f.status.state.kind == "running"
    return not running and bool(mount_failures(f))


_MOUNT_REASONS = ("FailedAttachVolume", "FailedMount", "Failed")
_MULTI_ATTACH = "Multi-Attach error"
_MISSING_CLAIM = re.compile(r'persistentvolumeclaim "[^"]+" not found', re.I)
# A ConfigMap or Secret volume whose object does not exist (in the pod's namespace).
_MISSING_SOURCE = re.compile(r'\b(configmap|secret)s? "[^"]+" not found', re.I)
# mount(8) lacking the program for the filesystem ("wrong fs type, bad option ... you might need a
# /sbin/mount.<type> ... program"): nfs-common or cifs-utils missing on the node.
_MOUNT_PROGRAM = re.compile(
    r"/sbin/mount\.<type>|mount\.(?:nfs|cifs|glusterfs|ceph)\b.*not found|wrong fs type", re.I
)
_MOUNT_TIMEOUT = re.compile(r"timed out waiting for the condition|context deadline exceeded", re.I)


def mount_detail(events: Sequence[Event]) -> str:
    """`multi-attach`, `missing-pvc`, `missing-configmap`, `missing-secret`, `subpath`,
    `mount-program`, `attach`, `timeout` or "": the root first, since a failed attachment shows up
    later as a mount that timed out."""
    messages = [e.message for e in events]
    if any(_MULTI_ATTACH in m for m in messages):
        return "multi-attach"
    if any(_MISSING_CLAIM.search(m) for m in messages):
        return "missing-pvc"
    source = next((m for m in (_MISSING_SOURCE.search(m) for m in messages) if m), None)
    if source is not None:
        return f"missing-{source.group(1).lower()}"
    if any(e.reason == "Failed" for e in events):
        return "subpath"
    if any(_MOUNT_PROGRAM.search(m) for m in messages):
        return "mount-program"
    if any(e.reason == "FailedAttachVolume" for e in events):
        return "attach"
    return "timeout" if any(_MOUNT_TIMEOUT.search(m) for m in messages) else ""


def volume_source_missing(f: Facts) -> bool:
    """A ConfigMap or Secret volume that can't mount because its object is missing: the pod waits
    in ContainerCreating. The same message with CreateContainerConfigError is an env reference."""
    waiting = f.waiting.reason if f.waiting else ""
    mounts = [e for e in mount_failures(f) if e.reason == "FailedMount"]
    return (
        waiting != "CreateContainerConfigError"
        and waits_for_volume(f)
        and any(_MISSING_SOURCE.search(e.message) for e in mounts)
    )


_VOLUME_NAME = re.compile(r'for volume "([^"]+)"')


def rule_missing_volume_source(f: Facts) -> Diagnosis | None:
    """The stuck mount, its headline naming the volume and the object it lacks."""
    found = rule_stuck_mount(f)
    failed = [e for e in mount_failures(f) if _MISSING_SOURCE.search(e.message)]
    newest = latest(failed)
    if found is None or newest is None:
        return found
    source = _MISSING_SOURCE.search(newest.message)
    volume = _VOLUME_NAME.search(newest.message)
    assert source is not None  # failed holds only the events it matches
    kind = "ConfigMap" if source.group(1).lower() == "configmap" else "Secret"
    name = source.group(0).split('"')[1]
    headline = (
        f"Stuck before start: {f'volume {volume.group(1)}' if volume else 'a volume'} can't mount - "
        f"{kind} {name} doesn't exist {in_namespace(f)}"
    )
    return replace(found, headline=quote(headline))


_MOUNT_STEPS = {
    "multi-attach": "The volume is still attached to another node (a pod there still uses it, or that "
    "node went away without detaching it): `kubectl get volumeattachments`",
    "missing-configmap": "A ConfigMap volume names a ConfigMap the pod's namespace does not have: "
    "create it there (ConfigMaps are not shared across namespaces), or fix the volume's name",
    "missing-secret": "A Secret volume names a Secret the pod's namespace does not have: create it "
    "there (Secrets are not shared across namespaces), or fix the volume's secretName",
    "subpath": "The kubelet could not prepare a volumeMount's subPath: check that the subPath exists "
    "in the volume (a file or a directory, as the mount expects), then delete the pod so the kubelet "
    "sets its mounts up again",
    "mount-program": "The node lacks the mount program for this filesystem (e.g. nfs-common or "
    "cifs-utils): install it on the nodes, or use the CSI driver",
}


def rule_stuck_mount(f: Facts) -> Diagnosis | None:
    mounts = mount_failures(f)
    newest = latest(mounts)
    if newest is None:
        return None
    detail = mount_detail(mounts)
    # The message that names the root (a Multi-Attach error) over the newest (a timeout).
    telling = next(
        (e for e in reversed(mounts) if _MULTI_ATTACH in e.message or _MISSING_SOURCE.search(e.message)),
        newest,
    )
    steps = [f"`{cmd_describe(f)}` (Volumes and Events)"]
    if detail.startswith("missing-"):
        kind = detail.removeprefix("missing-")
        steps.append(f"List what the namespace has: `kubectl get {kind}{ns_flag(f)}`")
    else:
        steps.append(f"Check the PVC: `kubectl get pvc{ns_flag(f)}`")
    if detail in _MOUNT_STEPS:
        steps.insert(0, _MOUNT_STEPS[detail])
    return diagnosis(
        "volume-mount",
        f"Stuck before start: a volume doesn't mount - {telling.message}",
        f,
        [merged([e for e in mounts if e.reason == reason], reason) for reason in _MOUNT_REASONS],
        steps,
        detail=detail,
    )
