"""`s` and `D` on any pod screen: the user's kubectl gets the terminal (`Console.run_interactive`).

A shell needs a running container; debugging is for one that is not (or that crashes too fast to
exec into), and asks first which of its two ways (`kcrash.ui.screens.debug`).
"""

from __future__ import annotations

from textual.screen import Screen

from kcrash.cluster.interactive import (
    Target,
    debug_copy_argv,
    debug_ephemeral_argv,
    kubectl_binary,
    shell_argv,
)
from kcrash.cluster.source import ClusterSource
from kcrash.core.records import Pod
from kcrash.core.sanitize import clean_line
from kcrash.core.status import primary_container
from kcrash.ui.context import console

NO_KUBECTL = "kubectl is not on PATH: install it to open a shell or debug"


def kubectl_target(screen: Screen[None], pod: Pod | None) -> tuple[str, Target] | None:
    """The kubectl to run and where, or None (said why) when there is none or no pod."""
    app = console(screen)
    if pod is None or app.read_only:
        return None
    source = app.source
    if not isinstance(source, ClusterSource):
        screen.notify("offline: there is no cluster to run kubectl against", severity="warning", markup=False)
        return None
    kubectl = kubectl_binary()
    if kubectl is None:
        screen.notify(
            "kubectl is not on PATH: install it to open a shell or debug", severity="error", markup=False
        )
        return None
    return kubectl, Target(source.kubeconfig, source.context, pod, primary_container(pod))


def open_shell(screen: Screen[None], pod: Pod | None) -> None:
    """`kubectl exec -it` into the pod's main container, if it runs."""
    found = kubectl_target(screen, pod)
    if found is None:
        return
    kubectl, target = found
    status = target.pod.status_for(target.container)
    if status is None or status.state.kind != "running":
        state = (status.state.reason or status.state.kind) if status is not None else "not started"
        screen.notify(
            f"container {clean_line(target.container)} is not running ({clean_line(state)}): "
            "D debugs it instead",
            severity="warning",
            markup=False,
        )
        return
    console(screen).run_interactive(shell_argv(kubectl, target))


def open_debug(screen: Screen[None], pod: Pod | None) -> None:
    """The dialog of the two ways to debug; the chosen one runs."""
    from kcrash.ui.screens.debug import DebugModal

    found = kubectl_target(screen, pod)
    if found is None:
        return
    kubectl, target = found
    argv = {"ephemeral": debug_ephemeral_argv(kubectl, target), "copy": debug_copy_argv(kubectl, target)}

    def chosen(way: str | None) -> None:
        if way in argv:
            console(screen).run_interactive(argv[way])

    modal = DebugModal(target.pod.name, target.container, argv["ephemeral"], argv["copy"])
    console(screen).open_screen(modal, chosen)
