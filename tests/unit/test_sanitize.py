"""Cluster text made inert and visible: escape sequences, C1, bidi, invisible characters, long lines."""

from __future__ import annotations

import random

import pytest

from kcrash.core.sanitize import clean, clean_line, clean_lines

CLEAN_CASES = [
    pytest.param("hello world\n\tindented", "hello world\n\tindented", id="plain-text-untouched"),
    pytest.param("Grüße 你好 🚀 naïve", "Grüße 你好 🚀 naïve", id="unicode-untouched"),
    pytest.param("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧", id="emoji-joiners-kept"),
    pytest.param("\x1b[31mERROR\x1b[0m boom", "␛[31mERROR␛[0m boom", id="csi-colour"),
    pytest.param("\x1b[2J\x1b[H\x1b[?1049h", "␛[2J␛[H␛[?1049h", id="csi-clear-and-alt-screen"),
    pytest.param("\x1b]52;c;aGVsbG8=\x07", "␛]52;c;aGVsbG8=␇", id="osc52-clipboard-bel"),
    pytest.param("\x1b]52;c;aGVsbG8=\x1b\\", "␛]52;c;aGVsbG8=␛\\", id="osc52-clipboard-st"),
    pytest.param(
        "\x1b]8;;https://evil.example/\x1b\\docs\x1b]8;;\x1b\\",
        "␛]8;;https://evil.example/␛\\docs␛]8;;␛\\",
        id="osc8-hyperlink",
    ),
    pytest.param("\x1b]0;pwned\x07", "␛]0;pwned␇", id="osc-window-title"),
    pytest.param("\x1bP1$r0m\x1b\\", "␛P1$r0m␛\\", id="dcs"),
    pytest.param("\x1b_payload\x1b\\", "␛_payload␛\\", id="apc"),
    pytest.param("\x1b^private\x1b\\", "␛^private␛\\", id="pm"),
    pytest.param("\x1bXstring\x1b\\", "␛Xstring␛\\", id="sos"),
    pytest.param("a\x1bb", "a␛b", id="lone-esc"),
    pytest.param("\x1bc", "␛c", id="esc-reset-terminal"),
    pytest.param("\x9b31mred", "⟨U+009B⟩31mred", id="8bit-csi"),
    pytest.param("\x9d52;c;eA==\x9c", "⟨U+009D⟩52;c;eA==⟨U+009C⟩", id="8bit-osc-and-st"),
    pytest.param("x\x85y", "x⟨U+0085⟩y", id="c1-next-line"),
    pytest.param("ok\x08\x08xx\x07", "ok␈␈xx␇", id="backspace-and-bel"),
    pytest.param("progress 10%\rprogress 100%", "progress 10%␍progress 100%", id="bare-cr"),
    pytest.param("a\r\nb\r\n", "a\nb\n", id="crlf-is-a-line-end"),
    pytest.param("\x00\x01\x1f", "␀␁␟", id="other-c0"),
    pytest.param("v\x0bf\x0c", "v␋f␌", id="vt-ff"),
    pytest.param("del\x7f", "del␡", id="del"),
    pytest.param("\u202eexe.txt\u202c", "⟨U+202E⟩exe.txt⟨U+202C⟩", id="bidi-override"),
    pytest.param("\u2066a\u2067b\u2068c\u2069", "⟨U+2066⟩a⟨U+2067⟩b⟨U+2068⟩c⟨U+2069⟩", id="bidi-isolates"),
    pytest.param("\u200f\u200e\u061c", "⟨U+200F⟩⟨U+200E⟩⟨U+061C⟩", id="bidi-marks"),
    pytest.param("ku\u200bbectl", "ku⟨U+200B⟩bectl", id="zero-width-space"),
    pytest.param("\ufeffstart", "⟨U+FEFF⟩start", id="bom"),
    pytest.param("line\u2028break", "line⟨U+2028⟩break", id="line-separator"),
    pytest.param("a\U000e0041b", "a⟨U+E0041⟩b", id="tag-character"),
    pytest.param("bad\ud800", "bad⟨U+D800⟩", id="lone-surrogate"),
    pytest.param("[@click=app.quit]quit[/]", "[@click=app.quit]quit[/]", id="markup-left-as-text"),
    pytest.param(
        "[bold red]x[/bold red] \\[escaped]", "[bold red]x[/bold red] \\[escaped]", id="rich-markup-text"
    ),
    pytest.param(
        # CVE-2021-25743: an event message carrying sequences that kubectl printed raw.
        'Failed to pull image "x\x1b]0;pwned\x07\x1b[2J\x1b[H": rpc error: code = NotFound',
        'Failed to pull image "x␛]0;pwned␇␛[2J␛[H": rpc error: code = NotFound',
        id="cve-2021-25743-event-message",
    ),
    pytest.param(b"ok \xff\xfe done", "ok \ufffd\ufffd done", id="invalid-utf8-bytes"),
    pytest.param(b"\x1b[1mbold\x1b[0m", "␛[1mbold␛[0m", id="bytes-with-escapes"),
    pytest.param(b"\xc2\x9b31m", "⟨U+009B⟩31m", id="utf8-encoded-c1"),
    pytest.param("", "", id="empty"),
]


