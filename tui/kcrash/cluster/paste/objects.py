"""`kubectl get -o yaml|json` pastes: loaded here, turned into records by `cluster.parse`.

Also read: several YAML documents, a bare `status:` stanza (with or without `spec:`) and the inside
of one (`containerStatuses:` at the top), wrapped into a Pod with no name. For evidence, the lines
holding each container's termination and waiting reasons and exit codes are found in the text of
the pod's own object: a list is cut into one block of lines per object, once, and the blocks are
paired with the loaded objects in order (so in a list where pods share a container name, each pod
quotes its own lines). Text whose blocks cannot be paired that way (one-line JSON, flow style)
quotes nothing for a list of several pods: the diagnosis then keeps its own wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

import orjson
import yaml
from msgspec.structs import replace

from kcrash.cluster.parse import ParsedObjects, objects_in, parse_objects
from kcrash.cluster.paste.model import PodFacts
from kcrash.cluster.paste.runs import template_pods
from kcrash.cluster.paste.yamlload import load_all
from kcrash.core.records import Pod

_YAML_TOP = re.compile(r"^(?:-\s+)?(?:apiVersion|kind|metadata|spec|status|items|containerStatuses):(?:\s|$)")
_STATUS_KEYS = ("containerStatuses", "initContainerStatuses", "phase", "conditions")


class ObjectsError(ValueError):
    """The paste looks like YAML or JSON but does not load."""


def looks_like_objects(lines: Sequence[str]) -> bool:
    """JSON that opens with `{`/`[`, or YAML with an object's top-level keys at the margin."""
    return sniff_objects(lines)[0]


def sniff_objects(lines: Sequence[str]) -> tuple[bool, list[Any] | None]:
    """Whether the lines are API objects, with the documents when telling took loading them.

    JSON is told by its first lines (and loaded later, where an error can be reported); YAML must
    load as an object, and its documents are kept so that a big list is loaded once.
    """
    body = list(islice((line for line in lines if line.strip()), 400))
    first = body[0].strip() if body else ""
    if first.startswith(("{", "[")):
        return '"kind"' in "".join(body[:50]) or '"status"' in "".join(body[:200]), None
    if not any(_YAML_TOP.match(line) for line in body[:400]):
        return False, None
    try:
        docs = _objects(_load("\n".join(lines)))
    except ObjectsError:
        return False, None
    return any(_is_object(doc) for doc in docs), docs


_MAY_BE_CUT = "the paste may be truncated (more pods may have followed)"
_MARGIN_KEY = re.compile(r"^(?P<key>[A-Za-z][\w-]*):")


def truncation_note(lines: Sequence[str]) -> str | None:
    """Why a list paste may be cut short, or None. kubectl prints a list's `kind: List` and
    `metadata` after its items, so a YAML list without them ended early, possibly at an item
    boundary where nothing else shows it; JSON that never closes its brackets ended early too."""
    body = [line for line in lines if line.strip()]
    if not body:
        return None
    if body[0].lstrip().startswith(("{", "[")):
        try:
            orjson.loads("\n".join(lines))
        except orjson.JSONDecodeError:
            if _unclosed(body):
                return f"the JSON ends before its closing brackets: {_MAY_BE_CUT}"
        return None
    keys = [m["key"] for line in body if (m := _MARGIN_KEY.match(line))]
    if "items" in keys and "kind" not in keys:
        return f"the list has no closing `kind: List` trailer: {_MAY_BE_CUT}"
    return None


def _unclosed(body: Sequence[str]) -> bool:
    """More brackets opened than closed (strings aside): JSON cut off."""
    depth = 0
    for line in body:
        text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', line)
        depth += text.count("{") + text.count("[") - text.count("}") - text.count("]")
    return depth > 0


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
        return load_all(stripped)
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


def named_pod(pod: Pod, obj: Mapping[str, Any] | None) -> Pod:
    """A pod whose object names no namespace has none ("default" is parse_pod's guess); a bare
    stanza's pod takes its name from the back-off message."""
    meta = obj.get("metadata") if obj is not None else None
    said = meta.get("namespace") if isinstance(meta, Mapping) else None
    if obj is not None and (said is None or said == "" or isinstance(said, Mapping | list)):
        pod = replace(pod, namespace="")
    if pod.name:
        return pod
    for status in (*pod.container_statuses, *pod.init_container_statuses):
        match = _BACKOFF_POD.search(status.state.message)
        if match:
            return replace(pod, name=match["name"], namespace=match["namespace"], uid=pod.uid or match["uid"])
    return pod


