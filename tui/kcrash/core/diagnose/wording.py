"""How a diagnosis is written: quotes and evidence, kubectl commands, durations and sizes.

Everything here turns facts into words. Cluster text is untrusted: it is cleaned before it is
quoted, and commands keep their arguments whole and shell-quoted.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from kcrash.core.diagnose.facts import Facts, latest, total
from kcrash.core.quantity import format_bytes
from kcrash.core.records import Cause, ContainerSpec, ContainerState, Diagnosis, EnvRef, Event, Evidence
from kcrash.core.sanitize import clean

MIB = 2**20

QUOTE_LIMIT = 240


def quote(text: str) -> str:
    """Untrusted text made safe and short. Runtime errors nest and put the cause last, so a long
    message loses its middle, not its end."""
    one_line = tidy(text)
    if len(one_line) <= QUOTE_LIMIT:
        return one_line
    head = QUOTE_LIMIT // 3
    return f"{one_line[:head]} … {one_line[-(QUOTE_LIMIT - head - 3) :]}"


def tidy(text: str) -> str:
    """Cleaned and on one line, never cut: for commands that must stay whole."""
    return " ".join(clean(text).split())


def termination_quote(term: ContainerState) -> str:
    parts = [f"exitCode: {term.exit_code}" if term.exit_code is not None else "exitCode: (none)"]
    if term.reason:
        parts.append(f"reason: {term.reason}")
    if term.signal:
        parts.append(f"signal: {term.signal}")
    return quote(", ".join(parts))


def termination_evidence(f: Facts) -> Evidence | None:
    if f.termination is None:
        return None
    return Evidence(f.termination_source, termination_quote(f.termination))


def waiting_evidence(state: ContainerState) -> Evidence:
    text = f"reason: {state.reason}" + (f", message: {state.message}" if state.message else "")
    return Evidence("state.waiting", quote(text))


def event_source(event: Event) -> str:
    return f"event {event.reason} ×{event.count}" if event.count > 1 else f"event {event.reason}"


def event_evidence(event: Event) -> Evidence:
    return Evidence(event_source(event), quote(event.message))


def log_evidence(f: Facts, line: str) -> Evidence:
    return Evidence(f.log_source or "log", quote(line))


def sh(word: str) -> str:
    """A word quoted for a shell command line."""
    return shlex.quote(word)


# A paste may lack the namespace, the container or even the pod's name: commands then leave the
# flag out (kubectl's current namespace is where the pasted command most likely ran; its default
# container is the one it would pick) or show a placeholder, never an empty '' argument.


def pod_word(f: Facts) -> str:
    """The pod's name as a command argument; `<pod>` when the input does not name it."""
    return sh(f.pod.name) if f.pod.name else "<pod>"


def ns_flag(f: Facts) -> str:
    """` -n NAMESPACE`, or nothing when the input does not say the namespace."""
    return f" -n {sh(f.pod.namespace)}" if f.pod.namespace else ""


def container_flag(f: Facts) -> str:
    """` -c CONTAINER` for commands that read, or nothing when the container is not known."""
    return f" -c {sh(f.container)}" if f.container else ""


def container_word(f: Facts) -> str:
    """The container for commands that change the workload: `<container>` when unknown, since
    leaving `-c` out of `kubectl set` would change every container."""
    return sh(f.container) if f.container else "<container>"


def in_namespace(f: Facts) -> str:
    """The words "in namespace shop", or "in the pod's namespace" when the input does not say it."""
    return f"in namespace {f.pod.namespace}" if f.pod.namespace else "in the pod's namespace"


def cmd_describe(f: Facts) -> str:
    return f"kubectl describe pod {pod_word(f)}{ns_flag(f)}"


def cmd_logs(f: Facts, *, previous: bool | None = None, tail: int | None = None) -> str:
    """`kubectl logs`; --previous unless the dead instance is the current one (restartPolicy Never)."""
    if previous is None:
        previous = f.termination_source != "state.terminated"
    parts = [f"kubectl logs {pod_word(f)}{ns_flag(f)}{container_flag(f)}"]
    if previous:
        parts.append("--previous")
    if tail:
        parts.append(f"--tail={tail}")
    return " ".join(parts)


def cmd_events(f: Facts) -> str:
    return (
        f"kubectl get events{ns_flag(f)} "
        f"--field-selector involvedObject.name={pod_word(f)} --sort-by=.lastTimestamp"
    )


