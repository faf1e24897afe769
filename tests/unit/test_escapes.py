"""Escape followed at once by another key: read as Escape, then that key."""

from __future__ import annotations

import pytest

from kcrash.ui.escapes import EscapeFirstParser


def _keys(data: str) -> list[str]:
    parser = EscapeFirstParser(debug=False)
    return [event.key for event in [*parser.feed(data), *parser.feed("")] if hasattr(event, "key")]


@pytest.mark.parametrize(
    ("data", "keys"),
    [
        ("\x1bj", ["escape", "j"]),
        ("\x1b/oom", ["escape", "slash", "o", "o", "m"]),
        ("\x1b\r", ["escape", "enter"]),
        ("\x1b\x1b", ["escape", "escape"]),
        ("\x1b[A", ["up"]),  # a sequence the terminal sends for one key stays one key
        ("\x1bOP", ["f1"]),
        ("jk", ["j", "k"]),
    ],
)
def test_escape_then_a_key_is_two_keys(data: str, keys: list[str]) -> None:
    assert _keys(data) == keys
