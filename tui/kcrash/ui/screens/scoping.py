"""The pods screen's scope keys: `:` (the command line), `0` (all namespaces) and the pickers.

What a command asks for is looked up on a worker (the namespaces, the contexts, a LIST of every
pod for the failing counts of the namespace picker); the switch itself is the console's
(`switch_scope`). A name that does not exist gets one line naming the choices, and nothing changes.
"""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

from kcrash.cluster.errors import KcrashError
from kcrash.cluster.scope import Scope, context_names, namespaces, rescoped, scope_of, unknown_name
from kcrash.cluster.source import ClusterSource
from kcrash.ui.command_line import USAGE, Command, CommandLine, parse_command
from kcrash.ui.rows import build_row
from kcrash.ui.screens.base import PodScreen

OFFLINE = "offline: the pods come from pastes, there is no other scope to switch to"


class NamesRead(Message):
    """The namespaces and contexts the command line completes from."""

    def __init__(self, namespaces: tuple[str, ...], contexts: tuple[str, ...]) -> None:
        super().__init__()
        self.namespaces = namespaces
        self.contexts = contexts


class ScopeReady(Message):
    def __init__(self, source: ClusterSource, said: str) -> None:
        super().__init__()
        self.source = source
        self.said = said


class ScopeRefused(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class PickerReady(Message):
    def __init__(self, kind: str, choices: list[tuple[str, str, bool]], current: str) -> None:
        super().__init__()
        self.kind = kind
        self.choices = choices
        self.current = current


class ScopedPodScreen(PodScreen):
    """A pod screen whose scope can change; the pods screen resets its rows in `scope_changed`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("colon", "command", "Command", tooltip="ns NAME, ctx NAME, all, l SELECTOR"),
        Binding("0", "all_namespaces", "All namespaces", show=False),
        Binding("E", "events", "Events", show=False),
    ]

    def _command_box(self) -> CommandLine | None:
        return next(self.query("#command").results(CommandLine), None)

    def _cluster(self) -> ClusterSource | None:
        source = self.kcrash.source
        if isinstance(source, ClusterSource):
            return source
        self.notify(OFFLINE, severity="warning", markup=False)
        return None

    async def action_command(self) -> None:
        if self._cluster() is None:
            return
        box = self._command_box()
        if box is None:
            # Not selected on focus: the focus event can land after the first keys of the same
            # read were typed, and selecting them then made the next key replace or split them.
            box = CommandLine(placeholder=USAGE, id="command", compact=True, select_on_focus=False)
            await self.mount(box, before="#body")
            self._read_names()
        box.value = ""
        box.display = True
        self.set_focus(box)  # now: the keys typed after `:` in the same read find it focused

    @work(thread=True, exclusive=True, exit_on_error=False, group="scope-names")
    def _read_names(self) -> None:
        source = self.kcrash.source
        if isinstance(source, ClusterSource):
            self.post_message(NamesRead(namespaces(source), context_names(source)))

    def on_names_read(self, message: NamesRead) -> None:
        box = self._command_box()
        if box is not None:
            box.namespaces, box.contexts = message.namespaces, message.contexts

    @on(Input.Submitted, "#command")
    def _command_entered(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.set_focus(self.query_one("#pods"))
        self.run_command(parse_command(event.value))

    def close_command_line(self) -> bool:
        """Escape in the command line closes it; False when it was not open."""
        box = self._command_box()
        if box is None or not box.has_focus:
            return False
        box.display = False
        self.set_focus(self.query_one("#pods"))
        return True

    def run_command(self, command: Command) -> None:
        source = self._cluster()
        if source is None or command.verb in ("none", "pods"):
            return
        if command.verb == "quit":
            self.app.exit(0)
        elif command.verb == "unknown":
            self.notify(f'unknown command "{command.word}"; {USAGE}', severity="warning", markup=False)
        elif command.verb == "all":
            self.action_all_namespaces()
        elif command.verb in ("ns", "ctx") and not command.arg:
            self._open_picker(command.verb)
        else:
            self._resolve(command)

    def action_events(self) -> None:
        from kcrash.ui.screens.events import EventsScreen

        self.kcrash.open_screen(EventsScreen())

    def action_all_namespaces(self) -> None:
        source = self._cluster()
        if source is not None and source.namespace is not None:
            self._resolve(Command("all"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="scope-switch")
    def _resolve(self, command: Command) -> None:
        source = self.kcrash.source
        if not isinstance(source, ClusterSource):
            return
        try:
            if command.verb == "all":
                self.post_message(ScopeReady(rescoped(source, all_namespaces=True), "all namespaces"))
            elif command.verb == "l":
                said = f"selector {command.arg}" if command.arg else "no selector"
                self.post_message(ScopeReady(rescoped(source, selector=command.arg), said))
            elif command.verb == "ns":
                known = namespaces(source)
                if known and command.arg not in known:
                    self.post_message(ScopeRefused(unknown_name("namespace", command.arg, known)))
                    return
                new = rescoped(source, namespace=command.arg)
                self.post_message(ScopeReady(new, f"namespace {command.arg}"))
            elif command.verb == "ctx":
                known = context_names(source)
                if command.arg not in known:
                    self.post_message(ScopeRefused(unknown_name("context", command.arg, known)))
                    return
                self.post_message(ScopeReady(rescoped(source, context=command.arg), f"context {command.arg}"))
        except KcrashError as exc:
            self.post_message(ScopeRefused(str(exc)))

    def on_scope_ready(self, message: ScopeReady) -> None:
        while self.app.screen is not self and len(self.app.screen_stack) > 1:
            self.app.pop_screen()  # a drill-down or log view of the old scope shows nothing true now
        self.remember_selection()
        self.kcrash.switch_scope(message.source)
        self.notify(f"Now showing {message.said}.", timeout=3, markup=False)

    def on_scope_refused(self, message: ScopeRefused) -> None:
        self.notify(message.text, severity="warning", timeout=8, markup=False)

    def remember_selection(self) -> None:
        """Screens remember what was selected in the scope being left; the pods screen does."""

    # ---- pickers ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="scope-picker")
    def _open_picker(self, kind: str) -> None:
        source = self.kcrash.source
        if not isinstance(source, ClusterSource):
            return
        if kind == "ctx":
            choices = [
                (name, "current" if name == source.context else "", False) for name in context_names(source)
            ]
            self.post_message(PickerReady("ctx", choices, source.context))
            return
        failing = self._failing_by_namespace(source)
        choices = []
        for name in namespaces(source):
            count = failing.get(name, 0) if failing is not None else None
            detail = "" if count is None else f"{count} failing"
            choices.append((name, detail, bool(count)))
        self.post_message(PickerReady("ns", choices, source.namespace or ""))

    def _failing_by_namespace(self, source: ClusterSource) -> Counter[str] | None:
        """Failing pods per namespace from one LIST of every pod; None when it may not be read."""
        now = self.kcrash.clock.now()
        try:
            pods = source.api.list_all_pods(None).items
        except KcrashError:
            return None
        return Counter(pod.namespace for pod in pods if build_row(pod, now, None).failing)

    def on_picker_ready(self, message: PickerReady) -> None:
        from kcrash.ui.screens.pickers import Choice, ChoicePicker

        if not message.choices:
            what = "namespaces" if message.kind == "ns" else "kubeconfig contexts"
            self.notify(f"The {what} cannot be listed here.", severity="warning", markup=False)
            return
        title = "Switch namespace" if message.kind == "ns" else "Switch context"
        choices = [Choice(name, detail, warn) for name, detail, warn in message.choices]

        def chosen(name: str | None) -> None:
            if name and name != message.current:
                self._resolve(Command("ns" if message.kind == "ns" else "ctx", name))

        self.kcrash.open_screen(ChoicePicker(title, choices, message.current), chosen)

    def current_scope(self) -> Scope | None:
        source = self.kcrash.source
        return scope_of(source) if isinstance(source, ClusterSource) else None
