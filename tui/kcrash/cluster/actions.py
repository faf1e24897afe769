"""Deleting a pod: exactly one DELETE, and only of the pod the user was looking at.

`preconditions.uid` makes the server refuse (409) if the name now belongs to a replacement, so a
slow confirm dialog can never delete the new pod. Propagation is Background, like kubectl.
"""

from __future__ import annotations

from kcrash.cluster.api import Api
from kcrash.cluster.errors import KcrashError
from kcrash.core.records import Pod

_REPLACED_BY = {
    "ReplicaSet": "its ReplicaSet {name} will create a replacement",
    "StatefulSet": "its StatefulSet {name} will recreate it with the same name",
    "DaemonSet": "its DaemonSet {name} will recreate it on the same node",
    "Job": "its Job {name} may start a new pod, depending on its backoff limit",
    "ReplicationController": "its ReplicationController {name} will create a replacement",
}


def delete_pod(api: Api, pod: Pod) -> str:
    """Send one DELETE with the pod's UID as precondition; return one line saying what follows."""
    try:
        api.delete_pod(pod)
    except KcrashError as exc:
        if exc.status == 409:
            raise KcrashError(
                f"pod/{pod.name} was not deleted: the name now belongs to a newer pod (UID changed)",
                status=409,
            ) from None
        if exc.status == 404:
            raise KcrashError(f"pod/{pod.name} was not deleted: it is already gone", status=404) from None
        raise
    return f"pod/{pod.name} deleted; {what_happens_next(pod)}"


def what_happens_next(pod: Pod) -> str:
    owner = pod.controller
    if owner is None:
        return "nothing owns it, so it is gone for good"
    template = _REPLACED_BY.get(owner.kind, "its {kind} {name} decides whether it comes back")
    return template.format(kind=owner.kind, name=owner.name)


def after_delete(pod: Pod, *, failing: bool) -> str:
    """What follows a delete, as the confirm dialog tells it: one story, no contradiction."""
    if pod.controller is None:
        return (
            "Nothing owns this pod: once deleted it is gone for good and nothing replaces it. "
            "Whatever made it fail is not fixed by deleting it."
        )
    text = f"After deletion {what_happens_next(pod)}."
    if failing:
        text += (
            " A replacement starts from the same template with a fresh back-off: unless the cause "
            "lies outside the pod (its node, a dependency that has since recovered), it will likely "
            "fail the same way."
        )
    return text
