"""The drill-down's timeline strip, against the lab: bad-rollout's restarts and its deploy."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kcrash.core.records import Event
from kcrash.core.timestrip import Happening
from kcrash.history.archive import Archive
from kcrash.history.crash import Crash
from kcrash.history.recorder import Recorder
from kcrash.history.settings import HistorySettings
from kcrash.lab.app import Lab
from kcrash.ui.app import make_app
from kcrash.ui.history import Termination
from kcrash.ui.timeline import earlier_pods, scale_changes
from kcrash.ui.widgets.timeline_strip import StripInput, strip_content

from .conftest import lab_source, wait_for, wait_synced
from .test_console import open_pod, text_of

WIDTH = 80


def rows(app: object) -> dict[str, str]:
    lines = text_of(app, "#d-timeline").splitlines()  # type: ignore[arg-type]
    return {line.split()[0]: line for line in lines if line.strip()}


async def test_bad_rollout_strip_shows_restarts_and_the_deploy_at_80_columns(
    make_lab: Callable[..., Lab], tmp_path: Path
) -> None:
    lab = make_lab(speed=60.0)
    source = lab_source(lab, tmp_path)
    recorder = Recorder(source, Archive(tmp_path / "archive.sqlite3"), HistorySettings(fetch_rate=20))
    app = make_app(source, clock=lab.clock, metrics_seconds=1.0, recorder=recorder)
    async with app.run_test(size=(WIDTH, 24)) as pilot:
        await wait_synced(pilot, app)
        crashing = [p for p in app.store.values() if p.name.startswith("bad-rollout")]
        pod = max(crashing, key=lambda p: max((s.restart_count for s in p.container_statuses), default=0))
        await open_pod(pilot, app, pod.name)

        def restart_and_deploy() -> bool:
            found = rows(app)
            crashes, changes = found.get("crashes", ""), found.get("changes", "")
            return bool(re.search(r"\bx1\b|\d+x", crashes)) and "rev 2" in changes

        await wait_for(
            pilot, restart_and_deploy, timeout=30, what="a restart and the rev 2 deploy on the strip"
        )
        text = text_of(app, "#d-timeline")
        assert "x restart (exit code)" in text and "rev N deploy" in text, text
        assert re.search(r"^rev 2 .*api:1\.4\.2 → 1\.5\.0", text, re.M), text
        assert max(len(line) for line in text.splitlines()) < WIDTH, "nothing wraps at 80 columns"


@pytest.mark.parametrize("width", [40, 78, 118, 198])
def test_no_row_of_the_strip_is_wider_than_the_strip(width: int) -> None:
    now = datetime(2026, 3, 14, 14, 30, tzinfo=UTC)
    happenings = (
        Happening(now - timedelta(hours=3), "deploy", 6, detail="api:1.4.2 → 1.5.0"),
        *(Happening(now - timedelta(minutes=m), "restart", 1) for m in (40, 30, 29.9, 12, 3, 0)),
        Happening(now - timedelta(minutes=20), "oom", 137),
        Happening(now - timedelta(minutes=25), "deploy", 7, detail="api:1.5.0 → 1.5.1"),
        Happening(now - timedelta(minutes=24), "scale", 3, 1),
    )
    span = (now - timedelta(minutes=50), now)
    for data in (
        StripInput(happenings, now, span),
        StripInput(happenings, now, span, left=-10.0, area=lambda w: (14, w - 15)),
    ):
        rows = strip_content(data, width).plain.splitlines()
        marks = [r for r in rows if r.lstrip().startswith(("changes", "crashes"))]
        assert len(marks) == 2, rows
        deploys = [r for r in rows if r.startswith("rev ") and " ago" in r]  # image changes may wrap
        assert all(len(r) <= width for r in rows if r not in deploys), rows


def test_a_pod_with_few_restarts_shows_those_of_its_workloads_earlier_pods() -> None:
    started = datetime(2026, 3, 14, 14, 0, tzinfo=UTC)

    def crash(pod: str, minutes: int, container: str = "api") -> Crash:
        moment = started + timedelta(minutes=minutes)
        return Crash("shop", pod, container, f"cid-{pod}-{minutes}", 1, 1, "Error", finished_at=moment)

    archived = [
        crash("api-old", -5),
        crash("api-old", -2),
        crash("api-old", -1, "sidecar"),
        crash("api-new", 3),
    ]
    own = [Termination(started + timedelta(minutes=3), "Error", 1)]
    inherited = earlier_pods(own, archived, pod="api-new", container="api", started=started)
    assert [t.at for t in inherited] == [started - timedelta(minutes=5), started - timedelta(minutes=2)]
    many = own * 3
    assert earlier_pods(many, archived, pod="api-new", container="api", started=started) == []


def test_scale_changes_are_the_deployments_own() -> None:
    at = datetime(2026, 3, 14, 14, 0, tzinfo=UTC)

    def event(name: str, message: str, kind: str = "Deployment") -> Event:
        return Event(
            "shop",
            "e",
            "Normal",
            "ScalingReplicaSet",
            message,
            involved_kind=kind,
            involved_name=name,
            last_seen=at,
        )

    events = [
        event("api", "Scaled up replica set api-7d4 to 3 from 1"),
        event("api", "Scaled up replica set api-8e5 to 1 from 0"),  # a rollout's first step
        event("web", "Scaled up replica set web-1 to 5 from 2"),
    ]
    assert scale_changes(events, "api") == (Happening(at, "scale", 3, 1),)


async def test_a_scale_change_of_the_deployment_is_marked(
    make_lab: Callable[..., Lab], tmp_path: Path
) -> None:
    from kubernetes import client, config

    lab = make_lab(speed=60.0)
    source = lab_source(lab, tmp_path)
    app = make_app(source, clock=lab.clock, metrics_seconds=1.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        crashing = [p for p in app.store.values() if p.name.startswith("bad-rollout")]
        await open_pod(pilot, app, crashing[0].name)
        kube = config.new_client_from_config(config_file=str(tmp_path / "kubeconfig"), context="kcrash-lab")
        client.AppsV1Api(kube).patch_namespaced_deployment_scale(
            "bad-rollout", "crashlab", {"spec": {"replicas": 2}}
        )
        # Read again at the pod's next restart (or at once with r): the mark is the count scaled to.
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: "↑2" in rows(app).get("changes", ""),
            timeout=30,
            what="the scale change on the strip",
        )
        assert "↑↓ scaled to N" in text_of(app, "#d-timeline")
