"""Crash-loop scenarios as data: load and validate scenarios.yaml-shaped files.

A scenario is a Deployment (or a bare Pod) with one or more pod-template revisions. Each revision
pairs a Kubernetes pod template (served as given, after the API server's defaulting) with a
per-container `behaviour` that the simulated kubelet interprets: how the process starts, what it
logs, when and how it exits, how its memory grows, when its health endpoint answers. The format is
documented in docs/lab.md.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kcrash.lab.defaults import default_container, default_pod_spec
from kcrash.units.durations import parse_go_duration, short_duration
from kcrash.units.quantity import parse_quantity as units_quantity

Obj = dict[str, Any]

BUILTIN_FILE = "scenarios.yaml"


class ScenarioError(ValueError):
    """A scenario file that does not follow the format (the message names the place)."""


@dataclass(frozen=True, slots=True)
class Memory:
    """Resident memory over an instance's life: start, linear growth, optional plateau, noise."""

    start_mi: float = 48.0
    growth_mi_per_min: float = 0.0
    plateau_mi: float | None = None
    noise_mi: float = 1.5


@dataclass(frozen=True, slots=True)
class LogLine:
    after: float  # seconds after the instance started
    text: str


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Lines written periodically once the process is up (cycled in order)."""

    every: float
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What one container does when the kubelet starts it."""

    image_pull: str = "ok"  # ok | fail
    pull_error: str | None = None
    pull_seconds: float = 1.2
    image_size: int = 48_213_557
    start_error: str | None = None
    start_error_exit_code: int = 128  # what containerd reports for a failed exec
    exit_after: float | None = None
    exit_code: int = 1
    reason: str | None = None
    signal: int | None = None
    message: str | None = None
    crashes: int | None = None  # instances that exit before one finally stays up
    health_after: float | None = 0.0  # None: the health endpoint never answers
    ignores_sigterm: bool = False
    sigterm_exit_code: int = 143
    log_lines: tuple[LogLine, ...] = ()
    last_log_lines: tuple[str, ...] = ()
    heartbeat: Heartbeat | None = None
    memory: Memory = field(default_factory=Memory)
    cpu_m: float = 4.0
    probe_output: str = ""

    def exits(self, restart_count: int) -> bool:
        """Whether the instance with this restart count ends by itself."""
        if self.crashes is not None and restart_count >= self.crashes:
            return False
        return self.exit_after is not None


HEALTHY = Behaviour(
    log_lines=(LogLine(0.2, "{time} INFO  starting {container} on {ip}"), LogLine(0.6, "{time} INFO  ready")),
    heartbeat=Heartbeat(60.0, ("{time} INFO  GET /healthz 200 0.4ms",)),
    memory=Memory(start_mi=40.0, growth_mi_per_min=8.0, plateau_mi=72.0, noise_mi=2.0),
)


@dataclass(frozen=True, slots=True)
class Revision:
    template: Obj  # PodTemplateSpec: {metadata: {labels, annotations}, spec}
    behaviours: Mapping[str, Behaviour]
    change_cause: str | None = None
    after: float = 0.0  # seconds after the previous revision was applied


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    namespace: str
    kind: str  # Deployment | Pod
    replicas: int
    age: float | None  # seconds before "now" the object was created; None = the pre-play window
    summary: str
    revisions: tuple[Revision, ...]


@dataclass(frozen=True, slots=True)
class ScenarioSet:
    scenarios: tuple[Scenario, ...]
    objects: tuple[Obj, ...]  # Secrets, ConfigMaps... created as given


# -- quantities and durations ------------------------------------------------------------------
def parse_quantity(text: object) -> float:
    """A Kubernetes quantity ("256Mi", "250m", "1e6", 2) as a plain number."""
    if isinstance(text, bool):
        raise ScenarioError(f"not a quantity: {text!r}")
    if isinstance(text, int | float):
        return float(text)
    try:
        return float(units_quantity(str(text)))
    except ValueError:
        raise ScenarioError(f"not a quantity: {text!r}") from None


def parse_duration(value: object, where: str = "") -> float:
    """Seconds from a number or a Go-style duration string ("90s", "15m", "1h30m")."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: expected a duration, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    try:
        return parse_go_duration(str(value))
    except ValueError:
        raise ScenarioError(
            f"{where}: not a duration: {value!r} (use seconds or e.g. 90s, 15m, 1h30m)"
        ) from None


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String(), as the kubelet writes it: 10s, 1m20s, 5m0s, 1h0m0s, 1.5s."""
    return short_duration(seconds)


