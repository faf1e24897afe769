"""The shipped themes load and carry kcrash's variables."""

from __future__ import annotations

import pytest

from kcrash.ui.themes import KCRASH_VARIABLES, ThemeError, load_themes, resolve_theme_name, theme_from_toml


def test_three_themes_default_first() -> None:
    names = [t.name for t in load_themes()]
    assert names[0] == "kcrash-dark"
    assert set(names) >= {"kcrash-dark", "kcrash-light", "kcrash-high-contrast"}


def test_every_theme_sets_kcrash_variables() -> None:
    for theme in load_themes():
        assert set(KCRASH_VARIABLES) <= set(theme.variables), theme.name


@pytest.mark.parametrize(
    ("asked", "name"),
    [("dark", "kcrash-dark"), ("light", "kcrash-light"), ("kcrash-high-contrast", "kcrash-high-contrast")],
)
def test_resolve(asked: str, name: str) -> None:
    assert resolve_theme_name(asked, load_themes()) == name


def test_unknown_theme_lists_the_choices() -> None:
    with pytest.raises(ThemeError, match="dark, "):
        resolve_theme_name("solarized", load_themes())


def test_a_theme_without_kcrash_variables_is_refused() -> None:
    with pytest.raises(ThemeError, match="crashloop"):
        theme_from_toml({"name": "x", "primary": "#000000", "variables": {}})
