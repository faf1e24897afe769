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

Plain env values are never kept, not even in the quoted source lines.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from msgspec.structs import replace

from kcrash.cluster.paste.events import parse_describe_events
from kcrash.cluster.paste.model import PastedEvent, PodFacts
from kcrash.cluster.paste.text import parse_kube_time
from kcrash.core.quantity import parse_bytes, parse_cpu
from kcrash.core.records import (
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    EnvRef,
    OwnerRef,
    Pod,
    PodCondition,
    Probe,
    ProbeKind,
    RefKind,
    StateKind,
)

# "Key:<spaces or tabs>value" or "Key:"; a key has no ":" and no run of two spaces.
_KEY = re.compile(r"^(?P<lead>[ \t]*)(?P<key>[^\s:](?:[^:\t ]| (?! ))*?):(?:[ \t]+(?P<value>.*?))?[ \t]*$")
_EXIT_CODE = re.compile(r"^\s*Exit Code:")
_PROBE = re.compile(
    r"^(?P<handler>.*?)\s*delay=(?P<delay>-?\d+)s\s+timeout=(?P<timeout>\d+)s\s+period=(?P<period>\d+)s\s+"
    r"#success=(?P<success>\d+)\s+#failure=(?P<failure>\d+)\s*$"
)
_URL = re.compile(r"^(?P<scheme>\w+)://(?P<host>\[[^\]]*\]|[^/:]*)(?::(?P<port>[^/]*))?(?P<path>/.*)?$")
_KEY_REF = re.compile(
    r"^<set to the key '(?P<key>[^']*)' (?P<kind>in secret|of config map) '(?P<name>[^']*)'>"
    r"(?:\s+Optional:\s*(?P<optional>true|false))?"
)
_ENV_FROM = re.compile(
    r"^\s*(?P<name>\S+)\s+(?P<kind>ConfigMap|Secret)(?: with prefix '[^']*')?"
    r"(?:\s+Optional:\s*(?P<optional>true|false))?"
)
_MOUNT = re.compile(r"^\s*(?P<path>\S+) from (?P<volume>\S+) \((?P<flags>[^)]*)\)")
_POD_NAME = re.compile(r"^Name:\s+\S")

_CONTAINER_SECTIONS = {"Init Containers": True, "Containers": False}
_TOP_KEYS = frozenset(
    {
        *_CONTAINER_SECTIONS,
        "Name",
        "Namespace",
        "Priority",
        "Priority Class Name",
        "Runtime Class Name",
        "Service Account",
        "Node",
        "Start Time",
        "Labels",
        "Annotations",
        "Status",
        "Reason",
        "Message",
        "IP",
        "IPs",
        "Controlled By",
        "NominatedNodeName",
        "Ephemeral Containers",
        "Readiness Gates",
        "Conditions",
        "Volumes",
        "QoS Class",
        "Node-Selectors",
        "Tolerations",
        "Events",
    }
)
_CONTAINER_FIELDS = frozenset(
    {
        "Container ID",
        "Image",
        "Image ID",
        "Port",
        "Ports",
        "Host Port",
        "Host Ports",
        "SeccompProfile",
        "Command",
        "Args",
        "State",
        "Last State",
        "Ready",
        "Restart Count",
        "Limits",
        "Requests",
        "Liveness",
        "Readiness",
        "Startup",
        "Environment Variables from",
        "Environment",
        "Mounts",
        "Devices",
    }
)
_MULTILINE_POD_KEYS = frozenset({"Labels", "Annotations", "Node-Selectors", "Tolerations", "IPs"})
_STATE_FIELDS = {
    "Reason": "reason",
    "Message": "message",
    "Exit Code": "exitCode",
    "Signal": "signal",
    "Started": "startedAt",
    "Finished": "finishedAt",
}
_STATE_KINDS: dict[str, StateKind] = {"Running": "running", "Waiting": "waiting", "Terminated": "terminated"}
_PROBE_KINDS: dict[str, ProbeKind] = {"Liveness": "liveness", "Readiness": "readiness", "Startup": "startup"}
_DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"


