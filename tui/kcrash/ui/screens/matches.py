"""Moving between search matches in a scrolled view of lines: the log view and describe/YAML."""

from __future__ import annotations

from textual.widgets import RichLog


class MatchNavigation:
    """`n`/`N`, top and bottom for a screen that keeps its matching line numbers in `matches`,
    each line's first visual row in `_starts`, and draws its title with `_draw_title`."""

    matches: list[int]
    match_index: int
    _starts: list[int]

    @property
    def view(self) -> RichLog:
        raise NotImplementedError

    def _draw_title(self) -> None:
        raise NotImplementedError

    def _jump(self) -> None:
        """Scroll the current match to a third of the way down, and redraw the title's count."""
        if self.matches and self._starts:
            start = self._starts[self.matches[self.match_index]]
            self.view.scroll_to(y=max(0, start - self.view.size.height // 3), animate=False)
        self._draw_title()

    def action_next_match(self) -> None:
        if self.matches:
            self.match_index = (self.match_index + 1) % len(self.matches)
        self._jump()

    def action_previous_match(self) -> None:
        if self.matches:
            self.match_index = (self.match_index - 1) % len(self.matches)
        self._jump()

    def action_top(self) -> None:
        self.view.scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.view.scroll_end(animate=False)
