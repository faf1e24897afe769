"""Go's text/tabwriter as kubectl configures it (minwidth 0, padding 2, spaces, no flags).

A column is aligned over a run of consecutive lines that have a cell in it; the text after a
line's last tab is no cell and never widens a column.
"""

from __future__ import annotations


def tabwrite(text: str, padding: int = 2) -> str:
    """Align tab-separated cells as Go's tabwriter does with padchar ' ' and no flags."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    _format(lines, 0, len(lines), [], out, padding)
    return "\n".join(out)


def _format(
    lines: list[list[str]], line0: int, line1: int, widths: list[int], out: list[str], padding: int
) -> None:
    """Go's `Writer.format`: find each block of lines with a cell in the next column, size it."""
    column = len(widths)
    this = line0
    while this < line1:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        _write_lines(lines, line0, this, widths, out)
        line0 = this
        width = 0
        while this < line1 and column < len(lines[this]) - 1:
            width = max(width, len(lines[this][column]) + padding)
            this += 1
        _format(lines, line0, this, [*widths, width], out, padding)
        line0 = this
    _write_lines(lines, line0, line1, widths, out)


def _write_lines(lines: list[list[str]], line0: int, line1: int, widths: list[int], out: list[str]) -> None:
    for cells in lines[line0:line1]:
        parts = []
        for j, cell in enumerate(cells):
            parts.append(cell.ljust(widths[j]) if j < len(widths) else cell)
        out.append("".join(parts))
