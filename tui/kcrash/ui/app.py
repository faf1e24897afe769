"""The kcrash console: one App fed by the cluster source's reflector, and `make_app` to build it.

Watch events arrive on the reflector's thread. They are put in an inbox under a lock, which keeps
only the latest event per pod (each carries the whole object, so the last one decides), and one
`PodsArrived` message is posted; consecutive messages collapse. The handler moves the inbox into
the store and the screens a slice at a time for at most `APPLY_BUDGET` seconds; what is left waits
for the event loop's next turn, still coalesced, so a key pressed during a flood of events is
answered after one slice, not after the whole backlog (a pod changed twice meanwhile is rebuilt
once). The store lives on the UI thread and only the UI thread touches it; every slice leaves the
store and the rows in step.

The rows of a full list are built with the cyclic garbage collector paused and then frozen out
of its reach, like the records the reflector built (see `reflector.FREEZE_FROM`): otherwise every
full collection walks millions of objects, a pause of a tenth of a second or more in the middle
of a busy watch. On a busy cluster the new pod versions pile up the same way, so every
`SETTLE_SECONDS` what survived since is frozen too, once at least `SETTLE_VERSIONS` arrived: a
full collection then walks a thousand pod versions at most (tens of milliseconds), not every
version since the last freeze. A frozen object that later becomes cyclic garbage (a closed
screen's widgets) is only reclaimed by a full sweep, done every `SWEEP_SECONDS` while anything is
frozen; the lines Textual draws no longer are such objects (`kcrash.ui.strips`).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from itertools import islice
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input
from textual.worker import Worker

from kcrash.cluster.alertfeed import deployment_states, newest_samples
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.reflector import FREEZE_FROM, SyncState, gc_paused
from kcrash.cluster.retry import Wait
from kcrash.cluster.source import Access, ClusterSource
from kcrash.core.alerts import AlertConfig, OwnerKey, owner_of
from kcrash.core.records import Pod
from kcrash.core.store import Delta, PodStore
from kcrash.ui.alerts import AlertDesk, load_console_config
from kcrash.ui.clock import Clock, SystemClock
from kcrash.ui.crashlog import write_crash_log
from kcrash.ui.escapes import install as install_escape_parser
from kcrash.ui.failures import report_worker_failure
from kcrash.ui.history import TerminationLog
from kcrash.ui.keygate import POLL_S, KeyGate
from kcrash.ui.messages import (
    AccessKnown,
    AlertReads,
    CrashArchived,
    PodsArrived,
    PodsChanged,
    SyncChanged,
    Throttled,
)
from kcrash.ui.patches import apply_textual_patches
from kcrash.ui.screens.alerts import AlertsScreen
from kcrash.ui.screens.help import HelpScreen
from kcrash.ui.screens.pods import PodsScreen
from kcrash.ui.themes import DEFAULT_THEME, load_themes, resolve_theme_name
from kcrash.ui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from kcrash.history.archive import Archive
    from kcrash.history.crash import Crash
    from kcrash.history.recorder import Recorder
    from kcrash.ui.offline import OfflineSource

SWITCH_INTERVAL = 0.001
"""Seconds a thread holds the interpreter lock while another waits for it (Python's default is
0.005). The watch thread decodes events in long runs of bytecode; with the default, a key's answer
waited up to 5 ms at each hand-over to and from it (measured at 20,000 pods and 1,000 events/s:
cursor key p95 73 -> 56 ms, the process's CPU no higher)."""

SETTLE_SECONDS = 1.0

ALERT_READS_SECONDS = 30.0
"""How often the console reads what the pod watch does not carry for its alerts: the Deployments'
conditions (one LIST) and the memory samples the sampler already holds."""
SETTLE_VERSIONS = 1000
"""Pod versions received since the last freeze that make the next settle collect and freeze."""
SWEEP_SECONDS = 3600.0
"""How often frozen objects are let go and swept (about half a second at 20,000 pods)."""

APPLY_BUDGET = 0.008
"""Seconds spent applying watch events before keys and the screen get a turn."""
APPLY_SLICE = 64
"""Events applied between looks at the clock (a few milliseconds' worth at most)."""

Key = tuple[str, str]


class _Inbox:
    """Watch deliveries waiting for the UI thread; the only state shared across threads.

    Only the latest event of each pod is kept: every event carries the whole object, so applying
    the last one leaves the store as applying them all would (a pod added then deleted meanwhile
    is deleted from a store that never had it: no change).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[Key, tuple[str, Pod]] = {}
        self._resync: list[Pod] | None = None
        self._posted = False

    def add_events(self, events: Sequence[tuple[str, Pod]]) -> bool:
        """Queue events; True when the caller should post a message (none is pending)."""
        with self._lock:
            latest = self._events
            for kind, pod in events:
                latest[pod.key] = (kind, pod)
            return self._claim()

    def add_resync(self, pods: Sequence[Pod]) -> bool:
        """A relist replaces everything queued before it."""
        with self._lock:
            self._resync = list(pods)
            self._events.clear()
            return self._claim()

    def _claim(self) -> bool:
        if self._posted:
            return False
        self._posted = True
        return True

    def take(self, limit: int) -> tuple[list[Pod] | None, list[tuple[str, Pod]], bool]:
        """The pending relist (if any), up to `limit` events (oldest pods first) and whether more
        wait. While more wait the inbox stays claimed: the watch thread posts no message, the
        taker comes back for them."""
        with self._lock:
            resync, self._resync = self._resync, None
            pending = self._events
            if len(pending) <= limit:
                events, self._events = list(pending.values()), {}
            else:
                events = [pending.pop(key) for key in list(islice(pending, limit))]
            more = bool(self._events)
            if not more:
                self._posted = False
            return resync, events, more


class KcrashApp(App[int]):
    """Pods that crash-loop, why, and what to do now."""

    CSS_PATH = "app.tcss"
    TITLE = "kcrash"
    # ctrl+p opens the palette, which offers the scope commands of `:` (kcrash.ui.palette) beside
    # Textual's own. Not "enabled" as Textual means it: that puts "^p palette" in every footer,
    # where at 80 columns it pushed out the screen's own keys.
    ENABLE_COMMAND_PALETTE = False
    COMMANDS = App.COMMANDS | {lambda: _scope_commands()}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", tooltip="Leave kcrash"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help"),
        Binding("exclamation_mark", "alerts", "Alerts", show=False),
        Binding("T", "next_theme", "Theme", show=False),
        Binding("ctrl+p", "command_palette", "Palette", show=False),
    ]

    crash_log: str = ""
    """Where the traceback of an error that ended the app was written ("" if none did)."""

    offline_banner = ""
    """`offline · as of TIME · from FILE` when the pods come from pastes (`ui.offline`); "" on a cluster."""

    def __init__(
        self,
        source: ClusterSource | OfflineSource,
        *,
        clock: Clock | None = None,
        theme: str = DEFAULT_THEME,
        tick_seconds: float = 1.0,
        metrics_seconds: float = 5.0,
        alert_config: AlertConfig | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        install_escape_parser()  # Escape then a key read together stays two keys
        super().__init__()
        self.source = source
        self.recorder = recorder
        """Archives the crashes the watch shows while the console runs (None: no archive)."""
        self.archive: Archive | None = recorder.archive if recorder is not None else None
        self.archive_note = ""
        """Why there is no archive when one could not be opened ("" otherwise)."""
        self.clock: Clock = clock or SystemClock()
        self.store = PodStore()
        self.terminations = TerminationLog()
        self.failing: set[tuple[str, str]] = set()
        """Keys of the pods judged failing (kept by the pods screen, read by every header)."""
        self._drilled: set[tuple[str, str]] = set()  # pods drilled into this session
        self._history_keys: frozenset[tuple[str, str]] = frozenset()
        self._history_lock = threading.Lock()  # one hand-over to the sampler at a time
        self.sync_state = SyncState("connecting")
        self.access: Access | None = None
        self.tick_seconds = tick_seconds
        self.metrics_seconds = metrics_seconds
        self.use_command_palette = True
        self.interactive_runs: list[tuple[list[str], int]] = []
        """Every command `run_interactive` ran, with its exit status (newest last)."""
        self._inbox = _Inbox()
        self._scope_switches = 0
        self._keys = KeyGate(ready=self._screen_ready, target=self._key_target)
        self._key_timer_armed = False
        self._switch_interval = sys.getswitchinterval()  # put back when the app ends
        self._unfrozen_versions = 0
        self._frozen = False  # gc.get_freeze_count() would say, but it walks every frozen object
        self._swept_at = time.monotonic()
        self._alert_config_error = ""
        self._deployments_readable = True
        if alert_config is None:
            alert_config, self._alert_config_error = load_console_config()
        self.alert_desk = AlertDesk(
            self, alert_config, on_change=self._alerts_changed, on_marks=self._marks_changed
        )
        self.kcrash_themes = load_themes()
        for theme_obj in self.kcrash_themes:
            self.register_theme(theme_obj)
        self._start_on_theme(resolve_theme_name(theme, self.kcrash_themes))

    def _start_on_theme(self, name: str) -> None:
        """Set the first theme as `App._watch_theme` does, but without the refresh it queues: the
        stylesheet is not parsed yet (startup parses it with this theme's variables), so that
        refresh parsed every rule a second time, about 45 ms of a 1 s launch. Later switches go
        through `self.theme` and its watcher."""
        self.set_reactive(App.theme, self._validate_theme(name))
        dark = self.current_theme.dark
        themes = {c: False for c in self.classes if c.startswith("-theme-")}
        self.update_classes(
            {**themes, f"-theme-{name}": True, "-dark-mode": dark, "-light-mode": not dark},
            update=False,
        )
        self._refresh_truecolor_filter(self.ansi_theme)
        self.stylesheet.set_variables(self.get_css_variables())  # App.__init__ set the default's

    # ---- facts the screens ask for ---------------------------------------------------------

    @property
    def read_only(self) -> bool:
        return self.source.read_only

    @property
    def all_namespaces(self) -> bool:
        return self.source.namespace is None

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # Textual's own themes lack kcrash's variables; fall back to its semantic colours.
        return {
            "crashloop": "ansi_bright_red",
            "oom": "ansi_bright_magenta",
            "chart-limit": "ansi_red",
            "chart-usage": "ansi_cyan",
            "chart-request": "ansi_green",
        }

    def follow_memory(self, opened: tuple[str, str] | None = None) -> None:
        """Keep the full memory history (the chart's) for failing pods and the pods opened; every
        other pod keeps a short one, so 20,000 pods do not hold an hour of samples each."""
        if opened is not None:
            self._drilled.add(opened)
            if self.recorder is not None:
                self.recorder.keep_memory_of(opened)
        wanted = frozenset(self.failing | self._drilled)
        if wanted != self._history_keys:
            self._history_keys = wanted
            self._tell_sampler()

    @work(thread=True, exit_on_error=False, group="memory-history")
    def _tell_sampler(self) -> None:
        """Hand the sampler the latest marks. Not on the UI thread: re-marking trims the rings of
        the pods unmarked under the sampler's lock, which a round of 20,000 samples also holds
        while it stores them. Whichever worker comes last reads the latest marks, so they never
        go back to older ones."""
        with self._history_lock:
            self.source.keep_history(self._history_keys)

    # ---- lifecycle -------------------------------------------------------------------------

    def on_mount(self) -> None:
        sys.setswitchinterval(SWITCH_INTERVAL)
        self.set_interval(SETTLE_SECONDS, self._settle_garbage)
        self.push_screen(PodsScreen())
        self.set_interval(1.0, lambda: self.alert_desk.tick(self.clock.now()))
        self.set_interval(ALERT_READS_SECONDS, self._read_for_alerts)
        if self._alert_config_error:
            self.notify(self._alert_config_error, severity="warning", timeout=10, markup=False)
        if self.recorder is not None:
            self.recorder.listen(self._crash_archived)
            self.recorder.start()
        self._begin_watch()
        self._check_access()

    @work(thread=True, exclusive=True, exit_on_error=False, group="watch")
    def _begin_watch(self) -> None:
        if isinstance(self.source, ClusterSource):
            self.source.api.retrier.listen(self._on_wait)
        inbox = self._inbox
        if self._scope_switches == 0:
            self.source.watch_pods(self._on_events, self._on_resync, self._on_state)
            return

        # After a switch of scope, what the old source still delivers goes nowhere.
        def current() -> bool:
            return inbox is self._inbox

        self.source.watch_pods(
            lambda events: self._on_events(events) if current() else None,
            lambda pods: self._on_resync(pods) if current() else None,
            lambda state: self._on_state(state) if current() else None,
        )

    def _move_recorder(self, old: ClusterSource | OfflineSource, source: ClusterSource) -> None:
        """The crash archive is one cluster's: another namespace or selector of it goes on
        recording into it; another context stops the recording (its crashes are not this archive's)."""
        if self.recorder is None or not isinstance(old, ClusterSource):
            return
        if (source.server, source.context) == (old.server, old.context):
            self.recorder.source = source
            return
        threading.Thread(target=self.recorder.stop, name="kcrash-old-recorder", daemon=True).start()
        self.recorder = None
        self.archive_note = "not recorded after the switch to another context: start kcrash on it to archive"

    def switch_scope(self, source: ClusterSource) -> None:
        """Look at another scope (namespace, selector, context) without a restart: the store and
        the rows start empty, the new source's LIST+WATCH and memory sampler start, the old one
        stops (on a thread: stopping waits for its watch to let go). Screens with a
        `scope_changed` method are told."""
        old, self.source = self.source, source
        self._scope_switches += 1
        self._inbox = _Inbox()
        self.store = PodStore()
        self.terminations = TerminationLog()
        self.failing.clear()
        self._drilled.clear()
        self._history_keys = frozenset()
        self.sync_state = SyncState("connecting")
        self.access = None
        threading.Thread(target=old.stop, name="kcrash-old-scope", daemon=True).start()
        self._move_recorder(old, source)
        for screen in self.screen_stack:
            changed = getattr(screen, "scope_changed", None)
            if changed is not None:
                changed()
        self._begin_watch()
        self._check_access()

    def _on_wait(self, wait: Wait) -> None:
        self.post_message(Throttled(wait.words))

    def on_throttled(self, message: Throttled) -> None:
        """While the table waits for the server, the header says why: "throttled, retrying in 3s".
        Judged here, in order with the reflector's states: never over a view that is live."""
        if not self.sync_state.live:
            self.on_sync_changed(SyncChanged(replace(self.sync_state, last_error=message.words)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="access")
    def _check_access(self) -> None:
        self.post_message(AccessKnown(self.source.access()))

    def on_access_known(self, message: AccessKnown) -> None:
        self.access = message.access
        for screen in self.screen_stack:
            screen.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)

    async def action_quit(self) -> None:
        self.exit(0)

    def on_unmount(self) -> None:
        self.source.stop()
        if self.recorder is not None:
            self.recorder.stop()
        sys.setswitchinterval(self._switch_interval)

    # ---- reflector thread side -------------------------------------------------------------

    def _on_events(self, events: list[tuple[str, Pod]]) -> None:
        if self.recorder is not None:
            self.recorder.on_events(events)
        if self._inbox.add_events(events):
            self.post_message(PodsArrived())

    def _on_resync(self, pods: list[Pod]) -> None:
        if self.recorder is not None:
            self.recorder.on_resync(pods)
        if self._inbox.add_resync(pods):
            self.post_message(PodsArrived())

    def _on_state(self, state: SyncState) -> None:
        self.post_message(SyncChanged(state))

    # ---- UI thread side --------------------------------------------------------------------

    def on_pods_arrived(self, _: PodsArrived) -> None:
        """Apply what the watch delivered for at most APPLY_BUDGET; the rest on the loop's next turn."""
        started = time.monotonic()
        while True:
            resync, events, more = self._inbox.take(APPLY_SLICE)
            if resync is None:
                self._take(None, events)
            else:
                with gc_paused():  # a full list builds a row per pod: no collections half way through
                    self._take(resync, events)
                if len(resync) >= FREEZE_FROM:
                    gc.freeze()
                    self._frozen = True
                    self._unfrozen_versions = 0
            if not more:
                return
            if time.monotonic() - started >= APPLY_BUDGET:
                # Come back on the event loop's next turn, after the keys and the frame due by
                # then (a message posted now would be handled next, before them). The inbox
                # stays claimed meanwhile, so the watch thread posts nothing.
                asyncio.get_running_loop().call_soon(self.post_message, PodsArrived())
                return

    def _settle_garbage(self) -> None:
        """Freeze the pod versions that arrived since the last freeze (see the module docstring)."""
        now = time.monotonic()
        if self._frozen and now - self._swept_at >= SWEEP_SECONDS:
            self._swept_at = now
            gc.unfreeze()
            gc.collect()
        elif self._unfrozen_versions >= SETTLE_VERSIONS:
            gc.collect(1)  # young cycles (messages, finished workers) die now, not frozen
        else:
            return
        gc.freeze()
        self._frozen = True
        self._unfrozen_versions = 0

    def _take(self, resync: list[Pod] | None, events: list[tuple[str, Pod]]) -> None:
        touched: set[tuple[str, str]] = set()
        if resync is not None:
            touched |= _keys(self.store.replace_all(resync))
        if events:
            touched |= _keys(self.store.apply_batch(events))
            self._unfrozen_versions += len(events)
        for key in touched:
            pod = self.store.get(key)
            if pod is None:
                self.terminations.forget(key)
            else:
                self.terminations.observe(pod)
        self.alert_desk.observe(self.store, resync is not None, touched, self.clock.now())
        if touched or resync is not None:
            self._broadcast(PodsChanged(frozenset(touched), resync=resync is not None))

    # ---- alerts ----------------------------------------------------------------------------

    def _alerts_changed(self) -> None:
        """The header's badge on every screen, and the alert list when it is open."""
        count = self.alert_desk.unacknowledged
        for screen in self.screen_stack:
            for line in screen.query(StatusLine):
                line.change(alerts=count)
            if isinstance(screen, AlertsScreen) and screen.is_mounted:
                screen.alerts_changed()

    def _marks_changed(self, owners: set[OwnerKey]) -> None:
        """Redraw the rows of the pods whose OOM mark came or went."""
        namespaces = {namespace for namespace, _ in owners}
        keys = frozenset(
            p.key
            for p in self.store.values()
            if p.namespace in namespaces and (p.namespace, owner_of(p)) in owners
        )
        if keys:
            self._broadcast(PodsChanged(keys))

    def _read_for_alerts(self) -> None:
        """What the pod watch does not say: the Deployments' conditions and the memory samples."""
        if isinstance(self.source, ClusterSource) and self.alert_desk.engine.started:
            self._alert_reads(list(self.store.values()))

    @work(thread=True, exclusive=True, exit_on_error=False, group="alert-reads")
    def _alert_reads(self, pods: list[Pod]) -> None:
        assert isinstance(self.source, ClusterSource)
        config = self.alert_desk.config
        states = None
        if config.rule("deployment-stuck").enabled and self._deployments_readable:
            try:
                states = deployment_states(self.source.api, self.source.namespace, self.source.selector)
            except KcrashError as exc:
                # Not allowed or not served: stop asking; anything else is tried next round.
                self._deployments_readable = exc.status not in (403, 404)
        samples = newest_samples(pods, self.source.memory) if config.rule("memory-high").enabled else []
        self.post_message(AlertReads(states, samples))

    def on_alert_reads(self, message: AlertReads) -> None:
        now = self.clock.now()
        if message.deployments is not None:
            self.alert_desk.deployments(message.deployments, now)
        self.alert_desk.memory(message.samples, now)

    def action_alerts(self) -> None:
        self.open_screen(AlertsScreen())

    def _crash_archived(self, crash: Crash) -> None:
        """On the recorder's thread: tell the UI thread."""
        self.post_message(CrashArchived((crash.namespace, crash.pod)))

    def on_crash_archived(self, message: CrashArchived) -> None:
        from kcrash.ui.widgets.detail import DetailPane

        for screen in self.screen_stack:
            for pane in screen.query(DetailPane):
                pane.crash_archived(message.key)

    def on_sync_changed(self, message: SyncChanged) -> None:
        self.sync_state = message.state
        self._broadcast(SyncChanged(message.state))

    def _broadcast(self, message: PodsChanged | SyncChanged) -> None:
        for screen in self.screen_stack:
            handler = getattr(
                screen, "store_changed" if isinstance(message, PodsChanged) else "sync_changed", None
            )
            if handler is not None:
                handler(message)

    # ---- actions ---------------------------------------------------------------------------

    def action_help(self) -> None:
        self.open_screen(HelpScreen())

    # ---- screens and keys ------------------------------------------------------------------

    def neighbour_pod(self, key: tuple[str, str], step: int) -> tuple[str, str] | None:
        """The pod `step` rows from `key` in the list as sorted and filtered (None past either
        end); the list's cursor goes there too, so going back lands on it."""
        pods = next((s for s in self.screen_stack if isinstance(s, PodsScreen)), None)
        return pods.step_from(key, step) if pods is not None else None

    def open_screen(self, screen: Screen[Any], callback: Callable[[Any], None] | None = None) -> bool:
        """Push `screen` unless a screen of its kind is already open; False when it was not pushed.

        Keys that arrive in one read (SSH, `tmux send-keys Enter Enter`) are all queued before the
        first one has opened anything, so the second Enter asks again for what the first opened:
        a drill-down, a log view or a dialog is never stacked on one of its own kind."""
        if any(type(open_) is type(screen) for open_ in self.screen_stack):
            return False
        self.push_screen(screen, callback)
        return True

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not self.screen_stack:
            return  # quitting: the last screen is gone, no key has anything left to act on
        if isinstance(event, events.Key) and not event.is_forwarded and not self._keys.admit(event):
            self._release_keys_soon()
            return  # its turn comes when the key before it is done (`kcrash.ui.keygate`)
        await super().on_event(event)

    def _screen_ready(self) -> bool:
        """The active screen has composed its widgets and can take a key."""
        return bool(self.screen_stack) and self.screen.is_mounted

    def _key_target(self) -> Widget | None:
        """The widget a key sent now is handed to."""
        if not self.screen_stack:
            return None
        return self.focused or self.screen

    def _release_keys_soon(self) -> None:
        # The release runs from the timer itself, not from a message in the App's queue: a key
        # binding the App is awaiting can itself wait for a key to be released, and a release
        # queued behind it never came (the fuzz test hung with an idle CPU).
        if not self._key_timer_armed:
            self._key_timer_armed = True
            self.set_timer(POLL_S, self._release_keys)

    async def _release_keys(self) -> None:
        self._key_timer_armed = False
        if not self.screen_stack:
            return  # the app is closing: the keys still waiting have nowhere to go
        key = self._keys.next_key()
        if key is not None and self.screen_stack:
            await super().on_event(key)
        if self._keys.waiting:
            self._release_keys_soon()

    async def _on_key(self, event: events.Key) -> None:
        # Textual calls this, then `App._on_key` (bindings) unless the default is prevented.
        typed = self._typed_for_text_box(event)
        if typed is not None:
            event.prevent_default()
            self._keys.handed_on(event, typed)
            return
        self._keys.came_back(event)

    def _typed_for_text_box(self, event: events.Key) -> events.Key | None:
        """Send on to the focused text box a printable key that reached the app instead of it.

        A box consumes every printable key it receives, so one that bubbles up to the app while a
        box has focus was queued at the widget focused before: `/seg` read in one go forwards all
        four keys to the table before `/` has opened the filter. Without this, `s` and `e` were lost
        and a letter bound on the screen (`l`, `h`) acted instead of being typed."""
        if not self.screen_stack:
            return None  # the app is closing
        box = self.focused
        if not isinstance(box, Input) or not event.is_printable:
            return None
        typed = events.Key(event.key, event.character)
        box.post_message(typed)  # the box consumes it: no loop
        return typed

    def _handle_exception(self, error: Exception) -> None:
        # Textual prints the traceback on the terminal it is about to give back, which a tmux pane
        # closes with: it also goes to a file the launcher names on exit, with a non-zero status.
        self.crash_log = write_crash_log(error)
        super()._handle_exception(error)

    def run_interactive(self, argv: list[str]) -> None:
        """Suspend the console, run `argv` (the user's kubectl) in the terminal, and come back to
        the same screen; one line says how it ended. Where the terminal cannot be handed over
        (no real terminal), the command is shown to run by hand instead."""
        import shlex
        import subprocess

        from textual.app import SuspendNotSupported

        line = " ".join(shlex.quote(word) for word in argv)
        try:
            with self.suspend():
                sys.stdout.write(f"kcrash: {line}\n")
                sys.stdout.flush()
                code = subprocess.call(argv)
        except SuspendNotSupported:
            self.notify(
                line, title="Cannot hand over this terminal; run it yourself", timeout=10, markup=False
            )
            return
        except OSError as exc:
            self.notify(f"{argv[0]}: {exc.strerror or exc}", title="Not run", severity="error", markup=False)
            return
        self.interactive_runs.append((argv, code))
        self.notify(f"{line} exited {code}", title="Back in kcrash", timeout=5, markup=False)

    def action_next_theme(self) -> None:
        names = [t.name for t in self.kcrash_themes]
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"Theme: {self.theme.removeprefix('kcrash-')}", timeout=2, markup=False)


def _scope_commands() -> type[Provider]:
    from kcrash.ui.palette import ScopeCommands

    return ScopeCommands


def _keys(delta: Delta) -> set[tuple[str, str]]:
    """Every key a delta touched; screens look each one up in the store to add, redraw or drop it."""
    return set(delta.added | delta.changed | delta.removed)


def make_app(
    source: ClusterSource,
    *,
    clock: Clock | None = None,
    theme: str = DEFAULT_THEME,
    tick_seconds: float = 1.0,
    metrics_seconds: float = 5.0,
    alert_config: AlertConfig | None = None,
    recorder: Recorder | None = None,
) -> KcrashApp:
    """The one way the CLI, the tests and the screenshot script build the console."""
    apply_textual_patches()
    return KcrashApp(
        source,
        clock=clock,
        theme=theme,
        tick_seconds=tick_seconds,
        metrics_seconds=metrics_seconds,
        alert_config=alert_config,
        recorder=recorder,
    )
