"""kubectl commands for the copy menu, and how text reaches the clipboard (pure parts)."""

from __future__ import annotations

import base64

import pytest

from kcrash.core.records import OwnerRef, Pod
from kcrash.ui.clipboard import osc52, over_ssh, tmux_passthrough
from kcrash.ui.commands import deployment_of, pod_commands

WEB = Pod("shop", "web-7d9f8b6c5d-x2k9p", owners=(OwnerRef("ReplicaSet", "web-7d9f8b6c5d", controller=True),))


@pytest.mark.parametrize(
    ("pod", "deployment"),
    [
        (WEB, "web"),
        (Pod("shop", "db-0", owners=(OwnerRef("StatefulSet", "db", controller=True),)), ""),
        (Pod("shop", "lonely"), ""),
    ],
)
def test_deployment_of(pod: Pod, deployment: str) -> None:
    assert deployment_of(pod) == deployment


def test_pod_commands_name_the_context_and_container() -> None:
    commands = pod_commands(WEB, "prod-eu", "app", "web")
    assert commands.describe == "kubectl --context prod-eu -n shop describe pod web-7d9f8b6c5d-x2k9p"
    assert (
        commands.logs_previous
        == "kubectl --context prod-eu -n shop logs web-7d9f8b6c5d-x2k9p -c app --previous"
    )
    assert commands.rollout_undo == "kubectl --context prod-eu -n shop rollout undo deployment/web"


def test_pod_commands_quote_hostile_names() -> None:
    evil = Pod("shop", "x; rm -rf /")
    commands = pod_commands(evil, "", "", "")
    assert commands.describe == "kubectl -n shop describe pod 'x; rm -rf /'"
    assert commands.rollout_undo == ""


def test_pod_commands_name_no_namespace_when_the_paste_had_none() -> None:
    pasted = Pod(namespace="", name="web-7d9f8b6c5d-x2k9p")
    commands = pod_commands(pasted, "", "app", "web")
    assert commands.describe == "kubectl describe pod web-7d9f8b6c5d-x2k9p"
    assert commands.logs_previous == "kubectl logs web-7d9f8b6c5d-x2k9p -c app --previous"
    assert commands.rollout_undo == "kubectl rollout undo deployment/web"
    assert "-n" not in pod_commands(pasted, "prod-eu", "", "").describe.split()


def test_osc52_carries_base64_text() -> None:
    sequence = osc52("kubectl get pods")
    assert sequence.startswith("\x1b]52;c;") and sequence.endswith("\x07")
    assert base64.b64decode(sequence[7:-1]).decode() == "kubectl get pods"


def test_tmux_passthrough_doubles_escapes() -> None:
    wrapped = tmux_passthrough(osc52("x"))
    assert wrapped.startswith("\x1bPtmux;\x1b\x1b]52;c;")
    assert wrapped.endswith("\x07\x1b\\")


@pytest.mark.parametrize(
    ("env", "ssh"),
    [
        ({}, False),
        ({"SSH_TTY": "/dev/pts/1"}, True),
        ({"SSH_CONNECTION": "1 2 3 4"}, True),
        ({"TMUX": "x"}, False),
    ],
)
def test_over_ssh(env: dict[str, str], ssh: bool) -> None:
    assert over_ssh(env) is ssh


def test_logs_command_of_a_container_that_never_restarted_reads_the_current_instance() -> None:
    commands = pod_commands(WEB, "prod-eu", "app", "web", previous=False)
    assert commands.logs_previous.endswith("logs web-7d9f8b6c5d-x2k9p -c app")
    assert "--previous" not in commands.logs_previous
    assert pod_commands(WEB, "prod-eu", "app", "web").logs_previous.endswith("-c app --previous")
