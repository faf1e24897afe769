"""Modal dialogs: confirm a rollback, confirm a delete, choose what to copy.

Confirmation is `y` and nothing else; `n` and escape cancel. Nothing destructive has a default
that Enter could trigger by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kcrash.cluster.actions import after_delete
from kcrash.cluster.rollout import UndoPlan
from kcrash.core.records import Pod
from kcrash.core.sanitize import clean, clean_line


def _heading(text: str) -> Static:
    return Static(Content.styled(text, "bold"), classes="modal-heading")


def _label(text: str) -> Static:
    return Static(Content.styled(text, "bold $text-muted"), classes="label")


def _keys_line(*pairs: tuple[str, str]) -> Static:
    parts: list[str | tuple[str, str]] = []
    for key, label in pairs:
        if parts:
            parts.append("   ")
        parts += [(key, "bold $accent"), " " + label]
    return Static(Content.assemble(*parts), classes="modal-keys")


class ConfirmModal(ModalScreen[bool]):
    """Base for yes/no dialogs: `y` confirms, `n`/escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Confirm"),
        Binding("n,escape", "answer(False)", "Cancel"),
    ]

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class UndoModal(ConfirmModal):
    """What `kubectl rollout undo` would do, its dry-run verdict, and the command itself."""

    def __init__(self, plan: UndoPlan) -> None:
        super().__init__(classes="kcrash-modal")
        self.plan = plan

    def compose(self) -> ComposeResult:
        plan = self.plan
        with Vertical(id="dialog", classes="dialog"):
            yield _heading(f"Roll back deployment/{clean_line(plan.deployment)}")
            if plan.ready:
                yield _keys_line(("y", "roll back"), ("n/esc", "cancel"))
            else:
                yield _keys_line(("n/esc", "close"))
            with VerticalScroll(classes="dialog-body"):
                yield Static(self._target(), classes="undo-target")
                yield _label("What changes")
                yield Static(self._changes(), classes="undo-changes")
                yield _label("Same as")
                yield Static(Content(clean_line(plan.kubectl)), classes="undo-command")
                yield _label("Server-side dry run")
                yield Static(self._dry_run(), classes="undo-dry-run")

    def _target(self) -> Content:
        plan = self.plan
        return Content.assemble(
            "From revision ",
            (str(plan.from_revision), "bold"),
            " to revision ",
            (str(plan.to_revision), "bold $success"),
        )

    def _changes(self) -> Content:
        lines = [clean_line(line) for line in self.plan.changes] or ["(no difference in the pod template)"]
        return Content("\n".join("• " + line for line in lines))

    def _dry_run(self) -> Content:
        return dry_run_content(self.plan)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes and self.plan.ready)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "answer" and parameters == (True,) and not self.plan.ready)


def dry_run_content(plan: UndoPlan) -> Content:
    """The server's verdict, or kubectl's reason for sending nothing."""
    if plan.ready:
        return Content.assemble(
            ("✓ ", "bold $success"), "accepted by the server (dryRun=All); nothing changed yet"
        )
    if plan.skipped:
        return Content.assemble(("= ", "bold $warning"), clean_line(plan.skipped), ": nothing to send")
    reason = plan.refused or plan.dry_run_error or "the dry run did not pass"
    return Content.assemble(("✗ ", "bold $error"), (clean_line(reason), "$error"), ": nothing will be sent")


class DeleteModal(ConfirmModal):
    """Names the pod and what happens after it is gone."""

    def __init__(self, pod: Pod, *, failing: bool = True) -> None:
        super().__init__(classes="kcrash-modal")
        self.pod = pod
        self.failing = failing

    def compose(self) -> ComposeResult:
        pod = self.pod
        name = clean_line(pod.name)
        with Vertical(id="dialog", classes="dialog"):
            yield _heading("Delete pod")
            yield _keys_line(("y", "delete"), ("n/esc", "cancel"))
            yield Static(
                Content.assemble(
                    ("pod/" + name, "bold $error"),
                    " in namespace ",
                    (clean_line(pod.namespace), "bold"),
                )
            )
            yield Static(Content(clean(after_delete(pod, failing=self.failing))))
            yield Static(
                Content.styled(
                    "The request carries this pod's UID, so a newer pod with the same name is never deleted.",
                    "$text-muted",
                )
            )


@dataclass(frozen=True, slots=True)
class CopyChoice:
    key: str
    label: str
    text: str  # "" when it has to be fetched first


class CopyMenu(ModalScreen[CopyChoice | None]):
    """Pick what to copy: number keys or arrows and Enter; escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close"),
        *(Binding(str(n), f"pick({n - 1})", show=False) for n in range(1, 10)),
    ]

    def __init__(self, pod_name: str, choices: list[CopyChoice]) -> None:
        super().__init__(classes="kcrash-modal")
        self.pod_name = pod_name
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield _heading(f"Copy for pod/{self.pod_name}")
            yield _keys_line(("1-9/enter", "copy"), ("esc", "close"))
            options = []
            for number, choice in enumerate(self.choices, start=1):
                preview = Content.styled("\n  " + choice.text, "$text-muted") if choice.text else Content("")
                options.append(
                    Option(
                        Content.assemble((f"{number} ", "bold $accent"), choice.label, preview), id=choice.key
                    )
                )
            yield OptionList(*options, id="copy-options")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index])

    def action_pick(self, index: int) -> None:
        if 0 <= index < len(self.choices):
            self.dismiss(self.choices[index])

    def action_close(self) -> None:
        self.dismiss(None)
