"""Helpers for driving the console against the lab: build a source and an app, wait for states."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from kcrash.cluster.config import connect
from kcrash.cluster.source import ClusterSource
from kcrash.lab.app import Lab
from kcrash.ui.app import KcrashApp, make_app


def lab_source(
    lab: Lab, directory: Path, *, read_only: bool = False, namespace: str = "crashlab"
) -> ClusterSource:
    kubeconfig = lab.write_kubeconfig(directory / "kubeconfig")
    conn = connect(str(kubeconfig), "kcrash-lab", namespace, False)
    return ClusterSource(
        conn, namespace=conn.namespace, read_only=read_only, metrics_interval=1.0, kubeconfig=str(kubeconfig)
    )


def lab_app(lab: Lab, directory: Path, *, read_only: bool = False) -> KcrashApp:
    """The console on the lab, on the lab's clock (ages and countdowns agree with its timestamps)."""
    return make_app(lab_source(lab, directory, read_only=read_only), clock=lab.clock, metrics_seconds=1.0)


async def wait_for(
    pilot: Pilot[int], ready: Callable[[], bool], timeout: float = 20.0, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or 'the console'}")
        await pilot.pause(0.1)


async def wait_synced(pilot: Pilot[int], app: KcrashApp) -> None:
    await wait_for(pilot, lambda: app.sync_state.live and len(app.store) > 0, what="the first list of pods")
    await pilot.pause(0.2)


@pytest.fixture(autouse=True)
def private_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Files the console writes (saved logs, crash logs) go under the test's own directory."""
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


@pytest.fixture
def fresh_lab(make_lab: Callable[..., Lab]) -> Lab:
    """A lab of the test's own, for tests that change the cluster."""
    return make_lab()
