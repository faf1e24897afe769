"""The `containers:` part of a manifest pasted alone: what the pod's containers run.

People paste the part of a Deployment or a Helm chart's template they changed:

    containers:
      - name: rabbitmq
        image: {{ template "rabbitmq.image" . }}
        command:
          - ls

Template lines (`{{ ... }}`, `{% ... %}`) are left out (a value that is a template is unknown, not
read), the rest loads as YAML, and each container with a name becomes a spec. The spec says
nothing of the pod's restart policy: a `restartPolicy:` line in the same paste gives it, else the
record's default (Always, what Deployments, StatefulSets and DaemonSets use).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from kcrash.cluster.parse import build_container_spec
from kcrash.cluster.paste.model import PodFacts
from kcrash.core.records import ContainerSpec, Pod

_CONTAINERS = re.compile(r"^(?P<indent>\s*)containers:\s*$")
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_RESTART_POLICY = re.compile(r"^\s*restartPolicy:\s*(?P<policy>Always|OnFailure|Never)\s*$")
_MOST_LINES = 400  # a piece of a manifest, not a whole chart


def _block(lines: Sequence[str], start: int, indent: int) -> list[str]:
    """The lines under `containers:`: deeper than it, or list items at its own indentation."""
    block: list[str] = []
    for line in lines[start + 1 :]:
        if not line.strip():
            block.append(line)
            continue
        depth = len(line) - len(line.lstrip())
        if depth < indent or (depth == indent and not line.lstrip().startswith("- ")):
            break
        block.append(line)
    return block


def _untemplated(lines: Sequence[str]) -> list[str] | None:
    """Lines with a template that is a whole value dropped to its key (`image: {{ x }}` becomes
    `image:`), and lines of template control (`{{- if ... }}`) left out; None when a template
    stands inside a value or a list (`- --port={{ .Values.port }}`): the command is then unknown."""
    kept: list[str] = []
    for line in lines:
        if not _TEMPLATE.search(line):
            kept.append(line)
            continue
        rest = _TEMPLATE.sub("", line).rstrip()
        if rest.strip() and not rest.endswith(":"):
            return None
        if rest.strip():
            kept.append(rest)
    return kept


def _load(lines: Sequence[str]) -> Any:
    try:
        return yaml.safe_load("\n".join(lines))
    except yaml.YAMLError:
        return None


def _specs(loaded: Any) -> tuple[ContainerSpec, ...]:
    if not isinstance(loaded, list):
        return ()
    containers = [c for c in loaded if isinstance(c, Mapping) and isinstance(c.get("name"), str)]
    return tuple(build_container_spec({**c, "image": c.get("image") or ""}, (), False) for c in containers)


def container_pieces(lines: Sequence[str]) -> PodFacts | None:
    """The pod the `containers:` list of a pasted piece of manifest describes, or None."""
    if len(lines) > _MOST_LINES:
        return None
    for index, line in enumerate(lines):
        match = _CONTAINERS.match(line)
        if match is None:
            continue
        indent = len(match["indent"])
        block = [
            text[indent:] if len(text) > indent else text.strip() for text in _block(lines, index, indent)
        ]
        untemplated = _untemplated(block)
        specs = _specs(_load(untemplated)) if untemplated is not None else ()
        if specs:
            policy = next((m["policy"] for text in lines if (m := _RESTART_POLICY.match(text))), "Always")
            pod = Pod(namespace="", name="", restart_policy=policy, containers=specs)
            return PodFacts(pod=pod, shows=frozenset({"spec"}))
    return None
