"""The drill-down's timeline strip, against the lab: bad-rollout's restarts and its deploy."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from kcrash.history.archive import Archive
from kcrash.history.recorder import Recorder
from kcrash.history.settings import HistorySettings
from kcrash.lab.app import Lab
from kcrash.ui.app import make_app

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
