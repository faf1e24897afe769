"""`kubectl describe pod`, printed from the pod as the API server sent it and the pod's events.

The text is laid out as kubectl lays it out: every line written with tabs between a label and its
value, then aligned by `tabwrite`, a port of Go's text/tabwriter as kubectl configures it
(minwidth 0, padding 2, spaces). A column is aligned over a run of consecutive lines that have a
cell in it, so `Limits:` and `Requests:` line up on their own, as they do in kubectl's output.

The pod comes from one GET (`Api.get_pod_document`): the records kcrash keeps for the list leave
out volumes, tolerations, ports and env values, which describe shows. Nothing here reads a Secret:
an env value from one prints as kubectl prints it, `<set to the key 'k' in secret 's'>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from kcrash.core.humanize import human_duration
from kcrash.core.records import Event

MAX_ANNOTATION = 140
"""kubectl cuts an annotation line (`key: value`) at this many characters and adds `...`."""
SKIPPED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
RFC1123Z = "%a, %d %b %Y %H:%M:%S %z"


# ---- Go's text/tabwriter -----------------------------------------------------------------------


def tabwrite(text: str, padding: int = 2) -> str:
    """Align tab-separated cells as Go's tabwriter does with padchar ' ' and no flags."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    _format(lines, 0, len(lines), [], out, padding)
    return "\n".join(out)


def _format(
    lines: list[list[str]], line0: int, line1: int, widths: list[int], out: list[str], padding: int
) -> None:
    """Go's `Writer.format`: find each block of lines with a cell in the next column, size it."""
    column = len(widths)
    this = line0
    while this < line1:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        _write_lines(lines, line0, this, widths, out)
        line0 = this
        width = 0
        while this < line1 and column < len(lines[this]) - 1:
            width = max(width, len(lines[this][column]) + padding)
            this += 1
        _format(lines, line0, this, [*widths, width], out, padding)
        line0 = this
    _write_lines(lines, line0, line1, widths, out)


def _write_lines(lines: list[list[str]], line0: int, line1: int, widths: list[int], out: list[str]) -> None:
    for cells in lines[line0:line1]:
        parts = []
        for j, cell in enumerate(cells):
            parts.append(cell.ljust(widths[j]) if j < len(widths) else cell)
        out.append("".join(parts))


# ---- the pod -------------------------------------------------------------------------------------


class _Writer:
    """kubectl's PrefixWriter: two spaces of indent per level, text as given (tabs included)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, level: int, text: str) -> None:
        self.parts.append("  " * level + text)

    def text(self) -> str:
        return "".join(self.parts)


def _m(doc: Any, key: str) -> Mapping[str, Any]:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _l(doc: Any, key: str) -> list[Any]:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    return value if isinstance(value, list) else []


def _s(doc: Any, key: str) -> str:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    return "" if value is None else str(value)


def _bool(value: Any) -> str:
    return "true" if value is True else "false"


def _time(text: str) -> str:
    """An RFC 3339 timestamp as Go's RFC1123Z in local time, as kubectl prints it."""
    if not text:
        return "Mon, 01 Jan 0001 00:00:00 +0000"
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone().strftime(RFC1123Z)


