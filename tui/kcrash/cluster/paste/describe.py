"""`kubectl describe pod` text -> PodFacts, for kubectl of every version since about 1.10.

The layout is kubectl's describePod (pkg/describe/describe.go): a PrefixWriter indents two spaces
per level, a tabwriter aligns "Key:<pad>value" with spaces (padding 2) in today's kubectl and with
tabs in older ones. So structure is read from the spaces before a key, and a line whose leading
whitespace holds a tab is an empty first cell: the continuation of the value above (labels,
annotations, multi-line env values).

Two shapes break the indentation and are handled on purpose:
- a terminated state's Message is printed raw, so its second and later lines start anywhere, even
  at column 0; it runs until the `Exit Code:` that always follows it.
- a paste may start or stop anywhere. Without a `Name:` the pod has no name (`combine` attaches
  it to the one pod the other pastes name); indented lines before any section are containers; a
  paste that stops before the Events section says so in `cut_off`.

Layouts before 1.8 differ in names only: `Last Termination State` (1.0-1.2) for `Last State`,
`Controllers` for `Controlled By`, and the Events table `events` reads in its old columns.

Plain env values are never kept, not even in the quoted source lines.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import datetime

from msgspec.structs import replace

from kcrash.cluster.paste.describe_parts import (
    CONTAINER_FIELDS,
    CONTAINER_SECTIONS,
    DEFAULT_CONTAINER,
    ENV_FROM,
    EXIT_CODE,
    KEY_REF,
    MOUNT,
    MULTILINE_POD_KEYS,
    POD_NAME,
    POD_SOURCES,
    PROBE_KINDS,
    STATE_FIELDS,
    STATE_KINDS,
    TOP_KEYS,
    Container,
    Line,
    container_state,
    container_status,
    describe_line,
    node_name,
    probe_from_describe,
    quantity,
)
from kcrash.cluster.paste.events import parse_describe_events
from kcrash.cluster.paste.model import PastedEvent, PodFacts
from kcrash.cluster.paste.text import parse_kube_time
from kcrash.core.quantity import parse_bytes, parse_cpu
from kcrash.core.records import (
    ContainerSpec,
    EnvRef,
    OwnerRef,
    Pod,
    PodCondition,
    RefKind,
)

# A container's name is a DNS label; a line of chat ending in a colon is not one.
_CONTAINER_NAME = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$")


# "Key:<spaces or tabs>value" or "Key:"; a key has no ":" and no run of two spaces.
class _Reader:
    """Reads one pod's describe lines; every fact keeps the line it came from."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = [describe_line(raw) for raw in lines]
        present = [line.indent for line in self.lines if not line.blank and not line.cont]
        self.base = min(present) if present else 0
        self.fields: dict[str, str] = {}
        self.labels: list[tuple[str, str]] = []
        self.annotations: dict[str, str] = {}
        self.containers: list[Container] = []
        self.volumes: dict[str, list[EnvRef]] = {}
        self.conditions: list[PodCondition] = []
        self.events: list[PastedEvent] = []
        self.sources: dict[str, str] = {}
        self.shows: set[str] = set()
        self.section = ""

    # --- the walk ---------------------------------------------------------------------------------

    def read(self) -> PodFacts:
        index = 0
        while index < len(self.lines):
            line = self.lines[index]
            if line.blank or line.cont or line.key is None:
                index += 1
            elif line.indent > self.base or line.key in CONTAINER_FIELDS or self._names_container(index):
                # A paste that starts inside a container block.
                index = self._containers(index, init=False)
            else:
                index = self._top(index, line)
        return self._facts()

    def _names_container(self, index: int) -> bool:
        """ "web:" at the margin with container fields under it: a paste cut above `Containers:`."""
        line = self.lines[index]
        if line.value or line.key in TOP_KEYS:
            return False
        following = next((n for n in self.lines[index + 1 :] if not n.blank), None)
        return following is not None and following.indent > line.indent and following.key in CONTAINER_FIELDS

    def _top(self, index: int, line: Line) -> int:
        key = line.key or ""
        self.section = key
        if key in CONTAINER_SECTIONS:
            return self._containers(index + 1, init=CONTAINER_SECTIONS[key])
        if key == "Conditions":
            return self._conditions(index)
        if key == "Volumes":
            return self._volumes(index)
        if key == "Events":
            self.shows.add("events")
            return self._events(index)
        children, end = self._children(index, line.indent)
        if key in MULTILINE_POD_KEYS:
            self._multiline(key, line, children)
        elif key != "Ephemeral Containers":
            self.fields[key] = line.value
            if key in POD_SOURCES:
                self.sources[POD_SOURCES[key]] = line.raw
        return end

    def _children(self, index: int, indent: int) -> tuple[list[Line], int]:
        """The lines under lines[index]: deeper, or continuations; blank lines end them."""
        end = index + 1
        while end < len(self.lines):
            line = self.lines[end]
            if line.blank or not (line.cont or line.indent > indent):
                break
            end += 1
        return self.lines[index + 1 : end], end

    def _multiline(self, key: str, line: Line, children: list[Line]) -> None:
        rows = [(line, line.value), *((child, child.raw.strip()) for child in children)]
        for row, value in rows:
            if key == "Labels":
                name, sep, label = value.partition("=")
                if sep:
                    self.labels.append((name, label))
                    self.sources["metadata.labels"] = line.raw
            elif key == "Annotations":
                name, sep, annotation = value.partition(": ")
                if sep:
                    self.annotations[name] = annotation
                    if name == DEFAULT_CONTAINER:
                        self.sources["metadata.annotations.default-container"] = row.raw

    # --- containers -----------------------------------------------------------------------------

    def _containers(self, index: int, *, init: bool) -> int:
        index = self._container_blocks(index, init=init)
        # Every describe prints a container's Image: a piece with only its State lines shows no spec
        # (its limits and probes are unknown, not absent).
        if any(c.image for c in self.containers):
            self.shows.add("spec")
        return index

    def _container_blocks(self, index: int, *, init: bool) -> int:
        name_indent: int | None = None
        field_indent: int | None = None
        current: Container | None = None
        while index < len(self.lines):
            line = self.lines[index]
            if line.blank or line.cont:
                index += 1
                continue
            if name_indent is None:
                if (
                    line.indent <= self.base
                    and line.key not in CONTAINER_FIELDS
                    and not self._names_container(index)
                ):
                    break  # "Containers: <none>"
                name_indent = line.indent
            if line.indent < name_indent:
                break
            if line.indent == name_indent and line.key not in CONTAINER_FIELDS:
                if not line.key or line.value or line.key in TOP_KEYS:
                    break
                if not _CONTAINER_NAME.match(line.key):  # "Here is the output:" above the lines
                    index += 1
                    continue
                current = Container(name=line.key, init=init)
                self.containers.append(current)
                field_indent = None
                index += 1
                continue
            if current is None:
                # Fields before any container name: a paste cut just above them.
                current = Container(name="", init=init)
                self.containers.append(current)
            if field_indent is None:
                field_indent = line.indent
            if line.indent == field_indent and line.key:
                index = self._container_field(current, index, field_indent)
            else:
                index += 1
        return index

    def _container_field(self, c: Container, index: int, indent: int) -> int:
        line = self.lines[index]
        key, value = line.key or "", line.value
        prefix = f"{c.name}/"
        if key in ("State", "Last State", "Last Termination State"):
            return self._state(c, index, indent)
        children, end = self._children(index, indent)
        if key == "Container ID":
            c.container_id = value
        elif key == "Image":
            c.image = value
            self.sources[prefix + "image"] = line.raw
        elif key in ("Command", "Args"):
            items = [child.raw.strip() for child in children]
            (c.command if key == "Command" else c.args).extend(items)
            self.sources[prefix + key.lower()] = "\n".join([line.raw, *(child.raw for child in children)])
        elif key == "Ready":
            c.ready, c.has_status = value == "True", True
            self.sources[prefix + "ready"] = line.raw
        elif key == "Restart Count":
            c.restart_count, c.has_status = int(value) if value.isdigit() else 0, True
            self.sources[prefix + "restartCount"] = line.raw
        elif key in ("Limits", "Requests"):
            self._resources(c, key, children)
        elif key in PROBE_KINDS:
            probe = probe_from_describe(PROBE_KINDS[key], value)
            if probe is not None:
                c.probes[probe.kind] = probe
                self.sources[f"{prefix}{probe.kind}Probe"] = line.raw
        elif key == "Environment Variables from":
            self._env_from(c, children)
        elif key == "Environment":
            self._env(c, children)
        elif key == "Mounts":
            for child in children:
                mount = MOUNT.match(child.raw)
                if mount:
                    c.mounts.append(mount.group("volume"))
        return end

    def _resources(self, c: Container, key: str, children: list[Line]) -> None:
        target = c.limits if key == "Limits" else c.requests
        for child in children:
            if child.key and child.value:
                target[child.key] = child.value
                self.sources[f"{c.name}/resources.{key.lower()}.{child.key}"] = child.raw

    def _env(self, c: Container, children: list[Line]) -> None:
        entry_indent = min((child.indent for child in children if not child.cont), default=0)
        for child in children:
            if child.cont or child.indent != entry_indent or not child.key:
                continue  # the second line of a multi-line value
            ref = KEY_REF.match(child.value)
            if ref is None:
                c.env_names.append(child.key)  # the value is never kept, nor its line
                continue
            kind: RefKind = "Secret" if ref.group("kind") == "in secret" else "ConfigMap"
            c.env_refs.append(
                EnvRef(
                    kind=kind,
                    name=ref.group("name"),
                    key=ref.group("key"),
                    env_name=child.key,
                    optional=ref.group("optional") == "true",
                    via="env",
                )
            )
            self.sources[f"{c.name}/env.{child.key}"] = child.raw

    def _env_from(self, c: Container, children: list[Line]) -> None:
        for child in children:
            match = ENV_FROM.match(child.raw)
            if match is None:
                continue
            kind: RefKind = "Secret" if match.group("kind") == "Secret" else "ConfigMap"
            c.env_refs.append(
                EnvRef(
                    kind=kind,
                    name=match.group("name"),
                    optional=match.group("optional") == "true",
                    via="envFrom",
                )
            )
            self.sources[f"{c.name}/envFrom.{match.group('name')}"] = child.raw

    def _state(self, c: Container, index: int, indent: int) -> int:
        line = self.lines[index]
        which = "state" if line.key == "State" else "lastState"
        kind = STATE_KINDS.get(line.value.split()[0] if line.value else "", "waiting")
        c.has_status = True
        path = f"{c.name}/{which}.{kind}"
        self.sources[f"{c.name}/{which}"] = line.raw
        values: dict[str, str] = {}
        message: list[str] = []
        in_message = False
        end = index + 1
        while end < len(self.lines):
            sub = self.lines[end]
            if in_message and not EXIT_CODE.match(sub.raw):
                message.append(sub.raw)  # a raw line of a multi-line termination message
                end += 1
                continue
            in_message = False
            if sub.blank or not (sub.cont or sub.indent > indent) or sub.key is None:
                break
            name = STATE_FIELDS.get(sub.key)
            if name is not None:
                self.sources[f"{path}.{name}"] = sub.raw
                if name == "message":
                    message, in_message = [sub.value], True
                else:
                    values[name] = sub.value
            end += 1
        state = container_state(kind, values, "\n".join(message).rstrip())
        if which == "state":
            c.state = replace(state, container_id=c.container_id) if kind == "terminated" else state
        else:
            c.last_state = state
        return end

    # --- pod sections ---------------------------------------------------------------------------

    def _conditions(self, index: int) -> int:
        children, end = self._children(index, self.lines[index].indent)
        for child in children:
            parts = child.raw.split()
            if len(parts) >= 2 and parts[:2] != ["Type", "Status"]:
                self.conditions.append(PodCondition(type=parts[0], status=parts[1]))
                self.sources[f"status.conditions.{parts[0]}"] = child.raw
        return end

    def _volumes(self, index: int) -> int:
        children, end = self._children(index, self.lines[index].indent)
        name_indent = min((child.indent for child in children if not child.cont), default=0)
        current: list[EnvRef] | None = None
        volume_type = ""
        for child in children:
            if child.indent == name_indent and child.key and not child.value and not child.cont:
                current = self.volumes.setdefault(child.key, [])
                volume_type = ""
                continue
            if current is None or not child.key:
                continue
            kind: RefKind | None = None
            if child.key == "Type":
                volume_type = child.value.split()[0] if child.value else ""
            elif child.key in ("SecretName", "ConfigMapName") or (
                child.key == "Name" and volume_type == "ConfigMap"
            ):
                kind = "Secret" if child.key == "SecretName" else "ConfigMap"
            elif child.key in ("Optional", "ConfigMapOptional", "SecretOptional") and current:
                current[-1] = replace(current[-1], optional=child.value == "true")
            if kind is not None:
                current.append(EnvRef(kind=kind, name=child.value, via="volume"))
        return end

    def _events(self, index: int) -> int:
        header = self.lines[index]
        self.sources["events"] = header.raw
        if header.value == "<none>":
            return index + 1
        # The Events table is describe's last section: whatever follows is its rows or their
        # re-wrapped tails, so the section runs to the end of the pod's lines.
        self.events = parse_describe_events([line.raw for line in self.lines[index + 1 :]])
        return len(self.lines)

    # --- the result -----------------------------------------------------------------------------

    def _facts(self) -> PodFacts:
        name = self.fields.get("Name", "")
        namespace = self.fields.get("Namespace", "")
        owners: tuple[OwnerRef, ...] = ()
        # "Controllers:" before kubectl 1.7.
        controlled_by = self.fields.get("Controlled By") or self.fields.get("Controllers", "")
        if "/" in controlled_by:
            kind, _, owner = controlled_by.partition("/")
            owners = (OwnerRef(kind=kind, name=owner, controller=True),)
        status = self.fields.get("Status", "")
        specs = [self._spec(c) for c in self.containers]
        with_status = [c for c in self.containers if c.has_status]
        if with_status or status:
            self.shows.add("status")
        pod = Pod(
            namespace=namespace,
            name=name,
            labels=tuple(sorted(self.labels)),
            owners=owners,
            phase=status if status in ("Pending", "Running", "Succeeded", "Failed", "Unknown") else "",
            reason=self.fields.get("Reason", ""),
            message=self.fields.get("Message", ""),
            node_name=node_name(self.fields.get("Node", "")),
            pod_ip=self.fields.get("IP", "") if self.fields.get("IP") != "<none>" else "",
            start_time=parse_kube_time(self.fields.get("Start Time", "")),
            conditions=tuple(self.conditions),
            containers=tuple(s for s in specs if not s.init),
            init_containers=tuple(s for s in specs if s.init),
            container_statuses=tuple(container_status(c) for c in with_status if not c.init),
            init_container_statuses=tuple(container_status(c) for c in with_status if c.init),
            default_container=self.annotations.get(DEFAULT_CONTAINER, ""),
        )
        events = tuple(
            dataclasses.replace(e, event=replace(e.event, namespace=namespace, involved_name=name))
            for e in self.events
        )
        return PodFacts(
            pod=pod,
            sources=dict(self.sources),
            events=events,
            shows=frozenset(self.shows),
            rank=2,
            cut_off="" if "events" in self.shows else (self.section or "start"),
        )

    def _spec(self, c: Container) -> ContainerSpec:
        mounted = [ref for volume in c.mounts for ref in self.volumes.get(volume, [])]
        return ContainerSpec(
            name=c.name,
            image=c.image,
            command=tuple(c.command),
            args=tuple(c.args),
            memory_request=quantity(c.requests, "memory", parse_bytes),
            memory_limit=quantity(c.limits, "memory", parse_bytes),
            cpu_request=quantity(c.requests, "cpu", parse_cpu),
            cpu_limit=quantity(c.limits, "cpu", parse_cpu),
            liveness=c.probes.get("liveness"),
            readiness=c.probes.get("readiness"),
            startup=c.probes.get("startup"),
            env_refs=(*c.env_refs, *mounted),
            env_names=tuple(c.env_names),
            init=c.init,
        )


def split_pods(lines: Sequence[str]) -> list[list[str]]:
    """`kubectl describe pods` of several pods: one block per `Name:` at the left margin."""
    blocks: list[list[str]] = []
    for line in lines:
        if POD_NAME.match(line) or not blocks:
            blocks.append([])
        blocks[-1].append(line)
    return [block for block in blocks if any(line.strip() for line in block)]


def parse_describe(lines: Sequence[str]) -> list[PodFacts]:
    """Every pod in a describe paste."""
    return [_Reader(block).read() for block in split_pods(lines)]


def latest_time(facts: PodFacts) -> datetime | None:
    """The latest absolute time a describe shows: the paste was taken no earlier."""
    pod = facts.pod
    times = [pod.start_time]
    for status in (*pod.container_statuses, *pod.init_container_statuses):
        for state in (status.state, status.last_state):
            if state is not None:
                times += [state.started_at, state.finished_at]
    known = [t for t in times if t is not None]
    return max(known) if known else None
