"""What every screen about a pod shares: its action keys and how they are guarded.

| Key | Action |
| :- | :- |
| l | Full log view |
| c | Copy menu (kubectl commands, previous log, incident summary) |
| u | Rollout undo (modal; not bound with --read-only) |
| ctrl+d | Delete pod (modal; not bound with --read-only) |
| s | Shell: kubectl exec -it into the running container (not bound with --read-only) |
| D | Debug: kubectl debug, an ephemeral container or a copy (dialog; not bound with --read-only) |
| d / y | Describe (as kubectl prints it) / YAML (managedFields folded) |
| ] / [ | Next / previous pod in the list's order |

Destructive keys are removed from the screen's bindings in read-only mode; keys the user's RBAC
does not allow stay visible but disabled (`check_action` returns None) and say why when pressed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Literal

from textual import events, work
from textual.binding import Binding, BindingsMap, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker

from kcrash.cluster.source import ClusterSource
from kcrash.core.logchoice import has_previous_log
from kcrash.core.records import Pod, Revision
from kcrash.core.sanitize import clean_line
from kcrash.core.status import pod_status, primary_container
from kcrash.core.summary import incident_markdown
from kcrash.ui.clipboard import (
    SystemOutcome,
    TmuxClipboard,
    report,
    system_copy,
    system_result,
    terminal_copy,
    tmux_clipboard,
    wants_system_clipboard,
)
from kcrash.ui.commands import deployment_of, pod_commands
from kcrash.ui.context import Console, console
from kcrash.ui.failures import report_worker_failure

if TYPE_CHECKING:
    from kcrash.cluster.rollout import UndoPlan

DESTRUCTIVE = frozenset({"undo", "delete"})
INTERACTIVE = frozenset({"shell", "debug"})
"""Keys that hand the terminal to the user's kubectl: not bound in read-only mode either."""
GUARDED = ("undo", "delete", "logs", "shell", "debug")

POD_BINDINGS: list[BindingType] = [
    Binding("l", "logs", "Logs"),
    Binding("c", "copy", "Copy"),
    Binding("u", "undo", "Undo", tooltip="kubectl rollout undo, after a dry run and a confirmation"),
    Binding("ctrl+d", "delete", "Delete", tooltip="Delete the pod, after a confirmation"),
    Binding("d", "describe", "Describe", tooltip="The pod as kubectl describe prints it"),
    Binding("y", "yaml", "YAML", show=False),
    Binding("s", "shell", "Shell", show=False, tooltip="kubectl exec -it into the running container"),
    Binding("D", "debug", "Debug", show=False, tooltip="kubectl debug: ephemeral container or a copy"),
    Binding("right_square_bracket", "step_pod(1)", "Next pod", show=False),
    Binding("left_square_bracket", "step_pod(-1)", "Previous pod", show=False),
]


class UndoPlanned(Message):
    def __init__(self, plan: UndoPlan) -> None:
        super().__init__()
        self.plan = plan


class ActionDone(Message):
    """A write finished: say so (the watch shows its effect)."""

    def __init__(self, text: str, error: bool = False) -> None:
        super().__init__()
        self.text = text
        self.error = error


class NothingToDo(Message):
    """An action has nothing to act on (no earlier revision): one line, no dialog."""

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title = title
        self.text = text


class Copied(Message):
    """How the system clipboard took the text, and tmux's options when the terminal's must follow."""

    def __init__(self, what: str, text: str, outcome: SystemOutcome, tmux: TmuxClipboard | None) -> None:
        super().__init__()
        self.what = what
        self.text = text
        self.outcome = outcome
        self.tmux = tmux


class CopyReady(Message):
    def __init__(self, what: str, text: str) -> None:
        super().__init__()
        self.what = what
        self.text = text


