"""The full log view of one container: current or previous instance, follow, search.

| Key | Action |
| :- | :- |
| p | Step back: current → previous instance → archived crashes, newest first → current |
| f | Follow new lines (current instance) on / off |
| / | Search; enter jumps to the first match |
| n / N | Next / previous match |
| home, g / end, G | Top / bottom |
| ] / [ | Next / previous pod of the list (its main container) |
| C | Another container of the pod (init and sidecar containers included) |
| t | Timestamps (the kubelet's) on / off |
| 0-6 | Tail, head (from the start), the last 1m, 5m, 15m, 30m, 1h (as in k9s) |
| ctrl+s | Save what is shown to a file (its path is shown) |
| escape | Close search, or back |

The buffer is bounded (MAX_LINES); following appends and never reloads. Lines are cleaned and
written as text, so nothing a container prints can steer the terminal or the app; tabs are set at
8-column stops. A container that never restarted has no previous instance: the view opens on
the current one and says why.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, RichLog, Static
from textual.worker import Worker, get_current_worker

from kcrash.cluster.logs import LogResult
from kcrash.cluster.source import ClusterSource
from kcrash.core.logchoice import log_to_open
from kcrash.core.records import Pod
from kcrash.core.sanitize import clean_line
from kcrash.core.status import primary_container
from kcrash.history.crash import Crash
from kcrash.ui.context import child_or_none, console
from kcrash.ui.failures import report_worker_failure
from kcrash.ui.screens.matches import MatchNavigation
from kcrash.ui.sections import TROUBLE, dying_words

MAX_LINES = 5000
TAIL_LINES = 1000
TAB_SIZE = 8
NO_PREVIOUS = "never restarted: no previous instance"
WINDOWS: tuple[tuple[str, int | None], ...] = (
    ("tail", None),
    ("head", None),
    ("1m", 60),
    ("5m", 5 * 60),
    ("15m", 15 * 60),
    ("30m", 30 * 60),
    ("1h", 60 * 60),
)
"""The presets of keys 0-6, as k9s has them: (name, seconds back; None for the tail and the head)."""
OFFLINE_WINDOW = "pastes keep no times: the whole pasted log is shown"


class LogView(RichLog):
    """A RichLog whose highlight colours come from the theme."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"log-view--dying", "log-view--match", "log-view--trouble"}

    DEFAULT_CSS = """
    LogView {
        background: $surface;
        & > .log-view--dying { color: $error; text-style: bold; }
        & > .log-view--match { background: $accent 40%; text-style: bold; }
        & > .log-view--trouble { color: $warning; }
    }
    """


class LogLoaded(Message):
    def __init__(self, generation: int, result: LogResult) -> None:
        super().__init__()
        self.generation = generation
        self.result = result


class LogLinesArrived(Message):
    """Followed lines are waiting in the screen's inbox; consecutive messages collapse."""

    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LogLinesArrived) and message.generation == self.generation


class LogSaved(Message):
    """Where the lines went (`path`), or why they could not be written (`error`)."""

    def __init__(self, path: str, count: int, error: str) -> None:
        super().__init__()
        self.path = path
        self.count = count
        self.error = error


