"""Alerts: restarts, OOM kills, crash loops and stuck rollouts that surface by themselves.

Pure (records in, alerts out, time passed in): `AlertEngine` evaluates the rules over the pods
table's deltas, `parse_config` reads the settings from a parsed TOML document, `render` turns an
alert into a JSON object, a text line or a Slack message. The rules and the file are documented in
docs/alerts.md.
"""

from kcrash.core.alerts.config import (
    DEFAULT_CONFIG,
    DEFAULT_RULES,
    AlertConfig,
    AlertConfigError,
    Mute,
    RuleSettings,
    TerminalNotify,
    parse_config,
)
from kcrash.core.alerts.engine import AlertEngine
from kcrash.core.alerts.model import RULE_NAMES, Alert, AlertSeverity, DeploymentState, OwnerKey, RuleName
from kcrash.core.alerts.render import SCHEMA_FIELDS, alert_json, alert_text, open_command, slack_payload
from kcrash.core.alerts.scope import Scope, parse_selector
from kcrash.core.alerts.wording import owner_of

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_RULES",
    "RULE_NAMES",
    "SCHEMA_FIELDS",
    "Alert",
    "AlertConfig",
    "AlertConfigError",
    "AlertEngine",
    "AlertSeverity",
    "DeploymentState",
    "Mute",
    "OwnerKey",
    "RuleName",
    "RuleSettings",
    "Scope",
    "TerminalNotify",
    "alert_json",
    "alert_text",
    "open_command",
    "owner_of",
    "parse_config",
    "parse_selector",
    "slack_payload",
]
