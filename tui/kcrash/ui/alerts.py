"""Alerts in the console: the engine fed from the store's deltas, and what each new alert does.

The App hands every applied batch to `AlertDesk.observe` (the first full list becomes the
baseline: pods failing then are listed as already failing, never toasted) and calls `tick` once
a second. Each new alert is a toast, the header's badge counts the ones nobody acknowledged, and
an OOM alert marks its owner's pods (the pod that died and its replacement) until acknowledged.
With `terminal_notify` on, the terminal also hears a bell and/or a desktop notification (OSC 9
and OSC 777, wrapped for tmux), made of sanitised text without a single control character.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kcrash.core.alerts import (
    DEFAULT_CONFIG,
    Alert,
    AlertConfig,
    AlertConfigError,
    AlertEngine,
    DeploymentState,
    OwnerKey,
    owner_of,
)
from kcrash.core.records import MemorySample, Pod
from kcrash.core.sanitize import clean_line
from kcrash.core.store import PodStore
from kcrash.ui.clipboard import tmux_passthrough

if TYPE_CHECKING:
    from textual.app import App

Key = tuple[str, str]
TOAST_SECONDS = 6.0
TOASTS_PER_SPAN = 3
TOAST_SPAN = 10.0
"""At most this many toasts in this many seconds: a storm of alerts (every crash loop of a
namespace restarting within a minute) is three toasts and one "N more", not a screen of them."""
NOTIFY_TEXT = 180  # characters of a desktop notification's body
_TOAST_SEVERITY = {"critical": "error", "warning": "warning", "info": "information"}


def load_console_config() -> tuple[AlertConfig, str]:
    """The user's alerts config, or the defaults and the one line that says what was wrong."""
    from kcrash.cluster.alertconfig import load_alert_config

    try:
        return load_alert_config(), ""
    except AlertConfigError as exc:
        return DEFAULT_CONFIG, f"{exc} — alerts use the defaults"


def notification_text(alert: Alert) -> tuple[str, str]:
    """(title, body) of a desktop notification: printable characters only, no `;` (OSC 777
    separates its fields with it), bounded."""
    where = f"{alert.namespace}/{alert.pod or alert.owner}"
    title = _printable(f"kcrash: {alert.rule} {where}", 80)
    body = _printable(alert.likely_cause or alert.message, NOTIFY_TEXT)
    return title, body


def _printable(text: str, limit: int) -> str:
    flat = clean_line(text, max_len=limit)
    return "".join(c if c.isprintable() and c != ";" else " " for c in flat)


def terminal_sequences(alert: Alert, mode: str, env: Mapping[str, str]) -> str:
    """What the terminal is sent for one alert: BEL, OSC 9 and OSC 777, each passed through tmux
    when inside it; "" when off."""
    if mode == "off":
        return ""
    title, body = notification_text(alert)
    parts: list[str] = []
    if mode in ("bell", "both"):
        parts.append("\a")
    if mode in ("desktop", "both"):
        for sequence in (f"\x1b]9;{title}: {body}\x1b\\", f"\x1b]777;notify;{title};{body}\x1b\\"):
            parts.append(tmux_passthrough(sequence) if env.get("TMUX") else sequence)
    return "".join(parts)


class AlertDesk:
    """The console's alert engine and what it does with each new alert."""

    def __init__(
        self,
        app: App[Any],
        config: AlertConfig,
        *,
        on_change: Callable[[], None],
        on_marks: Callable[[set[OwnerKey]], None],
    ) -> None:
        self.app = app
        self.engine = AlertEngine(config)
        self.config = config
        self._on_change = on_change
        self._on_marks = on_marks
        self.marks: frozenset[OwnerKey] = frozenset()
        self.toasts = 0
        self._toast_times: list[float] = []
        self._held_toasts = 0

    @property
    def unacknowledged(self) -> int:
        return self.engine.unacknowledged

    def observe(self, store: PodStore, resync: bool, touched: Iterable[Key], now: datetime) -> None:
        if not self.engine.started:
            if not resync:
                return  # events before the first list cannot be judged against anything
            self.engine.baseline(store.values(), now)
            self._on_change()
            return
        pods: list[Pod] = []
        removed: list[Key] = []
        for key in touched:
            pod = store.get(key)
            if pod is None:
                removed.append(key)
            else:
                pods.append(pod)
        self._announce(self.engine.update(pods, removed, now))

    def tick(self, now: datetime) -> None:
        if self.engine.started:
            self._announce(self.engine.tick(now))

    def deployments(self, states: Sequence[DeploymentState], now: datetime) -> None:
        """A LIST of the scope's Deployments: `deployment-stuck`."""
        if self.engine.started:
            self._announce(self.engine.deployments(states, now))

    def memory(self, samples: Sequence[tuple[Pod, MemorySample]], now: datetime) -> None:
        """The newest sample of each limited container: `memory-high`."""
        if self.engine.started:
            self._announce([a for pod, sample in samples for a in self.engine.memory(pod, sample, now)])

    def acknowledge(self, alert_id: int) -> None:
        if self.engine.acknowledge(alert_id) is not None:
            self._changed()

    def mute(self, namespace: str, owner: str, until: datetime) -> None:
        self.engine.mute(namespace, owner, until)

    def is_marked(self, pod: Pod) -> bool:
        return bool(self.marks) and (pod.namespace, owner_of(pod)) in self.marks

    def _announce(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        for alert in alerts:
            if alert.severity != "info":  # a plain restart counts in the badge, it does not pop up
                self._toast(alert)
        self._terminal(alerts[-1])
        self._changed()

    def _toast(self, alert: Alert) -> None:
        now = time.monotonic()
        self._toast_times = [t for t in self._toast_times if now - t < TOAST_SPAN]
        if len(self._toast_times) >= TOASTS_PER_SPAN:
            self._held_toasts += 1
            if self._held_toasts == 1:
                self.app.set_timer(TOAST_SPAN, self._toast_held)
            return
        self._toast_times.append(now)
        # Short: a toast is 40 columns wide and covers the list beneath it.
        lines = [
            clean_line(f"{alert.pod or alert.owner}: {alert.message.removeprefix('container ')}", max_len=120)
        ]
        if alert.likely_cause:
            lines.append(clean_line(alert.likely_cause, max_len=70))
        self.app.notify(
            "\n".join(lines),
            title=f"{alert.rule} · {alert.severity}",
            severity=_TOAST_SEVERITY.get(alert.severity, "information"),  # type: ignore[arg-type]
            timeout=TOAST_SECONDS,
            markup=False,
        )
        self.toasts += 1

    def _toast_held(self) -> None:
        held, self._held_toasts = self._held_toasts, 0
        if held:
            words = "1 more alert" if held == 1 else f"{held} more alerts"
            self.app.notify(f"{words}: press ! to list them", timeout=TOAST_SECONDS, markup=False)

    def _terminal(self, alert: Alert) -> None:
        """One bell / notification per batch, not one per alert: a burst is one ping."""
        sequences = terminal_sequences(alert, self.config.terminal_notify, os.environ)
        driver = self.app._driver
        if sequences and driver is not None:
            driver.write(sequences)

    def _changed(self) -> None:
        marks = frozenset(self.engine.marked_owners())
        if marks != self.marks:
            changed = set(marks ^ self.marks)
            self.marks = marks
            self._on_marks(changed)
        self._on_change()
