"""A namespace that does not exist is named as such, with the ones that do; no claim without a 404."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcrash.cluster.namespaces import not_found_text
from kcrash.lab.app import Lab
from kcrash.ui.app import KcrashApp, make_app
from kcrash.ui.screens.pods import PodsScreen
from kcrash.ui.widgets.pod_table import PodTable
from kcrash.ui.widgets.status_line import StatusLine

from .conftest import lab_source, wait_for


@pytest.mark.parametrize(
    ("existing", "text"),
    [
        ((), 'namespace "shop" not found'),
        (("crashlab", "default"), 'namespace "shop" not found; try crashlab, default'),
        (("default", "kube-public", "kube-system"), 'namespace "shop" not found; try default'),
        (("kube-public", "kube-system"), 'namespace "shop" not found; try kube-public, kube-system'),
        (("a", "b", "c", "d", "e", "f"), 'namespace "shop" not found; try a, b, c (+3 more)'),
    ],
)
def test_not_found_text(existing: tuple[str, ...], text: str) -> None:
    assert not_found_text("shop", existing) == text


def app_in(lab: Lab, tmp_path: Path, namespace: str) -> KcrashApp:
    source = lab_source(lab, tmp_path, namespace=namespace)
    return make_app(source, clock=lab.clock, metrics_seconds=1.0)


def empty_text(app: KcrashApp) -> str:
    screen = next(s for s in app.screen_stack if isinstance(s, PodsScreen))
    return screen.query_one("#pods", PodTable).empty_text


async def test_a_namespace_that_does_not_exist_is_named_with_the_choices(lab: Lab, tmp_path: Path) -> None:
    app = app_in(lab, tmp_path, "doesnotexist")
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_for(pilot, lambda: "not found" in empty_text(app), what="the namespace check")
        text = empty_text(app)
        assert text.startswith('namespace "doesnotexist" not found; try crashlab, default')
        header = str(app.screen.query_one(StatusLine).render())
        assert 'namespace "doesnotexist" not found' in header


async def test_no_claim_when_namespaces_cannot_be_read(fresh_lab: Lab, tmp_path: Path) -> None:
    fresh_lab.faults.deny("get", "namespaces")
    app = app_in(fresh_lab, tmp_path, "doesnotexist")
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_for(pilot, lambda: app.sync_state.live, what="the first list")
        await pilot.pause(1.0)
        assert empty_text(app) == "No pods in this scope."
        assert "not found" not in str(app.screen.query_one(StatusLine).render())