@dataclass(frozen=True, slots=True)
class _Line:
    raw: str
    indent: int  # spaces before the text
    cont: bool  # leading whitespace holds a tab: an empty first cell, continuing the value above
    key: str | None
    value: str

    @property
    def blank(self) -> bool:
        return not self.raw.strip()


def _line(raw: str) -> _Line:
    stripped = raw.lstrip(" \t")
    lead = raw[: len(raw) - len(stripped)]
    match = _KEY.match(raw)
    return _Line(
        raw=raw,
        indent=len(lead) if "\t" not in lead else len(lead.split("\t")[0]),
        cont="\t" in lead,
        key=match.group("key") if match else None,
        value=(match.group("value") or "") if match else "",
    )


@dataclass(slots=True)
class _Container:
    """One container block while it is read."""

    name: str
    init: bool
    image: str = ""
    container_id: str = ""
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    state: ContainerState | None = None
    last_state: ContainerState | None = None
    ready: bool = False
    restart_count: int = 0
    has_status: bool = False
    limits: dict[str, str] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)
    probes: dict[ProbeKind, Probe] = field(default_factory=dict)
    env_names: list[str] = field(default_factory=list)
    env_refs: list[EnvRef] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)


def _quantity(values: dict[str, str], name: str, parse: Callable[[str], int]) -> int | None:
    text = values.get(name)
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError:
        return None


def probe_from_describe(kind: ProbeKind, text: str) -> Probe | None:
    """`http-get http://:8080/healthz delay=10s timeout=1s period=5s #success=1 #failure=3` -> Probe.

    The handler reads the way `cluster.parse` writes it for API objects ("GET :8080/healthz").
    """
    match = _PROBE.match(text.strip())
    if match is None:
        return None
    return Probe(
        kind=kind,
        handler=_handler(match.group("handler")),
        initial_delay_seconds=max(int(match.group("delay")), 0),
        timeout_seconds=int(match.group("timeout")),
        period_seconds=int(match.group("period")),
        success_threshold=int(match.group("success")),
        failure_threshold=int(match.group("failure")),
    )


def _handler(text: str) -> str:
    action, _, rest = text.strip().partition(" ")
    rest = rest.strip()
    if action == "http-get":
        url = _URL.match(rest)
        if url is None:
            return f"GET {rest}"
        scheme = url.group("scheme").lower()
        prefix = f"{scheme}://" if scheme != "http" else ""
        return f"GET {prefix}{url.group('host')}:{url.group('port') or ''}{url.group('path') or '/'}"
    if action == "tcp-socket":
        return f"tcp {rest}"
    if action == "exec":
        return "exec: " + rest.removeprefix("[").removesuffix("]")
    if action == "grpc":
        port, _, service = rest.partition(" ")
        service = service.strip()
        return f"grpc :{port.rpartition(':')[2]}" + (f" {service}" if service else "")
    return "unknown handler"


