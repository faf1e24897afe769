"""`kubectl get -o yaml|json` pastes: loaded here, turned into records by `cluster.parse`.

Also read: several YAML documents, a bare `status:` stanza (with or without `spec:`) and the inside
of one (`containerStatuses:` at the top), wrapped into a Pod with no name. For evidence, the lines
holding each container's termination and waiting reasons and exit codes are found in the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import orjson
import yaml

from kcrash.cluster.parse import ParsedObjects, parse_objects
from kcrash.cluster.paste.model import PodFacts
from kcrash.core.records import Pod

# libyaml when present: a big PodList loads ten times faster. Both loaders are the safe ones.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_TOP = re.compile(r"^(?:-\s+)?(?:apiVersion|kind|metadata|spec|status|items|containerStatuses):(?:\s|$)")
_STATUS_KEYS = ("containerStatuses", "initContainerStatuses", "phase", "conditions")


class ObjectsError(ValueError):
    """The paste looks like YAML or JSON but does not load."""


def looks_like_objects(lines: Sequence[str]) -> bool:
    """JSON that opens with `{`/`[`, or YAML with an object's top-level keys at the margin."""
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith(("{", "[")):
        return '"kind"' in "".join(lines[:50]) or '"status"' in "".join(lines[:200])
    return sum(1 for line in lines[:400] if _YAML_TOP.match(line)) >= 1 and _loads_as_object(lines)


def _loads_as_object(lines: Sequence[str]) -> bool:
    try:
        docs = _objects(_load("\n".join(lines)))
    except ObjectsError:
        return False
    return any(_is_object(doc) for doc in docs)


def _is_object(doc: Any) -> bool:
    """An API object or a list of them, not any YAML that happens to have a `status:` key."""
    if isinstance(doc, list):
        return any(_is_object(item) for item in doc)
    return isinstance(doc, Mapping) and (bool(doc.get("kind")) or isinstance(doc.get("items"), list))


def _load(text: str) -> list[Any]:
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            return [orjson.loads(stripped)]
        except orjson.JSONDecodeError as error:
            raise ObjectsError(f"JSON does not load: {error}") from error
    try:
        return [doc for doc in yaml.load_all(stripped, Loader=_LOADER) if doc is not None]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ObjectsError(f"YAML does not load{where}: {getattr(error, 'problem', error)}") from error


def _wrap(doc: Any) -> Any:
    """A bare `status:` stanza or the inside of one becomes a Pod with no name."""
    if not isinstance(doc, Mapping) or doc.get("kind") or "items" in doc:
        return doc
    if isinstance(doc.get("status"), Mapping):
        return {
            "kind": "Pod",
            "metadata": doc.get("metadata") or {},
            "spec": doc.get("spec") or {},
            "status": doc["status"],
        }
    if any(key in doc for key in _STATUS_KEYS):
        return {"kind": "Pod", "metadata": {}, "spec": {}, "status": doc}
    return doc


def _objects(docs: list[Any]) -> list[Any]:
    return [_wrap(doc) for doc in docs if isinstance(doc, Mapping | list)]


# The kubelet's waiting message names the pod: "back-off 5m0s restarting failed container=api
# pod=payments-api-7d4c9b8f6-v5n2x_payments(1f0e2d3c-...)".
_BACKOFF_POD = re.compile(r"\bpod=(?P<name>[a-z0-9.-]+)_(?P<namespace>[a-z0-9-]+)\((?P<uid>[0-9a-f-]+)\)")


def _named(pod: Pod, doc_namespaces: set[str]) -> Pod:
    """A bare stanza's pod: no namespace ("default" is parse_pod's guess), a name from the back-off."""
    if pod.namespace not in doc_namespaces:
        pod = replace(pod, namespace="")
    if pod.name:
        return pod
    for status in (*pod.container_statuses, *pod.init_container_statuses):
        match = _BACKOFF_POD.search(status.state.message)
        if match:
            return replace(pod, name=match["name"], namespace=match["namespace"], uid=pod.uid or match["uid"])
    return pod