# -- which behaviour a running container has ---------------------------------------------------
_SIGNATURE_FIELDS = (
    "name",
    "image",
    "command",
    "args",
    "env",
    "envFrom",
    "resources",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
)


def container_signature(container: Obj) -> str:
    picked = {k: container.get(k) for k in _SIGNATURE_FIELDS}
    return json.dumps(picked, sort_keys=True, separators=(",", ":"))


class BehaviourBook:
    """Finds the behaviour for a container spec: the exact spec, else the same image, else healthy.

    Keyed by what runs (image, command, env...) rather than by pod template, so `rollout restart`
    (which only touches template annotations) keeps a crash, `rollout undo` brings the old
    behaviour back, and a fixed image heals.
    """

    def __init__(self) -> None:
        self._exact: dict[tuple[str, str], Behaviour] = {}
        self._image: dict[tuple[str, str, str], Behaviour] = {}
        self._image_any: dict[str, Behaviour] = {}

    def register(self, namespace: str, container: Obj, behaviour: Behaviour) -> None:
        spec = default_container(container)
        self._exact[(namespace, container_signature(spec))] = behaviour
        self._image[(namespace, spec.get("name", ""), spec.get("image", ""))] = behaviour
        self._image_any.setdefault(spec.get("image", ""), behaviour)

    def lookup(self, namespace: str, container: Obj) -> Behaviour:
        found = self._exact.get((namespace, container_signature(container)))
        if found is None:
            found = self._image.get((namespace, container.get("name", ""), container.get("image", "")))
        if found is None:
            found = self._image_any.get(container.get("image", ""))
        return found if found is not None else HEALTHY