class _Reader:
    """Reads one pod's describe lines; every fact keeps the line it came from."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = [_line(raw) for raw in lines]
        present = [line.indent for line in self.lines if not line.blank and not line.cont]
        self.base = min(present) if present else 0
        self.fields: dict[str, str] = {}
        self.labels: list[tuple[str, str]] = []
        self.annotations: dict[str, str] = {}
        self.containers: list[_Container] = []
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
            elif line.indent > self.base or line.key in _CONTAINER_FIELDS or self._names_container(index):
                # A paste that starts inside a container block.
                index = self._containers(index, init=False)
            else:
                index = self._top(index, line)
        return self._facts()

    def _names_container(self, index: int) -> bool:
        """ "web:" at the margin with container fields under it: a paste cut above `Containers:`."""
        line = self.lines[index]
        if line.value or line.key in _TOP_KEYS:
            return False
        following = next((n for n in self.lines[index + 1 :] if not n.blank), None)
        return following is not None and following.indent > line.indent and following.key in _CONTAINER_FIELDS

    def _top(self, index: int, line: _Line) -> int:
        key = line.key or ""
        self.section = key
        if key in _CONTAINER_SECTIONS:
            return self._containers(index + 1, init=_CONTAINER_SECTIONS[key])
        if key == "Conditions":
            return self._conditions(index)
        if key == "Volumes":
            return self._volumes(index)
        if key == "Events":
            self.shows.add("events")
            return self._events(index)
        children, end = self._children(index, line.indent)
        if key in _MULTILINE_POD_KEYS:
            self._multiline(key, line, children)
        elif key != "Ephemeral Containers":
            self.fields[key] = line.value
            if key in _POD_SOURCES:
                self.sources[_POD_SOURCES[key]] = line.raw
        return end

    def _children(self, index: int, indent: int) -> tuple[list[_Line], int]:
        """The lines under lines[index]: deeper, or continuations; blank lines end them."""
        end = index + 1
        while end < len(self.lines):
            line = self.lines[end]
            if line.blank or not (line.cont or line.indent > indent):
                break
            end += 1
        return self.lines[index + 1 : end], end

    def _multiline(self, key: str, line: _Line, children: list[_Line]) -> None:
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
                    if name == _DEFAULT_CONTAINER:
                        self.sources["metadata.annotations.default-container"] = row.raw

    # --- containers -----------------------------------------------------------------------------

    def _containers(self, index: int, *, init: bool) -> int:
        self.shows.add("spec")
        name_indent: int | None = None
        field_indent: int | None = None
        current: _Container | None = None
        while index < len(self.lines):
            line = self.lines[index]
            if line.blank or line.cont:
                index += 1
                continue
            if name_indent is None:
                if (
                    line.indent <= self.base
                    and line.key not in _CONTAINER_FIELDS
                    and not self._names_container(index)
                ):
                    break  # "Containers: <none>"
                name_indent = line.indent
            if line.indent < name_indent:
                break
            if line.indent == name_indent and line.key not in _CONTAINER_FIELDS:
                if not line.key or line.value or line.key in _TOP_KEYS:
                    break
                current = _Container(name=line.key, init=init)
                self.containers.append(current)
                field_indent = None
                index += 1
                continue
            if current is None:
                # Fields before any container name: a paste cut just above them.
                current = _Container(name="", init=init)
                self.containers.append(current)
            if field_indent is None:
                field_indent = line.indent
            if line.indent == field_indent and line.key:
                index = self._container_field(current, index, field_indent)
            else:
                index += 1
        return index

    def _container_field(self, c: _Container, index: int, indent: int) -> int:
        line = self.lines[index]
        key, value = line.key or "", line.value
        prefix = f"{c.name}/"
        if key in ("State", "Last State"):
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
        elif key in _PROBE_KINDS:
            probe = probe_from_describe(_PROBE_KINDS[key], value)
            if probe is not None:
                c.probes[probe.kind] = probe
                self.sources[f"{prefix}{probe.kind}Probe"] = line.raw
        elif key == "Environment Variables from":
            self._env_from(c, children)
        elif key == "Environment":
            self._env(c, children)
        elif key == "Mounts":
            for child in children:
                mount = _MOUNT.match(child.raw)
                if mount:
                    c.mounts.append(mount.group("volume"))
        return end

    def _resources(self, c: _Container, key: str, children: list[_Line]) -> None:
        target = c.limits if key == "Limits" else c.requests
        for child in children:
            if child.key and child.value:
                target[child.key] = child.value
                self.sources[f"{c.name}/resources.{key.lower()}.{child.key}"] = child.raw

    def _env(self, c: _Container, children: list[_Line]) -> None:
        entry_indent = min((child.indent for child in children if not child.cont), default=0)
        for child in children:
            if child.cont or child.indent != entry_indent or not child.key:
                continue  # the second line of a multi-line value
            ref = _KEY_REF.match(child.value)
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

    def _env_from(self, c: _Container, children: list[_Line]) -> None:
        for child in children:
            match = _ENV_FROM.match(child.raw)
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

    def _state(self, c: _Container, index: int, indent: int) -> int:
        line = self.lines[index]
        which = "state" if line.key == "State" else "lastState"
        kind = _STATE_KINDS.get(line.value.split()[0] if line.value else "", "waiting")
        c.has_status = True
        path = f"{c.name}/{which}.{kind}"
        self.sources[f"{c.name}/{which}"] = line.raw
        values: dict[str, str] = {}
        message: list[str] = []
        in_message = False
        end = index + 1
        while end < len(self.lines):
            sub = self.lines[end]
            if in_message and not _EXIT_CODE.match(sub.raw):
                message.append(sub.raw)  # a raw line of a multi-line termination message
                end += 1
                continue
            in_message = False
            if sub.blank or not (sub.cont or sub.indent > indent) or sub.key is None:
                break
            name = _STATE_FIELDS.get(sub.key)
            if name is not None:
                self.sources[f"{path}.{name}"] = sub.raw
                if name == "message":
                    message, in_message = [sub.value], True
                else:
                    values[name] = sub.value
            end += 1
        state = _container_state(kind, values, "\n".join(message).rstrip())
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
        controlled_by = self.fields.get("Controlled By", "")
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
            node_name=_node(self.fields.get("Node", "")),
            pod_ip=self.fields.get("IP", "") if self.fields.get("IP") != "<none>" else "",
            start_time=parse_kube_time(self.fields.get("Start Time", "")),
            conditions=tuple(self.conditions),
            containers=tuple(s for s in specs if not s.init),
            init_containers=tuple(s for s in specs if s.init),
            container_statuses=tuple(_status(c) for c in with_status if not c.init),
            init_container_statuses=tuple(_status(c) for c in with_status if c.init),
            default_container=self.annotations.get(_DEFAULT_CONTAINER, ""),
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

    def _spec(self, c: _Container) -> ContainerSpec:
        mounted = [ref for volume in c.mounts for ref in self.volumes.get(volume, [])]
        return ContainerSpec(
            name=c.name,
            image=c.image,
            command=tuple(c.command),
            args=tuple(c.args),
            memory_request=_quantity(c.requests, "memory", parse_bytes),
            memory_limit=_quantity(c.limits, "memory", parse_bytes),
            cpu_request=_quantity(c.requests, "cpu", parse_cpu),
            cpu_limit=_quantity(c.limits, "cpu", parse_cpu),
            liveness=c.probes.get("liveness"),
            readiness=c.probes.get("readiness"),
            startup=c.probes.get("startup"),
            env_refs=(*c.env_refs, *mounted),
            env_names=tuple(c.env_names),
            init=c.init,
        )


_POD_SOURCES = {
    "Name": "metadata.name",
    "Namespace": "metadata.namespace",
    "Node": "spec.nodeName",
    "Start Time": "status.startTime",
    "Status": "status.phase",
    "Reason": "status.reason",
    "Message": "status.message",
    "IP": "status.podIP",
    "Controlled By": "metadata.ownerReferences",
    "QoS Class": "status.qosClass",
}


def _status(c: _Container) -> ContainerStatus:
    return ContainerStatus(
        name=c.name,
        ready=c.ready,
        restart_count=c.restart_count,
        state=c.state or ContainerState("unknown"),
        last_state=c.last_state,
    )


def _node(text: str) -> str:
    """ "node01/10.0.0.5" -> "node01"; "<none>" -> ""."""
    node = text.partition("/")[0].strip()
    return "" if node == "<none>" else node


def _container_state(kind: StateKind, values: dict[str, str], message: str) -> ContainerState:
    def number(name: str) -> int | None:
        text = values.get(name, "").strip()
        return int(text) if re.fullmatch(r"-?\d+", text) else None

    return ContainerState(
        kind=kind,
        reason=values.get("reason", ""),
        message=message,
        exit_code=number("exitCode") if kind == "terminated" else None,
        signal=number("signal") or None,
        started_at=parse_kube_time(values.get("startedAt", "")),
        finished_at=parse_kube_time(values.get("finishedAt", "")),
    )


def split_pods(lines: Sequence[str]) -> list[list[str]]:
    """`kubectl describe pods` of several pods: one block per `Name:` at the left margin."""
    blocks: list[list[str]] = []
    for line in lines:
        if _POD_NAME.match(line) or not blocks:
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
