"""Escape followed at once by another key, read as the two keys it was.

A terminal sends Alt+key as ESC then the key, so a parser that reads ESC and `j` in one read takes
them for Alt+j; ESC then `/` or Enter loses the Escape altogether. Over SSH, or from `tmux
send-keys`, keys typed quickly arrive in one read: `Esc / o o m` (leave the drill-down, filter)
became `/oom` typed into the drill-down. kcrash binds no Alt key, so ESC-then-key is always the
Escape key and then that key.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual import events
from textual._xterm_parser import XTermParser


class EscapeFirstParser(XTermParser):
    """The terminal parser, with ESC-then-key read as Escape, then the key."""

    def _sequence_to_key_events(self, sequence: str, alt: bool = False) -> Iterable[events.Key]:
        # `alt` is set only when an ESC that started no known sequence came just before.
        if alt:
            yield events.Key("escape", "\x1b")
        yield from super()._sequence_to_key_events(sequence, alt=False)


def install() -> None:
    """Make the terminal drivers read keys with `EscapeFirstParser` (they name the parser class
    when their input thread starts, so this must run before the app does)."""
    from textual.drivers import linux_driver

    setattr(linux_driver, "XTermParser", EscapeFirstParser)  # noqa: B010 (not exported: mypy)
