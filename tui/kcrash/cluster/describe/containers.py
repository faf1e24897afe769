"""The Init Containers, Containers and Ephemeral Containers sections of `kubectl describe pod`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kcrash.cluster.describe.fields import Writer, as_list, as_map, as_str, go_bool, go_time


def describe_containers(w: Writer, pod: Mapping[str, Any], label: str, specs: str, statuses: str) -> None:
    containers = as_list(as_map(pod, "spec"), specs)
    by_name = {as_str(s, "name"): s for s in as_list(as_map(pod, "status"), statuses)}
    w.write(0, f"{label}:{'' if containers else ' <none>'}\n")
    for container in containers:
        status = by_name.get(as_str(container, "name"))
        _container_basics(w, container, status)
        for title in ("command", "args"):
            words = [str(word) for word in as_list(container, title)]
            if words:
                w.write(2, f"{title.capitalize()}:\n")
                for word in words:
                    for piece in word.split("\n"):
                        w.write(3, f"{piece}\n")
        if status is not None:
            _state(w, "State", as_map(status, "state"))
            if as_map(as_map(status, "lastState"), "terminated"):
                _state(w, "Last State", as_map(status, "lastState"))
            w.write(2, f"Ready:\t{'True' if status.get('ready') is True else 'False'}\n")
            w.write(2, f"Restart Count:\t{int(status.get('restartCount') or 0)}\n")
        describe_resources(w, as_map(container, "resources"), 2)
        for kind, title in (
            ("livenessProbe", "Liveness"),
            ("readinessProbe", "Readiness"),
            ("startupProbe", "Startup"),
        ):
            probe = as_map(container, kind)
            if probe:
                w.write(2, f"{title}:\t{describe_probe(probe)}\n")
        if as_list(container, "envFrom"):
            _env_from(w, as_list(container, "envFrom"))
        _env(w, pod, as_list(container, "env"))
        _mounts(w, container)


def _container_basics(w: Writer, container: Mapping[str, Any], status: Mapping[str, Any] | None) -> None:
    w.write(1, f"{as_str(container, 'name')}:\n")
    if status is not None:
        w.write(2, f"Container ID:\t{as_str(status, 'containerID')}\n")
    w.write(2, f"Image:\t{as_str(container, 'image')}\n")
    if status is not None:
        w.write(2, f"Image ID:\t{as_str(status, 'imageID')}\n")
    ports = as_list(container, "ports")
    port_text = ", ".join(
        f"{as_str(p, 'containerPort')}/{as_str(p, 'protocol') or 'TCP'}{_port_name(p)}" for p in ports
    )
    host_text = ", ".join(
        f"{p.get('hostPort') or 0}/{as_str(p, 'protocol') or 'TCP'}{_port_name(p)}" for p in ports
    )
    if "," in port_text:
        w.write(2, f"Ports:\t{port_text}\n")
    else:
        w.write(2, f"Port:\t{port_text or '<none>'}\n")
    if "," in host_text:
        w.write(2, f"Host Ports:\t{host_text}\n")
    else:
        w.write(2, f"Host Port:\t{host_text or '<none>'}\n")
    seccomp = as_map(as_map(container, "securityContext"), "seccompProfile")
    if seccomp:
        w.write(2, f"SeccompProfile:\t{as_str(seccomp, 'type')}\n")
        if as_str(seccomp, "type") == "Localhost":
            w.write(3, f"LocalhostProfile:\t{as_str(seccomp, 'localhostProfile')}\n")


def _port_name(port: Mapping[str, Any]) -> str:
    return f" ({as_str(port, 'name')})" if as_str(port, "name") else ""


def _state(w: Writer, title: str, state: Mapping[str, Any]) -> None:
    if as_map(state, "running"):
        w.write(2, f"{title}:\tRunning\n")
        w.write(3, f"Started:\t{go_time(as_str(as_map(state, 'running'), 'startedAt'))}\n")
    elif as_map(state, "terminated"):
        done = as_map(state, "terminated")
        w.write(2, f"{title}:\tTerminated\n")
        if as_str(done, "reason"):
            w.write(3, f"Reason:\t{as_str(done, 'reason')}\n")
        if as_str(done, "message"):
            w.write(3, f"Message:\t{as_str(done, 'message')}\n")
        w.write(3, f"Exit Code:\t{int(done.get('exitCode') or 0)}\n")
        if int(done.get("signal") or 0) > 0:
            w.write(3, f"Signal:\t{done['signal']}\n")
        w.write(3, f"Started:\t{go_time(as_str(done, 'startedAt'))}\n")
        w.write(3, f"Finished:\t{go_time(as_str(done, 'finishedAt'))}\n")
    else:
        w.write(2, f"{title}:\tWaiting\n")
        if as_str(as_map(state, "waiting"), "reason"):
            w.write(3, f"Reason:\t{as_str(as_map(state, 'waiting'), 'reason')}\n")


def describe_probe(probe: Mapping[str, Any]) -> str:
    """kubectl's DescribeProbe (1.34 on): the handler, then delay, timeout, period and thresholds."""

    def number(key: str, default: int) -> int:
        return int(probe.get(key) or default)

    attrs = (
        f"delay={number('initialDelaySeconds', 0)}s timeout={number('timeoutSeconds', 1)}s "
        f"period={number('periodSeconds', 10)}s successThreshold={number('successThreshold', 1)} "
        f"failureThreshold={number('failureThreshold', 3)}"
    )
    if as_map(probe, "exec"):
        return f"exec [{' '.join(str(c) for c in as_list(as_map(probe, 'exec'), 'command'))}] {attrs}"
    if as_map(probe, "httpGet"):
        get = as_map(probe, "httpGet")
        scheme = (as_str(get, "scheme") or "HTTP").lower()
        host, port = as_str(get, "host"), as_str(get, "port")
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}" if port else host
        return f"http-get {scheme}://{where}{as_str(get, 'path')} {attrs}"
    if as_map(probe, "tcpSocket"):
        tcp = as_map(probe, "tcpSocket")
        return f"tcp-socket {as_str(tcp, 'host')}:{as_str(tcp, 'port')} {attrs}"
    if as_map(probe, "grpc"):
        grpc = as_map(probe, "grpc")
        return f"grpc <pod>:{as_str(grpc, 'port')} {as_str(grpc, 'service')} {attrs}"
    return f"unknown {attrs}"