def describe_pod(pod: Mapping[str, Any], events: Sequence[Event], now: datetime) -> str:
    """The pod as `kubectl describe pod` prints it, events included (their ages counted to `now`)."""
    w = _Writer()
    meta, spec, status = _m(pod, "metadata"), _m(pod, "spec"), _m(pod, "status")
    w.write(0, f"Name:\t{_s(meta, 'name')}\n")
    w.write(0, f"Namespace:\t{_s(meta, 'namespace')}\n")
    if "priority" in spec:
        w.write(0, f"Priority:\t{spec['priority']}\n")
    if _s(spec, "priorityClassName"):
        w.write(0, f"Priority Class Name:\t{_s(spec, 'priorityClassName')}\n")
    if _s(spec, "runtimeClassName"):
        w.write(0, f"Runtime Class Name:\t{_s(spec, 'runtimeClassName')}\n")
    if _s(spec, "serviceAccountName"):
        w.write(0, f"Service Account:\t{_s(spec, 'serviceAccountName')}\n")
    node = _s(spec, "nodeName")
    w.write(0, f"Node:\t{node}/{_s(status, 'hostIP')}\n" if node else "Node:\t<none>\n")
    if _s(status, "startTime"):
        w.write(0, f"Start Time:\t{_time(_s(status, 'startTime'))}\n")
    _labels(w, "Labels", _m(meta, "labels"))
    _annotations(w, _m(meta, "annotations"))
    phase = _s(status, "phase")
    if _s(meta, "deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        since = _since(_s(meta, "deletionTimestamp"), now)
        w.write(0, f"Status:\tTerminating (lasts {since})\n")
        w.write(0, f"Termination Grace Period:\t{_s(meta, 'deletionGracePeriodSeconds')}s\n")
    else:
        w.write(0, f"Status:\t{phase}\n")
    if _s(status, "reason"):
        w.write(0, f"Reason:\t{_s(status, 'reason')}\n")
    if _s(status, "message"):
        w.write(0, f"Message:\t{_s(status, 'message')}\n")
    seccomp = _m(_m(spec, "securityContext"), "seccompProfile")
    if seccomp:
        w.write(0, f"SeccompProfile:\t{_s(seccomp, 'type')}\n")
        if _s(seccomp, "type") == "Localhost":
            w.write(0, f"LocalhostProfile:\t{_s(seccomp, 'localhostProfile')}\n")
    w.write(0, f"IP:\t{_s(status, 'podIP')}\n")
    ips = _l(status, "podIPs")
    if not ips:
        w.write(0, "IPs:\t<none>\n")
    else:
        w.write(0, "IPs:\n")
        for ip in ips:
            w.write(1, f"IP:\t{_s(ip, 'ip')}\n")
    controller = next((o for o in _l(meta, "ownerReferences") if o.get("controller") is True), None)
    if controller is not None:
        w.write(0, f"Controlled By:\t{_s(controller, 'kind')}/{_s(controller, 'name')}\n")
    if _s(status, "nominatedNodeName"):
        w.write(0, f"NominatedNodeName:\t{_s(status, 'nominatedNodeName')}\n")
    if _m(spec, "resources"):
        w.write(0, "Resources:\n")
        _resources(w, _m(spec, "resources"), 1)
    if _l(spec, "initContainers"):
        _containers(w, pod, "Init Containers", "initContainers", "initContainerStatuses")
    _containers(w, pod, "Containers", "containers", "containerStatuses")
    if _l(spec, "ephemeralContainers"):
        _containers(w, pod, "Ephemeral Containers", "ephemeralContainers", "ephemeralContainerStatuses")
    conditions = _l(status, "conditions")
    if _l(spec, "readinessGates"):
        w.write(0, "Readiness Gates:\n  Type\tStatus\n")
        for gate in _l(spec, "readinessGates"):
            kind = _s(gate, "conditionType")
            found = next((_s(c, "status") for c in conditions if _s(c, "type") == kind), "<none>")
            w.write(1, f"{kind} \t{found} \n")
    if conditions:
        w.write(0, "Conditions:\n  Type\tStatus\n")
        for condition in conditions:
            w.write(1, f"{_s(condition, 'type')} \t{_s(condition, 'status')} \n")
    _volumes(w, _l(spec, "volumes"))
    w.write(0, f"QoS Class:\t{_s(status, 'qosClass') or qos_class(spec)}\n")
    _labels(w, "Node-Selectors", _m(spec, "nodeSelector"))
    _tolerations(w, _l(spec, "tolerations"))
    _spread(w, _l(spec, "topologySpreadConstraints"))
    if not events:  # kubectl flushes its tabwriter only before a table of events
        w.write(0, "Events:\t<none>\n")
        return tabwrite(w.text())
    return tabwrite(w.text()) + tabwrite(_events(events, now))


def _labels(w: _Writer, title: str, labels: Mapping[str, Any]) -> None:
    w.write(0, f"{title}:\t")
    if not labels:
        w.write(0, "<none>\n")
        return
    for i, key in enumerate(sorted(labels)):
        if i:
            w.write(0, "\t")
        w.write(0, f"{key}={labels[key]}\n")


def _annotations(w: _Writer, annotations: Mapping[str, Any]) -> None:
    w.write(0, "Annotations:\t")
    keys = sorted(k for k in annotations if k not in SKIPPED_ANNOTATIONS)
    if not keys:
        w.write(0, "<none>\n")
        return
    for i, key in enumerate(keys):
        if i:
            w.write(0, "\t")
        line = f"{key}: {annotations[key]}"
        w.write(0, f"{line[:MAX_ANNOTATION]}...\n" if len(line) > MAX_ANNOTATION else f"{line}\n")


def _tolerations(w: _Writer, tolerations: list[Any]) -> None:
    w.write(0, "Tolerations:\t")
    if not tolerations:
        w.write(0, "<none>\n")
        return
    for i, toleration in enumerate(tolerations):
        if i:
            w.write(0, "\t")
        key, value, effect = _s(toleration, "key"), _s(toleration, "value"), _s(toleration, "effect")
        text = key + (f"={value}" if value else "") + (f":{effect}" if effect else "")
        if _s(toleration, "operator") == "Exists" and not value:
            text += " op=Exists" if key or effect else "op=Exists"
        if toleration.get("tolerationSeconds") is not None:
            text += f" for {toleration['tolerationSeconds']}s"
        w.write(0, text + "\n")


def _spread(w: _Writer, constraints: list[Any]) -> None:
    if not constraints:
        return
    w.write(0, "Topology Spread Constraints:\t")
    for i, tsc in enumerate(sorted(constraints, key=lambda c: _s(c, "topologyKey"))):
        if i:
            w.write(0, "\t")
        skew = _s(tsc, "maxSkew")
        text = f"{_s(tsc, 'topologyKey')}:{_s(tsc, 'whenUnsatisfiable')} when max skew {skew} is exceeded"
        labels = _m(_m(tsc, "labelSelector"), "matchLabels")
        if labels:
            text += " for selector " + ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        w.write(0, text + "\n")


def qos_class(spec: Mapping[str, Any]) -> str:
    """The QoS class from requests and limits, when the status does not say it."""
    containers = [*_l(spec, "containers"), *_l(spec, "initContainers")]
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    guaranteed = True
    for container in containers:
        resources = _m(container, "resources")
        mine_r = {k: str(v) for k, v in _m(resources, "requests").items() if k in ("cpu", "memory")}
        mine_l = {k: str(v) for k, v in _m(resources, "limits").items() if k in ("cpu", "memory")}
        requests.update(mine_r)
        limits.update(mine_l)
        if set(mine_l) != {"cpu", "memory"} or any(mine_r.get(k, v) != v for k, v in mine_l.items()):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _resources(w: _Writer, resources: Mapping[str, Any], level: int) -> None:
    for title in ("limits", "requests"):
        values = _m(resources, title)
        if values:
            w.write(level, f"{title.capitalize()}:\n")
        for name in sorted(values):
            w.write(level + 1, f"{name}:\t{values[name]}\n")


def _containers(w: _Writer, pod: Mapping[str, Any], label: str, specs: str, statuses: str) -> None:
    containers = _l(_m(pod, "spec"), specs)
    by_name = {_s(s, "name"): s for s in _l(_m(pod, "status"), statuses)}
    w.write(0, f"{label}:{'' if containers else ' <none>'}\n")
    for container in containers:
        status = by_name.get(_s(container, "name"))
        _container_basics(w, container, status)
        for title in ("command", "args"):
            words = [str(word) for word in _l(container, title)]
            if words:
                w.write(2, f"{title.capitalize()}:\n")
                for word in words:
                    for piece in word.split("\n"):
                        w.write(3, f"{piece}\n")
        if status is not None:
            _state(w, "State", _m(status, "state"))
            if _m(_m(status, "lastState"), "terminated"):
                _state(w, "Last State", _m(status, "lastState"))
            w.write(2, f"Ready:\t{'True' if status.get('ready') is True else 'False'}\n")
            w.write(2, f"Restart Count:\t{int(status.get('restartCount') or 0)}\n")
        _resources(w, _m(container, "resources"), 2)
        for kind, title in (
            ("livenessProbe", "Liveness"),
            ("readinessProbe", "Readiness"),
            ("startupProbe", "Startup"),
        ):
            probe = _m(container, kind)
            if probe:
                w.write(2, f"{title}:\t{describe_probe(probe)}\n")
        if _l(container, "envFrom"):
            _env_from(w, _l(container, "envFrom"))
        _env(w, pod, _l(container, "env"))
        _mounts(w, container)


def _container_basics(w: _Writer, container: Mapping[str, Any], status: Mapping[str, Any] | None) -> None:
    w.write(1, f"{_s(container, 'name')}:\n")
    if status is not None:
        w.write(2, f"Container ID:\t{_s(status, 'containerID')}\n")
    w.write(2, f"Image:\t{_s(container, 'image')}\n")
    if status is not None:
        w.write(2, f"Image ID:\t{_s(status, 'imageID')}\n")
    ports = _l(container, "ports")
    port_text = ", ".join(
        f"{_s(p, 'containerPort')}/{_s(p, 'protocol') or 'TCP'}{_port_name(p)}" for p in ports
    )
    host_text = ", ".join(
        f"{p.get('hostPort') or 0}/{_s(p, 'protocol') or 'TCP'}{_port_name(p)}" for p in ports
    )
    if "," in port_text:
        w.write(2, f"Ports:\t{port_text}\n")
    else:
        w.write(2, f"Port:\t{port_text or '<none>'}\n")
    if "," in host_text:
        w.write(2, f"Host Ports:\t{host_text}\n")
    else:
        w.write(2, f"Host Port:\t{host_text or '<none>'}\n")
    seccomp = _m(_m(container, "securityContext"), "seccompProfile")
    if seccomp:
        w.write(2, f"SeccompProfile:\t{_s(seccomp, 'type')}\n")
        if _s(seccomp, "type") == "Localhost":
            w.write(3, f"LocalhostProfile:\t{_s(seccomp, 'localhostProfile')}\n")


def _port_name(port: Mapping[str, Any]) -> str:
    return f" ({_s(port, 'name')})" if _s(port, "name") else ""


def _state(w: _Writer, title: str, state: Mapping[str, Any]) -> None:
    if _m(state, "running"):
        w.write(2, f"{title}:\tRunning\n")
        w.write(3, f"Started:\t{_time(_s(_m(state, 'running'), 'startedAt'))}\n")
    elif _m(state, "terminated"):
        done = _m(state, "terminated")
        w.write(2, f"{title}:\tTerminated\n")
        if _s(done, "reason"):
            w.write(3, f"Reason:\t{_s(done, 'reason')}\n")
        if _s(done, "message"):
            w.write(3, f"Message:\t{_s(done, 'message')}\n")
        w.write(3, f"Exit Code:\t{int(done.get('exitCode') or 0)}\n")
        if int(done.get("signal") or 0) > 0:
            w.write(3, f"Signal:\t{done['signal']}\n")
        w.write(3, f"Started:\t{_time(_s(done, 'startedAt'))}\n")
        w.write(3, f"Finished:\t{_time(_s(done, 'finishedAt'))}\n")
    else:
        w.write(2, f"{title}:\tWaiting\n")
        if _s(_m(state, "waiting"), "reason"):
            w.write(3, f"Reason:\t{_s(_m(state, 'waiting'), 'reason')}\n")


def describe_probe(probe: Mapping[str, Any]) -> str:
    """kubectl's DescribeProbe (1.34 on): the handler, then delay, timeout, period and thresholds."""

    def number(key: str, default: int) -> int:
        return int(probe.get(key) or default)

    attrs = (
        f"delay={number('initialDelaySeconds', 0)}s timeout={number('timeoutSeconds', 1)}s "
        f"period={number('periodSeconds', 10)}s successThreshold={number('successThreshold', 1)} "
        f"failureThreshold={number('failureThreshold', 3)}"
    )
    if _m(probe, "exec"):
        return f"exec [{' '.join(str(c) for c in _l(_m(probe, 'exec'), 'command'))}] {attrs}"
    if _m(probe, "httpGet"):
        get = _m(probe, "httpGet")
        scheme = (_s(get, "scheme") or "HTTP").lower()
        host, port = _s(get, "host"), _s(get, "port")
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}" if port else host
        return f"http-get {scheme}://{where}{_s(get, 'path')} {attrs}"
    if _m(probe, "tcpSocket"):
        tcp = _m(probe, "tcpSocket")
        return f"tcp-socket {_s(tcp, 'host')}:{_s(tcp, 'port')} {attrs}"
    if _m(probe, "grpc"):
        grpc = _m(probe, "grpc")
        return f"grpc <pod>:{_s(grpc, 'port')} {_s(grpc, 'service')} {attrs}"
    return f"unknown {attrs}"


