"""Textual's Strip with caches made on first use (kcrash.ui.strips): same lines, same caching."""

from __future__ import annotations

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from kcrash.ui import strips
from kcrash.ui.patches import apply_textual_patches

apply_textual_patches()  # as building a console does
PATCHED = bool(getattr(Strip.__init__, "_kcrash", False))


def line() -> Strip:
    return Strip([Segment("abc", Style(bold=True)), Segment("def")], 6)


def unset(strip: Strip, slot: str) -> bool:
    descriptor = Strip.__dict__[slot]
    try:
        descriptor.__get__(strip, Strip)
    except AttributeError:
        return True
    return False


def test_the_installed_textual_strip_is_patched() -> None:
    # If a Textual release lays Strip out otherwise, the patch stands aside (and this says so).
    assert strips.cache_sizes() == {} or PATCHED


@pytest.mark.skipif(not PATCHED, reason="this Textual's Strip is left as it is")
def test_a_new_strip_makes_no_cache_until_one_is_used() -> None:
    strip = line()
    assert all(unset(strip, slot) for slot in ("_crop_cache", "_divide_cache", "_filter_cache"))
    cropped = strip.crop(1, 4)
    assert cropped.text == "bcd"
    assert not unset(strip, "_crop_cache")
    assert unset(strip, "_divide_cache")
    assert strip.crop(1, 4) is cropped  # cached like Textual's own


def test_operations_give_the_same_lines() -> None:
    strip = line()
    assert [piece.text for piece in strip.divide([2, 6])] == ["ab", "cdef"]
    assert strip.crop(2, 5).text == "cde"
    assert strip.adjust_cell_length(8).cell_length == 8
    assert strip.extend_cell_length(9).text == "abcdef   "
    styled = strip.apply_style(Style(italic=True))
    assert all(segment.style is not None and segment.style.italic for segment in styled)
    assert strip.apply_style(Style(italic=True)) is styled
    assert Strip.join([strip, line()]).text == "abcdefabcdef"


def test_unknown_attributes_still_raise() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        line().no_such_thing  # type: ignore[attr-defined]  # noqa: B018