def parse_objects_paste(
    lines: Sequence[str], docs: Sequence[Any] | None = None
) -> tuple[list[PodFacts], ParsedObjects]:
    """The pods of an objects paste, each with the lines its reasons and exit codes stand on.

    `docs` are the documents when `sniff_objects` already loaded them.
    """
    loaded = list(docs) if docs is not None else _objects(_load("\n".join(lines)))
    parsed = parse_objects(loaded)
    leaves = list(objects_in(loaded))  # in the order parse_objects read them: one Pod each
    pod_objects = [obj for kind, obj in leaves if kind == "Pod"]
    blocks = _pod_blocks(lines, [kind for kind, _ in leaves])
    facts = []
    for pod, obj, block in zip(parsed.pods, pod_objects, blocks, strict=True):
        named = named_pod(pod, obj)
        facts.append(
            PodFacts(
                pod=named,
                sources=pod_sources(lines[block[0] : block[1]], named) if block else {},
                shows=frozenset({"spec", "status"} if named.containers else {"status"}),
                rank=3,
            )
        )
    facts += template_pods(leaves)  # a workload's pods, from its template
    return facts, parsed


# --- the text of each object -------------------------------------------------------------------

_DOCUMENT_MARK = re.compile(r"^(?:---|\.\.\.)(?:\s|$)")
_YAML_ITEMS = re.compile(r"^items:\s*(?P<empty>\[\s*\])?\s*(?:#.*)?$")
_JSON_ITEMS = re.compile(r'^"items"\s*:\s*(?P<open>\[\s*\]?)\s*,?$')


def _pod_blocks(lines: Sequence[str], kinds: Sequence[str]) -> list[tuple[int, int] | None]:
    """The line range of each pod's own object, in the order of the pods.

    The text is cut once into one block per object, and the n-th block is the n-th object's.
    When it cannot be (compact JSON, flow style), a lone pod has the whole text and pods among
    several have none: quoting another pod's line would be worse than quoting none.
    """
    pods = kinds.count("Pod")
    blocks = _object_blocks(lines)
    if len(blocks) == len(kinds):
        return [block for kind, block in zip(kinds, blocks, strict=True) if kind == "Pod"]
    if pods == 1:
        return [(0, len(lines))]
    return [None] * pods


def _object_blocks(lines: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) of every object in the text, in order: a YAML document, or an item of a list."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return []
    if lines[first].lstrip().startswith(("{", "[")):
        return _json_objects(lines, first)
    blocks: list[tuple[int, int]] = []
    for start, end in _yaml_documents(lines):
        blocks += _yaml_objects(lines, start, end)
    return blocks


def _yaml_documents(lines: Sequence[str]) -> list[tuple[int, int]]:
    marks = [i for i, line in enumerate(lines) if _DOCUMENT_MARK.match(line)]
    ranges = zip([0, *(i + 1 for i in marks)], [*marks, len(lines)], strict=True)
    return [(start, end) for start, end in ranges if any(_content(line) for line in lines[start:end])]


def _yaml_objects(lines: Sequence[str], start: int, end: int) -> list[tuple[int, int]]:
    """One document: a list of objects (`- ` at the top, or `items:`), or one object."""
    first = next(i for i in range(start, end) if _content(lines[i]))
    if _is_item(lines[first]):
        return _yaml_items(lines, first, end)
    base = _indent(lines[first])
    for index in _shallow(lines, first, end, base):
        if match := _YAML_ITEMS.match(lines[index][base:]):
            return [] if match["empty"] else _yaml_items(lines, index + 1, end)
    return [(start, end)]


def _json_objects(lines: Sequence[str], first: int) -> list[tuple[int, int]]:
    """A JSON array of objects, an object with `"items": [`, or one object, as kubectl indents them."""
    opener = lines[first].strip()
    if opener == "[":
        return _json_items(lines, first + 1, len(lines))
    keys = next((i for i in range(first + 1, len(lines)) if lines[i].strip()), None)
    if opener != "{" or keys is None:
        return [(first, len(lines))]
    base = _indent(lines[keys])
    for index in _shallow(lines, keys, len(lines), base):
        if match := _JSON_ITEMS.match(lines[index][base:]):
            if match["open"].replace(" ", "") == "[]":
                return []
            return _json_items(lines, index + 1, len(lines))
    return [(first, len(lines))]


