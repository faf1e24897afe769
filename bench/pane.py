"""Reading kcrash's pods screen from a `capture-pane` text dump (pure functions, no tmux here).

The header reads ` kcrash  │  kcrash-lab  │  all namespaces  │  ● live  │  1021 pods, 64 failing`
(then optional `(N shown)`, filter, `by name`...). The table's title row names the columns; cells
are cut at the title positions, which is exact because every cell is padded to its column width.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADER = re.compile(
    r"kcrash\s+│\s+(?P<context>.+?)\s+│\s+(?P<scope>all namespaces|ns \S+)\s+│\s+"
    r"(?P<sync>[●○◌■] [\w-]+)[^│]*│\s+(?P<pods>\d+) pods?(?:, (?P<failing>\d+) failing)?"
    r"(?P<rest>.*)$"
)
TITLES = ("NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "LAST EXIT", "MEM/LIMIT", "NEXT RESTART", "AGE")
HELP_MARK = "kcrash keys"
"""The help dialog's heading: on screen exactly while `?` help is open."""


@dataclass(frozen=True, slots=True)
class Header:
    context: str
    scope: str
    sync: str
    pods: int
    failing: int
    rest: str

    @property
    def live(self) -> bool:
        return self.sync.startswith("●")


@dataclass(frozen=True, slots=True)
class Row:
    namespace: str
    name: str
    ready: str
    status: str
    restarts: str = ""
    next_restart: str = ""
    age: str = ""

    @property
    def ticking_cells(self) -> int:
        """Cells that change every second with the clock alone: countdowns and "(12s ago)"."""
        seconds = re.compile(r"\d+s\b")
        cells = (self.restarts if "ago" in self.restarts else "", self.next_restart, self.age)
        return sum(1 for cell in cells if seconds.search(cell))

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


def header(screen: str) -> Header | None:
    for line in screen.splitlines()[:3]:
        found = HEADER.search(line)
        if found:
            return Header(
                context=found["context"],
                scope=found["scope"],
                sync=found["sync"],
                pods=int(found["pods"]),
                failing=int(found["failing"] or 0),
                rest=found["rest"].strip(),
            )
    return None


def _title_positions(line: str) -> dict[str, int] | None:
    positions = {
        title: m.start() for title in TITLES if (m := re.search(rf"(?<!\S){re.escape(title)}(?!\S)", line))
    }
    if not {"NAME", "READY", "STATUS"} <= positions.keys():
        return None
    return positions


def rows(screen: str) -> list[Row]:
    """The table rows on screen, top to bottom (empty before the first list arrives)."""
    lines = screen.splitlines()
    for index, line in enumerate(lines):
        positions = _title_positions(line)
        if positions is not None:
            return [row for row in (_row(text, positions) for text in lines[index + 1 :]) if row]
    return []


def _row(line: str, positions: dict[str, int]) -> Row | None:
    ordered = sorted(positions.items(), key=lambda item: item[1])
    cells: dict[str, str] = {}
    for number, (title, start) in enumerate(ordered):
        end = ordered[number + 1][1] if number + 1 < len(ordered) else len(line)
        cells[title] = line[start:end].strip()
    ready = cells.get("READY", "")
    if not cells.get("NAME") or not re.fullmatch(r"\d+/\d+", ready):
        return None  # a blank line, the footer, or a message in place of rows
    return Row(
        namespace=cells.get("NAMESPACE", ""),
        name=cells["NAME"],
        ready=ready,
        status=cells.get("STATUS", ""),
        restarts=cells.get("RESTARTS", ""),
        next_restart=cells.get("NEXT RESTART", ""),
        age=(cells.get("AGE", "").split() or [""])[0],  # the scrollbar may follow on the same line
    )


def complete(screen: str, expected_pods: int) -> bool:
    """The whole list is in: header live with the lab's pod count, and rows drawn."""
    facts = header(screen)
    return facts is not None and facts.live and facts.pods == expected_pods and bool(rows(screen))


def ready_cell(screen: str, key: tuple[str, str]) -> str | None:
    for row in rows(screen):
        if row.key == key or (not row.namespace and row.name == key[1]):
            return row.ready
    return None


_BACKGROUND = re.compile(r"\x1b\[[0-9;]*?48;(?:2;\d+;\d+;\d+|5;\d+)")
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def cursor_index(styled: str) -> int | None:
    """Which table row (0 = first on screen) has the cursor, from `capture-pane -e` output.

    The cursor row is the one row whose background differs from the rest of the table.
    """
    lines = styled.splitlines()
    plain = [_SGR.sub("", line) for line in lines]
    titles = [(i, p) for i, p in ((i, _title_positions(t)) for i, t in enumerate(plain)) if p is not None]
    if not titles:
        return None
    start, positions = titles[0]
    backgrounds: list[str] = []
    for line, text in zip(lines[start + 1 :], plain[start + 1 :], strict=False):
        found = _BACKGROUND.search(line)
        if found is None or _row(text, positions) is None:
            break  # the end of the table: the footer or blank space
        backgrounds.append(found[0].rsplit("48;", 1)[1])
    odd = [i for i, bg in enumerate(backgrounds) if backgrounds.count(bg) == 1]
    return odd[0] if len(odd) == 1 and len(backgrounds) > 2 else None


def help_open(screen: str) -> bool:
    return HELP_MARK in screen
