"""Diagnosis against the real corpus (tests/data/real): the verdict per case, and the table
docs/accuracy.md keeps.

Each case is a folder of pastes copied verbatim from a public thread, its SOURCE.md and an
expected.json written from the thread's own conclusion. A case counts as *right* when kcrash names
the expected cause for the pod the case is about (or, when the paste never names one, for the pod
it diagnoses), *refused* when kcrash reads nothing from it or diagnoses no pod, *wrong* otherwise.

    python bench/accuracy.py             # the table on stdout
    python bench/accuracy.py --write     # ... and into docs/accuracy.md
    python bench/accuracy.py --write --mark-misses   # ... and the strict expected failures
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "data" / "real"
KNOWN_MISSES = CORPUS / "known-misses.json"
DOC = REPO / "docs" / "accuracy.md"
NOT_PASTES = {"SOURCE.md", "expected.json"}

sys.path.insert(0, str(REPO / "tui"))


@dataclass(frozen=True)
class Outcome:
    case: str
    expected: str
    got: str  # a cause, or "" when kcrash refused
    pod: str
    error: str = ""

    @property
    def verdict(self) -> str:
        if not self.got:
            return "refused"
        return "right" if self.got == self.expected else "wrong"


def cases() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if (p / "expected.json").is_file())


def known_misses() -> dict[str, str]:
    if not KNOWN_MISSES.is_file():
        return {}
    return json.loads(KNOWN_MISSES.read_text())  # type: ignore[no-any-return]


def judge(case: str) -> Outcome:
    """Run `kcrash diagnose --from ... -o json` in-process on one case."""
    from kcrash.diagnose_cmd import main

    folder = CORPUS / case
    expected = json.loads((folder / "expected.json").read_text())
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name not in NOT_PASTES)
    argv = [arg for path in files for arg in ("--from", str(path))] + ["-o", "json"]
    out, err = io.StringIO(), io.StringIO()
    try:
        main(argv, stdin=io.StringIO(""), stdout=out, stderr=err)
    except Exception as error:  # a crash is a finding: recorded, never hidden
        return Outcome(case, expected["cause"], "", "", f"crash: {type(error).__name__}: {error}")
    rows = _rows(out.getvalue())
    row = _row_for(rows, expected.get("pod"))
    if row is None:
        said = err.getvalue().replace(f"{CORPUS}/", "").strip().splitlines()  # no machine paths
        return Outcome(case, expected["cause"], "", "", said[-1] if said else "no pod diagnosed")
    return Outcome(case, expected["cause"], str(row.get("cause", "")), str(row.get("pod", "")))


def _rows(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text) if text.strip() else []
    except json.JSONDecodeError:
        return []
    if isinstance(data, dict):
        data = data.get("pods", [])
    return [row for row in data if isinstance(row, dict)]


def _row_for(rows: list[dict[str, Any]], pod: str | None) -> dict[str, Any] | None:
    if not rows:
        return None
    if pod:
        for row in rows:
            if row.get("pod") == pod or str(row.get("pod", "")).endswith("/" + pod):
                return row
    failing = [row for row in rows if row.get("cause") != "healthy"]
    return (failing or rows)[0]


def table(outcomes: list[Outcome]) -> str:
    by_cause: dict[str, Counter[str]] = defaultdict(Counter)
    for outcome in outcomes:
        by_cause[outcome.expected][outcome.verdict] += 1
    lines = ["| cause | cases | right | wrong | refused | accuracy |", "| :- | -: | -: | -: | -: | -: |"]
    total: Counter[str] = Counter()
    for cause in sorted(by_cause):
        counts = by_cause[cause]
        total.update(counts)
        lines.append(_line(cause, counts))
    lines.append(_line("**all**", total))
    return "\n".join(lines)


def pasted_kind(case: str) -> str:
    """What a case's pastes are: sentences only (every paste a chat), or other pastes too."""
    pastes = [p.name for p in (CORPUS / case).iterdir() if p.name not in NOT_PASTES]
    return "chat only" if all(name.startswith("chat") for name in pastes) else "other"


