"""The changes kcrash makes to Textual's internals, applied in one place when a console is built.

Each patch checks the shape of what it replaces and stands down when Textual's code differs, so a
newer Textual runs unpatched rather than wrong. Both are idempotent.
- `terminal_output`: a partial update writes only the spans that changed, not whole lines.
- `strips`: lines make their caches on first use and hold no reference to themselves.
"""

from __future__ import annotations

from kcrash.ui.strips import install as cheaper_strips
from kcrash.ui.terminal_output import install as write_only_dirty_spans


def apply_textual_patches() -> None:
    """Install every patch (later calls do nothing new)."""
    write_only_dirty_spans()
    cheaper_strips()
