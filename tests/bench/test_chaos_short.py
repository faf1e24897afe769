"""The chaos suite in its short form (fewer runs, 15 s windows, the lab only; under three minutes):
every goal of docs/reliability.md holds against the lab's fault switches, the outage and the new
credentials read from the console's screen."""

from __future__ import annotations

import pytest

import chaos


@pytest.mark.chaos
@pytest.mark.timeout(180)
def test_the_short_chaos_suite_meets_every_goal() -> None:
    result = chaos.run(short=True)
    missed = [f"{f.scenario}: {f.figure} = {f.value} (goal {f.goal})" for f in result.figures if not f.passed]
    assert not missed, missed
    assert {f.scenario.split(" ")[0] for f in result.figures} >= {"API", "lab", "30", "watch", "whole"}
