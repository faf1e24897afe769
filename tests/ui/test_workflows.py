"""Describe, YAML and moving between pods, driven by keys against the lab (80x24 and wide)."""

from __future__ import annotations

import re
from pathlib import Path

from textual import events

from kcrash.lab.app import Lab
from kcrash.ui.app import KcrashApp
from kcrash.ui.screens.detail import DetailScreen
from kcrash.ui.screens.document import DocumentScreen
from kcrash.ui.screens.logs import LogScreen
from kcrash.ui.screens.pickers import ContainerMenu
from kcrash.ui.screens.pods import PodsScreen
from kcrash.ui.widgets.detail import DetailPane

from .conftest import lab_app, wait_for, wait_synced
from .test_console import names, table, text_of
from .test_hostile_text import hostile_lab  # noqa: F401  (a fixture)


def document(app: KcrashApp) -> DocumentScreen:
    screen = app.screen
    assert isinstance(screen, DocumentScreen)
    return screen


async def open_document(pilot, app: KcrashApp, key: str) -> DocumentScreen:  # type: ignore[no-untyped-def]
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, DocumentScreen), what="the document")
    screen = document(app)
    await wait_for(pilot, lambda: bool(screen.lines) and not screen._status, what="the text")
    return screen


async def test_describe_and_yaml_of_the_pod_under_the_cursor_at_80x24(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        first = names(app)[0]
        screen = await open_document(pilot, app, "d")
        assert screen.lines[0].split()[:2] == ["Name:", first]
        assert any(line.startswith("Events:") for line in screen.lines)
        assert f"pod/{first}" in text_of(app, "#doc-title") and "describe" in text_of(app, "#doc-title")

        await pilot.press("slash", *"restart count", "enter")
        await wait_for(pilot, lambda: bool(screen.matches), what="a match")
        assert all("restart count" in screen.lines[i].lower() for i in screen.matches)
        assert "1/" in text_of(app, "#doc-title")

        await pilot.press("y")
        await wait_for(pilot, lambda: screen.kind == "yaml" and bool(screen.lines), what="the YAML")
        await wait_for(pilot, lambda: "apiVersion: v1" in screen.lines, what="the YAML text")
        assert f"  name: {first}" in screen.lines

        await pilot.press("c")
        await wait_for(
            pilot, lambda: any("YAML" in n.message or "YAML" in n.title for n in app._notifications)
        )
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PodsScreen), what="back to the list")


async def test_describe_shows_cluster_text_inert(hostile_lab: Lab, tmp_path: Path) -> None:  # noqa: F811
    app = lab_app(hostile_lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        screen = await open_document(pilot, app, "d")
        text = "\n".join(screen.lines)
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "␛" in text, "the escape sequences are visible, not acted on"
        screen = await open_document(pilot, app, "y")
        assert all("\x1b" not in line for line in screen.lines)


async def test_next_and_previous_pod_from_the_drill_down_and_the_log_view_at_80x24(
    lab: Lab, tmp_path: Path
) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        order = names(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the drill-down")
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        await pilot.press("right_square_bracket", "right_square_bracket")
        await wait_for(pilot, lambda: detail.key[1] == order[2], what="two pods on")
        assert detail.query_one(DetailPane).pod_key == detail.key
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: detail.key[1] == order[1], what="one pod back")
        assert order[1] in text_of(app, "#d-title")

        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), what="the log view")
        logs = app.screen
        assert isinstance(logs, LogScreen)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: logs.key[1] == order[2], what="the next pod's log")
        await wait_for(pilot, lambda: f"pod/{order[2]}" in text_of(app, "#log-title"), what="its title")
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PodsScreen), what="the list")
        assert table(app).cursor_key == ("crashlab", order[2]), "the list's cursor followed"

        # The first pod has no previous one: one line says so, nothing moves.
        await pilot.press("home", "left_square_bracket")
        await wait_for(pilot, lambda: any("No more pods" in n.message for n in app._notifications))
        assert table(app).cursor_key == ("crashlab", order[0])


async def test_next_pod_moves_the_side_panel_on_a_wide_terminal(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_synced(pilot, app)
        order = names(app)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, PodsScreen)
        await wait_for(pilot, lambda: screen._open_side() is not None, what="the side panel")
        await pilot.press("right_square_bracket")
        side = screen._open_side()
        assert side is not None
        await wait_for(pilot, lambda: side.pod_key == ("crashlab", order[1]), what="the next pod beside")


async def test_batched_keys_describe_step_and_back_in_order(lab: Lab, tmp_path: Path) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        order = names(app)
        for key, char in (("d", "d"), ("right_square_bracket", "]"), ("y", "y")):
            app.post_message(events.Key(key, char))
        await wait_for(pilot, lambda: isinstance(app.screen, DocumentScreen), what="the document")
        screen = document(app)
        await wait_for(
            pilot, lambda: screen.kind == "yaml" and screen.key[1] == order[1], what="YAML of pod 2"
        )
        await wait_for(pilot, lambda: f"  name: {order[1]}" in screen.lines, what="its text")
        kinds = [type(s).__name__ for s in app.screen_stack]
        assert kinds.count("DocumentScreen") == 1