def _env_from(w: _Writer, sources: list[Any]) -> None:
    w.write(2, "Environment Variables from:\n")
    for source in sources:
        kind, ref = ("ConfigMap", _m(source, "configMapRef"))
        if not ref:
            kind, ref = ("Secret", _m(source, "secretRef"))
        optional = _bool(ref.get("optional"))
        prefix = _s(source, "prefix")
        what = f"{kind} with prefix '{prefix}'" if prefix else kind
        w.write(3, f"{_s(ref, 'name')}\t{what}\tOptional: {optional}\n")


def field_value(pod: Mapping[str, Any], path: str) -> str:
    """What a downward-API fieldRef resolves to, as kubectl resolves it for describe."""
    meta = _m(pod, "metadata")
    for kind in ("labels", "annotations"):
        head = f"metadata.{kind}['"
        if path.startswith(head) and path.endswith("']"):
            return _s(_m(meta, kind), path[len(head) : -2])
    section, _, field = path.partition(".")
    return _s(_m(pod, section), field) if section in ("metadata", "spec", "status") else ""


def _env(w: _Writer, pod: Mapping[str, Any], env: list[Any]) -> None:
    w.write(2, "Environment:" + ("" if env else "\t<none>") + "\n")
    for var in env:
        name, source = _s(var, "name"), _m(var, "valueFrom")
        if not source:
            for i, piece in enumerate(_s(var, "value").split("\n")):
                w.write(3, f"{name}:\t{piece}\n" if i == 0 else f"\t{piece}\n")
        elif _m(source, "fieldRef"):
            ref = _m(source, "fieldRef")
            value = field_value(pod, _s(ref, "fieldPath"))
            w.write(3, f"{name}:\t{value} ({_s(ref, 'apiVersion')}:{_s(ref, 'fieldPath')})\n")
        elif _m(source, "resourceFieldRef"):
            w.write(3, f"{name}:\t ({_s(_m(source, 'resourceFieldRef'), 'resource')})\n")
        elif _m(source, "secretKeyRef"):
            ref = _m(source, "secretKeyRef")
            where = f"<set to the key '{_s(ref, 'key')}' in secret '{_s(ref, 'name')}'>"
            w.write(3, f"{name}:\t{where}\tOptional: {_bool(ref.get('optional'))}\n")
        elif _m(source, "configMapKeyRef"):
            ref = _m(source, "configMapKeyRef")
            where = f"<set to the key '{_s(ref, 'key')}' of config map '{_s(ref, 'name')}'>"
            w.write(3, f"{name}:\t{where}\tOptional: {_bool(ref.get('optional'))}\n")


