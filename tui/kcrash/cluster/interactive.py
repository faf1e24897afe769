"""The user's own kubectl for what needs a terminal: a shell in a container, a debug container.

These are the argument vectors kcrash runs (after suspending the console) and shows before it
does: the same context, kubeconfig and namespace as the console, every word a separate argument
(no shell in between, so a pod name cannot inject anything).

- shell: `kubectl exec -it POD -c CONTAINER -- sh -c '<bash if there is one, else sh>'`, as k9s.
- debug, ephemeral: `kubectl debug -it POD --image=busybox:1.36 --target=CONTAINER` adds a
  container to the running pod that shares the target's process namespace; the crashing
  container keeps crashing, and the ephemeral one stays until the pod is deleted.
- debug, copy: `kubectl debug POD -it --copy-to=POD-debug --container=CONTAINER -- sh` makes a
  copy of the pod in which that container runs a shell instead of its command, so it stays up and
  its image, env and mounts can be looked at; the copy must be deleted afterwards.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from kcrash.core.records import Pod

KUBECTL = "kubectl"
DEBUG_IMAGE = "busybox:1.36"
SHELL_SCRIPT = "command -v bash >/dev/null 2>&1 && exec bash || exec sh"
COPY_SUFFIX = "-debug"


@dataclass(frozen=True, slots=True)
class Target:
    """Where kubectl goes: the console's kubeconfig (None: kubectl's default), context, the pod."""

    kubeconfig: str | None
    context: str
    pod: Pod
    container: str


def kubectl_binary() -> str | None:
    """`kubectl` when there is one on PATH (run by that name, so the command shown is the one a
    user would type), or None."""
    return KUBECTL if shutil.which(KUBECTL) else None


def _base(kubectl: str, target: Target) -> list[str]:
    argv = [kubectl]
    if target.kubeconfig:
        argv += ["--kubeconfig", target.kubeconfig]
    if target.context:
        argv += ["--context", target.context]
    return [*argv, "-n", target.pod.namespace]


def shell_argv(kubectl: str, target: Target) -> list[str]:
    """`kubectl exec -it` into the container, with bash when the image has it."""
    return [
        *_base(kubectl, target),
        "exec",
        "-it",
        target.pod.name,
        "-c",
        target.container,
        "--",
        "sh",
        "-c",
        SHELL_SCRIPT,
    ]


def debug_ephemeral_argv(kubectl: str, target: Target, image: str = DEBUG_IMAGE) -> list[str]:
    """`kubectl debug -it` adding an ephemeral container that targets the crashing one."""
    return [
        *_base(kubectl, target),
        "debug",
        "-it",
        target.pod.name,
        f"--image={image}",
        f"--target={target.container}",
    ]


def copy_name(pod: Pod) -> str:
    """The copy's name: the pod's with `-debug`, kept within the 63 characters a name may have."""
    return pod.name[: 63 - len(COPY_SUFFIX)] + COPY_SUFFIX


def debug_copy_argv(kubectl: str, target: Target) -> list[str]:
    """`kubectl debug --copy-to` with the container's command replaced by a shell."""
    return [
        *_base(kubectl, target),
        "debug",
        target.pod.name,
        "-it",
        f"--copy-to={copy_name(target.pod)}",
        f"--container={target.container}",
        "--",
        "sh",
    ]