def _yaml_items(lines: Sequence[str], start: int, end: int) -> list[tuple[int, int]]:
    """The items of a block sequence whose first item is the first line with text from `start`.

    An item runs to the next `- ` at the same indent; the sequence ends at a line less indented,
    or at a key at its own indent (kubectl writes `items:` and its `- ` at one indent).
    """
    first = next((i for i in range(start, end) if _content(lines[i])), None)
    if first is None or not _is_item(lines[first]):
        return []
    item_indent = _indent(lines[first])
    starts: list[int] = []
    for index in _shallow(lines, first, end, item_indent):
        line = lines[index]
        depth = _indent(line)
        if not _content(line) or depth > item_indent:
            continue
        if depth < item_indent or not _is_item(line):
            end = index
            break
        starts.append(index)
    return list(zip(starts, [*starts[1:], end], strict=True))


def _json_items(lines: Sequence[str], start: int, end: int) -> list[tuple[int, int]]:
    """The objects of a JSON array: each `{` to its `}` at the indent of the first one."""
    first = next((i for i in range(start, end) if lines[i].strip()), None)
    if first is None or lines[first].strip() != "{":
        return []
    indent = _indent(lines[first])
    blocks: list[tuple[int, int]] = []
    opened = -1
    for index in _shallow(lines, first, end, indent):
        line = lines[index]
        depth = _indent(line)
        if depth > indent:
            continue
        if depth < indent:
            break
        text = line.strip()
        if text == "{":
            opened = index
        elif text in ("}", "},") and opened >= 0:
            blocks.append((opened, index + 1))
            opened = -1
        else:
            return []  # not the layout this reads
    return blocks


def _shallow(lines: Sequence[str], start: int, end: int, indent: int) -> Iterator[int]:
    """Indexes of the lines with text that may be indented `indent` or less: the lines a block's
    structure is in. Lines deeper by spaces are passed over by their first characters alone (most
    of the 400,000 lines of a 2,000-pod JSON list); the callers measure the others."""
    deeper = " " * (indent + 1)
    for index in range(start, end):
        line = lines[index]
        if not line.startswith(deeper) and line.strip():
            yield index


def _content(line: str) -> bool:
    text = line.strip()
    return bool(text) and not text.startswith("#")


def _is_item(line: str) -> bool:
    text = line.lstrip()
    return text.startswith("- ") or text == "-"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


# --- evidence lines -----------------------------------------------------------------------------


def _key_line(key: str) -> re.Pattern[str]:
    return re.compile(rf"""^\s*(?:-\s+)?"?{key}"?\s*:""")


_NAME = _key_line("name")
LAST_STATE = _key_line("lastState")
STATE = _key_line("state")
_RESTARTS = _key_line("restartCount")
_STATUS_LIST = re.compile(r"""^\s*"?(containerStatuses|initContainerStatuses)"?\s*:""")


def _status_items(lines: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) of every container status item under containerStatuses/initContainerStatuses."""
    blocks: list[tuple[int, int]] = []
    for start, line in enumerate(lines):
        if "Statuses" not in line or not _STATUS_LIST.match(line):
            continue
        indent = _indent(line)
        end = start + 1
        while end < len(lines) and _under(lines[end], indent):
            end += 1
        if line.rstrip().endswith("["):  # JSON: items are the objects inside the array
            blocks += _json_items(lines, start + 1, end)
        else:
            blocks += _yaml_items(lines, start + 1, end)
    return blocks


def _under(line: str, indent: int) -> bool:
    """Inside the block of a key at `indent`: deeper, or a YAML list item at the key's own indent."""
    depth = _indent(line)
    return not line.strip() or depth > indent or (depth == indent and line.lstrip().startswith("- "))


def pod_sources(lines: Sequence[str], pod: Pod) -> dict[str, str]:
    """Container name/field -> the line it is on, from the lines of this pod's object only."""
    sources: dict[str, str] = {}
    names = {s.name for s in (*pod.container_statuses, *pod.init_container_statuses)}
    for start, end in _status_items(lines):
        block = lines[start:end]
        name = next((_value(line) for line in block if _NAME.match(line) and _value(line) in names), "")
        if not name:
            continue
        for which, pattern in (("lastState", LAST_STATE), ("state", STATE)):
            sources.update(state_lines(block, name, which, pattern))
        restarts = next((line for line in block if _RESTARTS.match(line)), None)
        if restarts is not None:
            sources[f"{name}/restartCount"] = restarts
    return sources


def state_lines(block: Sequence[str], name: str, which: str, anchor: re.Pattern[str]) -> dict[str, str]:
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
