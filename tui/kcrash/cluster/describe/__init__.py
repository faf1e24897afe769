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

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from kcrash.cluster.describe.containers import (
    describe_containers,
    describe_probe,
    describe_resources,
    field_value,
)
from kcrash.cluster.describe.events import event_rows, events_section, since
from kcrash.cluster.describe.fields import Writer, as_list, as_map, as_str, go_time
from kcrash.cluster.describe.tabwriter import tabwrite
from kcrash.cluster.describe.volumes import describe_volumes
from kcrash.core.records import Event

__all__ = ["describe_pod", "describe_probe", "event_rows", "field_value", "qos_class", "tabwrite"]

MAX_ANNOTATION = 140
"""kubectl cuts an annotation line (`key: value`) at this many characters and adds `...`."""
SKIPPED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})


def describe_pod(pod: Mapping[str, Any], events: Sequence[Event], now: datetime) -> str:
    """The pod as `kubectl describe pod` prints it, events included (their ages counted to `now`)."""
    w = Writer()
    meta, spec, status = as_map(pod, "metadata"), as_map(pod, "spec"), as_map(pod, "status")
    w.write(0, f"Name:\t{as_str(meta, 'name')}\n")
    w.write(0, f"Namespace:\t{as_str(meta, 'namespace')}\n")
    if "priority" in spec:
        w.write(0, f"Priority:\t{spec['priority']}\n")
    if as_str(spec, "priorityClassName"):
        w.write(0, f"Priority Class Name:\t{as_str(spec, 'priorityClassName')}\n")
    if as_str(spec, "runtimeClassName"):
        w.write(0, f"Runtime Class Name:\t{as_str(spec, 'runtimeClassName')}\n")
    if as_str(spec, "serviceAccountName"):
        w.write(0, f"Service Account:\t{as_str(spec, 'serviceAccountName')}\n")
    node = as_str(spec, "nodeName")
    w.write(0, f"Node:\t{node}/{as_str(status, 'hostIP')}\n" if node else "Node:\t<none>\n")
    if as_str(status, "startTime"):
        w.write(0, f"Start Time:\t{go_time(as_str(status, 'startTime'))}\n")
    _labels(w, "Labels", as_map(meta, "labels"))
    _annotations(w, as_map(meta, "annotations"))
    phase = as_str(status, "phase")
    if as_str(meta, "deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        lasts = since(as_str(meta, "deletionTimestamp"), now)
        w.write(0, f"Status:\tTerminating (lasts {lasts})\n")
        w.write(0, f"Termination Grace Period:\t{as_str(meta, 'deletionGracePeriodSeconds')}s\n")
    else:
        w.write(0, f"Status:\t{phase}\n")
    if as_str(status, "reason"):
        w.write(0, f"Reason:\t{as_str(status, 'reason')}\n")
    if as_str(status, "message"):
        w.write(0, f"Message:\t{as_str(status, 'message')}\n")
    seccomp = as_map(as_map(spec, "securityContext"), "seccompProfile")
    if seccomp:
        w.write(0, f"SeccompProfile:\t{as_str(seccomp, 'type')}\n")
        if as_str(seccomp, "type") == "Localhost":
            w.write(0, f"LocalhostProfile:\t{as_str(seccomp, 'localhostProfile')}\n")
    w.write(0, f"IP:\t{as_str(status, 'podIP')}\n")
    ips = as_list(status, "podIPs")
    if not ips:
        w.write(0, "IPs:\t<none>\n")
    else:
        w.write(0, "IPs:\n")
        for ip in ips:
            w.write(1, f"IP:\t{as_str(ip, 'ip')}\n")
    controller = next((o for o in as_list(meta, "ownerReferences") if o.get("controller") is True), None)
    if controller is not None:
        w.write(0, f"Controlled By:\t{as_str(controller, 'kind')}/{as_str(controller, 'name')}\n")
    if as_str(status, "nominatedNodeName"):
        w.write(0, f"NominatedNodeName:\t{as_str(status, 'nominatedNodeName')}\n")
    if as_map(spec, "resources"):
        w.write(0, "Resources:\n")
        describe_resources(w, as_map(spec, "resources"), 1)
    if as_list(spec, "initContainers"):
        describe_containers(w, pod, "Init Containers", "initContainers", "initContainerStatuses")
    describe_containers(w, pod, "Containers", "containers", "containerStatuses")
    if as_list(spec, "ephemeralContainers"):
        describe_containers(
            w, pod, "Ephemeral Containers", "ephemeralContainers", "ephemeralContainerStatuses"
        )
    conditions = as_list(status, "conditions")
    if as_list(spec, "readinessGates"):
        w.write(0, "Readiness Gates:\n  Type\tStatus\n")
        for gate in as_list(spec, "readinessGates"):
            kind = as_str(gate, "conditionType")
            found = next((as_str(c, "status") for c in conditions if as_str(c, "type") == kind), "<none>")
            w.write(1, f"{kind} \t{found} \n")
    if conditions:
        w.write(0, "Conditions:\n  Type\tStatus\n")
        for condition in conditions:
            w.write(1, f"{as_str(condition, 'type')} \t{as_str(condition, 'status')} \n")
    describe_volumes(w, as_list(spec, "volumes"))
    w.write(0, f"QoS Class:\t{as_str(status, 'qosClass') or qos_class(spec)}\n")
    _labels(w, "Node-Selectors", as_map(spec, "nodeSelector"))
    _tolerations(w, as_list(spec, "tolerations"))
    _spread(w, as_list(spec, "topologySpreadConstraints"))
    if not events:  # kubectl flushes its tabwriter only before a table of events
        w.write(0, "Events:\t<none>\n")
        return tabwrite(w.text())
    return tabwrite(w.text()) + tabwrite(events_section(events, now))


def _labels(w: Writer, title: str, labels: Mapping[str, Any]) -> None:
    w.write(0, f"{title}:\t")
    if not labels:
        w.write(0, "<none>\n")
        return
    for i, key in enumerate(sorted(labels)):
        if i:
            w.write(0, "\t")
        w.write(0, f"{key}={labels[key]}\n")


def _annotations(w: Writer, annotations: Mapping[str, Any]) -> None:
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


def _tolerations(w: Writer, tolerations: list[Any]) -> None:
    w.write(0, "Tolerations:\t")
    if not tolerations:
        w.write(0, "<none>\n")
        return
    for i, toleration in enumerate(tolerations):
        if i:
            w.write(0, "\t")
        key, value, effect = (
            as_str(toleration, "key"),
            as_str(toleration, "value"),
            as_str(toleration, "effect"),
        )
        text = key + (f"={value}" if value else "") + (f":{effect}" if effect else "")
        if as_str(toleration, "operator") == "Exists" and not value:
            text += " op=Exists" if key or effect else "op=Exists"
        if toleration.get("tolerationSeconds") is not None:
            text += f" for {toleration['tolerationSeconds']}s"
        w.write(0, text + "\n")


def _spread(w: Writer, constraints: list[Any]) -> None:
    if not constraints:
        return
    w.write(0, "Topology Spread Constraints:\t")
    for i, tsc in enumerate(sorted(constraints, key=lambda c: as_str(c, "topologyKey"))):
        if i:
            w.write(0, "\t")
        skew = as_str(tsc, "maxSkew")
        where = f"{as_str(tsc, 'topologyKey')}:{as_str(tsc, 'whenUnsatisfiable')}"
        text = f"{where} when max skew {skew} is exceeded"
        labels = as_map(as_map(tsc, "labelSelector"), "matchLabels")
        if labels:
            text += " for selector " + ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        w.write(0, text + "\n")


def qos_class(spec: Mapping[str, Any]) -> str:
    """The QoS class from requests and limits, when the status does not say it."""
    containers = [*as_list(spec, "containers"), *as_list(spec, "initContainers")]
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    guaranteed = True
    for container in containers:
        resources = as_map(container, "resources")
        mine_r = {k: str(v) for k, v in as_map(resources, "requests").items() if k in ("cpu", "memory")}
        mine_l = {k: str(v) for k, v in as_map(resources, "limits").items() if k in ("cpu", "memory")}
        requests.update(mine_r)
        limits.update(mine_l)
        if set(mine_l) != {"cpu", "memory"} or any(mine_r.get(k, v) != v for k, v in mine_l.items()):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