def given_table(outcomes: list[Outcome]) -> str:
    """Per cause, the misses by what their pastes hold."""
    by_cause: dict[str, Counter[str]] = defaultdict(Counter)
    for outcome in outcomes:
        if outcome.verdict != "right":
            by_cause[outcome.expected][pasted_kind(outcome.case)] += 1
    lines = [
        "| cause | misses | chat only | with other pastes (output, manifests, diffs) |",
        "| :- | -: | -: | -: |",
    ]
    for cause in sorted(by_cause):
        counts = by_cause[cause]
        n = sum(counts.values())
        lines.append(f"| {cause} | {n} | {counts['chat only']} | {counts['other']} |")
    return "\n".join(lines)


def _line(label: str, counts: Counter[str]) -> str:
    n = sum(counts.values())
    share = f"{100 * counts['right'] / n:.0f} %" if n else "-"
    return f"| {label} | {n} | {counts['right']} | {counts['wrong']} | {counts['refused']} | {share} |"


def document(outcomes: list[Outcome]) -> str:
    misses = [o for o in outcomes if o.verdict != "right"]
    reasons = known_misses()
    body = [
        "# Diagnosis accuracy on real pastes",
        "",
        "Generated by `python bench/accuracy.py --write` from `tests/data/real/`: pastes copied verbatim",
        "from public threads (GitHub issues and pull requests, mostly), each with its `SOURCE.md` and an",
        "`expected.json` written from the thread's own conclusion before kcrash was run on it. A case",
        "kcrash gets wrong stays in the corpus, listed below; `tests/unit/test_real_corpus.py` marks it",
        "as an expected failure (strict: a fixed case fails the test until its mark is taken off).",
        "",
        table(outcomes),
        "",
        "## What the misses were given",
        "",
        "Pastes are named for what they hold (`chat.txt`, `describe.txt`, `events.txt`, ...). A miss whose",
        "pastes are all chat is a case where the thread told the symptom in sentences: the cause it",
        "concluded is then the maintainers' knowledge (of an image, a program, a chart) more often",
        "than anything the paste says.",
        "",
        given_table(outcomes),
        "",
        "## Known misses",
        "",
        "| case | expected | kcrash said | why |",
        "| :- | :- | :- | :- |",
    ]
    for o in misses:
        said = o.got or f"refused: {o.error}"
        body.append(f"| {o.case} | {o.expected} | {said} | {reasons.get(o.case, '')} |")
    return "\n".join(body) + "\n"


def misses_of(outcomes: list[Outcome]) -> dict[str, str]:
    """Why kcrash gets each missed case wrong, for known-misses.json: the reason a person wrote
    for a case still missed is kept; a new miss gets what kcrash said until someone reads it."""
    written = {case: why for case, why in known_misses().items() if not _said(why)}
    return {
        o.case: written.get(o.case) or (f"kcrash named {o.got}" if o.got else f"refused: {o.error}")
        for o in outcomes
        if o.verdict != "right"
    }


def _said(why: str) -> bool:
    """A reason that only repeats kcrash's answer (written by --mark-misses, not by a person)."""
    return why.startswith(("kcrash named ", "refused: "))


def run(write: bool, mark_misses: bool = False) -> list[Outcome]:
    outcomes = [judge(case) for case in cases()]
    if mark_misses:
        KNOWN_MISSES.write_text(json.dumps(misses_of(outcomes), indent=1, sort_keys=True) + "\n")
    text = document(outcomes)
    print(text)
    if write:
        DOC.write_text(text)
    return outcomes


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="also write docs/accuracy.md")
    parser.add_argument(
        "--mark-misses", action="store_true", help="rewrite tests/data/real/known-misses.json from this run"
    )
    options = parser.parse_args()
    run(options.write, options.mark_misses)
