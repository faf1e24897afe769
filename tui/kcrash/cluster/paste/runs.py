"""The commands that made the pod, when a paste shows them instead of its spec.

`kubectl run web --image=busybox` (or `oc run`, `kubectl create deployment web --image=...`) says
what the pod's one container runs: its image, the command or args after `--` (`--command` makes
them the command), whether `-i`/`-t` hold its stdin open, and the restart policy (`--restart`,
Always by default). Any `--overrides` may rewrite all of that, so such a line is not read.

`kubectl create deployment`, and `kubectl run` before 1.18 (`--replicas`, `--generator`), made a
Deployment: its pods carry the name and a suffix, which `combine` matches (`workload_of`). So does
a workload's manifest (a Deployment, StatefulSet, DaemonSet, Job...): its pod template is the spec
of the pods named after it.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from msgspec.structs import replace

from kcrash.cluster.parse import build_container_spec
from kcrash.cluster.paste.model import PasteFacts, PodFacts
from kcrash.core.records import ContainerSpec, Pod

# Anywhere in a line: a prompt line, or a sentence quoting the command (up to a closing backtick).
_CREATES = re.compile(
    r"\b(?:kubectl|oc|kubecolor)\s+(?P<verb>run|create\s+deployment|create\s+deploy)\s+(?P<rest>[^`\n]+)"
)
_VALUE_FLAGS = frozenset(
    {"--image", "--restart", "-n", "--namespace", "--port", "--env", "--labels", "-l", "--replicas",
     "--generator", "--requests", "--limits", "--serviceaccount", "--image-pull-policy",
     "--pod-running-timeout", "--context", "--kubeconfig", "--annotations", "--hostport", "--expose", "-o",
     "--output", "--field-manager", "--timeout", "--save-config", "--cluster", "--user", "--as"}
)  # fmt: skip
_INTERACTIVE = frozenset(
    {"-i", "-t", "-it", "-ti", "--stdin", "--tty", "--stdin=true", "--tty=true", "--attach"}
)
_OLD_RUN = frozenset({"--replicas", "--generator"})  # before 1.18 these made a Deployment
# What follows the workload's name in its pods' names: a Deployment's `-<pod-template-hash>-<5>`,
# a ReplicationController's `-<5>`.
_POD_SUFFIX = re.compile(r"-(?:[a-z0-9]{6,10}-)?[a-z0-9]{5}")


def _tokens(rest: str) -> list[str]:
    try:
        return shlex.split(rest)
    except ValueError:
        return rest.split()


def _read(verb: str, tokens: Sequence[str]) -> tuple[Pod, bool] | None:
    """The pod a create command asks for, and whether it comes of a Deployment; None when the
    line says too little (no name or image) or may say something else (`--overrides`)."""
    name, image, namespace, policy = "", "", "", "Always"
    interactive = command_mode = workload = False
    after: tuple[str, ...] = ()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        flag, _, value = token.partition("=")
        if token == "--":
            after = tuple(tokens[index:])
            break
        if flag == "--overrides":
            return None
        if token in _INTERACTIVE:
            interactive = True
        elif token == "--command":
            command_mode = True
        elif flag in _VALUE_FLAGS:
            if not value and "=" not in token:
                value = tokens[index] if index < len(tokens) else ""
                index += 1
            image = value if flag == "--image" else image
            policy = value if flag == "--restart" and value else policy
            namespace = value if flag in ("-n", "--namespace") else namespace
            workload = workload or flag in _OLD_RUN
        elif not token.startswith("-") and not name:
            name = token
    if not name or not image:
        return None
    workload = workload or verb != "run"
    command, args = (after, ()) if command_mode else ((), after)
    spec = ContainerSpec(name=name, image=image, command=command, args=args, interactive=interactive)
    return Pod(namespace=namespace, name=name, restart_policy=policy, containers=(spec,)), workload


def created_pods(text: str) -> list[PodFacts]:
    """What each `kubectl run`/`create deployment` line in a paste asks the pod to run."""
    found: list[PodFacts] = []
    for match in _CREATES.finditer(text):
        read = _read(match["verb"].split()[0], _tokens(match["rest"]))
        if read is None:
            continue
        pod, workload = read
        found.append(
            PodFacts(
                pod=pod,
                sources={f"{pod.name}/{what}": match.group(0).strip() for what in ("image", "command")},
                shows=frozenset({"spec"}),
                workload=workload,
            )
        )
    return found


def workload_of(pod_name: str, workloads: Sequence[str]) -> str:
    """The workload among `workloads` a pod's name says it belongs to ("" for none)."""
    owners = [w for w in workloads if pod_name.startswith(w) and _POD_SUFFIX.fullmatch(pod_name[len(w) :])]
    return max(owners, key=len) if owners else ""


def to_workload_pods(pastes: Sequence[PasteFacts]) -> list[PasteFacts]:
    """Pastes with a workload's spec given to each of its pods they name (`web` to `web-7d9c-x2b4q`);
    a spec whose pods no paste names stays under the workload's name."""
    names = {f.pod.name for paste in pastes for f in paste.pods if not f.workload}
    names |= {e.event.involved_name for paste in pastes for e in paste.events if e.event.involved_name}
    spread: list[PasteFacts] = []
    for paste in pastes:
        pods: list[PodFacts] = []
        for facts in paste.pods:
            owned = sorted(n for n in names if facts.workload and workload_of(n, [facts.pod.name]))
            pods += [dataclasses.replace(facts, pod=replace(facts.pod, name=n)) for n in owned] or [facts]
        spread.append(dataclasses.replace(paste, pods=tuple(pods)))
    return spread


# Objects whose pods are made from `spec.template`: their containers are the pods' containers.
_WORKLOADS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}
)


def template_pods(objects: Iterable[tuple[str, Any]]) -> list[PodFacts]:
    """The pod each pasted workload makes, from its template: a manifest pasted beside a sentence
    ("the pods are in CrashLoopBackOff") says what those pods run."""
    found: list[PodFacts] = []
    for kind, obj in objects:
        if kind not in _WORKLOADS or not isinstance(obj, Mapping):
            continue
        meta = obj.get("metadata") or {}
        template = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        containers = template.get("containers") if isinstance(template, Mapping) else None
        if not isinstance(meta, Mapping) or not isinstance(containers, list):
            continue
        specs = tuple(build_container_spec(c, (), False) for c in containers if isinstance(c, Mapping))
        policy = template.get("restartPolicy") or ("OnFailure" if kind == "Job" else "Always")
        pod = Pod(
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name") or ""),
            restart_policy=str(policy),
            containers=specs,
        )
        if pod.name and specs:
            found.append(PodFacts(pod=pod, shows=frozenset({"spec"}), workload=True))
    return found
