"""Pieces of `-o yaml` or `-o json` copied out of a pod: a `lastState:` block, a `containerStatuses`
list, one container's status, a `"state": {...}` member, a selection that starts mid-object.

What parses is read. YAML is tried from each line that opens a key, taken to the end of that key's
block with its indentation removed, and shortened a line at a time until it loads; JSON is read as
the objects and arrays in it that load on their own, each under the key written before it, so a
paste cut in the middle of an object still gives the `"lastState"` inside it. What loaded becomes
a pod status for `cluster.parse` (`as_status`); a container status whose name was not copied has
none, and `combine` names it when another paste names the pod's only container.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
import yaml

from kcrash.cluster.parse import parse_objects
from kcrash.cluster.paste.model import PodFacts
from kcrash.cluster.paste.objects import LAST_STATE, STATE, named_pod, pod_sources, state_lines
from kcrash.cluster.paste.yamlload import load_all

_STATE_KINDS = ("terminated", "waiting", "running")
_STATUS_LISTS = ("containerStatuses", "initContainerStatuses")
_STATUS_KEYS = ("state", "lastState", "restartCount")
_YAML_KEY = re.compile(r"^\s*(?:-\s+)?[A-Za-z][\w.-]*:(?:\s|$)")
_JSON_KEY = re.compile(r'"(?P<key>[A-Za-z][\w.-]*)"\s*:\s*$')
_TERMINATED_BODY = ("exitCode", "finishedAt", "signal")
_MOST_WINDOWS = 200  # loads tried on one paste: a fragment is short, a long paste is read otherwise
_MOST_CHARS = 200_000


def read_fragment(lines: Sequence[str]) -> dict[str, Any] | None:
    """A pod status from pieces of YAML or JSON, or None when none of them tells a container state."""
    text = "\n".join(lines)
    if len(text) > _MOST_CHARS:
        return None
    statuses: list[dict[str, Any]] = []
    inits: list[dict[str, Any]] = []
    stanza: dict[str, Any] = {}
    pieces = _json_pieces(text) if text.lstrip()[:1] in '{["' else []
    for key, value in pieces or _yaml_pieces(lines):
        _collect(key, value, statuses, inits, stanza)
    merged = _merge_nameless(statuses)
    if pieces and merged:
        _name_from_members(text, merged)
    if not merged and not inits and not stanza.get("phase"):
        return None
    status = dict(stanza)
    if merged:
        status["containerStatuses"] = merged
    if inits:
        status["initContainerStatuses"] = inits
    return status


def fragment_facts(lines: Sequence[str]) -> PodFacts | None:
    """The pod a fragment speaks of (a nameless one, unless a back-off message names it)."""
    status = read_fragment(lines)
    if status is None:
        return None
    obj = {"kind": "Pod", "metadata": {}, "spec": {}, "status": status}
    (pod,) = parse_objects(obj).pods
    pod = named_pod(pod, obj)
    sources = pod_sources(lines, pod)
    if len(pod.container_statuses) == 1 and not sources:
        # One container's pieces, its list not copied: "/lastState..." when its name was not either.
        only = pod.container_statuses[0]
        for which, anchor in (("lastState", LAST_STATE), ("state", STATE)):
            sources.update(state_lines(lines, only.name, which, anchor))
        if only.last_state is not None:
            sources.update(_bare_termination_lines(lines, only.name, sources))
    return PodFacts(pod=pod, sources=sources, shows=frozenset({"status"}), rank=2)


def _bare_termination_lines(lines: Sequence[str], name: str, known: Mapping[str, str]) -> dict[str, str]:
    """A termination copied without its `lastState:` key quotes its own reason and exit code."""
    prefix = f"{name}/lastState.terminated."
    if any(key.startswith(prefix) for key in known):
        return {}
    found: dict[str, str] = {}
    for line in lines:
        if STATE.match(line):
            break  # the state's own reason follows
        key = line.strip().lstrip('"').split('"', 1)[0].split(":", 1)[0]
        if key in ("reason", "exitCode", "signal", "message") and prefix + key not in found:
            found[prefix + key] = line
    return found


def looks_like_fragment(lines: Sequence[str]) -> bool:
    """Lines that may be YAML or JSON keys: worth trying `read_fragment` on."""
    body = [line for line in lines if line.strip()]
    if not body:
        return False
    keyed = sum(1 for line in body if _YAML_KEY.match(line) or line.lstrip().startswith(('"', "{", "[", "}")))
    return keyed * 2 >= len(body)


# --- what a loaded piece says --------------------------------------------------------------------


def _collect(
    key: str, value: Any, statuses: list[dict[str, Any]], inits: list[dict[str, Any]], stanza: dict[str, Any]
) -> None:
    """File one loaded piece (under `key`, "" when none was copied) as statuses or a status stanza."""
    if key in ("lastState", "state") and isinstance(value, Mapping) and _is_state(value):
        statuses.append({key: dict(value)})
    elif key in _STATUS_LISTS and isinstance(value, list):
        (inits if key == "initContainerStatuses" else statuses).extend(
            dict(item) for item in value if isinstance(item, Mapping)
        )
    elif key in _STATE_KINDS and isinstance(value, Mapping):
        _collect("", {key: value}, statuses, inits, stanza)
    elif isinstance(value, list):
        for item in value:
            _collect(key, item, statuses, inits, stanza)
    elif isinstance(value, Mapping):
        _collect_mapping(key, value, statuses, inits, stanza)


def _collect_mapping(
    key: str,
    value: Mapping[str, Any],
    statuses: list[dict[str, Any]],
    inits: list[dict[str, Any]],
    stanza: dict[str, Any],
) -> None:
    inner = value.get("status")
    if key == "status" or any(k in value for k in (*_STATUS_LISTS, "phase")):
        body = value if key == "status" or not isinstance(inner, Mapping) else inner
        stanza.update({k: v for k, v in body.items() if k not in _STATUS_LISTS})
        for name in _STATUS_LISTS:
            _collect(name, body.get(name), statuses, inits, stanza)
    elif isinstance(inner, Mapping):
        _collect("status", inner, statuses, inits, stanza)
    elif any(k in value for k in _STATUS_KEYS):
        (inits if key == "initContainerStatuses" else statuses).append(dict(value))
    elif _is_state(value):
        # The inside of `state:` or `lastState:` without its key: a crash-looping container
        # waits now, so a termination is the last one, and anything else the state.
        which = "lastState" if "terminated" in value else "state"
        statuses.append({which: dict(value)})
    elif any(k in value for k in _TERMINATED_BODY):
        statuses.append({"lastState": {"terminated": dict(value)}})


def _is_state(value: Mapping[str, Any]) -> bool:
    return any(isinstance(value.get(kind), Mapping) for kind in _STATE_KINDS)


def _merge_nameless(statuses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pieces of one container's status copied apart (its `state:`, its `lastState:`) as one."""
    named = [s for s in statuses if s.get("name")]
    nameless = [s for s in statuses if not s.get("name")]
    if not nameless:
        return named
    if len(named) == 1:
        merged = dict(named[0])
        for piece in nameless:
            merged.update({k: v for k, v in piece.items() if k not in merged})
        return [merged]
    one: dict[str, Any] = {}
    for piece in nameless:
        one.update({k: v for k, v in piece.items() if k not in one})
    return [*named, one]


