"""The message a drill-down worker posts for each piece it fetched, shared by the pane and its
memory-history mixin (a module of its own so that neither imports the other)."""

from __future__ import annotations

from textual.message import Message

Key = tuple[str, str]


class Loaded(Message):
    """One piece of the drill-down arrived for pod `key`."""

    def __init__(self, key: Key, piece: str, value: object) -> None:
        super().__init__()
        self.key = key
        self.piece = piece
        self.value = value