def _mounts(w: _Writer, container: Mapping[str, Any]) -> None:
    mounts = _l(container, "volumeMounts")
    w.write(2, "Mounts:" + ("" if mounts else "\t<none>") + "\n")
    for mount in sorted(mounts, key=lambda m: _s(m, "mountPath")):
        flags = ["ro" if mount.get("readOnly") is True else "rw"]
        if _s(mount, "subPath"):
            flags.append(f'path="{_s(mount, "subPath")}"')
        w.write(3, f"{_s(mount, 'mountPath')} from {_s(mount, 'name')} ({','.join(flags)})\n")
    devices = _l(container, "volumeDevices")
    if devices:
        w.write(2, "Devices:\n")
        for device in sorted(devices, key=lambda d: _s(d, "devicePath")):
            w.write(3, f"{_s(device, 'devicePath')} from {_s(device, 'name')}\n")


def _volumes(w: _Writer, volumes: list[Any]) -> None:
    if not volumes:
        w.write(0, "Volumes:\t<none>\n")
        return
    w.write(0, "Volumes:\n")
    for volume in volumes:
        w.write(1, f"{_s(volume, 'name')}:\n")
        w.write(2, _volume_source(volume))


def _optional(ref: Mapping[str, Any]) -> str:
    return _bool(ref.get("optional"))


