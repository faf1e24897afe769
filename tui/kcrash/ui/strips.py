"""Textual's `Strip` (one drawn line) made cheaper to create and to free.

Every frame makes several strips per line it redraws: the widget's line, then the copies
Textual's compositor crops, divides, filters and pads. Two costs came with each of them:

- `Strip.__init__` builds seven small caches (for crops, divisions, styles...), most of which
  a short-lived copy never uses. That was a sixth of an idle console's CPU, which redraws the
  rows whose countdown or "ago" ticked every second. `install()` makes them on first use.
- `Strip.divide` caches each division in the strip; cut where it already ends, the division is
  `[strip]`, cached in the strip: a reference cycle for nearly every line drawn (the compositor
  divides each line at the edges of the widgets on it). Every line drawn then became garbage only
  the cyclic collector frees, half the objects a collection walked during a busy watch, and a
  line alive when the app freezes the heap (see `kcrash.ui.app`) was never freed until the next
  sweep. Dropping that entry keeps the cache for real divisions.

Both are checked against the `Strip` Textual ships: if it is laid out otherwise, it is left as is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.segment import Segment
from textual.cache import FIFOCache
from textual.strip import Strip

_PLAIN = {"_segments", "_cell_length", "_render_cache", "_link_ids", "_cell_count"}
"""The slots a new strip sets to its arguments or to None; every other slot is a cache."""


def install() -> None:
    """Patch `Strip` (once; later calls do nothing)."""
    _lazy_caches()
    _divide_without_self_reference()


def cache_sizes() -> dict[str, int]:
    """The caches Textual's own `Strip.__init__` makes, by slot: {} if it makes anything else."""
    probe = Strip([Segment("x")], 1)
    slots = set(getattr(Strip, "__slots__", ()))
    unset = _PLAIN - {"_segments", "_cell_length"}
    if not slots >= _PLAIN or any(getattr(probe, name) is not None for name in unset):
        return {}
    sizes: dict[str, int] = {}
    for name in slots - _PLAIN:
        cache = getattr(probe, name, None)
        if not isinstance(cache, FIFOCache):
            return {}
        sizes[name] = cache._maxsize
    return sizes


def _lazy_caches() -> None:
    if getattr(Strip.__init__, "_kcrash", False) or hasattr(Strip, "__getattr__"):
        return
    sizes = cache_sizes()
    if not sizes:
        return

    def __init__(self: Strip, segments: Iterable[Segment], cell_length: int | None = None) -> None:
        self._segments = list(segments)
        self._cell_length = cell_length
        self._render_cache = None
        self._link_ids = None
        self._cell_count = None

    def __getattr__(self: Strip, name: str) -> FIFOCache[object, object]:
        # Called only for a slot not set yet: a cache this strip has not used so far.
        size = sizes.get(name)
        if size is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        cache: FIFOCache[object, object] = FIFOCache(size)
        setattr(self, name, cache)
        return cache

    __init__._kcrash = True  # type: ignore[attr-defined]
    Strip.__init__ = __init__  # type: ignore[method-assign]
    Strip.__getattr__ = __getattr__  # type: ignore[attr-defined]


def _divide_without_self_reference() -> None:
    divide = Strip.divide
    if getattr(divide, "_kcrash", False):
        return

    def divide_acyclic(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
        strips = divide(self, cuts)
        if len(strips) == 1 and strips[0] is self:
            self._divide_cache.clear()
        return strips

    divide_acyclic._kcrash = True  # type: ignore[attr-defined]
    Strip.divide = divide_acyclic  # type: ignore[method-assign]