def parse_objects_paste(lines: Sequence[str]) -> tuple[list[PodFacts], ParsedObjects]:
    """The pods of an objects paste, each with the lines its reasons and exit codes stand on."""
    text = "\n".join(lines)
    docs = _objects(_load(text))
    parsed = parse_objects(docs)
    namespaces = set(re.findall(r"""^\s*"?namespace"?\s*:\s*"?([\w.-]+)""", text, re.MULTILINE))
    facts = []
    for pod in parsed.pods:
        pod = _named(pod, namespaces)
        facts.append(
            PodFacts(
                pod=pod,
                sources=_sources(lines, pod),
                shows=frozenset({"spec", "status"} if pod.containers else {"status"}),
                rank=3,
            )
        )
    return facts, parsed


# --- evidence lines -----------------------------------------------------------------------------


def _key_line(key: str) -> re.Pattern[str]:
    return re.compile(rf"""^\s*(?:-\s+)?"?{key}"?\s*:""")


_NAME = _key_line("name")
_LAST_STATE = _key_line("lastState")
_STATE = _key_line("state")
_RESTARTS = _key_line("restartCount")
_STATUS_LIST = re.compile(r"""^\s*"?(containerStatuses|initContainerStatuses)"?\s*:""")


def _item_blocks(lines: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) of every container status item under containerStatuses/initContainerStatuses."""
    blocks: list[tuple[int, int]] = []
    for start, line in enumerate(lines):
        if not _STATUS_LIST.match(line):
            continue
        indent = len(line) - len(line.lstrip())
        end = start + 1
        while end < len(lines) and _under(lines[end], indent):
            end += 1
        if lines[start].rstrip().endswith("["):  # JSON: items are the objects inside the array
            blocks += _json_items(lines, start + 1, end)
        else:
            blocks += _yaml_items(lines, start + 1, end)
    return blocks


def _under(line: str, indent: int) -> bool:
    """Inside the block of a key at `indent`: deeper, or a YAML list item at the key's own indent."""
    depth = len(line) - len(line.lstrip())
    return not line.strip() or depth > indent or (depth == indent and line.lstrip().startswith("- "))


def _yaml_items(lines: Sequence[str], start: int, end: int) -> list[tuple[int, int]]:
    starts = [i for i in range(start, end) if lines[i].lstrip().startswith("- ")]
    item_indent = min((len(lines[i]) - len(lines[i].lstrip()) for i in starts), default=0)
    starts = [i for i in starts if len(lines[i]) - len(lines[i].lstrip()) == item_indent]
    if not starts:
        return []
    return [(s, e) for s, e in zip(starts, [*starts[1:], end], strict=True)]


def _json_items(lines: Sequence[str], start: int, end: int) -> list[tuple[int, int]]:
    opens = [i for i in range(start, end) if lines[i].strip() == "{"]
    if not opens:
        return []
    return [(s, e) for s, e in zip(opens, [*opens[1:], end], strict=True)]


def _sources(lines: Sequence[str], pod: Pod) -> dict[str, str]:
    sources: dict[str, str] = {}
    names = {s.name for s in (*pod.container_statuses, *pod.init_container_statuses)}
    for start, end in _item_blocks(lines):
        block = lines[start:end]
        name = next((_value(line) for line in block if _NAME.match(line) and _value(line) in names), "")
        if not name:
            continue
        for which, pattern in (("lastState", _LAST_STATE), ("state", _STATE)):
            sources.update(_state_lines(block, name, which, pattern))
        restarts = next((line for line in block if _RESTARTS.match(line)), None)
        if restarts is not None:
            sources[f"{name}/restartCount"] = restarts
    return sources


def _state_lines(block: Sequence[str], name: str, which: str, anchor: re.Pattern[str]) -> dict[str, str]:
    """The reason/exitCode/signal/message lines nested under `lastState:` or `state:` in one item."""
    found: dict[str, str] = {}
    start = next((i for i, line in enumerate(block) if anchor.match(line)), None)
    if start is None:
        return found
    indent = len(block[start]) - len(block[start].lstrip())
    kind = ""
    for line in block[start + 1 :]:
        depth = len(line) - len(line.lstrip())
        if line.strip() and depth <= indent and line.strip() not in ("}", "},"):
            break
        key = line.strip().lstrip('"').split('"', 1)[0].split(":", 1)[0]
        if key in ("terminated", "waiting", "running"):
            kind = key
        elif kind and key in ("reason", "exitCode", "signal", "message", "startedAt", "finishedAt"):
            found[f"{name}/{which}.{kind}.{key}"] = line
    return found


def _value(line: str) -> str:
    return line.split(":", 1)[1].strip().strip(",").strip('"').strip("'") if ":" in line else ""
