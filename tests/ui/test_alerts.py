"""Alerts in the console against the lab: toast, header badge, the `!` list, acknowledge, mute,
and the OOM mark on the owner's rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kcrash.core.alerts import DEFAULT_CONFIG, Alert, AlertConfig, alert_json, parse_config
from kcrash.lab.app import Lab
from kcrash.ui import app as app_module
from kcrash.ui.alerts import notification_text, terminal_sequences
from kcrash.ui.app import KcrashApp, make_app
from kcrash.ui.rows import PodRow
from kcrash.ui.screens.alerts import AlertsScreen, MuteChoice
from kcrash.ui.screens.detail import DetailScreen
from kcrash.ui.screens.pods import PodsScreen
from kcrash.ui.widgets.status_line import StatusLine

from .conftest import lab_source, wait_for, wait_synced


def alerts_app(lab: Lab, directory: Path, config: AlertConfig = DEFAULT_CONFIG) -> KcrashApp:
    return make_app(lab_source(lab, directory), clock=lab.clock, metrics_seconds=1.0, alert_config=config)


def header(app: KcrashApp) -> str:
    return str(app.screen.query_one(StatusLine).render())


def toasts(app: KcrashApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


def oom_rows(app: KcrashApp) -> list[str]:
    pods = app.screen_stack[1] if len(app.screen_stack) > 1 else app.screen
    assert isinstance(pods, PodsScreen)
    table = pods.table
    marked = []
    for key in table.visible_keys:
        row = table.row(key)
        if isinstance(row, PodRow) and row.oom_mark:
            marked.append(row.name)
    return marked


async def test_toast_badge_list_acknowledge_and_mute(lab: Lab, tmp_path: Path) -> None:
    # Scoped to one Deployment by label, as the config file allows: its toasts are not folded
    # into "N more alerts" by the crash loops of the rest of the namespace.
    app = alerts_app(lab, tmp_path, parse_config({"alerts": {"selector": "app=oom-leak"}}))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        # Pods failing at start are listed, not news: no toast, no badge; the scope holds.
        listed = app.alert_desk.engine.alerts
        assert listed and {a.state for a in listed} == {"already-failing"}
        assert {a.owner for a in listed} == {"Deployment/oom-leak"}
        assert not any("oom-killed" in t or "crash-loop" in t for t in toasts(app))
        # The lab's crash loops go on: an OOM kill of oom-leak arrives as a toast.
        await wait_for(
            pilot,
            lambda: any(a.rule == "oom-killed" and a.state == "new" for a in app.alert_desk.engine.alerts),
            timeout=30,
            what="an OOM alert",
        )
        await pilot.pause(0.3)
        assert any(t.startswith("oom-killed · critical") and "oom-leak-" in t for t in toasts(app))
        unacked = app.alert_desk.unacknowledged
        assert unacked >= 1
        assert f"{unacked} alert" in header(app) or "! " in header(app)
        # The OOM mark on the owner's row.
        await wait_for(
            pilot, lambda: any(n.startswith("oom-leak-") for n in oom_rows(app)), what="the OOM mark"
        )

        await pilot.press("exclamation_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, AlertsScreen), what="the alert list")
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        table = screen.table
        assert table.row_count == len(app.alert_desk.engine.alerts)
        # Put the cursor on the newest OOM alert and acknowledge it.
        oom = next(
            a for a in reversed(app.alert_desk.engine.alerts) if a.rule == "oom-killed" and a.state == "new"
        )
        table.move_cursor(row=screen._shown.index(oom.id))
        await pilot.press("a")
        await pilot.pause(0.1)
        assert app.alert_desk.engine.get(oom.id).acknowledged  # type: ignore[union-attr]
        after = app.alert_desk.unacknowledged
        assert (f"{after} alert" in header(app)) if after else ("alert" not in header(app))
        # Every OOM alert of that owner acknowledged: its rows lose the mark.
        for alert in app.alert_desk.engine.alerts:
            if alert.rule == "oom-killed" and alert.owner == oom.owner:
                app.alert_desk.acknowledge(alert.id)
        await pilot.pause(0.2)
        assert not any(n.startswith("oom-leak-") for n in oom_rows(app))

        # Mute the owner for an hour: no new alert about it afterwards.
        table.move_cursor(row=screen._shown.index(oom.id))
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MuteChoice), what="the mute choice")
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, AlertsScreen), what="the list again")
        muted_at = max(a.id for a in app.alert_desk.engine.alerts)
        assert app.alert_desk.engine.muted(oom.namespace, oom.owner, app.clock.now())
        await pilot.pause(4)  # the lab's oom-leak dies every few seconds at this speed
        later = [a for a in app.alert_desk.engine.alerts if a.id > muted_at]
        assert not any(a.owner == oom.owner for a in later), [alert_json(a) for a in later]

        # Enter opens the drill-down of the alert's pod (or its replacement).
        table.move_cursor(row=screen._shown.index(oom.id))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the drill-down")
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        assert detail.key[1].startswith("oom-leak-")


async def test_badge_survives_at_80_columns(lab: Lab, tmp_path: Path) -> None:
    app = alerts_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_synced(pilot, app)
        await wait_for(pilot, lambda: app.alert_desk.unacknowledged > 0, timeout=30, what="a new alert")
        await pilot.pause(0.3)
        text = header(app)
        count = app.alert_desk.unacknowledged
        assert f"!{count}" in text or f"! {count} alert" in text, text
        assert len(text) <= 78


def _alert(message: str) -> Alert:
    return Alert(
        id=1,
        at=datetime(2025, 3, 1, tzinfo=UTC),
        rule="oom-killed",
        severity="critical",
        namespace="shop",
        pod="web-1",
        owner="Deployment/web",
        message=message,
    )


def test_terminal_notification_is_off_by_default_and_sanitised() -> None:
    hostile = _alert("died\x1b]0;owned\x07;rm -rf\x1b[2J")
    assert DEFAULT_CONFIG.terminal_notify == "off"
    assert terminal_sequences(hostile, "off", {}) == ""
    assert terminal_sequences(hostile, "bell", {}) == "\a"
    sent = terminal_sequences(hostile, "desktop", {})
    osc9, osc777 = sent.split("\x1b\\")[:2]
    assert osc9.startswith("\x1b]9;kcrash: oom-killed shop/web-1: ")
    assert osc777.startswith("\x1b]777;notify;kcrash: oom-killed shop/web-1;")
    # Only the sequences' own ESC/BEL: none from the cluster's text, and no extra `;` fields.
    title, body = notification_text(hostile)
    assert all(c.isprintable() and c != ";" for c in title + body)
    assert osc777.count(";") == 3


def test_terminal_notification_passes_through_tmux() -> None:
    sent = terminal_sequences(_alert("OOM"), "both", {"TMUX": "/tmp/tmux-0/default,1,0"})
    assert sent.startswith("\a\x1bPtmux;\x1b\x1b]9;")
    assert sent.count("\x1bPtmux;") == 2


async def test_the_console_raises_the_alerts_the_pod_watch_does_not_carry(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stuck Deployment (ProgressDeadlineExceeded) and memory at 90 % of its limit come from a
    Deployment LIST and the memory samples, read on a worker: the console fires them too."""
    monkeypatch.setattr(app_module, "ALERT_READS_SECONDS", 0.5)
    app = alerts_app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)

        def rules() -> set[str]:
            return {a.rule for a in app.alert_desk.engine.alerts}

        await wait_for(pilot, lambda: "deployment-stuck" in rules(), timeout=30, what="deployment-stuck")
        stuck = [a for a in app.alert_desk.engine.alerts if a.rule == "deployment-stuck"]
        assert any(a.owner == "Deployment/bad-rollout" for a in stuck), [a.owner for a in stuck]
        await wait_for(pilot, lambda: "memory-high" in rules(), timeout=60, what="memory-high")
        high = [a for a in app.alert_desk.engine.alerts if a.rule == "memory-high"]
        assert any(a.owner == "Deployment/oom-leak" for a in high), [a.owner for a in high]
