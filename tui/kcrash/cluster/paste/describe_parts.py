"""The pieces of a `kubectl describe pod` the reader in `describe` puts together: its keys and
sections, one line's cells, a container block while it is read, probes, and states.

A line is "Key:<spaces or tabs>value"; a line whose leading whitespace holds a tab is an empty
first cell, continuing the value above (tab-aligned kubectl of before about 1.14).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from kcrash.cluster.paste.text import parse_kube_time
from kcrash.core.records import (
    ContainerState,
    ContainerStatus,
    EnvRef,
    Probe,
    ProbeKind,
    StateKind,
)

_KEY = re.compile(r"^(?P<lead>[ \t]*)(?P<key>[^\s:](?:[^:\t ]| (?! ))*?):(?:[ \t]+(?P<value>.*?))?[ \t]*$")
EXIT_CODE = re.compile(r"^\s*Exit Code:")
_PROBE = re.compile(
    r"^(?P<handler>.*?)\s*delay=(?P<delay>-?\d+)s\s+timeout=(?P<timeout>\d+)s\s+period=(?P<period>\d+)s\s+"
    r"#success=(?P<success>\d+)\s+#failure=(?P<failure>\d+)\s*$"
)
_URL = re.compile(r"^(?P<scheme>\w+)://(?P<host>\[[^\]]*\]|[^/:]*)(?::(?P<port>[^/]*))?(?P<path>/.*)?$")
KEY_REF = re.compile(
    r"^<set to the key '(?P<key>[^']*)' (?P<kind>in secret|of config map) '(?P<name>[^']*)'>"
    r"(?:\s+Optional:\s*(?P<optional>true|false))?"
)
ENV_FROM = re.compile(
    r"^\s*(?P<name>\S+)\s+(?P<kind>ConfigMap|Secret)(?: with prefix '[^']*')?"
    r"(?:\s+Optional:\s*(?P<optional>true|false))?"
)
MOUNT = re.compile(r"^\s*(?P<path>\S+) from (?P<volume>\S+) \((?P<flags>[^)]*)\)")
POD_NAME = re.compile(r"^Name:\s+\S")

CONTAINER_SECTIONS = {"Init Containers": True, "Containers": False}
TOP_KEYS = frozenset(
    {
        *CONTAINER_SECTIONS,
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
        "Controllers",
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
CONTAINER_FIELDS = frozenset(
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
        "Last Termination State",
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
MULTILINE_POD_KEYS = frozenset({"Labels", "Annotations", "Node-Selectors", "Tolerations", "IPs"})
STATE_FIELDS = {
    "Reason": "reason",
    "Message": "message",
    "Exit Code": "exitCode",
    "Signal": "signal",
    "Started": "startedAt",
    "Finished": "finishedAt",
}
STATE_KINDS: dict[str, StateKind] = {"Running": "running", "Waiting": "waiting", "Terminated": "terminated"}
PROBE_KINDS: dict[str, ProbeKind] = {"Liveness": "liveness", "Readiness": "readiness", "Startup": "startup"}
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"


@dataclass(frozen=True, slots=True)
class Line:
    raw: str
    indent: int  # spaces before the text
    cont: bool  # leading whitespace holds a tab: an empty first cell, continuing the value above
    key: str | None
    value: str

    @property
    def blank(self) -> bool:
        return not self.raw.strip()


def describe_line(raw: str) -> Line:
    stripped = raw.lstrip(" \t")
    lead = raw[: len(raw) - len(stripped)]
    match = _KEY.match(raw)
    return Line(
        raw=raw,
        indent=len(lead) if "\t" not in lead else len(lead.split("\t")[0]),
        cont="\t" in lead,
        key=match.group("key") if match else None,
        value=(match.group("value") or "") if match else "",
    )


@dataclass(slots=True)
class Container:
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


def quantity(values: dict[str, str], name: str, parse: Callable[[str], int]) -> int | None:
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


POD_SOURCES = {
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


def container_status(c: Container) -> ContainerStatus:
    return ContainerStatus(
        name=c.name,
        ready=c.ready,
        restart_count=c.restart_count,
        state=c.state or ContainerState("unknown"),
        last_state=c.last_state,
    )


def node_name(text: str) -> str:
    """ "node01/10.0.0.5" -> "node01"; "<none>" -> ""."""
    node = text.partition("/")[0].strip()
    return "" if node == "<none>" else node


def container_state(kind: StateKind, values: dict[str, str], message: str) -> ContainerState:
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