def _env_from(w: Writer, sources: list[Any]) -> None:
    w.write(2, "Environment Variables from:\n")
    for source in sources:
        kind, ref = ("ConfigMap", as_map(source, "configMapRef"))
        if not ref:
            kind, ref = ("Secret", as_map(source, "secretRef"))
        optional = go_bool(ref.get("optional"))
        prefix = as_str(source, "prefix")
        what = f"{kind} with prefix '{prefix}'" if prefix else kind
        w.write(3, f"{as_str(ref, 'name')}\t{what}\tOptional: {optional}\n")


def field_value(pod: Mapping[str, Any], path: str) -> str:
    """What a downward-API fieldRef resolves to, as kubectl resolves it for describe."""
    meta = as_map(pod, "metadata")
    for kind in ("labels", "annotations"):
        head = f"metadata.{kind}['"
        if path.startswith(head) and path.endswith("']"):
            return as_str(as_map(meta, kind), path[len(head) : -2])
    section, _, field = path.partition(".")
    return as_str(as_map(pod, section), field) if section in ("metadata", "spec", "status") else ""


def _env(w: Writer, pod: Mapping[str, Any], env: list[Any]) -> None:
    w.write(2, "Environment:" + ("" if env else "\t<none>") + "\n")
    for var in env:
        name, source = as_str(var, "name"), as_map(var, "valueFrom")
        if not source:
            for i, piece in enumerate(as_str(var, "value").split("\n")):
                w.write(3, f"{name}:\t{piece}\n" if i == 0 else f"\t{piece}\n")
        elif as_map(source, "fieldRef"):
            ref = as_map(source, "fieldRef")
            value = field_value(pod, as_str(ref, "fieldPath"))
            w.write(3, f"{name}:\t{value} ({as_str(ref, 'apiVersion')}:{as_str(ref, 'fieldPath')})\n")
        elif as_map(source, "resourceFieldRef"):
            w.write(3, f"{name}:\t ({as_str(as_map(source, 'resourceFieldRef'), 'resource')})\n")
        elif as_map(source, "secretKeyRef"):
            ref = as_map(source, "secretKeyRef")
            where = f"<set to the key '{as_str(ref, 'key')}' in secret '{as_str(ref, 'name')}'>"
            w.write(3, f"{name}:\t{where}\tOptional: {go_bool(ref.get('optional'))}\n")
        elif as_map(source, "configMapKeyRef"):
            ref = as_map(source, "configMapKeyRef")
            where = f"<set to the key '{as_str(ref, 'key')}' of config map '{as_str(ref, 'name')}'>"
            w.write(3, f"{name}:\t{where}\tOptional: {go_bool(ref.get('optional'))}\n")


def _mounts(w: Writer, container: Mapping[str, Any]) -> None:
    mounts = as_list(container, "volumeMounts")
    w.write(2, "Mounts:" + ("" if mounts else "\t<none>") + "\n")
    for mount in sorted(mounts, key=lambda m: as_str(m, "mountPath")):
        flags = ["ro" if mount.get("readOnly") is True else "rw"]
        if as_str(mount, "subPath"):
            flags.append(f'path="{as_str(mount, "subPath")}"')
        w.write(3, f"{as_str(mount, 'mountPath')} from {as_str(mount, 'name')} ({','.join(flags)})\n")
    devices = as_list(container, "volumeDevices")
    if devices:
        w.write(2, "Devices:\n")
        for device in sorted(devices, key=lambda d: as_str(d, "devicePath")):
            w.write(3, f"{as_str(device, 'devicePath')} from {as_str(device, 'name')}\n")


def describe_resources(w: Writer, resources: Mapping[str, Any], level: int) -> None:
    for title in ("limits", "requests"):
        values = as_map(resources, title)
        if values:
            w.write(level, f"{title.capitalize()}:\n")
        for name in sorted(values):
            w.write(level + 1, f"{name}:\t{values[name]}\n")
