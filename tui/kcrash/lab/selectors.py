"""Label and field selectors as the apiserver parses and applies them.

Label selectors: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, `a>1`, `a<1`.
Field selectors: `f=v`, `f==v`, `f!=v` joined by commas, with `\\` escapes; each resource accepts only
the fields the real server indexes (anything else is `field label not supported`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


class SelectorError(ValueError):
    """The selector text does not parse, or names a field the resource cannot be selected on."""


# -- label selectors ---------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(!=|==|=|\(|\)|,|!|>|<|[^\s!=(),<>]+)")


@dataclass(frozen=True, slots=True)
class LabelRequirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", ">", "<"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        return present and _compare(value, self.op, self.values[0])


def _compare(value: str, op: str, bound: str) -> bool:
    try:
        left, right = int(value), int(bound)
    except ValueError:
        return False
    return left > right if op == ">" else left < right


@dataclass(frozen=True, slots=True)
class LabelSelector:
    requirements: tuple[LabelRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        found = labels or {}
        return all(r.matches(found) for r in self.requirements)

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        tokens = _tokenize(text)
        requirements: list[LabelRequirement] = []
        pos = 0
        while pos < len(tokens):
            if tokens[pos] in _SPECIAL and tokens[pos] != "!":
                raise SelectorError(f"found '{tokens[pos]}', expected: !, identifier, or 'end of string'")
            try:
                requirement, pos = _parse_requirement(tokens, pos)
            except SelectorError as exc:  # labels.Parse words its requirement errors so
                raise SelectorError(f"unable to parse requirement: {exc}") from exc
            requirements.append(requirement)
            if pos < len(tokens):
                if tokens[pos] != ",":
                    raise SelectorError(f"found '{tokens[pos]}', expected: ',' or 'end of string'")
                pos += 1
                following = tokens[pos] if pos < len(tokens) else ""
                if not following or (following in _SPECIAL and following != "!"):
                    raise SelectorError(f"found '{following}', expected: identifier after ','")
        return cls(tuple(requirements))


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise SelectorError(f"unexpected character at {pos}")
        tokens.append(match.group(1))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


def _parse_requirement(tokens: list[str], pos: int) -> tuple[LabelRequirement, int]:
    if tokens[pos] == "!":
        key = _identifier(tokens, pos + 1)
        return LabelRequirement(key, "!"), pos + 2
    key = _identifier(tokens, pos)
    pos += 1
    if pos >= len(tokens) or tokens[pos] == ",":
        return LabelRequirement(key, "exists"), pos
    op = tokens[pos]
    if op in ("=", "==", "!="):
        value = tokens[pos + 1] if pos + 1 < len(tokens) and tokens[pos + 1] != "," else ""
        step = 2 if value else 1
        return LabelRequirement(key, "!=" if op == "!=" else "=", (value,)), pos + step
    if op in (">", "<"):
        bound = _identifier(tokens, pos + 1)
        if not bound.lstrip("-").isdigit():
            raise SelectorError(f"for '{op}' operator, the value must be an integer")
        return LabelRequirement(key, op, (bound,)), pos + 2
    if op in ("in", "notin"):
        values, pos = _parse_set(tokens, pos + 1)
        return LabelRequirement(key, op, values), pos
    raise SelectorError(f"found '{op}', expected: in, notin, =, ==, !=, gt, lt")


def _parse_set(tokens: list[str], pos: int) -> tuple[tuple[str, ...], int]:
    """The `(a,b)` of in/notin; errors worded as labels.Parse words them ('' is the end of the text)."""
    if pos >= len(tokens) or tokens[pos] != "(":
        raise SelectorError(f"found '{_token(tokens, pos)}' expected: '('")
    pos += 1
    if _token(tokens, pos) not in (",", ")") and (_token(tokens, pos) in _SPECIAL or pos >= len(tokens)):
        raise SelectorError(f"found '{_token(tokens, pos)}', expected: ',', ')' or identifier")
    values: list[str] = []
    while pos < len(tokens) and tokens[pos] != ")":
        if tokens[pos] == ",":
            pos += 1
            continue
        if tokens[pos] in _SPECIAL:
            raise SelectorError(f"found '{tokens[pos]}', expected: ',', or identifier")
        values.append(tokens[pos])
        pos += 1
        if _token(tokens, pos) not in (",", ")"):
            raise SelectorError(f"found '{_token(tokens, pos)}', expected: ',' or ')'")
    if pos >= len(tokens):
        raise SelectorError("found '', expected: ',', ')' or identifier")
    return tuple(values), pos + 1


def _token(tokens: list[str], pos: int) -> str:
    return tokens[pos] if pos < len(tokens) else ""


_SPECIAL = ("!=", "==", "=", "(", ")", ",", "!", ">", "<")


def _identifier(tokens: list[str], pos: int) -> str:
    if pos >= len(tokens) or tokens[pos] in _SPECIAL:
        raise SelectorError(f"found '{_token(tokens, pos)}', expected: identifier")
    return tokens[pos]


def format_label_selector(selector: Mapping[str, Any] | None, none_text: str = "<none>") -> str:
    """metav1.FormatLabelSelector: requirements sorted by key, `<none>` when empty."""
    parts: list[tuple[str, str]] = []
    for key, value in ((selector or {}).get("matchLabels") or {}).items():
        parts.append((key, f"{key}={value}"))
    for expr in (selector or {}).get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator", "")
        values = ",".join(sorted(expr.get("values") or []))
        rendered = {
            "In": f"{key} in ({values})",
            "NotIn": f"{key} notin ({values})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }.get(op, f"{key} {op} ({values})")
        parts.append((key, rendered))
    parts.sort(key=lambda part: part[0])
    text = ",".join(rendered for _, rendered in parts)
    return text or none_text


def selector_from_label_selector(selector: Mapping[str, Any] | None) -> LabelSelector:
    """A metav1.LabelSelector object (matchLabels/matchExpressions) as a matcher."""
    text = format_label_selector(selector, none_text="")
    return LabelSelector.parse(text) if text else LabelSelector()


# -- field selectors ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    field: str
    op: str  # "=" or "!="
    value: str


@dataclass(frozen=True, slots=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    @classmethod
    def parse(cls, text: str) -> FieldSelector:
        requirements = [_parse_field_term(term) for term in _split_unescaped(text, ",") if term.strip()]
        return cls(tuple(requirements))

    def check(self, resource: str) -> None:
        """Raise SelectorError for a field this resource cannot be selected on."""
        known = _fields_for(resource)
        for requirement in self.requirements:
            if requirement.field not in known:
                raise SelectorError(_unknown_field(resource, requirement.field))

    def matches(self, resource: str, obj: Obj) -> bool:
        known = _fields_for(resource)
        for requirement in self.requirements:
            actual = known[requirement.field](obj)
            if (actual == requirement.value) != (requirement.op == "="):
                return False
        return True

    def single_name(self) -> str | None:
        """The name in `metadata.name=X`, the one field selector a watch on one object uses."""
        for requirement in self.requirements:
            if requirement.field == "metadata.name" and requirement.op == "=":
                return requirement.value
        return None


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _parse_field_term(term: str) -> FieldRequirement:
    for op_text, op in (("!=", "!="), ("==", "="), ("=", "=")):
        index = _find_unescaped(term, op_text)
        if index >= 0:
            field = _unescape(term[:index].strip())
            value = _unescape(term[index + len(op_text) :].strip())
            return FieldRequirement(field, op, value)
    raise SelectorError(f"invalid selector: '{term}'; can't understand '{term}'")


def _find_unescaped(text: str, needle: str) -> int:
    index = 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text.startswith(needle, index):
            return index
        index += 1
    return -1


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _path(*keys: str) -> Callable[[Obj], str]:
    def get(obj: Obj) -> str:
        value: Any = obj
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return get


_COMMON: dict[str, Callable[[Obj], str]] = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}

_RESOURCE_FIELDS: dict[str, dict[str, Callable[[Obj], str]]] = {
    "pods": {
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": lambda obj: "true" if (obj.get("spec") or {}).get("hostNetwork") else "false",
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "events": {
        "involvedObject.kind": _path("involvedObject", "kind"),
        "involvedObject.namespace": _path("involvedObject", "namespace"),
        "involvedObject.name": _path("involvedObject", "name"),
        "involvedObject.uid": _path("involvedObject", "uid"),
        "involvedObject.apiVersion": _path("involvedObject", "apiVersion"),
        "involvedObject.resourceVersion": _path("involvedObject", "resourceVersion"),
        "involvedObject.fieldPath": _path("involvedObject", "fieldPath"),
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        "source": _path("source", "component"),
        "type": _path("type"),
    },
    "namespaces": {"status.phase": _path("status", "phase")},
    "nodes": {
        "spec.unschedulable": lambda obj: "true" if (obj.get("spec") or {}).get("unschedulable") else "false"
    },
    "secrets": {"type": _path("type")},
}


def _unknown_field(resource: str, field: str) -> str:
    """Kinds with their own field label conversion say "not supported"; the rest get the default words."""
    if resource in _RESOURCE_FIELDS:
        return f"field label not supported: {field}"
    return f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"'


def _fields_for(resource: str) -> dict[str, Callable[[Obj], str]]:
    return {**_COMMON, **_RESOURCE_FIELDS.get(resource, {})}