def _volume_source(volume: Mapping[str, Any]) -> str:
    """The lines kubectl prints for the common volume kinds; others by their kind alone."""
    if _m(volume, "emptyDir") or "emptyDir" in volume:
        empty = _m(volume, "emptyDir")
        return (
            "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
            f"    Medium:\t{_s(empty, 'medium')}\n    SizeLimit:\t{_s(empty, 'sizeLimit') or '<unset>'}\n"
        )
    if _m(volume, "hostPath"):
        host = _m(volume, "hostPath")
        return (
            "Type:\tHostPath (bare host directory volume)\n"
            f"    Path:\t{_s(host, 'path')}\n    HostPathType:\t{_s(host, 'type') or '<none>'}\n"
        )
    if _m(volume, "secret"):
        secret = _m(volume, "secret")
        return (
            "Type:\tSecret (a volume populated by a Secret)\n"
            f"    SecretName:\t{_s(secret, 'secretName')}\n    Optional:\t{_optional(secret)}\n"
        )
    if _m(volume, "configMap"):
        config = _m(volume, "configMap")
        return (
            "Type:\tConfigMap (a volume populated by a ConfigMap)\n"
            f"    Name:\t{_s(config, 'name')}\n    Optional:\t{_optional(config)}\n"
        )
    if _m(volume, "persistentVolumeClaim"):
        claim = _m(volume, "persistentVolumeClaim")
        return (
            "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n"
            f"    ClaimName:\t{_s(claim, 'claimName')}\n    ReadOnly:\t{_bool(claim.get('readOnly'))}\n"
        )
    if _m(volume, "projected"):
        return _projected(_m(volume, "projected"))
    if _m(volume, "downwardAPI"):
        text = "Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n"
        for item in _l(_m(volume, "downwardAPI"), "items"):
            field = _s(_m(item, "fieldRef"), "fieldPath") or _s(_m(item, "resourceFieldRef"), "resource")
            text += f"      {field} -> {_s(item, 'path')}\n"
        return text
    kinds = [key for key in volume if key != "name"]
    return f"Type:\t{kinds[0] if kinds else '<unknown>'}\n"


