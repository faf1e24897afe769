"""`s` (shell) and `D` (debug) build the exact kubectl command, explain the two ways to debug, and
are off in read-only mode and where RBAC says no (the lab). Pilot has no terminal to hand over, so
the command is shown instead of run; tests/e2e runs it for real in tmux."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest

from kcrash.core.alerts import RULE_NAMES
from kcrash.lab.app import Lab
from kcrash.ui.app import KcrashApp
from kcrash.ui.screens.debug import DebugModal

from .conftest import lab_app, wait_for, wait_synced
from .test_console import names


@pytest.fixture(autouse=True)
def kubectl_on_path(monkeypatch: pytest.MonkeyPatch) -> str:
    """The bundled kubectl first on PATH, as the user's own would be."""
    directory = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", directory + os.pathsep + os.environ.get("PATH", ""))
    return str(Path(directory) / "kubectl")


def messages(app: KcrashApp) -> list[tuple[str, str]]:
    """The console's notes, without the alerts' toasts (the lab's crash loops go on meanwhile)."""
    alerts = set(RULE_NAMES)
    return [
        (n.title or "", n.message)
        for n in app._notifications
        if (n.title or "").split(" · ")[0] not in alerts and "more alerts" not in n.message
    ]


async def select(pilot, app: KcrashApp, text: str) -> str:  # type: ignore[no-untyped-def]
    await pilot.press("slash", *text, "enter")
    await wait_for(pilot, lambda: len(names(app)) >= 1 and all(text in n for n in names(app)))
    return names(app)[0]


def expected_base(app: KcrashApp, kubectl: str) -> list[str]:
    """kubectl by name (found on PATH), the console's kubeconfig, context and namespace."""
    assert Path(kubectl).exists()
    source = app.source
    return ["kubectl", "--kubeconfig", str(source.kubeconfig), "--context", "kcrash-lab", "-n", "crashlab"]  # type: ignore[attr-defined]


async def test_shell_into_a_running_container_shows_the_exact_command(
    lab: Lab, tmp_path: Path, kubectl_on_path: str
) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        pod = await select(pilot, app, "healthy-web")
        await pilot.press("s")
        await wait_for(
            pilot, lambda: any("run it yourself" in t for t, _ in messages(app)), what="the command"
        )
        _, line = next(m for m in messages(app) if "run it yourself" in m[0])
        argv = [*expected_base(app, kubectl_on_path), "exec", "-it", pod, "-c", "web", "--", "sh", "-c"]
        assert shlex.split(line)[:-1] == argv and shlex.split(line)[-1].startswith("command -v bash")


async def test_shell_into_a_crash_looping_container_points_to_debug(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        await select(pilot, app, "bad-command")
        await pilot.press("s")
        await wait_for(pilot, lambda: any("is not running" in m for _, m in messages(app)))
        assert any("D debugs it" in m for _, m in messages(app))


async def test_debug_explains_both_ways_and_runs_the_chosen_one(
    lab: Lab, tmp_path: Path, kubectl_on_path: str
) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        pod = await select(pilot, app, "bad-command")
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DebugModal), what="the debug dialog")
        modal = app.screen
        assert isinstance(modal, DebugModal)
        base = expected_base(app, kubectl_on_path)
        assert modal.argv["ephemeral"] == [*base, "debug", "-it", pod, "--image=busybox:1.36", "--target=app"]
        assert modal.argv["copy"] == [
            *base, "debug", pod, "-it", f"--copy-to={pod}-debug", "--container=app", "--", "sh",
        ]  # fmt: skip
        shown = " ".join(str(s.render()) for s in modal.query(".debug-command"))
        assert f"--copy-to={pod}-debug" in shown and "--target=app" in shown
        await pilot.press("2")
        await wait_for(pilot, lambda: any("run it yourself" in t for t, _ in messages(app)))
        _, line = next(m for m in messages(app) if "run it yourself" in m[0])
        assert shlex.split(line) == modal.argv["copy"]


async def test_read_only_binds_neither(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        bound = {binding.action for _, binding in app.screen._bindings}
        assert "shell" not in bound and "debug" not in bound
        await pilot.press("D", "s")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, DebugModal) and not messages(app)


async def test_rbac_denied_exec_and_debug_say_why(fresh_lab: Lab, tmp_path: Path) -> None:
    fresh_lab.faults.deny("create", "pods/exec")
    fresh_lab.faults.deny("patch", "pods/ephemeralcontainers")
    app = lab_app(fresh_lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        await wait_for(pilot, lambda: app.access is not None, what="the access review")
        assert app.screen.check_action("shell", ()) is None and app.screen.check_action("debug", ()) is None
        await pilot.press("s")
        await wait_for(pilot, lambda: any("cannot exec into pods" in m for _, m in messages(app)))
        await pilot.press("D")
        await wait_for(pilot, lambda: any("cannot add ephemeral containers" in m for _, m in messages(app)))
        assert not isinstance(app.screen, DebugModal)
