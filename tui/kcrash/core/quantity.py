"""Kubernetes resource quantities for the client side: the one implementation is `kcrash.units`,
which the lab shares."""

from kcrash.units.quantity import format_bytes, format_cpu, parse_bytes, parse_cpu, parse_quantity

__all__ = ["format_bytes", "format_cpu", "parse_bytes", "parse_cpu", "parse_quantity"]
