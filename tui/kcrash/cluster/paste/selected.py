"""One field of a pod, selected on the command line: `kubectl get pod P -o yaml | yq
'.status.containerStatuses[0].lastState'`, `... -o json | jq -r '.items[0].status.reason'`,
`kubectl get pod P -o jsonpath='{.status.message}'`.

The command line says where the printed value sits in the object, so the value is put back at
that place in an otherwise empty Pod and read as any saved pod is (`cluster.parse`). Only plain
paths are read (keys and list indexes); a filter, a wildcard or several expressions select values
whose place the output does not tell. A scalar the path ends in (`reason`, `message`) is taken as
printed: yq and `jq -r` print strings bare, and a message like "The node was low on resource:
memory." is no YAML. `.items[N]` is the N-th pod of a list; which one, a `get pods` table printed
by the same listing tells (the API lists pods in name order, the table too).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import yaml

from kcrash.cluster.parse import parse_objects
from kcrash.cluster.paste.model import PodFacts
from kcrash.cluster.paste.objects import named_pod, pod_sources
from kcrash.cluster.paste.text import Command, pod_name_of
from kcrash.cluster.paste.yamlload import load_all
from kcrash.core.records import Pod

Path = tuple[str | int, ...]

_SELECTORS = frozenset({"yq", "jq", "gojq", "jaq"})
_STEP = re.compile(r'\.(?P<key>[A-Za-z_][\w-]*)|\[(?P<index>\d+)\]|\["(?P<quoted>[^"]+)"\]')
_JSONPATH = re.compile(r"^jsonpath=\{(?P<path>[^{}]+)\}$")
_TOP = frozenset({"metadata", "spec", "status"})
_NUMBERS = frozenset({"exitCode", "restartCount", "signal"})
_BOOLEANS = frozenset({"ready", "started"})
# Fields whose printed value is text, never a mapping or a list.
_TEXT = frozenset({"reason", "message", "phase", "name", "namespace", "nodeName", "containerID", "image"})


def expression(command: Command) -> str:
    """The path expression a command line selects with, or ""."""
    template = _JSONPATH.match(command.output)
    if template is not None:
        return template["path"].strip()
    words = command.pipe.split()
    if not words or words[0] not in _SELECTORS:
        return ""
    plain = [word.strip("'\"") for word in words[1:] if not word.startswith("-")]
    if plain and plain[0] == "eval":  # `yq eval '.x'`
        plain = plain[1:]
    return plain[0] if plain else ""


def parse_path(text: str) -> Path | None:
    """(`status`, `containerStatuses`, 0, `lastState`) for `.status.containerStatuses[0].lastState`;
    None for anything but keys and indexes."""
    steps: list[str | int] = []
    done = 0
    while done < len(text):
        match = _STEP.match(text, done)
        if match is None:
            return None
        if match["index"] is not None:
            steps.append(int(match["index"]))
        else:
            steps.append(match["key"] or match["quoted"])
        done = match.end()
    return tuple(steps) if steps else None


def _value(lines: Sequence[str], last: str | int) -> Any:
    text = "\n".join(line.rstrip() for line in lines).strip()
    if not text or text == "null":
        return None
    if text.startswith('"'):  # jq without -r: a JSON string
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    if last in _NUMBERS:
        return int(text) if text.lstrip("-").isdigit() else None
    if last in _BOOLEANS:
        return text == "true"
    if last in _TEXT:
        return text
    try:
        docs = load_all(text)
    except yaml.YAMLError:
        return None
    return docs[0] if len(docs) == 1 and isinstance(docs[0], Mapping | list) else None


def _nested(path: Path, value: Any) -> Any:
    for step in reversed(path):
        value = [value] if isinstance(step, int) else {step: value}
    return value


def selected_facts(
    lines: Sequence[str], command: Command, listed: Sequence[str] = ()
) -> list[PodFacts] | None:
    """The pod the selected field belongs to, or None when the command selects no plain path of a
    pod. `listed` are the pods, in order, a `get pods` table of the same listing printed."""
    path = parse_path(expression(command))
    if path is None:
        return None
    name = pod_name_of(command)
    if path[:1] == ("items",) and len(path) > 1 and isinstance(path[1], int):
        name = name or (listed[path[1]] if path[1] < len(listed) else "")
        path = path[2:]
    if not path or path[0] not in _TOP:
        return None
    value = _value(lines, path[-1])
    if value is None:
        return None
    obj: dict[str, Any] = {"kind": "Pod", "metadata": {}, "spec": {}, "status": {}}
    obj.update(_nested(path, value))
    metadata = obj["metadata"] if isinstance(obj["metadata"], dict) else {}
    obj["metadata"] = {**metadata, "name": name or metadata.get("name", "")}
    if command.namespace:
        obj["metadata"].setdefault("namespace", command.namespace)
    pods = parse_objects(obj).pods
    if not pods:
        return None
    pod = named_pod(pods[0], obj)
    shows = frozenset({"status"}) if path[0] == "status" else frozenset()
    return [PodFacts(pod=pod, sources=_sources(lines, path, pod), shows=shows, rank=2)]


def _sources(lines: Sequence[str], path: Path, pod: Pod) -> dict[str, str]:
    """The printed lines a state's reason and exit code, or the pod's reason, stand on."""
    if path in (("status", "reason"), ("status", "message")):
        return {f"status.{path[-1]}": " ".join(line.strip() for line in lines if line.strip())}
    which = path[-1]
    statuses = (*pod.container_statuses, *pod.init_container_statuses)
    if which not in ("lastState", "state") or len(statuses) != 1:
        return pod_sources(lines, pod)
    found: dict[str, str] = {}
    kind = ""
    for line in lines:
        key = line.strip().lstrip("{").strip().strip('"').split('"', 1)[0].split(":", 1)[0]
        if key in ("terminated", "waiting", "running"):
            kind = key
        elif kind and key in ("reason", "exitCode", "signal", "message"):
            found.setdefault(f"{statuses[0].name}/{which}.{kind}.{key}", line)
    return found


def listing(command: Command) -> tuple[str, ...]:
    """What a `get` lists, for telling a table and a selection printed by the same listing."""
    names = tuple(n for n in command.names if n not in ("pod", "pods", "po"))
    return (command.verb, command.namespace, command.selector, str(command.all_namespaces), *names)
