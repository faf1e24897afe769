"""The archive's settings: retention, size, log capture, fetch rate and redaction patterns.

Read from `<user config dir>/kcrash/history.toml` (on Linux `$XDG_CONFIG_HOME/kcrash/history.toml`,
by default `~/.config/kcrash/history.toml`) when it exists; every key is optional:

    max_age_days = 14          # crashes and memory samples older than this are pruned
    max_megabytes = 200        # then the oldest crashes, until the archive's content fits
    log_lines = 200            # the tail of each dead instance's log that is kept
    log_bytes = 65536          # and at most this many bytes of it (the end is kept)
    fetch_rate = 2.0           # log fetches per second, on average ...
    fetch_burst = 10           # ... and at once
    queue = 1000               # crashes waiting for their log; past this the oldest is dropped
    redact = ['(?i)card=(?P<value>\\d+)']   # more patterns (a group `value`: only it is masked)
    redact_defaults = true     # false: only the patterns above
    prometheus_url = "http://prometheus.example:9090"   # ask this Prometheus (--prometheus wins)
    prometheus_services = ["monitoring/prometheus-k8s:9090"]   # else look for it here, in order,
                               # through the API server's service proxy (default: the usual places)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from kcrash.core.redact import RedactionError, Redactor
from kcrash.history.prometheus import DEFAULT_LOCATIONS, Location


class SettingsError(ValueError):
    """The settings file cannot be read or holds a wrong value (one line, naming the file and key)."""


@dataclass(frozen=True, slots=True)
class HistorySettings:
    max_age_days: float = 14.0
    max_megabytes: float = 200.0
    log_lines: int = 200
    log_bytes: int = 64 * 1024
    fetch_rate: float = 2.0
    fetch_burst: int = 10
    queue: int = 1000
    redact: tuple[str, ...] = ()
    redact_defaults: bool = True
    prometheus_url: str = ""
    prometheus_services: tuple[str, ...] = DEFAULT_LOCATIONS

    @property
    def max_age_seconds(self) -> float:
        return self.max_age_days * 86400.0

    @property
    def max_bytes(self) -> int:
        return int(self.max_megabytes * 1024 * 1024)

    def redactor(self) -> Redactor:
        return Redactor.build(self.redact, defaults=self.redact_defaults)


def settings_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("kcrash", appauthor=False)) / "history.toml"


def load_settings(path: Path | None = None) -> HistorySettings:
    """The settings file's values over the defaults; a missing file means the defaults."""
    path = path or settings_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return HistorySettings()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read {path}: {exc} (fix or remove the file)") from None
    settings = _apply(HistorySettings(), data, path)
    try:
        settings.redactor()
        for service in settings.prometheus_services:
            Location.parse(service)
    except (RedactionError, ValueError) as exc:
        raise SettingsError(f"{path}: {exc}") from None
    return settings


def _apply(settings: HistorySettings, data: dict[str, Any], path: Path) -> HistorySettings:
    known = {field.name: field for field in fields(HistorySettings)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise SettingsError(f"{path}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        default = getattr(settings, key)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise SettingsError(f"{path}: {key} must be a list of strings")
            changes[key] = tuple(value)
        elif isinstance(default, str):
            if not isinstance(value, str):
                raise SettingsError(f"{path}: {key} must be a string")
            changes[key] = value
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise SettingsError(f"{path}: {key} must be true or false")
            changes[key] = value
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise SettingsError(f"{path}: {key} must be a positive number")
        else:
            changes[key] = type(default)(value)
    return replace(settings, **changes)
