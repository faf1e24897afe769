"""Pod summaries other than `kubectl get pods`' table: what `oc status` finds, and markdown tables
people make of pods.

- `oc status` lists its findings under `Errors:` and `Warnings:`, one a bullet:
  `* pod/web-1 is crash-looping` (older oc), `* container "app" in pod/web-1 is crash-looping`,
  `* container "app" in pod/web-1 has restarted 7 times`, `... has restarted within the last
  10 minutes`. A crash-looping container waits in CrashLoopBackOff; its suggestion's
  `oc logs web-1 -c app` names the container when the bullet does not.
- A markdown table with a pod column (`| pod | restarts |`, `| NAME | READY | STATUS | ... |`),
  cells in code or bold marks: a row with READY, STATUS and AGE is read as the `get pods` row it
  copies; otherwise its restarts and STATUS are what is known.
- A container's waiting reason and message on a line of their own, as consoles (Lens, Argo CD,
  Rancher) and `-o jsonpath='{..waiting.reason}: {..waiting.message}'` print them:
  `CreateContainerConfigError: secret "db" not found`, `ErrImagePull: rpc error: ... manifest
  unknown`. Lines that follow one another are the same container's, newest reason first.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Sequence

from msgspec.structs import replace

from kcrash.cluster.paste import table
from kcrash.cluster.paste.model import PodFacts
from kcrash.core.records import ContainerState, ContainerStatus, Pod

_FINDING = re.compile(
    r'^\s*\*\s+(?:container "(?P<container>[^"]+)" in )?pod/(?P<pod>[a-z0-9][a-z0-9.-]*) '
    r"(?:is (?P<loop>crash-looping)|has restarted (?:(?P<times>\d+) times|within the last \d+ minutes))"
)
_LOGS_HINT = re.compile(
    r"\boc logs (?:-p )?(?P<pod>[a-z0-9][a-z0-9.-]*) -c (?P<container>[a-z0-9][a-z0-9-]*)\b"
)


def is_finding(line: str) -> bool:
    return bool(_FINDING.match(line))


def oc_status_pods(lines: Sequence[str]) -> list[PodFacts]:
    """The pods `oc status` found in trouble, one PodFacts per finding's pod."""
    hints = {m["pod"]: m["container"] for line in lines for m in _LOGS_HINT.finditer(line)}
    found: dict[str, PodFacts] = {}
    for line in lines:
        match = _FINDING.match(line)
        if match is None:
            continue
        name = match["pod"]
        container = match["container"] or hints.get(name, "")
        # "within the last 10 minutes": once at least; a crash loop's count is not printed.
        restarts = int(match["times"]) if match["times"] else 0 if match["loop"] else 1
        old = found.get(name)
        state = ContainerState("waiting", reason="CrashLoopBackOff") if match["loop"] else None
        if old is not None:
            status = old.pod.container_statuses[0]
            state = state or status.state
            restarts = max(restarts, status.restart_count)
        sources = {**(old.sources if old else {}), "/restartCount": line.strip()}
        if match["loop"]:
            sources["/state.waiting.reason"] = line.strip()
        status = ContainerStatus(name=container, restart_count=restarts)
        if state is not None:
            status = ContainerStatus(name=container, restart_count=restarts, state=state)
        pod = Pod(namespace="", name=name, container_statuses=(status,))
        found[name] = PodFacts(pod=pod, sources=sources, shows=frozenset({"summary"}), rank=1)
    return list(found.values())


# --- markdown tables ------------------------------------------------------------------------------

_CELLS = re.compile(r"^\s*\|(?P<cells>.*)\|\s*$")
_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_POD_COLUMNS = ("name", "pod", "pod name")
_MARKS = re.compile(r"[`*_]")


def _cells(line: str) -> list[str] | None:
    match = _CELLS.match(line)
    if match is None:
        return None
    return [_MARKS.sub("", cell).strip() for cell in match["cells"].split("|")]


def is_markdown_table(lines: Sequence[str]) -> bool:
    """A header with a pod column over a `|---|` rule."""
    for header, rule in itertools.pairwise(lines):
        cells = _cells(header)
        if cells and _RULE.match(rule) and any(c.lower() in _POD_COLUMNS for c in cells):
            return True
    return False


def markdown_pods(lines: Sequence[str]) -> list[PodFacts]:
    """The pods of the markdown tables with a pod column in `lines`."""
    facts: list[PodFacts] = []
    columns: list[str] = []
    for index, line in enumerate(lines):
        cells = _cells(line)
        if cells is None or _RULE.match(line):
            if cells is None:
                columns = []
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _RULE.match(following):
            columns = [c.lower() for c in cells]
        elif columns and len(cells) == len(columns):
            row = _row(dict(zip(columns, cells, strict=True)), line)
            facts += [row] if row is not None else []
    return facts


def _row(row: dict[str, str], line: str) -> PodFacts | None:
    name = next((row[c] for c in _POD_COLUMNS if row.get(c)), "")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", name):
        return None
    namespace = row.get("namespace", "")
    if all(row.get(c) for c in ("ready", "status", "restarts", "age")):
        cells = " ".join(row[c] for c in ("ready", "status", "restarts", "age"))
        rows = table.parse_get_pods([f"{name} {cells}"], headerless=True)
        if rows:
            pod = replace(rows[0].pod, namespace=namespace)
            return dataclasses.replace(rows[0], pod=pod, sources={k: line.strip() for k in rows[0].sources})
    restarts = re.match(r"\d+", row.get("restarts", ""))
    state = table.state_from_status(row.get("status", "")) if row.get("status") else None
    status = ContainerStatus(name="", restart_count=int(restarts.group()) if restarts else 0)
    if state is not None:
        status = ContainerStatus(name="", restart_count=status.restart_count, state=state)
    sources = {"/restartCount": line.strip()} if restarts else {}
    statuses = (status,) if restarts or state is not None else ()
    pod = Pod(namespace=namespace, name=name, container_statuses=statuses)
    return PodFacts(pod=pod, sources=sources, shows=frozenset({"summary"}), rank=1)


# --- a waiting reason with its message ------------------------------------------------------------

# The kubelet's waiting reasons that carry a message worth reading (not ContainerCreating).
_WAITING_LINE = re.compile(
    r"^\s*(?P<reason>CrashLoopBackOff|ImagePullBackOff|ErrImagePull|ErrImageNeverPull|InvalidImageName|"
    r"CreateContainerConfigError|CreateContainerError|RunContainerError|ContainerCannotRun|StartError|"
    r"PreStartHookError|PostStartHookError)\s*:\s+(?P<message>\S.*?)\s*$"
)


def is_waiting_line(line: str) -> bool:
    return bool(_WAITING_LINE.match(line))


def waiting_pods(lines: Sequence[str]) -> list[PodFacts]:
    """The one container the waiting lines of a block speak of: the first line's reason, every
    line's message (a back-off's says only what it waits for, the pull error after it says why)."""
    found = [(m, line.strip()) for line in lines if (m := _WAITING_LINE.match(line))]
    if not found:
        return []
    first, line = found[0]
    message = "; ".join(m["message"] for m, _ in found)
    state = ContainerState("waiting", reason=first["reason"], message=message)
    pod = Pod(namespace="", name="", container_statuses=(ContainerStatus(name="", state=state),))
    sources = {
        "/state.waiting.reason": line,
        "/state.waiting.message": "\n".join(text for _, text in found),
    }
    return [PodFacts(pod=pod, sources=sources, shows=frozenset({"summary"}), rank=1)]