async def test_the_drill_down_of_a_deleted_pod_offers_its_replacement(fresh_lab: Lab, tmp_path: Path) -> None:
    lab = fresh_lab
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        await pilot.press("slash", *"oom-leak", "enter")
        await wait_for(pilot, lambda: len(names(app)) == 1, what="the oom-leak pod")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the drill-down")
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        old = detail.key
        await pilot.press("ctrl+d")
        await pilot.pause(0.3)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.store.get(old) is None, what="the pod to go")
        pane = detail.query_one(DetailPane)
        await wait_for(pilot, lambda: pane.replacement is not None, timeout=30, what="the replacement")
        assert pane.replacement != old and pane.replacement[1].startswith("oom-leak-")  # type: ignore[index]
        assert "replacement" in text_of(app, "#d-title") and "enter opens it" in text_of(app, "#d-title")
        replacement = pane.replacement
        await pilot.press("enter")
        await wait_for(pilot, lambda: detail.key == replacement, what="the replacement opened")
        await wait_for(pilot, lambda: pane.pod is not None, what="its drill-down")


def log_reads(lab: Lab) -> list[str]:
    """The query of every log read the lab answered, oldest first."""
    return [r.query for r in lab.faults.requests("GET") if r.path.endswith("/log")]


async def test_log_view_container_timestamps_windows_and_save_at_80x24(
    lab: Lab, tmp_path: Path, private_state_dir: Path
) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        await pilot.press("slash", *"init-migrate", "enter")
        await wait_for(pilot, lambda: len(names(app)) == 1, what="the pod with an init container")
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), what="the log view")
        logs = app.screen
        assert isinstance(logs, LogScreen)
        assert logs.container == "migrate"
        await wait_for(pilot, lambda: bool(logs.lines), what="the init container's log")

        # C lists the init container and the app's; 2 picks the app's.
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, ContainerMenu), what="the container menu")
        menu = app.screen
        assert isinstance(menu, ContainerMenu)
        assert [(c.name, c.role) for c in menu.choices] == [("migrate", "init"), ("billing", "")]
        await pilot.press("2")
        await wait_for(pilot, lambda: logs.container == "billing", what="the app container")
        assert "billing" in text_of(app, "#log-title")
        await pilot.press("C", "1")
        await wait_for(
            pilot, lambda: logs.container == "migrate" and bool(logs.lines), what="back to migrate"
        )

        # t: the kubelet's timestamps lead each line.
        lab.faults.clear_requests()
        await pilot.press("t")
        await wait_for(pilot, lambda: bool(logs.lines) and "timestamps" in text_of(app, "#log-title"))
        await wait_for(pilot, lambda: bool(logs.lines) and logs.lines[0][:4].isdigit(), what="timestamps")
        assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", line) for line in logs.lines)
        assert "timestamps=true" in log_reads(lab)[-1]

        # 3: the last five minutes; 1: from the start; 0: the tail again.
        await pilot.press("3")
        await wait_for(pilot, lambda: "last 5m" in text_of(app, "#log-title"), what="the 5m window")
        await wait_for(pilot, lambda: any("sinceSeconds=300" in q for q in log_reads(lab)), what="the read")
        await pilot.press("1")
        await wait_for(pilot, lambda: "from the start" in text_of(app, "#log-title"), what="the head")
        await wait_for(pilot, lambda: "tailLines" not in log_reads(lab)[-1], what="a read from the start")
        await pilot.press("0")
        await wait_for(pilot, lambda: "tailLines=1000" in log_reads(lab)[-1], what="the tail")
        await wait_for(pilot, lambda: bool(logs.lines), what="the lines")

        # ctrl+s writes what is shown and names the file.
        shown = list(logs.lines)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any("Saved" in (n.title or "") for n in app._notifications))
        saved = next(n for n in app._notifications if "Saved" in (n.title or ""))
        path = Path(saved.message)
        assert path.parent == private_state_dir / "kcrash" / "logs"
        assert path.name.startswith("crashlab_init-migrate") and "_migrate_" in path.name
        assert path.read_text().splitlines() == shown


async def test_the_old_pod_of_a_stuck_rollout_says_its_revision_and_the_deadline(
    lab: Lab, tmp_path: Path
) -> None:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        listed = app.store.keys()
        old = next(
            key
            for key, pod in ((k, app.store.get(k)) for k in listed)
            if pod is not None
            and key[1].startswith("bad-rollout-")
            and pod.phase == "Running"
            and all(s.ready for s in pod.container_statuses)
        )
        await pilot.press("slash", *old[1], "enter")
        await wait_for(pilot, lambda: names(app) == [old[1]], what="the old pod")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the drill-down")
        await wait_for(pilot, lambda: "This pod runs" in text_of(app, "#d-rollout"), what="the rollout")
        rollout = text_of(app, "#d-rollout")
        assert "This pod runs revision 1 (" in rollout and "an older revision" in rollout
        assert "Progressing=False" in rollout and "ProgressDeadlineExceeded" in rollout
