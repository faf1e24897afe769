"""Parsing a request: the resource URL (`Target`), query options and their validation, the verb,
content negotiation (JSON, Table, PartialObjectMetadata, aggregated discovery) and `dryRun`.

Validation errors carry the apiserver's own words, so the differential suite can compare them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kcrash.lab import discovery, errors
from kcrash.lab.discovery import ResourceInfo
from kcrash.lab.store import Obj

# kube-apiserver answers a Table or PartialObjectMetadata request with a plain JSON media type: the
# body's kind says what it is; the `as=` parameters of the Accept header are not echoed.
TABLE_CONTENT_TYPE = "application/json"
PARTIAL_CONTENT_TYPE = "application/json"
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed resource URL."""

    info: ResourceInfo
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    legacy_watch: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    params: Any  # a MultiDictProxy; only .get is used

    def text(self, key: str, default: str = "") -> str:
        value = self.params.get(key)
        return default if value is None else str(value)

    def flag(self, key: str) -> bool:
        return self.text(key).lower() in ("true", "1")

    def has(self, key: str) -> bool:
        return self.params.get(key) is not None

    def integer(self, key: str) -> int | None:
        value = self.params.get(key)
        if value in (None, ""):
            return None
        try:
            return int(value)
        except ValueError as exc:
            raise errors.bad_request(f'strconv.ParseInt: parsing "{value}": invalid syntax') from exc


def validate_list_options(query: Query, watch: bool) -> None:
    """ListOptions validation as the apiserver runs it (meta/internalversion/validation), same words."""
    version = query.text("resourceVersion")
    if version and not version.isdigit():
        raise errors.bad_request(
            f'invalid resource version: resourceVersion: Invalid value: "{version}": '
            f'strconv.ParseUint: parsing "{version}": invalid syntax'
        )
    match = query.text("resourceVersionMatch")
    causes = _watch_option_causes(query, match) if watch else _list_option_causes(query, match, version)
    if causes:
        raise errors.invalid("ListOptions", "meta.k8s.io", "", causes)


def _list_option_causes(query: Query, match: str, version: str) -> list[tuple[str, str]]:
    causes: list[tuple[str, str]] = []
    if match:
        if not version:
            causes.append(("resourceVersionMatch", f"Forbidden: {_MATCH_NEEDS_VERSION}"))
        if query.text("continue"):
            causes.append(("resourceVersionMatch", f"Forbidden: {_MATCH_WITH_CONTINUE}"))
        if match not in ("Exact", "NotOlderThan"):
            causes.append(("resourceVersionMatch", _unsupported(match, '"Exact", "NotOlderThan", ""')))
        if match == "Exact" and version == "0":
            causes.append(
                (
                    "resourceVersionMatch",
                    'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
                )
            )
    if query.has("sendInitialEvents"):
        causes.append(("sendInitialEvents", "Forbidden: sendInitialEvents is forbidden for list"))
    return causes


def _watch_option_causes(query: Query, match: str) -> list[tuple[str, str]]:
    causes: list[tuple[str, str]] = []
    initial = query.has("sendInitialEvents")
    if initial and match != "NotOlderThan":
        causes.append(
            (
                "resourceVersionMatch",
                "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            )
        )
    if match:
        if not initial:
            causes.append(("resourceVersionMatch", f"Forbidden: {_MATCH_NEEDS_INITIAL_EVENTS}"))
        if match != "NotOlderThan":
            causes.append(("resourceVersionMatch", _unsupported(match, '"NotOlderThan"')))
        if query.text("continue"):
            causes.append(("resourceVersionMatch", f"Forbidden: {_MATCH_WITH_CONTINUE}"))
    return causes


_MATCH_NEEDS_VERSION = "resourceVersionMatch is forbidden unless resourceVersion is provided"
_MATCH_WITH_CONTINUE = "resourceVersionMatch is forbidden when continue is provided"
_MATCH_NEEDS_INITIAL_EVENTS = (
    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"
)


def _unsupported(value: str, supported: str) -> str:
    return f'Unsupported value: "{value}": supported values: {supported}'


def negotiate(accept: str) -> str:
    """The representation to answer with: "json", "table" or "partial" (406 when none fits)."""
    if not accept.strip():
        return "json"
    for part in accept.split(","):
        media, params = _media(part)
        if media not in ("application/json", "*/*", "application/*"):
            continue
        shape = params.get("as")
        if shape is None:
            return "json"
        if shape == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            return "table"
        if (
            shape in ("PartialObjectMetadata", "PartialObjectMetadataList")
            and params.get("g") == "meta.k8s.io"
        ):
            return "partial"
    raise errors.not_acceptable("application/json, application/yaml, application/vnd.kubernetes.protobuf")


def wants_aggregated_discovery(accept: str) -> bool:
    for part in accept.split(","):
        media, params = _media(part)
        if media != "application/json":
            continue
        if params.get("as") is None:
            return False
        if (params.get("g"), params.get("v"), params.get("as")) == (
            "apidiscovery.k8s.io",
            "v2",
            "APIGroupDiscoveryList",
        ):
            return True
    return False


def _media(part: str) -> tuple[str, dict[str, str]]:
    media, *rest = part.split(";")
    params = {}
    for item in rest:
        key, sep, value = item.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip()
    return media.strip().lower(), params


def parse_target(path: str) -> tuple[str, str, list[str]] | None:
    """Split `/api/v1/...` or `/apis/g/v/...` into (group, version, rest); None if neither."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        return "", parts[1], parts[2:]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2], parts[3:]
    return None


def resolve(group: str, version: str, rest: list[str]) -> Target:
    """Map the path after the group version to a resource, namespace, name and subresource."""
    legacy_watch = bool(rest) and rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    if len(rest) >= 3 and rest[0] == "namespaces":
        info = discovery.find(group, version, rest[2])
        if info is None or not info.namespaced or len(rest) > 5:
            raise errors.page_not_found()
        target = Target(info, rest[1], rest[3] if len(rest) > 3 else "", rest[4] if len(rest) > 4 else "")
    elif 1 <= len(rest) <= 3:
        info = discovery.find(group, version, rest[0])
        if info is None or (info.namespaced and len(rest) > 1):
            raise errors.page_not_found()
        target = Target(info, "", rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else "")
    else:
        raise errors.page_not_found()
    if target.subresource and target.info.subresource(target.subresource) is None:
        raise errors.page_not_found()
    return Target(target.info, target.namespace, target.name, target.subresource, legacy_watch)


def verb_of(method: str, target: Target, query: Query) -> str:
    watching = target.legacy_watch or query.flag("watch")
    if method == "GET":
        if watching:
            return "watch"
        return "get" if target.name else "list"
    verbs = {"POST": "create", "PATCH": "patch", "PUT": "update"}
    if method == "DELETE":
        return "delete" if target.name else "deletecollection"
    return verbs.get(method, method.lower())


def dry_run_requested(options: Obj, kind: str) -> bool:
    """Whether `dryRun=All` was asked; another value is refused the way `kind` (CreateOptions...) does."""
    values = options.get("dryRun") or []
    if isinstance(values, str):
        values = [values]
    if any(value != "All" for value in values):
        shown = "[" + ", ".join(f'"{value}"' for value in values) + "]"
        raise errors.invalid(
            kind, "meta.k8s.io", "", [("dryRun", f'Unsupported value: {shown}: supported values: "All"')]
        )
    return bool(values)
