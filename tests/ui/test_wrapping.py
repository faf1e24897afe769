"""Hanging-indent wrapping: rows break at spaces, under the value, and cut only what cannot fit (pure)."""

from __future__ import annotations

import pytest
from textual.content import Content

from kcrash.ui.wrapping import HANG, Block, Line, wrap_line

UID_MESSAGE = (
    "back-off 5m0s restarting failed container=app pod=web-7d4b9c_shop(10b8fe22-3c11-4549-8853-4206fc4a447e)"
)


def rows(label: str, value: str, width: int) -> list[str]:
    return Block.of([(label.ljust(11), "$text-muted"), HANG, value]).wrap(width).plain.split("\n")


@pytest.mark.parametrize(
    ("label", "value", "width", "expected"),
    [
        ("Restarts", "7", 40, ["Restarts   7"]),
        (
            "Message",
            "failed to create shim task: OCI runtime create failed",
            40,
            ["Message    failed to create shim task:", "           OCI runtime create failed"],
        ),
        # A node name wider than what is left on the row moves down whole.
        (
            "Node",
            "kubelet on ip-10-0-12-34.eu-west-1.compute.internal",
            56,
            ["Node       kubelet on", "           ip-10-0-12-34.eu-west-1.compute.internal"],
        ),
        # The UID stays whole: the long token is cut before its "(".
        (
            "",
            UID_MESSAGE,
            60,
            [
                "           back-off 5m0s restarting failed container=app",
                "           pod=web-7d4b9c_shop",
                "           (10b8fe22-3c11-4549-8853-4206fc4a447e)",
            ],
        ),
        # Only a token longer than a whole row is cut.
        ("Image", "x" * 30, 25, ["Image      xxxxxxxxxxxxxx", "           xxxxxxxxxxxxxx", "           xx"]),
    ],
)
def test_rows_break_at_spaces_under_the_value(
    label: str, value: str, width: int, expected: list[str]
) -> None:
    assert rows(label, value, width) == expected


@pytest.mark.parametrize("width", [20, 33, 47, 80])
def test_no_row_is_wider_than_the_width_and_no_text_is_lost(width: int) -> None:
    wrapped = rows("Message", UID_MESSAGE + " and then some more words", width)
    assert all(len(row) <= width for row in wrapped)
    assert "".join(row.strip() for row in wrapped).replace(" ", "") == (
        "Message" + UID_MESSAGE + "andthensomemorewords"
    ).replace(" ", "")


def test_lines_without_a_label_and_fixed_indents() -> None:
    line = Line(Content("alpha beta gamma delta"), indent=2)
    assert [row.plain for row in wrap_line(line, 12)] == ["alpha beta", "  gamma", "  delta"]
    assert Block.plain_text(Content("one two three")).wrap(8).plain == "one two\nthree"


def test_styles_survive_the_wrap() -> None:
    block = Block.of([("Reason".ljust(11), "$text-muted"), HANG, ("OOMKilled by the kernel", "bold $oom")])
    wrapped = block.wrap(24)
    assert wrapped.plain == "Reason     OOMKilled by\n           the kernel"
    styled = {wrapped.plain[span.start : span.end] for span in wrapped.spans if span.style == "bold $oom"}
    assert styled == {"OOMKilled by", "the kernel"}
