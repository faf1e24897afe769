"""Small pickers: choose one of a pod's containers (init, sidecar and ephemeral ones included).

Number keys or arrows and Enter choose; escape closes without a choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kcrash.core.records import ContainerState, Pod
from kcrash.core.sanitize import clean_line


@dataclass(frozen=True, slots=True)
class ContainerChoice:
    name: str
    role: str  # "init", "sidecar" or "" for an app container
    state: str  # "Running", "Waiting: CrashLoopBackOff", "Terminated: Error (exit 1)"
    restarts: int


def container_choices(pod: Pod) -> list[ContainerChoice]:
    """Every container of the pod in the order it starts: init (and sidecars), then the app's."""
    choices = []
    for spec in (*pod.init_containers, *pod.containers):
        status = pod.status_for(spec.name)
        role = "sidecar" if spec.sidecar else "init" if spec.init else ""
        state = _state_words(status.state) if status is not None else "not started"
        choices.append(ContainerChoice(spec.name, role, state, status.restart_count if status else 0))
    return choices


def _state_words(state: ContainerState) -> str:
    words = state.kind.capitalize()
    if state.reason:
        words += f": {state.reason}"
    if state.kind == "terminated" and state.exit_code is not None:
        words += f" (exit {state.exit_code})"
    return words


class ContainerMenu(ModalScreen[str | None]):
    """Which container's log to show; the one shown now is marked."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close"),
        *(Binding(str(n), f"pick({n - 1})", show=False) for n in range(1, 10)),
    ]

    def __init__(self, pod_name: str, choices: list[ContainerChoice], current: str) -> None:
        super().__init__(classes="kcrash-modal")
        self.pod_name = pod_name
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(Content.styled(f"Container of pod/{clean_line(self.pod_name)}", "bold"))
            yield Static(
                Content.assemble(
                    ("1-9/enter", "bold $accent"), " show its log   ", ("esc", "bold $accent"), " close"
                )
            )
            options = []
            for number, choice in enumerate(self.choices, start=1):
                marker = "● " if choice.name == self.current else "  "
                role = f"{choice.role} " if choice.role else ""
                options.append(
                    Option(
                        Content.assemble(
                            (f"{number} ", "bold $accent"),
                            marker,
                            (role, "$text-muted"),
                            (clean_line(choice.name), "bold"),
                            ("  " + clean_line(choice.state), "$text-muted"),
                            (f"  restarts {choice.restarts}" if choice.restarts else "", "$warning"),
                        ),
                        id=f"container-{number}",
                    )
                )
            yield OptionList(*options, id="container-options")

    def on_mount(self) -> None:
        names = [choice.name for choice in self.choices]
        if self.current in names:
            self.query_one(OptionList).highlighted = names.index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index].name)

    def action_pick(self, index: int) -> None:
        if 0 <= index < len(self.choices):
            self.dismiss(self.choices[index].name)

    def action_close(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True, slots=True)
class Choice:
    name: str
    detail: str = ""  # "3 failing", "current"
    warn: bool = False  # the detail in the warning colour


class ChoicePicker(ModalScreen[str | None]):
    """Pick one name (a namespace, a context): arrows and Enter, or type to narrow; escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, title: str, choices: list[Choice], current: str = "") -> None:
        super().__init__(classes="kcrash-modal")
        self.title_text = title
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(Content.styled(clean_line(self.title_text), "bold"))
            yield Static(
                Content.assemble(
                    ("↑↓ enter", "bold $accent"), " switch   ", ("esc", "bold $accent"), " close"
                )
            )
            options = []
            for choice in self.choices:
                marker = "● " if choice.name == self.current else "  "
                options.append(
                    Option(
                        Content.assemble(
                            marker,
                            (clean_line(choice.name), "bold"),
                            ("  " + clean_line(choice.detail), "$warning" if choice.warn else "$text-muted"),
                        )
                    )
                )
            yield OptionList(*options, id="choice-options")

    def on_mount(self) -> None:
        names = [choice.name for choice in self.choices]
        options = self.query_one(OptionList)
        if self.current in names:
            options.highlighted = names.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index].name)

    def action_close(self) -> None:
        self.dismiss(None)
