"""YAML loaded from the parser's events: the values `yaml.SafeLoader` gives, in a quarter of the time.

PyYAML's loaders build a tree of nodes and then construct it node by node in Python: even with
libyaml a 2,000-pod `kubectl get pods -o yaml` (8 MB) takes 8 s. What kubectl prints is block
mappings and sequences of scalars, which are built here straight from libyaml's events (about 2 s).
Scalars are resolved by the safe loader's own rules, so `yes`, `0o17` or an unquoted timestamp load
as they always did. Anything else (anchors, aliases, explicit tags, merge keys, keys that are not
scalars) is left to the safe loader, which loads the whole text again, as it would have anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

# libyaml when present; both loaders are the safe ones.
LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The safe loader's implicit rules for plain scalars, by first character: [(tag, pattern)].
_RESOLVERS: dict[str, list[tuple[str, Any]]] = Resolver.yaml_implicit_resolvers
_CONSTRUCTOR = SafeConstructor()
_CONSTRUCTORS: dict[Any, Callable[[SafeConstructor, ScalarNode], Any]] = SafeConstructor.yaml_constructors
_MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
_SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")
_NO_KEY = object()  # a mapping waiting for its next key


class _Unusual(Exception):
    """Something only the safe loader builds."""


def load_all(text: str) -> list[Any]:
    """Every non-empty document in `text`, as `yaml.load_all(text, Loader=SafeLoader)` gives them.

    Raises yaml.YAMLError where the safe loader would.
    """
    loader = LOADER(text)
    try:
        return [doc for doc in _from_events(loader.get_event) if doc is not None]
    except _Unusual:
        return [doc for doc in yaml.load_all(text, Loader=LOADER) if doc is not None]
    finally:
        loader.dispose()


def _from_events(next_event: Callable[[], Event | None]) -> list[Any]:
    """The documents built from the parser's events (read one by one: 700,000 for 2,000 pods)."""
    docs: list[Any] = []
    open_: list[Any] = []  # the mappings and sequences being filled, innermost last
    keys: list[Any] = []  # for each of them, the key waiting for its value (mappings only)
    while True:
        event = next_event()
        kind = type(event)
        value: Any
        if kind is ScalarEvent:
            value = _scalar(event)  # type: ignore[arg-type]
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            _check_collection(event)  # type: ignore[arg-type]
            open_.append({} if kind is MappingStartEvent else [])
            keys.append(_NO_KEY)
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            value = open_.pop()
            keys.pop()
        elif kind is DocumentStartEvent:
            docs.append(None)
            continue
        elif kind is DocumentEndEvent or kind is StreamStartEvent:
            continue
        elif kind is StreamEndEvent or event is None:
            return docs
        else:  # an alias
            raise _Unusual
        if not open_:
            docs[-1] = value
        elif type(open_[-1]) is list:
            open_[-1].append(value)
        elif keys[-1] is _NO_KEY:
            if type(value) is dict or type(value) is list:
                raise _Unusual
            keys[-1] = value
        else:
            open_[-1][keys[-1]] = value
            keys[-1] = _NO_KEY


def _check_collection(event: Event) -> None:
    tags = _MAP_TAGS if type(event) is MappingStartEvent else _SEQ_TAGS
    if getattr(event, "anchor", None) is not None or getattr(event, "tag", None) not in tags:
        raise _Unusual


def _scalar(event: ScalarEvent) -> Any:
    """A quoted or block scalar is a string; a plain one goes through the safe loader's rules."""
    if event.anchor is not None or event.tag not in (None, "!"):
        raise _Unusual
    value = event.value
    if not event.implicit[0]:
        return value
    for tag, pattern in _RESOLVERS.get(value[:1], ()):
        if pattern.match(value):
            construct = _CONSTRUCTORS.get(tag)
            if construct is None:  # a merge key `<<`, or `=`
                raise _Unusual
            return construct(_CONSTRUCTOR, ScalarNode(tag, value))
    return value