# -- parsing -----------------------------------------------------------------------------------
_TOP_KEYS = {"namespace", "objects", "scenarios"}
_SCENARIO_KEYS = {
    "name",
    "namespace",
    "kind",
    "replicas",
    "age",
    "summary",
    "labels",
    "template",
    "behaviour",
    "change_cause",
    "revisions",
    "strategy",
}
_REVISION_KEYS = {"template", "behaviour", "change_cause", "after"}
_TEMPLATE_KEYS = {"metadata", "spec"}
_BEHAVIOUR_KEYS = {
    "image_pull",
    "pull_error",
    "pull_seconds",
    "image_size",
    "start_error",
    "start_error_exit_code",
    "exit_after",
    "exit_code",
    "reason",
    "termination_reason",
    "signal",
    "message",
    "crashes",
    "health_after",
    "startup_seconds",
    "ignores_sigterm",
    "sigterm_exit_code",
    "log_lines",
    "last_log_lines",
    "last_log_line",
    "heartbeat",
    "memory",
    "cpu_m",
    "probe_output",
}
_MEMORY_KEYS = {"start_mi", "growth_mi_per_min", "plateau_mi", "noise_mi"}
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _check_keys(where: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ScenarioError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _mapping(where: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _number(where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _int(where: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{where}: expected an integer, got {value!r}")
    return value


def _text(where: str, value: object) -> str:
    if not isinstance(value, str):
        raise ScenarioError(f"{where}: expected a string, got {value!r}")
    return value


def _lines(where: str, value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScenarioError(f"{where}: expected a string or a list of strings")
    return list(value)


def _parse_log_lines(where: str, value: object) -> tuple[LogLine, ...]:
    if not isinstance(value, list):
        raise ScenarioError(f"{where}: expected a list")
    out: list[LogLine] = []
    previous = 0.0
    for i, item in enumerate(value):
        spot = f"{where}[{i}]"
        if isinstance(item, str):
            previous += 0.05 if not out else 0.12
            out.append(LogLine(previous, item))
            continue
        entry = _mapping(spot, item)
        _check_keys(spot, entry, {"after", "line"})
        previous = parse_duration(entry.get("after", previous), spot + ".after")
        out.append(LogLine(previous, _text(spot + ".line", entry.get("line"))))
    return tuple(out)


def _parse_memory(where: str, value: object) -> Memory:
    data = _mapping(where, value)
    _check_keys(where, data, _MEMORY_KEYS)
    plateau = data.get("plateau_mi")
    return Memory(
        start_mi=_number(where + ".start_mi", data.get("start_mi", 48.0)),
        growth_mi_per_min=_number(where + ".growth_mi_per_min", data.get("growth_mi_per_min", 0.0)),
        plateau_mi=None if plateau is None else _number(where + ".plateau_mi", plateau),
        noise_mi=_number(where + ".noise_mi", data.get("noise_mi", 1.5)),
    )


def _parse_heartbeat(where: str, value: object) -> Heartbeat:
    data = _mapping(where, value)
    _check_keys(where, data, {"every", "line", "lines"})
    lines = _lines(where + ".lines", data.get("lines", data.get("line", [])))
    if not lines:
        raise ScenarioError(f"{where}: needs line or lines")
    every = parse_duration(data.get("every", 30), where + ".every")
    if every <= 0:
        raise ScenarioError(f"{where}.every: must be positive")
    return Heartbeat(every, tuple(lines))


def parse_behaviour(where: str, value: object) -> Behaviour:
    """One container's behaviour mapping as a Behaviour (see docs/lab.md for the keys)."""
    data = _mapping(where, value)
    _check_keys(where, data, _BEHAVIOUR_KEYS)
    kwargs: dict[str, Any] = {}
    pull = data.get("image_pull", "ok")
    if pull not in ("ok", "fail"):
        raise ScenarioError(f"{where}.image_pull: expected ok or fail, got {pull!r}")
    kwargs["image_pull"] = pull
    for key in ("pull_error", "start_error", "message", "probe_output"):
        if data.get(key) is not None:
            kwargs[key] = _text(f"{where}.{key}", data[key])
    reason = data.get("reason", data.get("termination_reason"))
    if reason is not None:
        kwargs["reason"] = _text(f"{where}.reason", reason)
    for key in ("exit_code", "start_error_exit_code", "sigterm_exit_code", "image_size"):
        if key in data:
            kwargs[key] = _int(f"{where}.{key}", data[key])
    for key in ("signal", "crashes"):
        if data.get(key) is not None:
            kwargs[key] = _int(f"{where}.{key}", data[key])
    for key in ("pull_seconds", "exit_after"):
        if data.get(key) is not None:
            kwargs[key] = parse_duration(data[key], f"{where}.{key}")
    health = data.get("health_after", data.get("startup_seconds", 0.0))
    kwargs["health_after"] = None if health is None else parse_duration(health, f"{where}.health_after")
    if "ignores_sigterm" in data:
        if not isinstance(data["ignores_sigterm"], bool):
            raise ScenarioError(f"{where}.ignores_sigterm: expected true or false")
        kwargs["ignores_sigterm"] = data["ignores_sigterm"]
    if "log_lines" in data:
        kwargs["log_lines"] = _parse_log_lines(f"{where}.log_lines", data["log_lines"])
    last = data.get("last_log_lines", data.get("last_log_line"))
    if last is not None:
        kwargs["last_log_lines"] = tuple(_lines(f"{where}.last_log_lines", last))
    if "heartbeat" in data:
        kwargs["heartbeat"] = _parse_heartbeat(f"{where}.heartbeat", data["heartbeat"])
    if "memory" in data:
        kwargs["memory"] = _parse_memory(f"{where}.memory", data["memory"])
    if "cpu_m" in data:
        kwargs["cpu_m"] = _number(f"{where}.cpu_m", data["cpu_m"])
    if kwargs.get("exit_after") is not None and "exit_code" not in kwargs:
        kwargs["exit_code"] = 1
    return Behaviour(**kwargs)


def _parse_template(where: str, value: object, scenario: str) -> Obj:
    data = _mapping(where, value)
    _check_keys(where, data, _TEMPLATE_KEYS)
    spec = dict(_mapping(where + ".spec", data.get("spec")))
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        raise ScenarioError(f"{where}.spec.containers: at least one container is required")
    for kind in ("containers", "initContainers"):
        for i, container in enumerate(spec.get(kind) or []):
            spot = f"{where}.spec.{kind}[{i}]"
            c = _mapping(spot, container)
            _text(spot + ".name", c.get("name"))
            _text(spot + ".image", c.get("image"))
    metadata = dict(_mapping(where + ".metadata", data.get("metadata") or {}))
    labels = {"app": scenario, **(metadata.get("labels") or {})}
    out_meta: Obj = {"labels": labels}
    if metadata.get("annotations"):
        out_meta["annotations"] = dict(metadata["annotations"])
    return {"metadata": out_meta, "spec": default_pod_spec(copy.deepcopy(spec))}


def _parse_behaviours(where: str, value: object, template: Obj) -> dict[str, Behaviour]:
    data = _mapping(where, value or {})
    spec = template["spec"]
    names = [c["name"] for c in spec.get("containers", []) + spec.get("initContainers", [])]
    out: dict[str, Behaviour] = {}
    for name, raw in data.items():
        if name not in names:
            raise ScenarioError(f"{where}: no container named {name!r} in the template (have {names})")
        out[name] = parse_behaviour(f"{where}.{name}", raw)
    return out


def _parse_revision(where: str, data: Mapping[str, Any], scenario: str) -> Revision:
    template = _parse_template(where + ".template", data.get("template"), scenario)
    behaviours = _parse_behaviours(where + ".behaviour", data.get("behaviour"), template)
    cause = data.get("change_cause")
    return Revision(
        template=template,
        behaviours=behaviours,
        change_cause=None if cause is None else _text(where + ".change_cause", cause),
        after=parse_duration(data.get("after", 0), where + ".after"),
    )


def _parse_scenario(where: str, value: object, namespace: str) -> Scenario:
    data = _mapping(where, value)
    _check_keys(where, data, _SCENARIO_KEYS)
    name = _text(where + ".name", data.get("name"))
    if not _NAME.match(name) or len(name) > 50:
        raise ScenarioError(f"{where}.name: {name!r} is not a valid Kubernetes name")
    where = f"scenario {name!r}"
    kind = data.get("kind", "Deployment")
    if kind not in ("Deployment", "Pod"):
        raise ScenarioError(f"{where}.kind: expected Deployment or Pod, got {kind!r}")
    if "revisions" in data:
        if "template" in data or "behaviour" in data:
            raise ScenarioError(f"{where}: use either template/behaviour or revisions, not both")
        raw = data["revisions"]
        if not isinstance(raw, list) or not raw:
            raise ScenarioError(f"{where}.revisions: expected a non-empty list")
        revisions = []
        for i, item in enumerate(raw):
            spot = f"{where}.revisions[{i}]"
            entry = _mapping(spot, item)
            _check_keys(spot, entry, _REVISION_KEYS)
            revisions.append(_parse_revision(spot, entry, name))
    else:
        revisions = [_parse_revision(where, data, name)]
    if kind == "Pod" and len(revisions) > 1:
        raise ScenarioError(f"{where}: a bare Pod has no revisions")
    age = data.get("age")
    return Scenario(
        name=name,
        namespace=_text(where + ".namespace", data.get("namespace", namespace)),
        kind=kind,
        replicas=_int(where + ".replicas", data.get("replicas", 1)),
        age=None if age is None else parse_duration(age, where + ".age"),
        summary=_text(where + ".summary", data.get("summary", "")),
        revisions=tuple(revisions),
    )


def parse_scenarios(data: object, source: str = "scenarios") -> ScenarioSet:
    """Validate a loaded scenarios document; raises ScenarioError naming the bad place."""
    top = _mapping(source, data)
    _check_keys(source, top, _TOP_KEYS)
    namespace = _text(source + ".namespace", top.get("namespace", "crashlab"))
    raw_scenarios = top.get("scenarios") or []
    if not isinstance(raw_scenarios, list):
        raise ScenarioError(f"{source}.scenarios: expected a list")
    scenarios = [
        _parse_scenario(f"{source}.scenarios[{i}]", s, namespace) for i, s in enumerate(raw_scenarios)
    ]
    seen: set[tuple[str, str]] = set()
    for scenario in scenarios:
        key = (scenario.namespace, scenario.name)
        if key in seen:
            raise ScenarioError(f"{source}: scenario {scenario.name!r} is defined twice")
        seen.add(key)
    objects: list[Obj] = []
    for i, raw in enumerate(top.get("objects") or []):
        obj = dict(_mapping(f"{source}.objects[{i}]", raw))
        for field_name in ("apiVersion", "kind"):
            _text(f"{source}.objects[{i}].{field_name}", obj.get(field_name))
        meta = dict(_mapping(f"{source}.objects[{i}].metadata", obj.get("metadata")))
        _text(f"{source}.objects[{i}].metadata.name", meta.get("name"))
        if obj["kind"] != "Namespace":
            meta.setdefault("namespace", namespace)
        obj["metadata"] = meta
        objects.append(obj)
    return ScenarioSet(tuple(scenarios), tuple(objects))


def load_scenarios(path: Path) -> ScenarioSet:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ScenarioError(f"{path}: not valid YAML: {err}") from err
    return parse_scenarios(data, source=path.name)


def load_builtin_scenarios() -> ScenarioSet:
    text = resources.files("kcrash.lab").joinpath(BUILTIN_FILE).read_text(encoding="utf-8")
    return parse_scenarios(yaml.safe_load(text), source=BUILTIN_FILE)
