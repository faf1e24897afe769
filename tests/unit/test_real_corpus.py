"""The diagnosis on real pastes (tests/data/real): right where it was right, misses kept and marked.

A case kcrash gets wrong is listed in `tests/data/real/known-misses.json` with what kcrash said;
its test is a strict expected failure, so a rule that fixes it fails here until the mark comes
off (and docs/accuracy.md is written again by `python bench/accuracy.py --write`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from accuracy import CORPUS, cases, judge, known_misses  # noqa: E402

CASES = cases()
MISSES = known_misses()


def test_the_corpus_is_sourced_and_labelled() -> None:
    assert len(CASES) >= 90
    for case in CASES:
        folder = CORPUS / case
        source = (folder / "SOURCE.md").read_text()
        assert "http" in source or "commit" in source.lower(), f"{case}: SOURCE.md names no source"
        expected = json.loads((folder / "expected.json").read_text())
        assert expected["cause"] and expected.get("conclusion"), f"{case}: expected.json incomplete"
        assert case.startswith(expected["cause"]), f"{case}: the folder's name says another cause"
        assert len(list(folder.iterdir())) >= 3, f"{case}: no paste"
    assert set(MISSES) <= set(CASES), "a known miss names a case that is gone"


@pytest.mark.parametrize("case", CASES)
def test_no_paste_crashes_the_reader(case: str) -> None:
    assert not judge(case).error.startswith("crash"), judge(case).error


@pytest.mark.parametrize("case", CASES)
def test_the_cause_the_thread_concluded(case: str, request: pytest.FixtureRequest) -> None:
    if case in MISSES:
        request.applymarker(pytest.mark.xfail(strict=True, reason=MISSES[case]))
    outcome = judge(case)
    assert outcome.verdict == "right", f"expected {outcome.expected}, got {outcome.got or outcome.error}"
