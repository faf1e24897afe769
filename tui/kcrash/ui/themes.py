"""kcrash's themes: TOML files read into `textual.theme.Theme`.

The files live in the repository's `themes/` directory; a wheel carries them as `kcrash/themes`.
An editable install does not put forced-include data where `importlib.resources` looks, so the
loader falls back to the repository copy.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from textual.theme import Theme

DEFAULT_THEME = "kcrash-dark"

KCRASH_VARIABLES = ("crashloop", "oom", "chart-limit", "chart-usage", "chart-request")
"""Theme variables kcrash's stylesheet uses beyond Textual's own; every theme must set them."""

_THEME_FIELDS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)


class ThemeError(ValueError):
    """A theme file is missing a field or names an unknown theme."""


def _theme_dirs() -> Iterator[Traversable]:
    try:
        packaged = resources.files("kcrash").joinpath("themes")
    except ModuleNotFoundError:  # pragma: no cover - kcrash is always importable here
        packaged = None
    if packaged is not None and packaged.is_dir():
        yield packaged
    repository = Path(__file__).resolve().parents[3] / "themes"
    if repository.is_dir():
        yield repository


def theme_from_toml(data: dict[str, Any]) -> Theme:
    """Build a Theme from one parsed TOML document."""
    name = data.get("name")
    primary = data.get("primary")
    if not isinstance(name, str) or not isinstance(primary, str):
        raise ThemeError("a theme needs a name and a primary colour")
    variables = {str(k): str(v) for k, v in dict(data.get("variables", {})).items()}
    missing = [v for v in KCRASH_VARIABLES if v not in variables]
    if missing:
        raise ThemeError(f"theme {name!r} lacks variables: {', '.join(missing)}")
    colours = {f: str(data[f]) for f in _THEME_FIELDS if f in data}
    return Theme(
        name=name,
        primary=primary,
        secondary=colours.get("secondary"),
        warning=colours.get("warning"),
        error=colours.get("error"),
        success=colours.get("success"),
        accent=colours.get("accent"),
        foreground=colours.get("foreground"),
        background=colours.get("background"),
        surface=colours.get("surface"),
        panel=colours.get("panel"),
        boost=colours.get("boost"),
        dark=bool(data.get("dark", True)),
        luminosity_spread=float(data.get("luminosity_spread", 0.15)),
        variables=variables,
    )


def load_themes() -> list[Theme]:
    """Every theme kcrash ships, the default first."""
    themes: dict[str, Theme] = {}
    for directory in _theme_dirs():
        for entry in sorted(directory.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".toml"):
                continue
            theme = theme_from_toml(tomllib.loads(entry.read_text(encoding="utf-8")))
            themes.setdefault(theme.name, theme)
        if themes:
            break
    ordered = sorted(themes.values(), key=lambda t: (t.name != DEFAULT_THEME, t.name))
    if not ordered:
        raise ThemeError("no themes found (the themes/ directory is missing)")
    return ordered


def resolve_theme_name(requested: str, available: list[Theme]) -> str:
    """Accept `dark`, `kcrash-dark` or any registered name; raise with the choices otherwise."""
    names = [t.name for t in available]
    for candidate in (requested, f"kcrash-{requested}"):
        if candidate in names:
            return candidate
    short = ", ".join(n.removeprefix("kcrash-") for n in names)
    raise ThemeError(f"unknown theme {requested!r} (choose one of: {short})")
