"""Colours come from theme variables only, so every theme (and NO_COLOR) applies everywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import kcrash.ui
from kcrash.ui.screens.logs import LogView
from kcrash.ui.widgets.detail import DetailPane
from kcrash.ui.widgets.memory_chart import MemoryChart
from kcrash.ui.widgets.pod_table import PodTable
from kcrash.ui.widgets.status_line import StatusLine

HEX = re.compile(r"#[0-9a-fA-F]{3,8}\b")
NAMED = re.compile(
    r":\s*(?:[^;$]*\s)?(red|green|blue|yellow|white|black|magenta|cyan|gr[ae]y)\b", re.IGNORECASE
)


def declarations(css: str) -> list[str]:
    """The `property: value` parts of a stylesheet (selectors such as #d-left are not colours)."""
    return [
        line.strip() for line in css.splitlines() if ":" in line and not line.strip().startswith(("/*", "&:"))
    ]


STYLESHEETS = {
    "app.tcss": (Path(kcrash.ui.__file__).parent / "app.tcss").read_text(),
    **{cls.__name__: cls.DEFAULT_CSS for cls in (PodTable, StatusLine, DetailPane, MemoryChart, LogView)},
}


@pytest.mark.parametrize("name", sorted(STYLESHEETS))
def test_no_literal_colours(name: str) -> None:
    for declaration in declarations(STYLESHEETS[name]):
        assert not HEX.search(declaration), declaration
        assert not NAMED.search(declaration), declaration
