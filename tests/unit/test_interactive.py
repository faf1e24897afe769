"""The exact argument vectors kcrash hands to the user's kubectl for a shell and for debugging."""

from __future__ import annotations

from kcrash.cluster.interactive import Target, copy_name, debug_copy_argv, debug_ephemeral_argv, shell_argv
from kcrash.core.records import Pod

POD = Pod("shop", "api-7d9f8-x2x4q")
TARGET = Target("/home/me/.kube/prod", "prod-eu", POD, "api")
BASE = ["kubectl", "--kubeconfig", "/home/me/.kube/prod", "--context", "prod-eu", "-n", "shop"]


def test_shell_is_kubectl_exec_with_bash_when_there_is_one() -> None:
    assert shell_argv("kubectl", TARGET) == [
        *BASE,
        "exec", "-it", "api-7d9f8-x2x4q", "-c", "api", "--",
        "sh", "-c", "command -v bash >/dev/null 2>&1 && exec bash || exec sh",
    ]  # fmt: skip


def test_debug_ephemeral_targets_the_container() -> None:
    assert debug_ephemeral_argv("kubectl", TARGET) == [
        *BASE, "debug", "-it", "api-7d9f8-x2x4q", "--image=busybox:1.36", "--target=api",
    ]  # fmt: skip


def test_debug_copy_replaces_the_command_with_a_shell() -> None:
    assert debug_copy_argv("kubectl", TARGET) == [
        *BASE, "debug", "api-7d9f8-x2x4q", "-it",
        "--copy-to=api-7d9f8-x2x4q-debug", "--container=api", "--", "sh",
    ]  # fmt: skip


def test_no_kubeconfig_or_context_leaves_kubectl_its_defaults() -> None:
    bare = Target(None, "", POD, "api")
    assert shell_argv("/usr/bin/kubectl", bare)[:4] == ["/usr/bin/kubectl", "-n", "shop", "exec"]


def test_a_hostile_name_stays_one_argument_and_the_copy_name_fits() -> None:
    evil = Pod("shop", "x; rm -rf / #" + "a" * 80)
    argv = shell_argv("kubectl", Target(None, "", evil, "app"))
    assert evil.name in argv
    assert len(copy_name(evil)) == 63 and copy_name(evil).endswith("-debug")