class LogScreen(MatchNavigation, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("p", "toggle_previous", "Step back"),
        Binding("f", "toggle_follow", "Follow"),
        Binding("slash", "search", "Search"),
        Binding("n", "next_match", "Next", show=False),
        Binding("N", "previous_match", "Prev match", show=False),
        Binding("home,g", "top", "Top", show=False),
        Binding("end,G", "bottom", "Bottom", show=False),
        Binding("right_square_bracket", "step_pod(1)", "Next pod", show=False),
        Binding("left_square_bracket", "step_pod(-1)", "Previous pod", show=False),
        Binding("C", "pick_container", "Container"),
        Binding("t", "toggle_timestamps", "Timestamps", show=False),
        *(Binding(str(n), f"window({n})", WINDOWS[n][0], show=False) for n in range(len(WINDOWS))),
        Binding("ctrl+s", "save", "Save", show=False),
    ]

    def __init__(self, key: tuple[str, str], container: str, previous: bool | None = None) -> None:
        """`previous` None: the previous instance when there is one, else the current one."""
        super().__init__(id="log-screen")
        self.key = key
        self.container = container
        self._note = ""
        self._choose = previous is None  # decided on mount, from the pod as the store has it
        self.previous = previous is not False
        self.archived: Crash | None = None
        """The archived crash shown (older than the previous instance), None for a live log."""
        self._older: list[Crash] = []  # archived crashes older than the previous instance, newest first
        self.following = False
        self.query_text = ""
        self.lines: deque[str] = deque(maxlen=MAX_LINES)
        self.matches: list[int] = []
        self.match_index = -1
        self._generation = 0
        self._inbox: list[str] = []
        self._inbox_lock = threading.Lock()
        self._follower_lock = threading.Lock()  # the worker hands its stream over; a stop takes it
        self._follower: Iterator[str] | None = None
        self._status = "loading…"
        self._starts: list[int] = []
        """Visual line where each log line starts (lines wrap)."""
        self._visual_lines = 0
        self._rendered_width = 0
        self.window = 0
        """Which of WINDOWS is read (0: the tail)."""
        self.timestamps = False

    def compose(self) -> ComposeResult:
        yield Static(id="log-title")
        yield LogView(max_lines=MAX_LINES, wrap=False, highlight=False, markup=False, id="log")
        yield Input(
            placeholder="search (enter: first match, n/N: next/previous)", id="log-search", compact=True
        )
        yield Footer(compact=True)

    @property
    def view(self) -> LogView:
        return self.query_one("#log", LogView)

    def on_mount(self) -> None:
        if self._choose:
            self.previous = self._previous_exists()
            self._note = "" if self.previous else NO_PREVIOUS
        self.query_one("#log-search", Input).display = False
        self.view.focus()
        self._reload()
        self._load_older()

    @work(thread=True, exclusive=True, exit_on_error=False, group="log-archive")
    def _load_older(self) -> None:
        """The archived crashes `p` steps back through after the previous instance."""
        from kcrash.history.recorder import workload_of

        app = console(self)
        pod = self.pod
        if app.archive is None or pod is None:
            return
        status = pod.status_for(self.container)
        live = (
            {place.container_id for place in (status.state, status.last_state) if place} if status else set()
        )
        found = app.archive.crashes(namespace=pod.namespace, pod=pod.name, workload=workload_of(pod) or None)
        older = [
            c
            for c in found
            if c.container_id not in live and (c.container == self.container or c.pod != pod.name)
        ]
        self.app.call_from_thread(setattr, self, "_older", older)

    @property
    def pod(self) -> Pod | None:
        app = console(self)
        return app.store.get(self.key)

    def _previous_exists(self) -> bool:
        pod = self.pod
        return pod is None or log_to_open(pod.status_for(self.container)) == "previous"

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self.app, event)

    # ---- title -----------------------------------------------------------------------------

    def _draw_title(self) -> None:
        which = "previous" if self.previous else "current"
        sep = (" · ", "$text-muted")
        parts: list[str | tuple[str, str]] = [
            (which, "bold $accent" if self.previous else "bold $success"),
        ]
        crash = self.archived
        if crash is not None:
            moment = crash.moment.strftime("%Y-%m-%d %H:%M:%S UTC") if crash.moment else "?"
            where = f" of pod/{clean_line(crash.pod)}" if crash.pod != self.key[1] else ""
            parts = [
                (f"crash #{crash.restart}{where}", "bold $error"),
                sep,
                (f"archived, died {moment}", "$accent"),
            ]
        if self.following:
            parts += [sep, ("following", "bold $success")]
        if self.window:
            name = WINDOWS[self.window][0]
            parts += [sep, ("from the start" if name == "head" else f"last {name}", "bold $accent")]
        if self.timestamps:
            parts += [sep, ("timestamps", "$accent")]
        if self.query_text:
            found = f"{self.match_index + 1}/{len(self.matches)}" if self.matches else "no match"
            parts += [sep, ("/" + self.query_text + " ", "$accent"), (found, "bold")]
        if self._note and not self.previous:
            parts += [sep, (self._note, "$warning")]
        if self._status:
            parts += [sep, (self._status, "$text-muted")]
        parts += [sep, (clean_line(self.container), "bold"), sep, ("pod/" + clean_line(self.key[1]), "")]
        title = child_or_none(self, "#log-title", Static)
        if title is not None:
            title.update(Content.assemble(*parts))

    # ---- loading ---------------------------------------------------------------------------

    @property
    def _alive(self) -> bool:
        """Still showing: a key of the same read as the Escape that closed the view finds no widgets."""
        return self.is_attached and bool(self.query("#log"))

    def _reload(self) -> None:
        if not self._alive:
            return
        self._generation += 1  # first: a follow stream still being opened sees it and closes itself
        self._stop_follow()
        self.lines.clear()
        self.view.clear()
        self._starts = []
        self._visual_lines = 0
        self._status = "loading…"
        self._draw_title()
        pod = self.pod
        if pod is None:
            self._status = "the pod is gone"
            self._draw_title()
            return
        self._load(self._generation, pod, self.container, self.previous, self.archived)

    @work(thread=True, exclusive=True, exit_on_error=False, group="log-load")
    def _load(
        self, generation: int, pod: Pod, container: str, previous: bool, archived: Crash | None
    ) -> None:
        app = console(self)
        source = app.source
        if archived is not None and app.archive is not None:
            crash = app.archive.crash(archived.id)
            if crash is None:
                result = LogResult("", error="this crash is no longer in the archive (pruned)")
            else:
                result = LogResult(
                    crash.log, error="" if crash.log else f"no log was kept: {crash.log_error}"
                )
        elif isinstance(source, ClusterSource):
            name, since = WINDOWS[self.window]
            result = source.read_log_window(
                pod,
                container,
                previous,
                tail_lines=None if name == "head" else MAX_LINES if since else TAIL_LINES,
                since_seconds=since,
                timestamps=self.timestamps,
            )
        else:
            result = source.read_log(pod, container, previous=previous, tail_lines=TAIL_LINES)
        self.post_message(LogLoaded(generation, result))

    def on_log_loaded(self, message: LogLoaded) -> None:
        if message.generation != self._generation:
            return
        result = message.result
        if result.error:
            self._status = ""
            # Wrapped like the log lines: the reason must be readable whole.
            error = Text(clean_line(result.error), style="italic", end="")
            for piece in error.wrap(self.app.console, self._wrap_width, overflow="fold"):
                piece.end = ""
                self.view.write(piece)
            self._draw_title()
            return
        text = result.text
        if text.endswith("\n"):
            text = text[:-1]
        lines = [clean_line(line, tab_size=TAB_SIZE) for line in text.split("\n")] if text else []
        if WINDOWS[self.window][0] == "head":
            lines = lines[:MAX_LINES]  # from the start: the first lines are the point
        self.lines.extend(lines)
        self._status = f"{len(self.lines)} lines" + (
            " (cut to fit the size limit)" if result.truncated else ""
        )
        self._render_all()
        if self.following:
            self._start_follow()

    def _render_all(self, keep_position: bool = False) -> None:
        view = self.view
        top = view.scroll_y
        view.clear()
        self._starts = []
        self._visual_lines = 0
        self._rendered_width = self._wrap_width
        lines = list(self.lines)
        dying = dying_words(lines) if self.previous else set()
        for index, line in enumerate(lines):
            self._write(line, index in dying, scroll_end=False)
        self._recompute_matches()
        if keep_position:
            view.scroll_to(y=top, animate=False, immediate=True)
        else:
            view.scroll_end(animate=False, immediate=True)
        self._draw_title()

    def _write(self, line: str, dying: bool, scroll_end: bool) -> None:
        """Write one log line, wrapped to the view's width here so matches can be jumped to."""
        self._starts.append(self._visual_lines)
        for piece in self._styled(line, dying).wrap(self.app.console, self._wrap_width, overflow="fold"):
            piece.end = ""
            self.view.write(piece, scroll_end=scroll_end)
            self._visual_lines += 1

    @property
    def _wrap_width(self) -> int:
        return max(20, self.view.scrollable_content_region.width - 1)

    def _styled(self, line: str, dying: bool) -> Text:
        text = Text(line, end="")
        view = self.view
        if dying:
            text.stylize(view.get_component_rich_style("log-view--dying"))
        elif TROUBLE.search(line):
            text.stylize(view.get_component_rich_style("log-view--trouble"))
        if self.query_text:
            match_style = view.get_component_rich_style("log-view--match")
            text.highlight_words([self.query_text], match_style, case_sensitive=False)
        return text

    def on_resize(self) -> None:
        if self.lines and self._rendered_width != self._wrap_width:
            self._render_all(keep_position=True)

    # ---- follow ----------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        if self.following:
            self.following = False
            self._stop_follow()
            self._draw_title()
            return
        self.following = True
        if self.previous:
            self.previous = False
            self.archived = None
            self._reload()  # follow reads the current instance; the load starts following
        else:
            self._start_follow()
            self._draw_title()

    def _start_follow(self) -> None:
        pod = self.pod
        if pod is not None:
            self._follow(self._generation, pod, self.container)

    @work(thread=True, exclusive=True, exit_on_error=False, group="log-follow")
    def _follow(self, generation: int, pod: Pod, container: str) -> None:
        source = console(self).source
        if isinstance(source, ClusterSource):
            follower = source.follow_log(pod, container, timestamps=self.timestamps)
        else:
            follower = source.follow_log(pod, container)
        worker = get_current_worker()
        with self._follower_lock:
            # A stop (Escape, quit, reload) while the stream was being opened found no stream to
            # close: this one would then block in a read nobody ends, and the app could not exit.
            stale = worker.is_cancelled or generation != self._generation or not self.following
            if not stale:
                self._follower = follower
        if stale:
            close = getattr(follower, "close", None)
            if close is not None:
                close()
            return
        try:
            for chunk in follower:
                if worker.is_cancelled or generation != self._generation or not self.following:
                    return
                with self._inbox_lock:
                    first = not self._inbox
                    self._inbox.extend(chunk.rstrip("\n").split("\n"))
                if first:
                    self.post_message(LogLinesArrived(generation))
        finally:
            close = getattr(follower, "close", None)
            if close is not None:
                close()

    def on_log_lines_arrived(self, message: LogLinesArrived) -> None:
        with self._inbox_lock:
            new, self._inbox = self._inbox, []
        if message.generation != self._generation:
            return
        at_bottom = self.view.scroll_y >= self.view.max_scroll_y - 1
        start = len(self.lines)
        if len(self.lines) + len(new) > MAX_LINES:
            # The bounded buffer drops its oldest lines: redraw so positions stay true.
            self.lines.extend(clean_line(raw, tab_size=TAB_SIZE) for raw in new)
            self._render_all(keep_position=not at_bottom)
            return
        for raw in new:
            line = clean_line(raw, tab_size=TAB_SIZE)
            self.lines.append(line)
            self._write(line, False, scroll_end=at_bottom)
        if self.query_text:
            self._recompute_matches()
        self._status = f"{min(start + len(new), MAX_LINES)} lines"
        self._draw_title()

    def _stop_follow(self) -> None:
        with self._follower_lock:
            follower, self._follower = self._follower, None
        close = getattr(follower, "close", None)
        if close is not None:
            close()

    def on_unmount(self) -> None:
        self.following = False
        self._stop_follow()

    # ---- previous / current ----------------------------------------------------------------

    def action_toggle_previous(self) -> None:
        """current → previous → archived crashes, newest first → current again."""
        if not self.previous:
            self.previous, self.following = True, False
        else:
            self.archived = self._older_than(self.archived)
            self.previous = self.archived is not None
        self._reload()

    def _older_than(self, shown: Crash | None) -> Crash | None:
        if shown is None:
            return self._older[0] if self._older else None
        ids = [crash.id for crash in self._older]
        index = ids.index(shown.id) + 1 if shown.id in ids else len(ids)
        return self._older[index] if index < len(ids) else None

    # ---- another pod -----------------------------------------------------------------------

    def action_step_pod(self, step: int) -> None:
        app = console(self)
        key = app.neighbour_pod(self.key, step)
        pod = app.store.get(key) if key is not None else None
        if key is None or pod is None:
            self.notify("No more pods that way.", timeout=2, markup=False)
            return
        self.key, self.container = key, primary_container(pod)
        self.previous = self._previous_exists() and not self.following
        self._note = "" if self._previous_exists() else NO_PREVIOUS
        self._reload()

    # ---- container, timestamps, window -----------------------------------------------------

    def action_pick_container(self) -> None:
        from kcrash.ui.screens.pickers import ContainerMenu, container_choices

        pod = self.pod
        if pod is None:
            self.notify("The pod is gone.", severity="warning", markup=False)
            return

        def chosen(name: str | None) -> None:
            if name and name != self.container:
                self._show_container(name)

        console(self).open_screen(ContainerMenu(pod.name, container_choices(pod), self.container), chosen)

    def _show_container(self, name: str) -> None:
        self.container = name
        exists = self._previous_exists()
        self.previous = exists and not self.following
        self._note = "" if exists else NO_PREVIOUS
        self._reload()

    def action_toggle_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self._reload()

    def action_window(self, preset: int) -> None:
        if not isinstance(console(self).source, ClusterSource):
            self.notify(OFFLINE_WINDOW, timeout=3, markup=False)
            return
        self.window = preset
        self._reload()

    # ---- saving ----------------------------------------------------------------------------

    def action_save(self) -> None:
        if not self.lines:
            self.notify("Nothing to save yet.", severity="warning", markup=False)
            return
        which = "previous" if self.previous else "current"
        self._save(self.key, self.container, which, list(self.lines))

    @work(thread=True, exclusive=True, exit_on_error=False, group="log-save")
    def _save(self, key: tuple[str, str], container: str, which: str, lines: list[str]) -> None:
        from kcrash.ui.saving import save_log

        self.post_message(LogSaved(*save_log(key, container, which, lines, console(self).clock.now())))

    def on_log_saved(self, message: LogSaved) -> None:
        if message.error:
            self.notify(message.error, title="Not saved", severity="error", timeout=8, markup=False)
        else:
            self.notify(message.path, title=f"Saved {message.count:,} lines", timeout=8, markup=False)

    # ---- search ----------------------------------------------------------------------------

    def action_search(self) -> None:
        box = self.query_one("#log-search", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#log-search")
    def _search(self, event: Input.Submitted) -> None:
        self.query_text = event.value.strip()
        event.input.display = bool(self.query_text)
        self.view.focus()
        self._render_all()
        self.match_index = -1
        self.action_next_match()

    def _recompute_matches(self) -> None:
        needle = self.query_text.lower()
        self.matches = [i for i, line in enumerate(self.lines) if needle and needle in line.lower()]
        self.match_index = min(self.match_index, len(self.matches) - 1)

    def action_back(self) -> None:
        box = self.query_one("#log-search", Input)
        if box.has_focus:
            box.display = bool(self.query_text)
            self.view.focus()
            return
        self.dismiss()
