"""Where the alerts config lives and reading it: `$KCRASH_ALERTS` if set, else
`$XDG_CONFIG_HOME/kcrash/alerts.toml` (default `~/.config/kcrash/alerts.toml`). No file: defaults."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from kcrash.core.alerts import DEFAULT_CONFIG, AlertConfig, AlertConfigError, parse_config

ENV_PATH = "KCRASH_ALERTS"


def config_path() -> Path:
    named = os.environ.get(ENV_PATH)
    if named:
        return Path(named).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "kcrash" / "alerts.toml"


def load_alert_config(path: str | Path | None = None) -> AlertConfig:
    """The settings in `path` (default `config_path()`); the defaults when the default file does not
    exist. Raises AlertConfigError (one line naming the file and the fix) for a bad file, or for a
    `path` named explicitly that does not exist."""
    chosen = Path(path).expanduser() if path is not None else config_path()
    try:
        text = chosen.read_text(encoding="utf-8")
    except FileNotFoundError:
        if path is None and not os.environ.get(ENV_PATH):
            return DEFAULT_CONFIG
        raise AlertConfigError(
            f"{chosen}: no such file (check the path, or leave it out for the defaults)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AlertConfigError(f"{chosen}: cannot read it ({exc})") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AlertConfigError(f"{chosen}: not valid TOML ({exc})") from None
    return parse_config(doc, str(chosen))
