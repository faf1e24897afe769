"""Verdicts that change with time alone: re-judged a share of the rows per tick, not all at once."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kcrash.cluster.config import connect
from kcrash.cluster.source import ClusterSource
from kcrash.lab.app import Lab
from kcrash.ui.app import make_app
from kcrash.ui.clock import FrozenClock
from kcrash.ui.screens.pods import RECHECK_SECONDS, PodsScreen
from kcrash.ui.widgets.pod_table import RowKey

from .conftest import wait_for

NOW = datetime(2026, 11, 20, 10, 30, 0, tzinfo=UTC)
TICK = 0.05


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(name: str, restarted_minutes_ago: float) -> dict[str, object]:
    """Running and ready, its one restart `restarted_minutes_ago` before NOW."""
    finished = NOW - timedelta(minutes=restarted_minutes_ago)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": f"u-{name}",
            "creationTimestamp": stamp(NOW - timedelta(hours=2)),
        },
        "spec": {"containers": [{"name": "api", "image": "shop/api:1"}], "nodeName": "node-1"},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {
                    "name": "api",
                    "ready": True,
                    "restartCount": 1,
                    "image": "shop/api:1",
                    "state": {"running": {"startedAt": stamp(finished + timedelta(seconds=10))}},
                    "lastState": {
                        "terminated": {
                            "exitCode": 137,
                            "reason": "OOMKilled",
                            "startedAt": stamp(finished - timedelta(minutes=30)),
                            "finishedAt": stamp(finished),
                        }
                    },
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def restarted_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    path = tmp_path_factory.mktemp("recheck") / "pods.json"
    items = [pod(f"api-{minutes}", minutes) for minutes in (2, 5, 8)]
    items += [pod(f"calm-{i}", 90) for i in range(40)]
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    with Lab(seed=1, builtin_scenarios=False, load_files=[path]) as lab:
        yield lab


async def test_a_restart_that_ages_out_stops_counting(restarted_lab: Lab, tmp_path: Path) -> None:
    kubeconfig = restarted_lab.write_kubeconfig(tmp_path / "kubeconfig")
    conn = connect(str(kubeconfig), "kcrash-lab", "shop", False)
    source = ClusterSource(conn, namespace="shop")
    clock = FrozenClock(NOW)
    app = make_app(source, clock=clock, tick_seconds=TICK, metrics_seconds=3600)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.sync_state.live and len(app.store) == 43, what="the pods")
        await wait_for(pilot, lambda: len(app.failing) == 3, what="three recent restarts")
        assert {name for _, name in app.failing} == {"api-2", "api-5", "api-8"}
        screen = next(s for s in app.screen_stack if isinstance(s, PodsScreen))

        clock.advance(4 * 60)  # api-8 restarted 12 minutes ago now: past the 10-minute window
        rechecked: list[int] = []
        seen: set[str] = set()
        original = screen._recheck

        def counting(keys: Iterable[RowKey]) -> None:
            share = list(keys)
            rechecked.append(len(share))
            seen.update(key[1] for key in share if isinstance(key, tuple))
            original(share)

        screen._recheck = counting  # type: ignore[method-assign]
        await wait_for(pilot, lambda: len(app.failing) == 2, timeout=RECHECK_SECONDS * TICK * 4 + 5)
        assert {name for _, name in app.failing} == {"api-2", "api-5"}
        # Each tick takes its share of the rows time can change, never all at once; the 40 calm,
        # ready pods are never looked at.
        assert rechecked and max(rechecked) == 1
        assert seen and seen <= {"api-2", "api-5", "api-8"}
    source.stop()