# --- YAML ------------------------------------------------------------------------------------------


def _yaml_pieces(lines: Sequence[str]) -> Iterator[tuple[str, Any]]:
    """(key, value) of each block that loads, from the first line that opens a key on."""
    budget = [_MOST_WINDOWS]
    index = 0
    while index < len(lines) and budget[0] > 0:
        if not _YAML_KEY.match(lines[index]):
            index += 1
            continue
        end = _block_end(lines, index)
        loaded = _load_shrinking(lines, index, end, budget)
        if loaded is None:
            index += 1
            continue
        value, used = loaded
        yield "", value
        index = used


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _block_end(lines: Sequence[str], start: int) -> int:
    """Where the block opened at `start` ends: the first line with text less indented."""
    base = _indent(lines[start])
    for index in range(start + 1, len(lines)):
        if lines[index].strip() and _indent(lines[index]) < base:
            return index
    return len(lines)


def _load_shrinking(lines: Sequence[str], start: int, end: int, budget: list[int]) -> tuple[Any, int] | None:
    """The longest window from `start` that loads as a mapping or a list, and where it ends."""
    base = _indent(lines[start])
    while end > start and budget[0] > 0:
        budget[0] -= 1
        window = [line[base:] if not line[:base].strip() else line.lstrip() for line in lines[start:end]]
        try:
            docs = load_all("\n".join(window))
        except yaml.YAMLError:
            end -= 1
            continue
        if len(docs) == 1 and isinstance(docs[0], Mapping | list):
            return docs[0], end
        return None
    return None


