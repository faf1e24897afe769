"""Kubernetes quantities to bytes and millicores, and back."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kcrash.core.quantity import format_bytes, format_cpu, parse_bytes, parse_cpu, parse_quantity


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("256Mi", 268_435_456),
        ("0.5Gi", 536_870_912),
        ("268435456", 268_435_456),
        ("500m", 1),  # half a byte rounds up, as Quantity.Value() does
        ("1e6", 1_000_000),
        ("1E3", 1_000),
        ("2e-1", 1),
        ("123456Ki", 126_418_944),
        ("1.5G", 1_500_000_000),
        ("100k", 100_000),
        ("1E", 10**18),
        ("2Ti", 2 * 2**40),
        ("1Ei", 2**60),
        ("+1Ki", 1024),
        (".5Ki", 512),
        ("0", 0),
        (" 64Mi ", 64 * 2**20),
    ],
)
def test_parse_bytes(text: str, want: int) -> None:
    assert parse_bytes(text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("500m", 500),
        ("2", 2000),
        ("0.25", 250),
        ("1.5", 1500),
        ("100u", 1),  # 0.1 millicore rounds up
        ("1e-3", 1),
        ("250000000n", 250),
        ("0", 0),
    ],
)
def test_parse_cpu(text: str, want: int) -> None:
    assert parse_cpu(text) == want


def test_parse_quantity_is_exact_and_signed() -> None:
    assert parse_quantity("-1.5Ki") == Fraction(-1536)
    assert parse_quantity("1m") == Fraction(1, 1000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("abc", "does not start with a number"),
        ("Mi", "does not start with a number"),
        ("1.2.3", "unknown suffix"),
        ("--1", "does not start with a number"),
        ("12Mb", "unknown suffix"),
        ("1 Mi", "unknown suffix"),
        ("5x", "unknown suffix"),
        ("1e999999", "out of range"),
        ("-1Gi", "negative"),
    ],
)
def test_invalid_quantities_raise_clearly(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_bytes(text)


def test_negative_cpu_is_rejected() -> None:
    with pytest.raises(ValueError, match="CPU quantity '-500m' is negative"):
        parse_cpu("-500m")


@pytest.mark.parametrize(
    ("n", "want"),
    [
        (0, "0"),
        (512, "512"),
        (1024, "1Ki"),
        (1536, "1.5Ki"),
        (268_435_456, "256Mi"),
        (2**30, "1Gi"),
        (300_000_000, "286.1Mi"),
        (2**30 - 1, "1.0Gi"),
        (3 * 2**60, "3Ei"),
        (-2048, "-2Ki"),
    ],
)
def test_format_bytes(n: int, want: str) -> None:
    assert format_bytes(n) == want


@pytest.mark.parametrize("n", [0, 512, 1024, 64 * 2**20, 268_435_456, 5 * 2**30])
def test_exact_formats_parse_back(n: int) -> None:
    assert parse_bytes(format_bytes(n)) == n


@pytest.mark.parametrize(
    ("millicores", "want"), [(0, "0"), (500, "500m"), (1000, "1"), (2000, "2"), (1500, "1500m")]
)
def test_format_cpu(millicores: int, want: str) -> None:
    assert format_cpu(millicores) == want
    assert parse_cpu(want) == millicores
