"""The command palette (ctrl+p) offers what the `:` command line does: every namespace, every
context, all namespaces; typing narrows them as Textual's palette does.

The names are read once when the palette opens (on a thread: listing namespaces is a request),
and a chosen entry runs on the pods screen exactly as the typed command would.
"""

from __future__ import annotations

import asyncio
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from kcrash.cluster.scope import context_names, namespaces
from kcrash.cluster.source import ClusterSource
from kcrash.ui.command_line import Command


class ScopeCommands(Provider):
    """`Namespace: NAME`, `Context: NAME`, `All namespaces` (and `Label selector…` help)."""

    async def startup(self) -> None:
        source = self.app.source if hasattr(self.app, "source") else None
        self._entries: list[tuple[str, Command, str]] = []
        if not isinstance(source, ClusterSource):
            return
        names, contexts = await asyncio.gather(
            asyncio.to_thread(namespaces, source), asyncio.to_thread(context_names, source)
        )
        self._entries = [("All namespaces", Command("all"), "every namespace (:all, 0)")]
        self._entries += [(f"Namespace: {n}", Command("ns", n), f":ns {n}") for n in names]
        self._entries += [(f"Context: {c}", Command("ctx", c), f":ctx {c}") for c in contexts]

    def _run(self, command: Command) -> None:
        from kcrash.ui.screens.pods import PodsScreen

        screen = next((s for s in self.app.screen_stack if isinstance(s, PodsScreen)), None)
        if screen is not None:
            screen.run_command(command)

    async def discover(self) -> Hits:
        for text, command, help_text in self._entries:
            yield DiscoveryHit(text, partial(self._run, command), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._entries:
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self._run, command), help=help_text)
