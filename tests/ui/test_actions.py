"""Writes from the console, counted at the lab's door: undo, delete, read-only, RBAC."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from kcrash.core.records import Revision
from kcrash.core.status import pod_columns
from kcrash.lab.app import Lab
from kcrash.ui.app import KcrashApp
from kcrash.ui.screens.base import no_earlier_revision
from kcrash.ui.screens.modals import DeleteModal, UndoModal
from kcrash.ui.screens.pods import PodsScreen
from kcrash.ui.widgets.pod_table import PodTable

from .conftest import lab_app, wait_for, wait_synced

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def table(app: KcrashApp) -> PodTable:
    screen = next(s for s in app.screen_stack if isinstance(s, PodsScreen))
    return screen.query_one("#pods", PodTable)


def writes(lab: Lab) -> list[tuple[str, str, str, str]]:
    return [(r.method, r.path, r.query, r.content_type) for r in lab.faults.requests() if r.method in WRITES]


def notifications(app: KcrashApp) -> list[str]:
    return [n.message for n in app._notifications]


async def select(pilot, app: KcrashApp, text: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    await pilot.press("slash", *text, "enter")
    await wait_for(pilot, lambda: bool(table(app).visible_keys), what=f"a pod matching {text}")
    key = table(app).cursor_key
    assert isinstance(key, tuple)
    return key


async def test_undo_sends_one_json_patch_and_the_pods_recover(fresh_lab: Lab, tmp_path: Path) -> None:
    lab = fresh_lab
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        await pilot.press("h")  # only the failing pod of the bad rollout
        await select(pilot, app, "bad-rollout")
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, UndoModal), what="the undo dialog")
        modal = app.screen
        assert isinstance(modal, UndoModal)
        assert modal.plan.ready and modal.plan.to_revision < modal.plan.from_revision
        lab.faults.clear_requests()

        await pilot.press("y")
        await wait_for(pilot, lambda: any("rolled back" in n for n in notifications(app)), what="the result")
        sent = writes(lab)
        assert len(sent) == 1, sent
        method, path, query, content_type = sent[0]
        assert method == "PATCH" and path.endswith("/deployments/bad-rollout")
        assert content_type == "application/json-patch+json" and "dryRun" not in query

        def recovered() -> bool:
            pods = [p for p in app.store.values() if p.name.startswith("bad-rollout-")]
            return bool(pods) and all(pod_columns(p).status == "Running" for p in pods)

        await wait_for(pilot, recovered, timeout=30, what="the bad-rollout pods to recover")


async def test_delete_sends_one_delete_bound_to_the_pods_uid(fresh_lab: Lab, tmp_path: Path) -> None:
    lab = fresh_lab
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        key = await select(pilot, app, "completed-job")

        # The name comes to belong to another object while the dialog is open: nothing is deleted.
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteModal), what="the delete dialog")
        lab.call(
            lambda: lab.store.mutate("pods", *key, lambda o: o["metadata"].__setitem__("uid", "a-newer-pod"))
        )
        lab.faults.clear_requests()
        await pilot.press("y")
        await wait_for(pilot, lambda: any("newer pod" in n for n in notifications(app)), what="the refusal")
        assert [w[0] for w in writes(lab)] == ["DELETE"]
        assert lab.store.get("pods", *key) is not None

        # With the dialog opened on the current object, exactly one DELETE removes it.
        await wait_for(
            pilot, lambda: app.store.get(key) is not None and app.store.get(key).uid == "a-newer-pod"
        )  # type: ignore[union-attr]
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteModal), what="the delete dialog")
        lab.faults.clear_requests()
        await pilot.press("y")
        await wait_for(pilot, lambda: app.store.get(key) is None, what="the pod to disappear")
        sent = writes(lab)
        assert len(sent) == 1 and sent[0][0] == "DELETE" and sent[0][1].endswith(f"/pods/{key[1]}")
        assert sent[0][3] == "application/json"


async def test_read_only_sends_no_writes_and_binds_no_destructive_keys(
    fresh_lab: Lab, tmp_path: Path
) -> None:
    lab = fresh_lab
    lab.faults.clear_requests()
    app = lab_app(lab, tmp_path, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        await pilot.press("h")
        await select(pilot, app, "bad-rollout")
        bound = {binding.action for _, binding in app.screen._bindings}
        assert "undo" not in bound and "delete" not in bound
        await pilot.press("u", "ctrl+d", "enter")
        await pilot.pause(2.0)
        await pilot.press("u", "ctrl+d")
        await pilot.pause(0.5)
        assert not isinstance(app.screen, UndoModal | DeleteModal)
        assert "read-only" in str(app.screen.query_one("#status").render())
    assert writes(lab) == []


async def test_rbac_denied_delete_is_shown_disabled_with_its_reason(fresh_lab: Lab, tmp_path: Path) -> None:
    lab = fresh_lab
    lab.faults.deny("delete", "pods")
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        await wait_for(pilot, lambda: app.access is not None, what="the access review")
        assert app.screen.check_action("delete", ()) is None  # greyed out, not hidden
        assert app.screen.check_action("undo", ()) is True
        lab.faults.clear_requests()
        await pilot.press("ctrl+d")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, DeleteModal)
        assert any("cannot delete pods" in n for n in notifications(app))
        assert [w for w in writes(lab) if w[0] == "DELETE"] == []


def dialog_text(app: KcrashApp) -> str:
    return " ".join(str(static.render()) for static in app.screen.query(Static))


async def test_delete_dialog_of_a_bare_pod_and_of_an_owned_one(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        await select(pilot, app, "oom-batch")  # a bare pod, OOM-killed once
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteModal), what="the delete dialog")
        text = dialog_text(app)
        assert "gone for good" in text and "same way" not in text and "replacement" not in text
        await pilot.press("escape")
        await pilot.press("escape")
        await select(pilot, app, "crash-missing-env")
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteModal), what="the delete dialog")
        text = dialog_text(app)
        assert "will create a replacement" in text and "likely fail the same way" in text
        assert "gone for good" not in text
        await pilot.press("escape")


async def test_undo_with_one_revision_says_so_without_a_dialog(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        await select(pilot, app, "healthy-web")
        lab.faults.clear_requests()
        await pilot.press("u")
        await wait_for(
            pilot, lambda: any("no earlier revision" in n for n in notifications(app)), what="the one line"
        )
        line = next(n for n in notifications(app) if "no earlier revision" in n)
        assert (
            line == "deployment/healthy-web has only revision 1: there is no earlier revision to go back to."
        )
        assert not isinstance(app.screen, UndoModal)
        assert not writes(lab), "not even a dry run is sent"


@pytest.mark.parametrize(
    ("numbers", "says"),
    [
        ([1], "has only revision 1: there is no earlier revision to go back to."),
        ([3, 3], "has only revision 3: there is no earlier revision to go back to."),
        ([], "has no revision recorded: there is no earlier revision to go back to."),
        ([1, 2], ""),
    ],
)
def test_no_earlier_revision(numbers: list[int], says: str) -> None:
    revisions = [Revision(f"web-{n}", n) for n in numbers]
    assert no_earlier_revision("web", revisions) == (f"deployment/web {says}" if says else "")
