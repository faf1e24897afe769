"""The chaos suite in its short form (fewer runs, shorter windows; about a minute): every goal of
docs/reliability.md holds against the lab's fault switches."""

from __future__ import annotations

import pytest

import chaos


@pytest.mark.chaos
def test_the_short_chaos_suite_meets_every_goal() -> None:
    suite = chaos.run(short=True)
    missed = [f"{f.scenario}: {f.figure} = {f.value} (goal {f.goal})" for f in suite.figures if not f.passed]
    assert not missed, missed
    assert {f.scenario.split(" ")[0] for f in suite.figures} >= {"API", "lab", "30", "watch", "whole"}
