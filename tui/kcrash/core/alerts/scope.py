"""Which pods a rule speaks about: namespaces in and out, and a label selector."""

from __future__ import annotations

import re
from dataclasses import dataclass

# (key, operator, values): "=" and "!=" hold one value, "in"/"notin" several, "exists"/"!" none.
Term = tuple[str, str, tuple[str, ...]]

_SET_TERM = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def parse_selector(text: str) -> tuple[Term, ...]:
    """A label selector as kubectl takes it: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`,
    `a`, `!a`, comma-separated. Raises ValueError for anything else."""
    terms: list[Term] = []
    for part in _split(text):
        term = part.strip()
        if not term:
            continue
        found = _SET_TERM.match(term)
        if found:
            values = tuple(v.strip() for v in found.group(3).split(",") if v.strip())
            terms.append((found.group(1), found.group(2), values))
        elif "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            terms.append((_key(key, text), "!=", (value,)))
        elif "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            terms.append((_key(key, text), "=", (value,)))
        elif term.startswith("!"):
            terms.append((_key(term[1:].strip(), text), "!", ()))
        else:
            terms.append((_key(term, text), "exists", ()))
    return tuple(terms)


def _split(text: str) -> list[str]:
    """Commas split terms, except inside the parentheses of `in (a,b)`."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _key(key: str, text: str) -> str:
    if not key or " " in key:
        raise ValueError(f"cannot read {text!r} (write app=web, tier!=batch, env in (prod,staging))")
    return key


def _matches(labels: dict[str, str], term: Term) -> bool:
    key, op, values = term
    if op == "=":
        return labels.get(key) == values[0]
    if op == "!=":
        return labels.get(key) != values[0]
    if op == "in":
        return labels.get(key) in values
    if op == "notin":
        return labels.get(key) not in values
    if op == "!":
        return key not in labels
    return key in labels


@dataclass(frozen=True, slots=True)
class Scope:
    """Empty means everywhere."""

    namespaces: frozenset[str] = frozenset()
    exclude_namespaces: frozenset[str] = frozenset()
    selector: tuple[Term, ...] = ()

    def covers(self, namespace: str, labels: tuple[tuple[str, str], ...]) -> bool:
        if namespace in self.exclude_namespaces:
            return False
        if self.namespaces and namespace not in self.namespaces:
            return False
        if not self.selector:
            return True
        as_dict = dict(labels)
        return all(_matches(as_dict, term) for term in self.selector)
