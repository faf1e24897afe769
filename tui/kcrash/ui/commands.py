"""The kubectl commands the copy menu offers for a pod, ready to paste into a shell.

Every word from the cluster is quoted for the shell (a pod name cannot inject a command) and the
context is spelled out, so the command runs against the cluster the user is looking at. A pasted
pod may come without its namespace: then the command names none (`-n ''` would ask for the empty
namespace), and the user's current one applies.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from kcrash.core.records import Pod


@dataclass(frozen=True, slots=True)
class PodCommands:
    describe: str
    logs_previous: str
    rollout_undo: str  # "" when no Deployment owns the pod


def _base(context: str, namespace: str) -> str:
    words = ["kubectl"]
    if context:
        words += ["--context", context]
    if namespace:
        words += ["-n", namespace]
    return " ".join(shlex.quote(w) for w in words)


def pod_commands(
    pod: Pod, context: str, container: str, deployment: str = "", *, previous: bool = True
) -> PodCommands:
    """`previous`: whether a previous instance exists; without one `--previous` only errors, so
    the logs command reads the current instance."""
    base = _base(context, pod.namespace)
    name = shlex.quote(pod.name)
    logs = f"{base} logs {name}" + (f" -c {shlex.quote(container)}" if container else "")
    if previous:
        logs += " --previous"
    undo = f"{base} rollout undo {shlex.quote('deployment/' + deployment)}" if deployment else ""
    return PodCommands(describe=f"{base} describe pod {name}", logs_previous=logs, rollout_undo=undo)


def deployment_of(pod: Pod) -> str:
    """The Deployment that owns the pod through its ReplicaSet: the RS name minus its hash suffix.

    A guess from names alone (the source answers exactly once it has read the ReplicaSet); it only
    labels the copy menu and is never used to act.
    """
    owner = pod.controller
    if owner is None or owner.kind != "ReplicaSet":
        return ""
    head, sep, _ = owner.name.rpartition("-")
    return head if sep else ""