def _projected(projected: Mapping[str, Any]) -> str:
    text = "Type:\tProjected (a volume that contains injected data from multiple sources)\n"
    for source in _l(projected, "sources"):
        if _m(source, "secret"):
            secret = _m(source, "secret")
            text += f"    SecretName:\t{_s(secret, 'name')}\n    Optional:\t{_optional(secret)}\n"
        elif "downwardAPI" in source:
            text += "    DownwardAPI:\ttrue\n"
        elif _m(source, "configMap"):
            config = _m(source, "configMap")
            text += f"    ConfigMapName:\t{_s(config, 'name')}\n    Optional:\t{_optional(config)}\n"
        elif _m(source, "serviceAccountToken"):
            seconds = _m(source, "serviceAccountToken").get("expirationSeconds")
            text += f"    TokenExpirationSeconds:\t{seconds}\n"
    return text


# ---- events --------------------------------------------------------------------------------------


def _since(text_or_time: str | datetime | None, now: datetime) -> str:
    if text_or_time is None or text_or_time == "":
        return "<unknown>"
    moment = (
        datetime.fromisoformat(text_or_time.replace("Z", "+00:00"))
        if isinstance(text_or_time, str)
        else text_or_time
    )
    return human_duration((now - moment).total_seconds())


def event_rows(events: Iterable[Event], now: datetime) -> list[tuple[str, str, str, str, str]]:
    """(type, reason, age, from, message) per event, oldest last-seen first, as describe lists them."""
    rows = []
    for event in sorted(events, key=lambda e: (e.last_seen is not None, e.last_seen or e.first_seen)):
        first = _since(event.first_seen, now)
        age = f"{_since(event.last_seen, now)} (x{event.count} over {first})" if event.count > 1 else first
        source = event.source.split(", ")[0]
        message = event.message.strip()
        if event.field_path:
            message = f"{event.field_path}: {message}"
        rows.append((event.type, event.reason, age, source, message))
    return rows


def _events(events: Sequence[Event], now: datetime) -> str:
    text = "Events:\n  Type\tReason\tAge\tFrom\tMessage\n  ----\t------\t----\t----\t-------\n"
    for row in event_rows(events, now):
        text += "  " + "\t".join(row) + "\n"
    return text