class PodScreen(Screen[None]):
    """A screen with a current pod and the actions on it."""

    BINDINGS: ClassVar[list[BindingType]] = POD_BINDINGS

    def __init__(self, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        if self.kcrash.read_only:
            self._bindings = _without(self._bindings, DESTRUCTIVE | INTERACTIVE)

    @property
    def kcrash(self) -> Console:
        return console(self)

    def selected_pod(self) -> Pod | None:
        """The pod the actions apply to; screens override."""
        return None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self.app, event)

    # ---- guards ----------------------------------------------------------------------------

    def denied(self, action: str) -> str:
        """Why `action` is not allowed here, or "" when it is."""
        app = self.kcrash
        if action in DESTRUCTIVE | INTERACTIVE and app.read_only:
            return "read-only mode"
        access = app.access
        if access is None:
            return ""
        if action == "undo" and not access.patch_deployments.allowed:
            return "RBAC: cannot patch deployments" + _because(access.patch_deployments.reason)
        if action == "delete" and not access.delete_pods.allowed:
            return "RBAC: cannot delete pods" + _because(access.delete_pods.reason)
        if action == "logs" and not access.read_logs.allowed:
            return "RBAC: cannot read pod logs" + _because(access.read_logs.reason)
        if action == "shell" and not access.exec_pods.allowed:
            return "RBAC: cannot exec into pods" + _because(access.exec_pods.reason)
        if action == "debug" and not access.debug_pods.allowed:
            return "RBAC: cannot add ephemeral containers" + _because(access.debug_pods.reason)
        return ""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in DESTRUCTIVE | INTERACTIVE and self.kcrash.read_only:
            return False
        if action in GUARDED and self.denied(action):
            return None  # shown, greyed out; pressing it explains why
        return True

    def on_key(self, event: events.Key) -> None:
        """A disabled key says why it is disabled instead of doing nothing silently."""
        for _, binding in self._bindings:
            if binding.key == event.key and binding.action in GUARDED:
                reason = self.denied(binding.action)
                if reason:
                    event.stop()
                    self.notify(reason, title=binding.description, severity="warning", markup=False)
                return

    # ---- copy ------------------------------------------------------------------------------

    def action_copy(self) -> None:
        from kcrash.ui.screens.modals import CopyChoice, CopyMenu

        pod = self.selected_pod()
        if pod is None:
            self.notify("No pod selected.", severity="warning", markup=False)
            return
        container = primary_container(pod)
        previous = has_previous_log(pod.status_for(container))
        commands = pod_commands(
            pod, self.kcrash.source.context, container, deployment_of(pod), previous=previous
        )
        log_word = "previous log" if previous else "log (never restarted)"
        choices = [
            CopyChoice("describe", "kubectl describe", commands.describe),
            CopyChoice(
                "logs", "kubectl logs --previous" if previous else "kubectl logs", commands.logs_previous
            ),
        ]
        if commands.rollout_undo:
            choices.append(CopyChoice("undo", "kubectl rollout undo", commands.rollout_undo))
        choices += [
            CopyChoice("tail", f"{log_word} tail", ""),
            CopyChoice("summary", "incident summary (Markdown)", ""),
        ]

        def chosen(choice: CopyChoice | None) -> None:
            if choice is None:
                return
            if choice.text:
                self._copy(choice.label, choice.text)
            elif choice.key == "tail":
                self._fetch_log_tail(pod, previous)
            else:
                self._fetch_summary(pod)

        self.kcrash.open_screen(CopyMenu(clean_line(pod.name), choices), chosen)

    def _copy(self, what: str, text: str) -> None:
        self._copy_out(what, text, wants_system_clipboard())

    @work(thread=True, exclusive=True, exit_on_error=False, group="clipboard")
    def _copy_out(self, what: str, text: str, system: bool) -> None:
        """The system clipboard first (read back); tmux's options when the terminal must do."""
        outcome: SystemOutcome = system_copy(text) if system else "skipped"
        tmux = tmux_clipboard() if system_result(outcome) is None else None
        self.post_message(Copied(what, text, outcome, tmux))

    def on_copied(self, message: Copied) -> None:
        result = system_result(message.outcome)
        if result is None:
            result = terminal_copy(self.app, message.text, message.tmux)
        title, text, severity = report(message.what, message.text, result)
        self.notify(text, title=title, severity=severity, timeout=6, markup=False)

    def on_copy_ready(self, message: CopyReady) -> None:
        self._copy(message.what, message.text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="copy")
    def _fetch_log_tail(self, pod: Pod, previous: bool) -> None:
        result = self.kcrash.source.read_log(pod, primary_container(pod), previous=previous, tail_lines=50)
        if result.error:
            self.post_message(ActionDone(result.error, error=True))
            return
        self.post_message(CopyReady("the previous log tail" if previous else "the log tail", result.text))

    @work(thread=True, exclusive=True, exit_on_error=False, group="copy")
    def _fetch_summary(self, pod: Pod) -> None:
        source, now = self.kcrash.source, self.kcrash.clock.now()
        if isinstance(source, ClusterSource):
            text = _summary_of_gathered(source, pod, now)
        else:
            diagnosis = source.diagnose(pod, now)
            log = source.read_log(
                pod, diagnosis.container or primary_container(pod), previous=True, tail_lines=SUMMARY_TAIL
            )
            _, revisions = source.deployment_history(pod)
            text = incident_markdown(
                pod,
                diagnosis,
                status=pod_status(pod),
                events=source.events_for(pod),
                log_tail=None if log.error else log.text,
                revisions=revisions,
                now=now,
            )
        self.post_message(CopyReady("the incident summary", text))

    # ---- describe, YAML, next pod -----------------------------------------------------------

    def action_describe(self) -> None:
        self._open_document("describe")

    def action_yaml(self) -> None:
        self._open_document("yaml")

    def _open_document(self, kind: Literal["describe", "yaml"]) -> None:
        from kcrash.ui.screens.document import DocumentScreen

        pod = self.selected_pod()
        if pod is None:
            self.notify("No pod selected.", severity="warning", markup=False)
            return
        self.kcrash.open_screen(DocumentScreen(pod.key, kind))

    def action_step_pod(self, step: int) -> None:
        """The next (1) or previous (-1) pod of the list; screens that show one pod override."""

    # ---- shell and debug (the user's kubectl, the console suspended) -------------------------

    def action_shell(self) -> None:
        from kcrash.ui.screens.terminal import open_shell

        open_shell(self, self.selected_pod())

    def action_debug(self) -> None:
        from kcrash.ui.screens.terminal import open_debug

        open_debug(self, self.selected_pod())

    # ---- logs ------------------------------------------------------------------------------

    def action_logs(self) -> None:
        from kcrash.ui.screens.logs import LogScreen

        pod = self.selected_pod()
        if pod is None:
            self.notify("No pod selected.", severity="warning", markup=False)
            return
        self.kcrash.open_screen(LogScreen(pod.key, primary_container(pod)))

    # ---- undo ------------------------------------------------------------------------------

    def action_undo(self) -> None:
        pod = self.selected_pod()
        if pod is None or self.kcrash.read_only:
            return
        if pod.controller is None or pod.controller.kind != "ReplicaSet":
            self.notify(
                f"pod/{clean_line(pod.name)} is not run by a Deployment: nothing to roll back.",
                severity="warning",
                markup=False,
            )
            return
        self.notify("Planning the rollback (server-side dry run)…", timeout=3, markup=False)
        self._plan_undo(pod)

    @work(thread=True, exclusive=True, exit_on_error=False, group="undo")
    def _plan_undo(self, pod: Pod) -> None:
        source = self.kcrash.source
        deployment, revisions = source.deployment_history(pod)
        if deployment is not None:
            reason = no_earlier_revision(deployment.name, revisions)
            if reason:
                self.post_message(NothingToDo("Undo", reason))
                return
        self.post_message(UndoPlanned(source.plan_undo(pod)))

    def on_nothing_to_do(self, message: NothingToDo) -> None:
        self.app.clear_notifications()
        self.notify(message.text, title=message.title, severity="warning", timeout=6, markup=False)

    def on_undo_planned(self, message: UndoPlanned) -> None:
        from kcrash.ui.screens.modals import UndoModal

        plan = message.plan
        self.app.clear_notifications()

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._execute_undo(plan)

        self.kcrash.open_screen(UndoModal(plan), confirmed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="undo")
    def _execute_undo(self, plan: UndoPlan) -> None:
        self.post_message(ActionDone(self.kcrash.source.execute_undo(plan)))

    # ---- delete ----------------------------------------------------------------------------

    def action_delete(self) -> None:
        from kcrash.ui.screens.modals import DeleteModal

        pod = self.selected_pod()
        if pod is None or self.kcrash.read_only:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._delete(pod)

        self.kcrash.open_screen(DeleteModal(pod, failing=pod.key in self.kcrash.failing), confirmed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="delete")
    def _delete(self, pod: Pod) -> None:
        self.post_message(ActionDone(self.kcrash.source.delete_pod(pod)))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(
            message.text,
            title="Failed" if message.error else "Done",
            severity="error" if message.error else "information",
            timeout=8,
            markup=False,
        )


