"""Alert settings: the rules' defaults, and reading them from the parsed TOML of the config file.

Pure: `parse_config` takes what `tomllib` made of the file (the file itself is found and read by
`kcrash.cluster.alertconfig`). Any mistake is an `AlertConfigError` naming the key and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from kcrash.core.alerts.model import RULE_NAMES, AlertSeverity, RuleName
from kcrash.core.alerts.scope import Scope, parse_selector
from kcrash.core.humanize import parse_go_duration

TerminalNotify = Literal["off", "bell", "desktop", "both"]
_SEVERITIES: tuple[str, ...] = get_args(AlertSeverity)
_NOTIFY: tuple[str, ...] = get_args(TerminalNotify)


class AlertConfigError(ValueError):
    """A config file that says something kcrash cannot follow (one line: the key and the fix)."""


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """One rule: on or off, how loud, how often it may speak per owner, and its threshold."""

    enabled: bool = True
    severity: AlertSeverity = "warning"
    window: float = 3600.0  # seconds: one alert per owner per window, later ones fold into its count
    threshold: float = 0.0  # the rule's number: restarts, percent, seconds (see DEFAULT_RULES)
    period: float = 600.0  # restart-rate only: the span the restarts are counted over
    scope: Scope = field(default_factory=Scope)


# The number each rule reads from `threshold`, and its name in the config file.
THRESHOLD_KEYS: dict[RuleName, str] = {
    "crash-loop": "min_restarts",
    "restart-rate": "restarts",
    "stuck-waiting": "after",
    "memory-high": "percent",
}

DEFAULT_RULES: dict[RuleName, RuleSettings] = {
    "restarted": RuleSettings(severity="info", window=3600),
    "oom-killed": RuleSettings(severity="critical", window=3600),
    "crash-loop": RuleSettings(severity="critical", window=4 * 3600, threshold=2),
    "restart-rate": RuleSettings(severity="warning", window=3600, threshold=5, period=600),
    "stuck-waiting": RuleSettings(severity="warning", window=3600, threshold=60),
    "deployment-stuck": RuleSettings(severity="critical", window=4 * 3600),
    "memory-high": RuleSettings(severity="warning", window=3600, threshold=90),
}


@dataclass(frozen=True, slots=True)
class Mute:
    """Silence for one owner (or every owner of a namespace), until a moment or for good."""

    namespace: str
    owner: str = ""  # "" mutes the whole namespace
    until: datetime | None = None

    def covers(self, namespace: str, owner: str, now: datetime) -> bool:
        if self.until is not None and now >= self.until:
            return False
        return namespace == self.namespace and (not self.owner or owner == self.owner)


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """Everything the alert engine and its outlets are told."""

    rules: Mapping[RuleName, RuleSettings] = field(default_factory=lambda: dict(DEFAULT_RULES))
    scope: Scope = field(default_factory=Scope)
    mutes: tuple[Mute, ...] = ()
    webhook: str = ""
    terminal_notify: TerminalNotify = "off"

    def rule(self, name: RuleName) -> RuleSettings:
        return self.rules.get(name, DEFAULT_RULES[name])


DEFAULT_CONFIG = AlertConfig()


def parse_config(doc: Mapping[str, Any], where: str = "the alerts config") -> AlertConfig:
    """The settings a parsed TOML document gives, the defaults for what it leaves out."""
    _only(doc, {"alerts", "rules", "mute"}, where)
    top = _table(doc.get("alerts", {}), f"{where}: [alerts]")
    _only(
        top,
        {"namespaces", "exclude_namespaces", "selector", "webhook", "terminal_notify"},
        f"{where}: [alerts]",
    )
    notify = top.get("terminal_notify", "off")
    if notify is True or notify is False:
        notify = "both" if notify else "off"
    if notify not in _NOTIFY:
        raise AlertConfigError(
            f"{where}: terminal_notify must be one of {', '.join(_NOTIFY)} (got {notify!r})"
        )
    webhook = top.get("webhook", "")
    if not isinstance(webhook, str) or (webhook and not webhook.startswith(("http://", "https://"))):
        raise AlertConfigError(f"{where}: webhook must be an http:// or https:// URL (got {webhook!r})")
    rules_doc = _table(doc.get("rules", {}), f"{where}: [rules]")
    unknown = sorted(set(rules_doc) - set(RULE_NAMES))
    if unknown:
        raise AlertConfigError(
            f"{where}: unknown rule [rules.{unknown[0]}] (the rules are {', '.join(RULE_NAMES)})"
        )
    rules = {
        name: _rule(name, _table(rules_doc.get(name, {}), f"{where}: [rules.{name}]"), where)
        for name in RULE_NAMES
    }
    mutes = doc.get("mute", [])
    if not isinstance(mutes, list):
        raise AlertConfigError(f"{where}: mute must be an array of tables ([[mute]])")
    return AlertConfig(
        rules=rules,
        scope=_scope(top, f"{where}: [alerts]"),
        mutes=tuple(_mute(m, f"{where}: [[mute]]") for m in mutes),
        webhook=webhook,
        terminal_notify=cast(TerminalNotify, notify),
    )


def _rule(name: RuleName, doc: Mapping[str, Any], where: str) -> RuleSettings:
    place = f"{where}: [rules.{name}]"
    threshold_key = THRESHOLD_KEYS.get(name)
    allowed = {"enabled", "severity", "window", "namespaces", "exclude_namespaces", "selector"}
    if threshold_key:
        allowed.add(threshold_key)
    if name == "restart-rate":
        allowed.add("period")
    _only(doc, allowed, place)
    base = DEFAULT_RULES[name]
    enabled = doc.get("enabled", base.enabled)
    if not isinstance(enabled, bool):
        raise AlertConfigError(f"{place}: enabled must be true or false")
    severity = doc.get("severity", base.severity)
    if severity not in _SEVERITIES:
        raise AlertConfigError(
            f"{place}: severity must be one of {', '.join(_SEVERITIES)} (got {severity!r})"
        )
    threshold = base.threshold
    if threshold_key and threshold_key in doc:
        value = doc[threshold_key]
        threshold = (
            _seconds(value, f"{place}: {threshold_key}")
            if threshold_key == "after"
            else _number(value, f"{place}: {threshold_key}")
        )
    period = _seconds(doc["period"], f"{place}: period") if "period" in doc else base.period
    window = _seconds(doc["window"], f"{place}: window") if "window" in doc else base.window
    return replace(
        base,
        enabled=enabled,
        severity=severity,
        window=window,
        threshold=threshold,
        period=period,
        scope=_scope(doc, place),
    )


def _scope(doc: Mapping[str, Any], place: str) -> Scope:
    namespaces = _names(doc.get("namespaces", []), f"{place}: namespaces")
    excluded = _names(doc.get("exclude_namespaces", []), f"{place}: exclude_namespaces")
    selector = doc.get("selector", "")
    if not isinstance(selector, str):
        raise AlertConfigError(f'{place}: selector must be a string such as "app=web,tier!=batch"')
    try:
        terms = parse_selector(selector)
    except ValueError as exc:
        raise AlertConfigError(f"{place}: selector: {exc}") from None
    return Scope(frozenset(namespaces), frozenset(excluded), terms)


def _mute(doc: object, place: str) -> Mute:
    table = _table(doc, place)
    _only(table, {"namespace", "owner", "until"}, place)
    namespace = table.get("namespace")
    owner = table.get("owner", "")
    if not isinstance(namespace, str) or not namespace:
        raise AlertConfigError(f'{place}: namespace is required (namespace = "shop")')
    if not isinstance(owner, str) or (owner and "/" not in owner):
        raise AlertConfigError(f'{place}: owner must be Kind/name, e.g. owner = "Deployment/web"')
    until = table.get("until")
    if until is not None and not isinstance(until, datetime):
        raise AlertConfigError(f"{place}: until must be a TOML date-time, e.g. until = 2030-01-31T18:00:00Z")
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    return Mute(namespace, owner, until)


def _only(doc: Mapping[str, Any], allowed: set[str], place: str) -> None:
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise AlertConfigError(f"{place}: unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")


def _table(value: object, place: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise AlertConfigError(f"{place} must be a table")
    return value


def _names(value: object, place: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AlertConfigError(f'{place} must be a list of names, e.g. ["shop", "payments"]')
    return list(value)


def _number(value: object, place: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise AlertConfigError(f"{place} must be a number of at least 0 (got {value!r})")
    return float(value)


def _seconds(value: object, place: str) -> float:
    """A duration: a number of seconds or a string such as "90s", "10m", "4h"."""
    if isinstance(value, str):
        try:
            seconds = parse_go_duration(value)
        except ValueError:
            raise AlertConfigError(
                f'{place} must be a duration such as "90s", "10m" or "4h" (got {value!r})'
            ) from None
        if seconds < 0:
            raise AlertConfigError(f"{place} must not be negative (got {value!r})")
        return seconds
    return _number(value, place)
