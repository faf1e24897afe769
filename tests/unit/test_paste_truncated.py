"""A list pasted without its end (no closing `kind: List` trailer, a JSON array never closed) is
read for what it holds, with a note that it may be truncated: more pods may have followed."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from kcrash.cluster.paste.facts import parse_paste

LIST = Path(__file__).resolve().parents[1] / "data/pastes/exits-zero-json-podlist/pods.json"


def as_yaml() -> str:
    return yaml.safe_dump(json.loads(LIST.read_text()), sort_keys=False)


def truncation_notes(text: str) -> list[str]:
    return [note for note in parse_paste(text, name="pods").notes if "truncated" in note]


def test_a_whole_list_has_no_note() -> None:
    assert truncation_notes(as_yaml()) == []
    assert truncation_notes(LIST.read_text()) == []


def test_a_yaml_list_cut_at_an_item_boundary_is_flagged() -> None:
    text = as_yaml()
    cut = text[: text.index("\nkind: List")] + "\n"
    facts = parse_paste(cut, name="pods")
    assert facts.pods, "what was pasted is still read"
    notes = truncation_notes(cut)
    assert len(notes) == 1 and "kind: List" in notes[0]


def test_a_json_list_cut_after_an_item_is_flagged() -> None:
    lines = LIST.read_text().splitlines()
    end = lines.index("    ],")  # the items array closes here; cut just before it
    cut = "\n".join(lines[:end]) + "\n"
    notes = truncation_notes(cut)
    assert len(notes) == 1 and "JSON" in notes[0]
