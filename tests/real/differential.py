"""The differential harness: one script of requests, played against the embedded lab and a real
kube-apiserver, each answer reduced to what both must agree on.

A `Case` is a list of `Step`s sent in order to one server. A step's path, query and body may name
values with `{key}`: `{ns}` (the namespace of the run) and whatever earlier steps `save`d from their
answers (`save={"uid": "metadata.uid"}`). Each step's answer becomes an observation: the status code,
the Content-Type and the normalised body (or, for a watch, the normalised events); a step's `view`
may reduce it further. The test compares the two servers' observations case by case.

Normalising removes what must differ between two servers and two runs: uids, resourceVersions,
timestamps, continue tokens, generated names, numbers in messages, and what docs/lab.md lists as
deviations (managedFields, the Go internals some real messages quote; `SERVER_DEFAULTS` for fields
a real apiserver would add that the lab does not, none today).
"""

from __future__ import annotations

import json
import re
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import urllib3

Obj = dict[str, Any]

TABLE = "application/json;as=Table;g=meta.k8s.io;v=v1"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NUMBER = re.compile(r"\d+")
TOKEN_VOLUME = re.compile(r"kube-api-access-[a-z0-9]{5}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")

# Per-object metadata that differs between any two servers (or two runs of one).
VOLATILE_METADATA = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "selfLink")

# Fields a real apiserver fills in on its own (defaulting, admission plugins) that the lab does not
# model, dropped from both sides (dotted paths; `*` matches every item of a list). None today: the
# pods of the script set automountServiceAccountToken: false, so no token volume is added.
SERVER_DEFAULTS: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One request. `watch` reads the stream until the server closes it (give `timeoutSeconds`)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None
    content_type: str = "application/json"
    accept: str = "application/json"
    watch: bool = False
    save: dict[str, str] = field(default_factory=dict)
    view: Callable[[Any], Any] | None = None  # reduces the observation further (e.g. to a summary)


@dataclass(frozen=True)
class Case:
    name: str
    steps: tuple[Step, ...]


@dataclass
class Answer:
    status: int
    body: Any  # parsed JSON, a list of watch events, or the raw text when not JSON
    media: str = ""  # the Content-Type, its parameters sorted


class Endpoint:
    """Raw HTTPS to one apiserver with a bearer token: what kubectl and the client send, nothing more."""

    def __init__(self, url: str, token: str, ca_pem: bytes) -> None:
        self.url = url.rstrip("/")
        context = ssl.create_default_context(cadata=ca_pem.decode("ascii")) if ca_pem else None
        self.http = urllib3.PoolManager(ssl_context=context, retries=False)
        self.token = token

    def send(self, step: Step, values: dict[str, str]) -> Answer:
        path = fill(step.path, values)
        query = [(k, fill(v, values)) for k, v in step.query]
        url = f"{self.url}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        headers = {"Authorization": f"Bearer {self.token}", "Accept": step.accept}
        body = None
        if step.body is not None:
            headers["Content-Type"] = step.content_type
            body = json.dumps(fill_all(step.body, values)).encode("utf-8")
        response = self.http.request(
            step.method, url, body=body, headers=headers, preload_content=True, timeout=30.0
        )
        text = response.data.decode("utf-8", errors="replace")
        media = media_type(response.headers.get("Content-Type", ""))
        if step.watch and response.status == 200:
            events = [json.loads(line) for line in text.splitlines() if line.strip()]
            return Answer(response.status, events, media)
        try:
            return Answer(response.status, json.loads(text), media)
        except ValueError:
            return Answer(response.status, text, media)


def media_type(header: str) -> str:
    """`application/json;as=Table;g=meta.k8s.io;v=v1` whatever order the server wrote its parameters in."""
    kind, *parameters = [part.strip() for part in header.split(";")]
    return ";".join([kind.lower(), *sorted(p for p in parameters if p and not p.startswith("charset"))])