SUMMARY_TAIL = 50
"""Lines of the previous log an incident summary quotes."""


def _summary_of_gathered(source: ClusterSource, pod: Pod, now: datetime) -> str:
    """The incident summary from one `gather`: the diagnosis and the summary quote the same answers."""
    from kcrash.core.diagnose import diagnose

    gathered = source.gather(pod, now)
    diagnosis = diagnose(gathered)
    container = diagnosis.container or primary_container(pod)
    if container == primary_container(pod):
        log_tail = gathered.previous_log
        if log_tail is not None:
            log_tail = "".join(log_tail.splitlines(keepends=True)[-SUMMARY_TAIL:])
    else:  # the diagnosis blames another container than the one gathered for
        log = source.read_log(pod, container, previous=True, tail_lines=SUMMARY_TAIL)
        log_tail = None if log.error else log.text
    return incident_markdown(
        pod,
        diagnosis,
        status=pod_status(pod),
        events=gathered.events,
        log_tail=log_tail,
        revisions=gathered.revisions,
        now=now,
    )


def no_earlier_revision(deployment: str, revisions: Sequence[Revision]) -> str:
    """Why `rollout undo` has nowhere to go, or "" when an earlier revision exists."""
    numbers = sorted({revision.number for revision in revisions})
    if len(numbers) >= 2:
        return ""
    only = f"only revision {numbers[0]}" if numbers else "no revision recorded"
    return f"deployment/{clean_line(deployment)} has {only}: there is no earlier revision to go back to."


def _because(reason: str) -> str:
    return f" ({clean_line(reason)})" if reason else ""


def _without(bindings: BindingsMap, actions: frozenset[str]) -> BindingsMap:
    """A copy of `bindings` with every binding for `actions` gone: in read-only mode the keys
    for writes are not bound at all."""
    kept = [binding for _, binding in bindings if binding.action not in actions]
    return BindingsMap(kept)