@pytest.mark.parametrize(("text", "want"), CLEAN_CASES)
def test_clean(text: str | bytes, want: str) -> None:
    assert clean(text) == want


DANGEROUS = (
    [chr(c) for c in range(0x20) if c not in (0x09, 0x0A)]
    + ["\x7f"]
    + [chr(c) for c in range(0x80, 0xA0)]
    + [
        chr(c)
        for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200B, 0x200E, 0x200F, 0x2028, 0x2029)
    ]
    + ["\ufeff", "\U000e0001", "\ud83d"]
)
HARMLESS = ["a", "Z", "0", " ", "[", "]", "\\", ";", "\n", "\t", "é", "中", "🚀", "\u200d", "⟨", "␛"]


def _random_text(rng: random.Random) -> str:
    pieces = []
    for _ in range(rng.randint(0, 80)):
        roll = rng.random()
        if roll < 0.3:
            pieces.append(rng.choice(DANGEROUS))
        elif roll < 0.4:
            pieces.append(rng.choice(["\x1b[", "\x1b]52;c;", "\x1b]8;;", "\x1bP", "\x9b", "\r\n", "\x1b\\"]))
        else:
            pieces.append(rng.choice(HARMLESS))
    return "".join(pieces)


def _is_inert(text: str) -> bool:
    for char in text:
        code = ord(char)
        if (code < 0x20 and char not in "\n\t") or 0x7F <= code <= 0x9F:
            return False
        if char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\ufeff\u2028\u2029":
            return False
        if 0xD800 <= code <= 0xDFFF or 0xE0000 <= code <= 0xE007F:
            return False
    return True


@pytest.mark.parametrize("seed", range(200))
def test_fuzz_output_is_inert_visible_and_stable(seed: int) -> None:
    rng = random.Random(seed)
    text = _random_text(rng)
    out = clean(text)
    assert _is_inert(out)
    out.encode("utf-8")  # strict: nothing unencodable survives
    assert clean(out) == out  # cleaning twice changes nothing
    # Every ESC is still visible as a marker, none silently dropped.
    assert out.count("␛") == text.count("\x1b") + text.count("␛")
    # Line structure survives: one output line per input line end.
    assert out.count("\n") == text.count("\n")


@pytest.mark.parametrize("seed", range(50))
def test_fuzz_bytes(seed: int) -> None:
    rng = random.Random(seed)
    data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
    out = clean(data)
    assert _is_inert(out)
    out.encode("utf-8")


def test_long_line_is_cut_with_a_count() -> None:
    assert clean("x" * 5000, max_line=4000) == "x" * 4000 + "… [cut 1,000 chars]"


def test_cut_count_uses_thousands_separators() -> None:
    assert clean("y" * 16345, max_line=4000).endswith("… [cut 12,345 chars]")


def test_only_long_lines_are_cut() -> None:
    out = clean("short\n" + "z" * 30 + "\nend", max_line=10)
    assert out == "short\n" + "z" * 10 + "… [cut 20 chars]\nend"


def test_line_at_the_limit_is_kept() -> None:
    assert clean("q" * 10, max_line=10) == "q" * 10


@pytest.mark.parametrize(
    ("text", "max_len", "want"),
    [
        ("a\nb\tc", 100, "a␤b c"),
        ("a\r\nb", 100, "a␤b"),
        ("\x1b[31mred\x07", 100, "␛[31mred␇"),
        (b"pod \xff", 100, "pod \ufffd"),
        ("abcdefghij", 4, "abcd… [cut 6 chars]"),
        ("[@click=app.quit]", 100, "[@click=app.quit]"),
    ],
)
def test_clean_line(text: str | bytes, max_len: int, want: str) -> None:
    assert clean_line(text, max_len=max_len) == want


@pytest.mark.parametrize(
    ("text", "tail", "want"),
    [
        ("1\n2\n3\n", 2, ["2", "3"]),
        ("1\n2\n3", 2, ["2", "3"]),
        ("1\n2\n3\n", 10, ["1", "2", "3"]),
        ("1\n2\n3\n", 0, []),
        ("", 5, []),
        ("\n", 5, [""]),
        ("a\n\nb\n", 2, ["", "b"]),
        ("a\r\nb\r\n", 5, ["a", "b"]),
        ("a\r\nb\rc\r\n", 1, ["b␍c"]),
        ("ok\n\x1b[31mfatal: boom\x1b[0m\n", 1, ["␛[31mfatal: boom␛[0m"]),
        (b"x\ny \xff\n", 1, ["y \ufffd"]),
    ],
)
def test_clean_lines_tail(text: str | bytes, tail: int, want: list[str]) -> None:
    assert clean_lines(text, tail) == want


def test_clean_lines_cuts_long_lines() -> None:
    assert clean_lines("a\n" + "b" * 20 + "\n", 1, max_line=5) == ["bbbbb… [cut 15 chars]"]


def test_clean_lines_on_a_large_log_keeps_only_the_tail() -> None:
    log = "".join(f"line {i}\n" for i in range(200_000)) + "\x1b[31mpanic: nil map\x1b[0m\n"
    assert clean_lines(log, 3) == ["line 199998", "line 199999", "␛[31mpanic: nil map␛[0m"]
