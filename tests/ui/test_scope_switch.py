"""`:` switches namespace, context, all namespaces and label selector without a restart (the lab)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from textual import events

from kcrash.lab.app import Lab
from kcrash.ui.app import KcrashApp, make_app
from kcrash.ui.screens.pickers import ChoicePicker
from kcrash.ui.screens.pods import PodsScreen
from kcrash.ui.widgets.status_line import StatusLine

from .conftest import lab_source, wait_for, wait_synced
from .test_console import names, table

DEFAULT_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web-default",
        "namespace": "default",
        "uid": "web-default-uid",
        "labels": {"app": "web"},
    },
    "spec": {"containers": [{"name": "app", "image": "web:1"}], "nodeName": "lab-worker-1"},
    "status": {
        "phase": "Running",
        "containerStatuses": [{"name": "app", "image": "web:1", "ready": True, "state": {"running": {}}}],
    },
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The built-in scenarios in crashlab, and one healthy pod in the default namespace."""
    extra = tmp_path_factory.mktemp("scope") / "default-pod.json"
    extra.write_text(json.dumps(DEFAULT_POD))
    with Lab(speed=20.0, seed=1, load_files=[extra]) as running:
        yield running


def header(app: KcrashApp) -> str:
    return str(app.screen.query_one(StatusLine).render())


def messages(app: KcrashApp) -> list[str]:
    return [n.message for n in app._notifications]


def two_context_app(lab: Lab, directory: Path) -> KcrashApp:
    """The console on a kubeconfig with a second context (`lab-default`, namespace default)."""
    source = lab_source(lab, directory)
    assert source.kubeconfig is not None
    config = yaml.safe_load(Path(source.kubeconfig).read_text())
    second = {**config["contexts"][0], "name": "lab-default"}
    second["context"] = {**second["context"], "namespace": "default"}
    config["contexts"].append(second)
    Path(source.kubeconfig).write_text(yaml.safe_dump(config))
    return make_app(source, clock=lab.clock, metrics_seconds=1.0)


async def type_command(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("colon", *[{" ": "space"}.get(c, c) for c in text], "enter")


async def test_namespace_all_selector_and_back_keep_the_selection(lab: Lab, tmp_path: Path) -> None:
    app = two_context_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        crashlab = len(app.store)
        await pilot.press("down", "down")
        chosen = table(app).cursor_key

        await type_command(pilot, "ns default")
        await wait_for(pilot, lambda: app.source.namespace == "default", what="the default namespace")
        await wait_synced(pilot, app)
        assert names(app) == ["web-default"]
        # The memory sampler moved too: PodMetrics are now listed for the new namespace.
        await wait_for(
            pilot,
            lambda: any(
                "metrics.k8s.io" in r.path and "/namespaces/default/" in r.path
                for r in lab.faults.requests("GET")
            ),
            what="a PodMetrics LIST of the new namespace",
        )
        assert "ns default" in header(app) or "default" in header(app)

        # 0: every namespace, with the NAMESPACE column.
        await pilot.press("0")
        await wait_for(pilot, lambda: app.source.namespace is None, what="all namespaces")
        await wait_for(pilot, lambda: len(app.store) == crashlab + 1, what="the pods of every namespace")
        assert "namespace" in table(app).visible_columns and "all n" in header(app)
        await wait_for(pilot, lambda: f"{crashlab + 1} pods" in header(app), what="the header's count")

        # :l narrows by label; the header says so.
        await type_command(pilot, "l app=oom-leak")
        await wait_for(pilot, lambda: app.source.selector == "app=oom-leak", what="the selector")
        await wait_for(pilot, lambda: len(names(app)) == 1 and names(app)[0].startswith("oom-leak"))
        assert "-l app=oom-leak" in header(app)
        await type_command(pilot, "l")
        await type_command(pilot, "ns crashlab")
        await wait_for(pilot, lambda: app.source.namespace == "crashlab" and not app.source.selector)
        await wait_for(pilot, lambda: len(app.store) == crashlab, what="crashlab again")
        await wait_for(pilot, lambda: table(app).cursor_key == chosen, what="the pod selected before")


async def test_unknown_names_get_one_line_naming_the_choices(lab: Lab, tmp_path: Path) -> None:
    app = two_context_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        await type_command(pilot, "ns nope")
        await wait_for(pilot, lambda: any('no namespace "nope"' in m for m in messages(app)))
        line = next(m for m in messages(app) if 'no namespace "nope"' in m)
        assert "\n" not in line and "crashlab" in line and "default" in line
        await type_command(pilot, "ctx nope")
        await wait_for(pilot, lambda: any('no context "nope"' in m for m in messages(app)))
        assert any("kcrash-lab, lab-default" in m for m in messages(app))
        await type_command(pilot, "frobnicate")
        await wait_for(pilot, lambda: any('unknown command "frobnicate"' in m for m in messages(app)))
        assert app.source.namespace == "crashlab" and app.source.context == "kcrash-lab"


async def test_context_by_name_and_by_picker_and_tab_completion(lab: Lab, tmp_path: Path) -> None:
    app = two_context_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        await pilot.press("colon", "c", "tab", "l", "a", "b", "tab")
        box = app.screen.query_one("#command")
        await wait_for(pilot, lambda: getattr(box, "value", "") == "ctx lab-default", what="completion")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.source.context == "lab-default", what="the other context")
        assert app.source.namespace == "default"
        await wait_for(pilot, lambda: "lab-default" in header(app), what="the header")

        await type_command(pilot, "ctx")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="the context picker")
        picker = app.screen
        assert isinstance(picker, ChoicePicker)
        assert [c.name for c in picker.choices] == ["kcrash-lab", "lab-default"]
        await pilot.press("home", "enter")
        await wait_for(pilot, lambda: app.source.context == "kcrash-lab", what="back to the first context")
        assert isinstance(app.screen, PodsScreen)