def fill(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def fill_all(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return fill(value, values)
    if isinstance(value, list):
        return [fill_all(v, values) for v in value]
    if isinstance(value, dict):
        return {k: fill_all(v, values) for k, v in value.items()}
    return value


def pick(value: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(value, list):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def play(endpoint: Endpoint, case: Case, values: dict[str, str]) -> list[Any]:
    """Send every step of `case`, saving values as asked; the normalised observations in order."""
    observed: list[Any] = []
    for step in case.steps:
        answer = endpoint.send(step, values)
        for key, path in step.save.items():
            values[key] = str(pick(answer.body, path))
        observation: Any = {
            "code": answer.status,
            "content type": answer.media,
            "body": normalise(answer.body, values),
        }
        if step.view is not None:
            observation = step.view(observation)
        observed.append(observation)
    return observed


# -- normalising ---------------------------------------------------------------------------------


def normalise(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, list):  # watch events
        return [normalise_event(event, values) for event in value]
    if not isinstance(value, dict):
        return value
    return normalise_object(value, values)


def normalise_event(event: Obj, values: dict[str, str]) -> Obj:
    obj = event.get("object") or {}
    if event.get("type") == "BOOKMARK":  # only its rv and the initial-events-end annotation matter
        annotations = (obj.get("metadata") or {}).get("annotations")
        return {"type": "BOOKMARK", "kind": obj.get("kind"), "annotations": annotations}
    return {"type": event.get("type"), "object": normalise_object(obj, values)}


def normalise_object(obj: Obj, values: dict[str, str]) -> Obj:
    # A private copy, the token volume's random name made comparable.
    obj = json.loads(TOKEN_VOLUME.sub("kube-api-access-<suffix>", json.dumps(obj)))
    kind = obj.get("kind", "")
    if kind == "Status":
        if "message" in obj:
            obj["message"] = normalise_message(obj["message"], values)
        details = obj.get("details")
        if isinstance(details, dict):
            details.pop("uid", None)
            for cause in details.get("causes") or []:
                if "message" in cause:
                    cause["message"] = normalise_message(cause["message"], values)
        return obj
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        normalise_metadata(metadata)
    for item in obj.get("items") or []:
        if isinstance(item, dict):
            normalise_item(item, values)
    for row in obj.get("rows") or []:
        if isinstance(row, dict):
            normalise_row(row, values)
    if "status" in obj and kind not in ("SelfSubjectAccessReview",):
        obj["status"] = normalise_status(obj["status"])
    for path in SERVER_DEFAULTS:
        drop(obj, path.split("."))
    return obj


def normalise_item(item: Obj, values: dict[str, str]) -> None:
    normalised = normalise_object(item, values)
    item.clear()
    item.update(normalised)


def normalise_row(row: Obj, values: dict[str, str]) -> None:
    """A Table row: its cells as text (ages vary), its object (partial metadata) normalised."""
    row["cells"] = [normalise_cell(cell) for cell in row.get("cells") or []]
    embedded = row.get("object")
    if isinstance(embedded, dict):
        row["object"] = normalise_object(embedded, values)


def normalise_cell(cell: Any) -> Any:
    if isinstance(cell, str) and re.fullmatch(r"(\d+[smhd])+|<unknown>|<invalid>", cell):
        return "<age>"
    return cell


def normalise_metadata(metadata: Obj) -> None:
    metadata.pop("managedFields", None)  # the lab keeps no field ownership: a listed deviation
    metadata.pop("selfLink", None)
    for key in VOLATILE_METADATA:
        if metadata.get(key):
            metadata[key] = "<set>"
    if metadata.get("continue"):
        metadata["continue"] = "<continue>"
    if metadata.get("deletionTimestamp"):
        metadata["deletionTimestamp"] = "<time>"
    if metadata.get("generateName") and metadata.get("name"):
        metadata["name"] = f"{metadata['generateName']}<suffix>"


def normalise_status(status: Any) -> Any:
    """A pod's status before any kubelet: the phase and conditions' types; times dropped."""
    if not isinstance(status, dict):
        return status
    status = dict(status)
    status.pop("startTime", None)
    conditions = status.get("conditions")
    if isinstance(conditions, list):
        status["conditions"] = [
            {k: v for k, v in c.items() if not k.endswith("Time")} for c in conditions if isinstance(c, dict)
        ]
    return status


def normalise_message(message: str, values: dict[str, str]) -> str:
    # A real apiserver appends a diff of its internal Go structs to "pod updates may not change" and
    # its JSON decoder's words to a bad continue token: the lab has neither (docs/lab.md).
    message = message.split("\n@@", 1)[0]
    message = re.sub(r"(continue key is not valid): .*", r"\1: <why>", message)
    message = UUID.sub("<uid>", message)
    message = TIMESTAMP.sub("<time>", message)
    message = message.replace(values.get("ns", "\0"), "<ns>")
    return NUMBER.sub("<n>", message)


def drop(obj: Any, parts: list[str]) -> None:
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if head == "*" and isinstance(obj, list):
        for item in obj:
            drop(item, rest)
        return
    if not isinstance(obj, dict) or head not in obj:
        return
    if rest:
        drop(obj[head], rest)
    else:
        del obj[head]


# -- views: what a step's comparison keeps -------------------------------------------------------


def event_types(observation: Any) -> Any:
    """A watch reduced to the order of its event types and object names (bookmarks collapsed)."""
    body = observation["body"]
    if not isinstance(body, list):
        return observation
    summary: list[str] = []
    for event in body:
        if event["type"] == "BOOKMARK":
            end = (event.get("annotations") or {}).get("k8s.io/initial-events-end")
            entry = "BOOKMARK(initial-events-end)" if end else "BOOKMARK"
            if not summary or summary[-1] != entry:
                summary.append(entry)
        else:
            summary.append(f"{event['type']} {pick(event, 'object.metadata.name')}")
    return {"code": observation["code"], "events": summary}


def has_bookmark(observation: Any) -> Any:
    body = observation["body"]
    kinds = sorted({e["kind"] for e in body if e["type"] == "BOOKMARK"}) if isinstance(body, list) else None
    return {"code": observation["code"], "bookmark kinds": kinds}


def status_only(observation: Any) -> Any:
    return {"code": observation["code"]}


def code_and_reason(observation: Any) -> Any:
    body = observation["body"]
    return {"code": observation["code"], "reason": body.get("reason") if isinstance(body, dict) else None}


def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False
