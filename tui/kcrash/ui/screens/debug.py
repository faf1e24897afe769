"""`D`: how to debug a crash-looping container, the two ways explained, each exact command shown.

| Key | Action |
| :- | :- |
| 1 | Ephemeral container in the pod, targeting the container (`kubectl debug --target`) |
| 2 | A copy of the pod with the container's command replaced by a shell (`--copy-to`) |
| n, escape | Cancel |

Nothing runs until 1 or 2 is pressed; then the console is suspended and the user's kubectl runs
in the terminal, and the console comes back when it ends.
"""

from __future__ import annotations

import shlex
from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from kcrash.core.sanitize import clean_line

Way = Literal["ephemeral", "copy"]

EPHEMERAL = (
    "Adds a debug container (busybox) to the running pod, sharing the crashing container's "
    "processes: look at /proc/1/root, its files and network. The pod is not restarted; the "
    "debug container stays until the pod is deleted. Needs ephemeral containers (Kubernetes 1.25+)."
)
COPY = (
    "Creates a copy of the pod in which this container runs a shell instead of its command, so "
    "it stays up: its image, environment and mounts can be tried by hand. The original pod is "
    "untouched; delete the copy afterwards."
)


def command_line(argv: list[str]) -> str:
    """The argument vector as one line a shell would read back the same."""
    return " ".join(shlex.quote(word) for word in argv)


class DebugModal(ModalScreen[Way | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "choose('ephemeral')", "Ephemeral container"),
        Binding("2", "choose('copy')", "Copy of the pod"),
        Binding("n,escape", "choose('')", "Cancel"),
    ]

    def __init__(self, pod_name: str, container: str, ephemeral: list[str], copy: list[str]) -> None:
        super().__init__(classes="kcrash-modal")
        self.pod_name = pod_name
        self.container = container
        self.argv = {"ephemeral": ephemeral, "copy": copy}

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(
                Content.styled(
                    f"Debug container {clean_line(self.container)} of pod/{clean_line(self.pod_name)}", "bold"
                ),
                classes="modal-heading",
            )
            yield Static(
                Content.assemble(
                    ("1", "bold $accent"),
                    " ephemeral   ",
                    ("2", "bold $accent"),
                    " copy   ",
                    ("n/esc", "bold $accent"),
                    " cancel",
                ),
                classes="modal-keys",
            )
            with VerticalScroll(classes="dialog-body"):
                for number, way, title, text in (
                    ("1", "ephemeral", "An ephemeral container in this pod", EPHEMERAL),
                    ("2", "copy", "A copy of the pod that stays up", COPY),
                ):
                    yield Static(Content.assemble((number + " ", "bold $accent"), (title, "bold")))
                    yield Static(Content(text), classes="debug-why")
                    yield Static(
                        Content.styled(clean_line(command_line(self.argv[way])), "$text-muted"),
                        id=f"debug-{way}",
                        classes="debug-command",
                    )

    def action_choose(self, way: str) -> None:
        self.dismiss("ephemeral" if way == "ephemeral" else "copy" if way == "copy" else None)