async def test_namespace_picker_counts_failing_pods(lab: Lab, tmp_path: Path) -> None:
    app = two_context_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        await type_command(pilot, "ns")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="the namespace picker")
        picker = app.screen
        assert isinstance(picker, ChoicePicker)
        crashlab = next(c for c in picker.choices if c.name == "crashlab")
        failing = int(crashlab.detail.split()[0])
        assert failing == len(app.failing) and crashlab.warn
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PodsScreen), what="the list")
        assert app.source.namespace == "crashlab"


async def test_the_command_palette_offers_the_namespaces_and_switches(lab: Lab, tmp_path: Path) -> None:
    from textual.command import CommandPalette

    app = two_context_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        await pilot.press("enter")  # from a drill-down: the switch goes back to the list
        await wait_for(pilot, lambda: not isinstance(app.screen, PodsScreen), what="the drill-down")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.press(*"namespace: default")
        await pilot.pause(1.0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.source.namespace == "default", what="the default namespace")
        await wait_for(pilot, lambda: names(app) == ["web-default"], what="its pod")
        assert isinstance(app.screen, PodsScreen)


async def test_events_of_the_scope_warnings_first_filter_and_open_the_pod(lab: Lab, tmp_path: Path) -> None:
    from kcrash.ui.screens.detail import DetailScreen
    from kcrash.ui.screens.events import EventsScreen

    app = two_context_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen), what="the events view")
        screen = app.screen
        assert isinstance(screen, EventsScreen)
        await wait_for(pilot, lambda: bool(screen.rows), what="the events")
        warnings = [row.warning for row in screen.rows]
        assert warnings[0] and warnings == sorted(warnings, reverse=True), "warnings first"
        assert len({(r.name, r.reason, r.message) for r in screen.rows}) == len(screen.rows), "aggregated"
        assert any(row.count > 1 for row in screen.rows)

        await pilot.press("slash", *"oom-leak", "enter")
        await wait_for(pilot, lambda: bool(screen.shown) and len(screen.shown) < len(screen.rows))
        assert all("oom-leak" in row.name for row in screen.shown)
        target = screen.shown[0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the pod's drill-down")
        detail = app.screen
        assert isinstance(detail, DetailScreen) and detail.key == target.pod_key
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen), what="back to the events")
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PodsScreen), what="back to the list")


KEY_NAMES = {":": "colon", " ": "space", "\r": "enter", "/": "slash", "\x1b": "escape", "-": "minus"}


async def burst(pilot, app: KcrashApp, text: str) -> None:  # type: ignore[no-untyped-def]
    """Every character of `text` as one read delivers them (SSH, tmux send-keys)."""
    for char in text:
        app.post_message(events.Key(KEY_NAMES.get(char, char), char))
    await pilot.pause(0.5)


async def test_a_line_typed_in_one_read_reaches_a_box_opened_before(lab: Lab, tmp_path: Path) -> None:
    app = two_context_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        screen = app.screen
        assert isinstance(screen, PodsScreen)
        for word in ("oom-leak", "bad-command", "exit-zero"):
            await burst(pilot, app, f"/{word}\r")
            await wait_for(pilot, lambda word=word: screen.filter_text == word, what=f"the filter {word}")
            await burst(pilot, app, "\x1b")
        for namespace in ("default", "crashlab", "default"):
            await burst(pilot, app, f":ns {namespace}\r")
            await wait_for(
                pilot, lambda ns=namespace: app.source.namespace == ns, what=f"namespace {namespace}"
            )


async def test_typing_in_a_reopened_filter_replaces_it(lab: Lab, tmp_path: Path) -> None:
    app = two_context_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        screen = app.screen
        assert isinstance(screen, PodsScreen)
        await burst(pilot, app, "/oom-leak\r")
        await wait_for(pilot, lambda: screen.filter_text == "oom-leak", what="the first filter")
        await burst(pilot, app, "/exit-zero\r")
        await wait_for(pilot, lambda: screen.filter_text == "exit-zero", what="the filter replaced")
