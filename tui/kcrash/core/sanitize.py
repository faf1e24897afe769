"""Make text from the cluster safe to put on a terminal: every control made inert and visible.

Log lines, event messages and container messages are written by whoever runs in the cluster.
Raw, they can recolour or clear the screen, retitle the window, write the clipboard (OSC 52),
plant links (OSC 8), hide text with CR/BS or reorder it with bidi controls (CVE-2021-25743,
Trojan Source). kubectl's fix replaces only ESC and CR; here nothing that steers a terminal or
the text layout survives.

Marker form (one rule, easy to read back):
- C0 controls and DEL become their Unicode Control Picture: ESC -> "␛", BEL -> "␇", BS -> "␈",
  a bare CR -> "␍", NUL -> "␀", DEL -> "␡". A colour code therefore reads "␛[31m" and an OSC 52
  clipboard write reads "␛]52;c;aGk=␇": the whole sequence stays visible, and without its ESC a
  terminal treats the rest as plain text.
- Every other neutralised code point reads "⟨U+XXXX⟩": C1 controls U+0080-U+009F (including the
  8-bit CSI U+009B), bidi embeddings/overrides/isolates and marks, invisible characters that
  can disguise a word (U+200B, U+2060, U+FEFF, U+180E), line/paragraph separators, Unicode tag
  characters, and lone surrogates. The zero-width joiner U+200D stays: emoji need it.
- "\\n" and "\\t" are kept (in `clean_line`, "\\n" becomes "␤" and "\\t" a space); "\\r\\n" is a
  plain line end. Invalid UTF-8 in bytes becomes U+FFFD.
- A line longer than `max_line` is cut and ends with "… [cut 12,345 chars]".

Markup (`[@click=app.quit]`) is left as text; keeping it from being parsed is the UI's job.
"""

from __future__ import annotations

import re

_C0_PICTURE_BASE = 0x2400  # U+2400 SYMBOL FOR NULL .. U+241F SYMBOL FOR UNIT SEPARATOR
_DEL_PICTURE = "␡"
_NEWLINE_PICTURE = "␤"

_OTHER_RANGES: tuple[tuple[int, int], ...] = (
    (0x0080, 0x009F),  # C1 controls, including 8-bit CSI (0x9B), OSC (0x9D), ST (0x9C)
    (0x061C, 0x061C),  # ARABIC LETTER MARK
    (0x180E, 0x180E),  # MONGOLIAN VOWEL SEPARATOR (invisible)
    (0x200B, 0x200B),  # ZERO WIDTH SPACE
    (0x200E, 0x200F),  # LEFT-TO-RIGHT / RIGHT-TO-LEFT MARK
    (0x2028, 0x2029),  # LINE / PARAGRAPH SEPARATOR: would break a line where no \n is
    (0x202A, 0x202E),  # bidi embeddings and overrides (LRE RLE PDF LRO RLO)
    (0x2060, 0x2060),  # WORD JOINER
    (0x2066, 0x2069),  # bidi isolates (LRI RLI FSI PDI)
    (0xD800, 0xDFFF),  # lone surrogates cannot be encoded for the terminal at all
    (0xFEFF, 0xFEFF),  # ZERO WIDTH NO-BREAK SPACE / byte order mark
    (0xE0000, 0xE007F),  # tag characters: invisible ASCII look-alikes
)


def _build_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x20):
        if code not in (0x09, 0x0A):
            table[code] = chr(_C0_PICTURE_BASE + code)
    table[0x7F] = _DEL_PICTURE
    for start, end in _OTHER_RANGES:
        for code in range(start, end + 1):
            table[code] = f"⟨U+{code:04X}⟩"
    return table


_TABLE = _build_table()
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f"
    + "".join(f"{re.escape(chr(start))}-{re.escape(chr(end))}" for start, end in _OTHER_RANGES)
    + "]"
)
_LINE_TABLE = {**_TABLE, 0x0A: _NEWLINE_PICTURE, 0x09: " "}


def _as_text(text: str | bytes) -> str:
    if isinstance(text, bytes):
        return text.decode("utf-8", errors="replace")
    return text


def _neutralise(text: str) -> str:
    text = text.replace("\r\n", "\n")
    if _UNSAFE.search(text) is None:  # the common case: nothing to do
        return text
    return text.translate(_TABLE)


def _cut(line: str, max_line: int) -> str:
    if len(line) <= max_line:
        return line
    return f"{line[:max_line]}… [cut {len(line) - max_line:,} chars]"


def clean(text: str | bytes, *, max_line: int = 4000) -> str:
    """Text with every terminal control inert and visible; lines and tabs kept; long lines cut."""
    safe = _neutralise(_as_text(text))
    if len(safe) <= max_line:
        return safe
    return "\n".join(_cut(line, max_line) for line in safe.split("\n"))


def clean_line(text: str | bytes, *, max_len: int = 4000, tab_size: int = 0) -> str:
    """One line for a table cell or title: like `clean`, with "\\n" shown as "␤" and tabs as spaces
    (one each, or up to the next multiple of `tab_size` columns, as a terminal sets a log line)."""
    line = _as_text(text).replace("\r\n", "\n")
    if tab_size > 0 and "\t" in line:
        # Controls first: the tab stops are counted on the text as it will be shown.
        line = _neutralise(line).replace("\n", _NEWLINE_PICTURE).expandtabs(tab_size)
    else:
        line = line.translate(_LINE_TABLE)
    return _cut(line, max_len)


def clean_lines(text: str | bytes, tail: int, *, max_line: int = 4000) -> list[str]:
    """The last `tail` lines, cleaned. A final newline does not count as an empty last line.

    Only the tail is cleaned, so a large log costs little more than its last lines.
    """
    raw = _as_text(text)
    if tail <= 0 or not raw:
        return []
    final_crlf = raw.endswith("\r\n")
    if raw.endswith("\n"):
        raw = raw[:-1]
    start = len(raw)
    for _ in range(tail):
        start = raw.rfind("\n", 0, start)
        if start < 0:
            break
    piece = raw[start + 1 :] if start >= 0 else raw
    if final_crlf:
        piece = piece[:-1]  # the CR of a final CRLF is a line end, not an overwrite
    return [_cut(line, max_line) for line in _neutralise(piece).split("\n")]
