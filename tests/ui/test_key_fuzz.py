"""Random key sequences, delivered in bursts as SSH does, against the console on the lab.

Read-only, so no key can change the lab; quit keys are left out (quitting is not a crash). After
every example the console must still run, with no error raised and no screen stacked on one of
its kind. `KCRASH_FUZZ_EXAMPLES` sets how many examples run (each is one console session)."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual import events

from kcrash.lab.app import Lab

from .conftest import lab_app, wait_synced

KEYS: dict[str, str | None] = {
    **{letter: letter for letter in "abcdefghijklmnoprstuvwxyzABCDEFGHIJKLMNOPRSTUVWXYZ0123456789"},
    "slash": "/",
    "question_mark": "?",
    "minus": "-",
    "space": " ",
    "enter": "\r",
    "escape": "\x1b",
    "backspace": "\x7f",
    "tab": "\t",
    "right_square_bracket": "]",
    "left_square_bracket": "[",
    "shift+tab": None,
    "up": None,
    "down": None,
    "left": None,
    "right": None,
    "pageup": None,
    "pagedown": None,
    "home": None,
    "end": None,
    "ctrl+d": None,
    "ctrl+s": None,
    "ctrl+f": None,
    "ctrl+b": None,
}
"""Every key kcrash binds and the letters a filter or search takes; not q or ctrl+c (quit)."""

EXAMPLES = int(os.environ.get("KCRASH_FUZZ_EXAMPLES", "40"))
BURSTS = 40
SIZES = ((80, 24), (160, 45))

# The keys an on-call engineer presses most come up most: Enter and Escape in runs, l, c, /, ?.
WEIGHTED = [
    *sorted(KEYS),
    *["enter"] * 12,
    *["escape"] * 8,
    *[key for key in ("j", "k", "l", "c", "p", "f", "w", "h", "y", "n", "1", "slash", "question_mark", "tab")]
    + ["d", "C", "right_square_bracket"] * 3,
]
bursts = st.lists(
    st.lists(st.sampled_from(WEIGHTED), min_size=1, max_size=8), min_size=BURSTS, max_size=BURSTS
)


def run_session(lab: Lab, directory: Path, size: tuple[int, int], sequence: list[list[str]]) -> None:
    async def session() -> None:
        app = lab_app(lab, directory, read_only=True)
        async with app.run_test(size=size) as pilot:
            await wait_synced(pilot, app)
            for burst in sequence:
                for key in burst:
                    app.post_message(events.Key(key, KEYS[key]))
                await pilot.pause(0.02)
            await pilot.pause(0.3)
            kinds = Counter(type(screen).__name__ for screen in app.screen_stack)
            assert app.is_running, f"the console stopped after {sequence}"
            assert max(kinds.values()) == 1, f"a screen stacked on its kind: {kinds}"
        assert app.return_code in (None, 0), f"the console failed after {sequence}"

    asyncio.run(session())


# Forty console sessions: a loaded machine needs more than the suite's two minutes per test.
@pytest.mark.timeout(600)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=bursts, size=st.sampled_from(SIZES))
def test_random_bursts_of_keys_never_crash_the_console(
    lab: Lab, tmp_path: Path, sequence: list[list[str]], size: tuple[int, int]
) -> None:
    run_session(lab, tmp_path, size, sequence)
