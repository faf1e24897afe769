"""The pod (and container) an event message names, the ways the kubelet and the scheduler write it.

- the kubelet's pod key, `NAME_NAMESPACE(UID)`: "Back-off restarting failed container web in pod
  web-1_shop(uid)", "... (pod: \"web-1_shop(uid)\", container: web)", "container=web pod=web-1_shop(uid)",
  "Error syncing pod UID (\"web-1_shop(uid)\")";
- its structured logging, `pod="NAMESPACE/NAME"`;
- the scheduler's "Successfully assigned NAMESPACE/NAME to NODE" (before 1.12 "... assigned NAME to NODE").

A row pasted without its OBJECT column, or a describe's Events pasted without `Name:`, still says
whose it is this way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?"
_NAMESPACE = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
# NAME_NAMESPACE(UID): the kubelet's format.Pod; a name holds no "_", so the first "_" splits them.
_POD_KEY = re.compile(
    rf"(?:\bin pod |\bpod[=:]\s*\\?\"?|\bpod |\(\\?\")(?P<name>{_NAME})_(?P<namespace>{_NAMESPACE})\("
)
_POD_FIELD = re.compile(rf"\bpod=\\?\"(?P<namespace>{_NAMESPACE})/(?P<name>{_NAME})\\?\"")
_ASSIGNED = re.compile(rf"^Successfully assigned (?:(?P<namespace>{_NAMESPACE})/)?(?P<name>{_NAME}) to \S")
_CONTAINER = re.compile(
    r"(?:\bcontainer[=:]\s*\\?\"?|\bfailed container:? |\bfor \\?\")"
    r"(?P<container>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)"
)


@dataclass(frozen=True, slots=True)
class NamedPod:
    """A pod a message names; `namespace` and `container` are "" where it names none."""

    name: str
    namespace: str = ""
    container: str = ""


def pod_in_message(message: str) -> NamedPod | None:
    """The pod a kubelet or scheduler message names, with its container when it names one."""
    found = _POD_KEY.search(message) or _POD_FIELD.search(message) or _ASSIGNED.search(message)
    if found is None:
        return None
    container = _CONTAINER.search(message)
    return NamedPod(found["name"], found["namespace"] or "", container["container"] if container else "")


def assigned_pod(message: str) -> NamedPod | None:
    """The pod a `Scheduled` event's message names."""
    found = _ASSIGNED.search(message)
    return NamedPod(found["name"], found["namespace"] or "") if found else None