def cmd_spec(f: Facts, what: str) -> str:
    """`kubectl get pod -o jsonpath` for one field of the container's spec (resources, command, env)."""
    kind = "initContainers" if (f.spec.init if f.spec else f.in_init_statuses) else "containers"
    which = f'?(@.name=="{f.container}")' if f.container else "*"
    path = f"{{.spec.{kind}[{which}].{what}}}"
    return f"kubectl get pod {pod_word(f)}{ns_flag(f)} -o jsonpath={sh(path)}"


def cmd_debug(f: Facts, *words: str) -> str:
    """A throwaway pod inside the cluster network: the app's view, not the laptop's."""
    tail = " ".join(sh(w) for w in words)
    return f"kubectl run -it --rm debug --image=busybox:1.36 --restart=Never{ns_flag(f)} -- {tail}"


def workload(f: Facts) -> str:
    """`deployment/api` (or statefulset/…) for fix commands, "" when the pod stands alone."""
    if f.inp.deployment is not None:
        return f"deployment/{f.inp.deployment.name}"
    owner = f.pod.controller
    if owner is None:
        return ""
    if owner.kind == "ReplicaSet":
        template_hash = dict(f.pod.labels).get("pod-template-hash", "")
        if template_hash and owner.name.endswith("-" + template_hash):
            return f"deployment/{owner.name[: -len(template_hash) - 1]}"
        return ""
    if owner.kind in ("StatefulSet", "DaemonSet"):
        return f"{owner.kind.lower()}/{owner.name}"
    return ""


def edit_target(f: Facts) -> str:
    """Where a spec change goes, in words."""
    target = workload(f)
    return f"`kubectl edit {sh(target)}{ns_flag(f)}`" if target else "the pod's manifest"


def fmt_seconds(seconds: float) -> str:
    """A duration as an engineer says it: "50s", "8m32s", "2h26m"."""
    whole = round(seconds)
    if whole < 120:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"


def fmt_time(moment: datetime) -> str:
    """A moment stated, not measured from `now`: for when `now` is uncertain."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_bytes(n: int) -> str:
    return format_bytes(n)


def nice_mib(n_bytes: float) -> int:
    """Round up to a limit people write: 64Mi steps up to 1Gi, 128Mi to 4Gi, 512Mi beyond."""
    mib = max(math.ceil(n_bytes / MIB), 1)
    step = 64 if mib <= 1024 else 128 if mib <= 4096 else 512
    return math.ceil(mib / step) * step


def fmt_mib(mib: int) -> str:
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def diagnosis(
    cause: Cause,
    headline: str,
    f: Facts,
    evidence: Iterable[Evidence | None],
    steps: Iterable[str],
    *,
    detail: str = "",
) -> Diagnosis:
    # Names and messages in every part come from the cluster: all of it is cleaned, once, here.
    ev = (Evidence(tidy(e.source), e.quote) for e in evidence if e is not None)
    return Diagnosis(
        cause=cause,
        headline=quote(headline),
        container=tidy(f.container),
        evidence=tuple(dict.fromkeys(ev)),
        next_steps=tuple(dict.fromkeys(tidy(s) for s in steps if s)),
        detail=detail,
    )


def merged(events: Sequence[Event], reason: str) -> Evidence | None:
    """One evidence line for several events of the same kind: the newest message, the total count."""
    last = latest(events)
    if last is None:
        return None
    count = total(events)
    return Evidence(f"event {reason} ×{count}" if count > 1 else f"event {reason}", quote(last.message))


def node_ref(f: Facts) -> str:
    return sh(f.pod.node_name) if f.pod.node_name else "<node>"


_SENSITIVE_ARG = re.compile(
    r"(?i)^(-{0,2}[\w.-]*(?:pass(?:word|wd)?|secret|token|api[-_]?key|credentials?)[\w.-]*=).+"
)


def command_words(spec: ContainerSpec | None) -> str:
    """The container's command line as a shell would read it, with `--password=...` values hidden."""
    if spec is None or not (spec.command or spec.args):
        return ""
    words = (_SENSITIVE_ARG.sub(r"\1***", w) for w in (*spec.command, *spec.args))
    return " ".join(shlex.quote(w) for w in words)


def describe_ref(ref: EnvRef) -> str:
    """Where a container's reference to a Secret or ConfigMap sits: env, envFrom or a volume."""
    if ref.via == "env":
        return f"env {ref.env_name} ← {ref.kind} {ref.name} key {ref.key}"
    if ref.via == "envFrom":
        return f"envFrom {ref.kind} {ref.name}"
    return f"volume from {ref.kind} {ref.name}" + (f" key {ref.key}" if ref.key else "")
