"""Kubernetes resource quantities: "256Mi", "0.5Gi", "500m", "1e6", "123456Ki" and back.

The grammar follows k8s.io/apimachinery/pkg/api/resource: a signed decimal number, then either a
binary suffix (Ki Mi Gi Ti Pi Ei), a decimal suffix (n u m "" k M G T P E) or an exponent (e3, E-2).
Values are kept exact (Fraction) and rounded up to whole units the way Quantity.Value() and
MilliValue() do, so "500m" bytes is 1 byte and "0.1m" CPU is 1 millicore.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_NUMBER = re.compile(r"([+-]?)(\d+(?:\.\d*)?|\.\d+)(.*)")
_EXPONENT = re.compile(r"[eE]([+-]?\d+)")
# The API server refuses quantities beyond this; it also keeps "1e999999999" from eating memory.
_MAX_EXPONENT = 60


def _multiplier(suffix: str, text: str) -> Fraction:
    if suffix in _DECIMAL:
        return _DECIMAL[suffix]
    if suffix in _BINARY:
        return Fraction(_BINARY[suffix])
    exponent = _EXPONENT.fullmatch(suffix)
    if exponent is not None:
        power = int(exponent.group(1))
        if abs(power) > _MAX_EXPONENT:
            raise ValueError(f"quantity {text!r}: exponent {power} is out of range")
        return Fraction(10) ** power
    raise ValueError(
        f"quantity {text!r}: unknown suffix {suffix!r} "
        "(expected Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or e<N>)"
    )


def parse_quantity(text: str) -> Fraction:
    """The exact value of a quantity string. Raises ValueError naming the problem."""
    body = text.strip()
    if not body:
        raise ValueError("quantity is empty")
    match = _NUMBER.fullmatch(body)
    if match is None:
        raise ValueError(f"quantity {text!r} does not start with a number")
    sign, number, suffix = match.groups()
    value = Fraction(number) * _multiplier(suffix, text)
    return -value if sign == "-" else value


def _non_negative(text: str, what: str) -> Fraction:
    value = parse_quantity(text)
    if value < 0:
        raise ValueError(f"{what} {text!r} is negative")
    return value


def parse_bytes(text: str) -> int:
    """A memory quantity in bytes, rounded up: "256Mi" -> 268435456, "1.5G" -> 1500000000."""
    return math.ceil(_non_negative(text, "memory quantity"))


def parse_cpu(text: str) -> int:
    """A CPU quantity in millicores, rounded up: "500m" -> 500, "2" -> 2000, "0.25" -> 250."""
    return math.ceil(_non_negative(text, "CPU quantity") * 1000)


_BINARY_DESCENDING = sorted(_BINARY.items(), key=lambda item: item[1], reverse=True)


def format_bytes(n: int) -> str:
    """Bytes as a readable, still parseable quantity: "256Mi", "1Gi", "286.1Mi", "512".

    Exact binary multiples keep their whole form; others show one decimal in the largest unit
    that is at least 1.
    """
    if n < 0:
        return "-" + format_bytes(-n)
    larger: tuple[str, int] | None = None
    for suffix, size in _BINARY_DESCENDING:
        if n >= size:
            if n % size == 0:
                return f"{n // size}{suffix}"
            shown = f"{n / size:.1f}"
            if shown == "1024.0" and larger is not None:  # 1Gi - 1 byte reads 1.0Gi, not 1024.0Mi
                return f"{n / larger[1]:.1f}{larger[0]}"
            return f"{shown}{suffix}"
        larger = (suffix, size)
    return str(n)


def format_cpu(millicores: int) -> str:
    """Millicores as kubectl writes them: 500 -> "500m", 2000 -> "2", 1500 -> "1500m"."""
    if millicores % 1000 == 0:
        return str(millicores // 1000)
    return f"{millicores}m"
