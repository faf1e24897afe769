"""The `:` command line, as k9s has it: switch namespace, context, all namespaces, label selector.

| Command | Does |
| :- | :- |
| `ns NAME` (`namespace`) | pods of namespace NAME; `ns` alone opens a picker with failing-pod counts |
| `ctx NAME` (`context`) | another kubeconfig context (on its own namespace); `ctx` alone opens a picker |
| `all` (`0`, `ns all`) | pods of every namespace |
| `l SELECTOR` (`label`) | only pods matching the label selector; `l` alone drops it |
| `pods` (`po`) | back to the pods (the only view: nothing to do) |
| `q` (`quit`) | quit |

Tab completes the command, then the namespace or context name. Parsing and completion are pure;
the pods screen runs what they decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from textual.binding import Binding, BindingType
from textual.widgets import Input

Verb = Literal["ns", "ctx", "all", "l", "pods", "quit", "unknown", "none"]

ALIASES: dict[str, Verb] = {
    "ns": "ns",
    "namespace": "ns",
    "namespaces": "ns",
    "ctx": "ctx",
    "context": "ctx",
    "contexts": "ctx",
    "all": "all",
    "0": "all",
    "l": "l",
    "label": "l",
    "labels": "l",
    "selector": "l",
    "pods": "pods",
    "pod": "pods",
    "po": "pods",
    "q": "quit",
    "quit": "quit",
}
VERBS = ("ns", "ctx", "all", "l", "pods", "quit")
"""What completion offers for the first word, in this order."""
USAGE = "commands: ns NAME, ctx NAME, all, l SELECTOR (tab completes)"


@dataclass(frozen=True, slots=True)
class Command:
    verb: Verb
    arg: str = ""
    word: str = ""  # the verb as typed (for "unknown")


def parse_command(text: str) -> Command:
    """What a line typed after `:` asks for."""
    head, _, rest = text.strip().lstrip(":").strip().partition(" ")
    if not head:
        return Command("none")
    verb = ALIASES.get(head.lower())
    if verb is None:
        return Command("unknown", rest.strip(), head)
    arg = rest.strip()
    if verb == "ns" and arg in ("all", "-A", "*"):
        return Command("all")
    return Command(verb, arg, head)


def complete(text: str, namespaces: Sequence[str], contexts: Sequence[str]) -> str | None:
    """The line with its last word completed (the first match in order), or None."""
    stripped = text.lstrip()
    head, space, rest = stripped.partition(" ")
    if not space:
        found = next((v for v in VERBS if v.startswith(head.lower()) and v != head.lower()), None)
        return None if found is None else found + " "
    verb = ALIASES.get(head.lower())
    names = namespaces if verb == "ns" else contexts if verb == "ctx" else ()
    prefix = rest.strip()
    found = next((n for n in names if n.startswith(prefix) and n != prefix), None)
    return None if found is None else f"{head} {found}"


class CommandLine(Input):
    """An Input whose Tab completes from the command words and the names it was given."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("tab", "complete", "Complete", show=False)]

    namespaces: tuple[str, ...] = ()
    contexts: tuple[str, ...] = ()

    def action_complete(self) -> None:
        completed = complete(self.value, self.namespaces, self.contexts)
        if completed is not None:
            self.value = completed
            self.cursor_position = len(completed)