# --- JSON ------------------------------------------------------------------------------------------


def _json_pieces(text: str) -> list[tuple[str, Any]]:
    """The outermost objects and arrays in `text` that load, each with the key written before it.

    A member pasted without its braces (`"state": {...},`) loads once braces are put around it.
    """
    pieces: list[tuple[str, Any]] = []
    if text.lstrip().startswith('"'):
        whole = _loads("{" + text.strip().rstrip(",") + "}")
        if isinstance(whole, Mapping):
            return list(whole.items())
        # Members before the object they belong to closes: the end of a state cut at its top.
        head = _loads("{" + text[: _unopened_close(text)].strip().rstrip(",") + "}")
        if isinstance(head, Mapping):
            pieces.append(("", head))
    position = 0
    budget = _MOST_WINDOWS
    while budget > 0 and (found := _next_opener(text, position)) is not None:
        budget -= 1
        end = _closing(text, found)
        value = _loads(text[found:end]) if end is not None else None
        if value is None:
            position = found + 1
            continue
        key = _JSON_KEY.search(text, max(0, found - 80), found)
        pieces.append((key["key"] if key else "", value))
        position = end or found + 1
    return pieces


_MEMBER = re.compile(r'"(?P<key>name|restartCount|ready)"\s*:\s*(?P<value>"[^"]*"|\d+|true|false)')


def _name_from_members(text: str, statuses: list[dict[str, Any]]) -> None:
    """A container status cut open: its name and restart count are members beside its states.

    Taken only when the paste holds one of each, so that no other container's is taken.
    """
    found: dict[str, list[Any]] = {}
    for match in _MEMBER.finditer(text):
        found.setdefault(match["key"], []).append(orjson.loads(match["value"]))
    nameless = [s for s in statuses if not s.get("name")]
    if len(nameless) != len(statuses):
        return
    for key, values in found.items():
        if len(set(map(str, values))) == 1:
            for status in nameless:
                status.setdefault(key, values[0])


def _unopened_close(text: str) -> int:
    """The index of the first bracket that closes one opened before the text, or its length."""
    depth = 0
    for index, char in _outside_strings(text):
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth < 0:
                return index
    return len(text)


def _outside_strings(text: str) -> Iterator[tuple[int, str]]:
    """The characters of JSON text that are not inside a string, with their indexes."""
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        else:
            yield index, char


def _next_opener(text: str, start: int) -> int | None:
    found = [i for i in (text.find("{", start), text.find("[", start)) if i >= 0]
    return min(found) if found else None


def _closing(text: str, start: int) -> int | None:
    """The index after the bracket that closes the one at `start`, strings skipped."""
    depth = 0
    for index, char in _outside_strings(text[start:]):
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return start + index + 1
    return None


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
