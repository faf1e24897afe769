"""Why a pod keeps dying: the diagnosis an on-call engineer would write after `describe` and `logs`.

`diagnose` picks the container that is in trouble (init containers first: nothing else runs until
they finish), gathers the facts about its last death, and walks an ordered list of rules. Each rule
either returns a `Diagnosis` resting on quoted evidence or passes. The order encodes priority:
a label the kubelet recorded (a waiting reason, `reason: OOMKilled`, a Killing event) wins over a
rule of thumb read from an exit code or a log line. When nothing fits, the answer is `unknown`
with the command that would tell more.

Parts the input names absent (a paste without the spec, the events, metrics, or an exact time)
are unknowns: the rules say so and name the command that shows them, never read them as empty.

Pure: time comes in with the input, nothing is read from anywhere.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from msgspec.structs import replace

from kcrash.core.exitcodes import explain_exit
from kcrash.core.quantity import format_bytes
from kcrash.core.records import (
    AbsentPart,
    Cause,
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    Diagnosis,
    DiagnosisInput,
    EnvRef,
    Event,
    Evidence,
    MemorySample,
    Pod,
    Probe,
    Revision,
)
from kcrash.core.sanitize import clean
from kcrash.core.status import primary_container

MIB = 2**20
DYING_WORDS = 20  # the runbook: the reason is usually in the last twenty lines
QUOTE_LIMIT = 240
METRICS_RESOLUTION_S = 15  # metrics-server cannot see more often than the kubelet scrapes
BACKOFF_RESET_S = 600  # the kubelet forgets a crash loop after ten clean minutes

# Waiting reasons that mean the container is not getting anywhere.
IMAGE_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})
CONFIG_REASONS = frozenset({"CreateContainerConfigError"})
START_REASONS = frozenset({"RunContainerError", "CreateContainerError", "StartError", "ContainerCannotRun"})


# --- facts ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known about the container in trouble, gathered once for all the rules."""

    inp: DiagnosisInput
    container: str
    spec: ContainerSpec | None
    status: ContainerStatus | None
    termination: ContainerState | None  # its most recent death
    termination_source: str  # "lastState.terminated" or "state.terminated"
    waiting: ContainerState | None
    events: tuple[Event, ...]  # this pod's events about this container or the whole pod
    log_lines: tuple[str, ...]  # the dying words, oldest first
    # "previous log", "log", "lastState.terminated.message" (standing in for a missing or empty
    # log), or "" when no log was fetched
    log_source: str
    log_cut: bool  # the log ends mid-line: the process died while writing

    @property
    def pod(self) -> Pod:
        return self.inp.pod

    def lacks(self, part: AbsentPart) -> bool:
        """The input could not see this part: its emptiness says nothing."""
        return part in self.inp.absent

    @property
    def spec_known(self) -> bool:
        return self.spec is not None and not self.lacks("spec")

    @property
    def in_init_statuses(self) -> bool:
        return any(s.name == self.container for s in self.pod.init_container_statuses)

    @property
    def is_init(self) -> bool:
        if self.spec is None:  # no spec to tell a sidecar: where its status is reported will do
            return self.in_init_statuses
        return self.spec.init and not self.spec.sidecar

    @property
    def label(self) -> str:
        """How to name the container in a sentence."""
        if self.spec is not None and self.spec.sidecar:
            return f"sidecar {self.container}"
        return f"init container {self.container}" if self.is_init else f"container {self.container}"

    @property
    def subject(self) -> str:
        """The label to start a sentence with."""
        return self.label[:1].upper() + self.label[1:]

    @property
    def exit_code(self) -> int | None:
        return self.termination.exit_code if self.termination else None

    @property
    def reason(self) -> str:
        return self.termination.reason if self.termination else ""

    @property
    def restarts(self) -> int:
        return self.status.restart_count if self.status else 0

    @property
    def run_seconds(self) -> float | None:
        """How long the dead instance lived (startedAt -> finishedAt)."""
        term = self.termination
        if term is None or term.started_at is None or term.finished_at is None:
            return None
        return max((term.finished_at - term.started_at).total_seconds(), 0.0)


def _pod_events(pod: Pod, events: Iterable[Event]) -> list[Event]:
    """Events about this pod (and this incarnation of it, when both UIDs are known)."""
    mine = [
        e
        for e in events
        if e.involved_kind in ("Pod", "")
        and (not e.involved_name or e.involved_name == pod.name)
        and (not e.involved_uid or not pod.uid or e.involved_uid == pod.uid)
    ]
    return sorted(mine, key=when)


def when(event: Event) -> float:
    """When an event last happened, as a sort key (unknown times sort first)."""
    moment = event.last_seen or event.first_seen
    return moment.timestamp() if moment is not None else 0.0


def _termination(status: ContainerStatus | None) -> tuple[ContainerState | None, str]:
    if status is None:
        return None, ""
    if status.state.kind == "terminated":
        return status.state, "state.terminated"
    if status.last_state is not None and status.last_state.kind == "terminated":
        return status.last_state, "lastState.terminated"
    return None, ""


def _log_tail(text: str | None) -> tuple[tuple[str, ...], bool]:
    if not text:
        return (), False
    lines = [line.rstrip("\r") for line in text.split("\n")]
    words = [line for line in lines if line.strip()][-DYING_WORDS:]
    return tuple(words), not text.endswith("\n") and bool(words)


def gather(inp: DiagnosisInput) -> Facts:
    pod = inp.pod
    name = primary_container(pod)
    status = pod.status_for(name)
    termination, source = _termination(status)
    waiting = status.state if status is not None and status.state.kind == "waiting" else None
    events = tuple(e for e in _pod_events(pod, inp.events) if e.container in ("", name))
    log_text, log_source = inp.previous_log, "previous log"
    if log_text is None and status is not None and status.state.kind != "running":
        # While a container waits in back-off, its plain log is the dead instance's log.
        log_text, log_source = inp.current_log, "log"
    lines, cut = _log_tail(log_text)
    log_source = log_source if log_text is not None else ""
    if not lines and termination is not None and termination.message.strip():
        # With terminationMessagePolicy FallbackToLogsOnError the message is the log's tail, and an
        # app may write its last words to /dev/termination-log: dying words where no log is.
        lines, log_source, cut = _log_tail(termination.message)[0], f"{source}.message", False
    return Facts(
        inp=inp,
        container=name,
        spec=pod.spec_for(name),
        status=status,
        termination=termination,
        termination_source=source,
        waiting=waiting,
        events=events,
        log_lines=lines,
        log_source=log_source,
        log_cut=cut,
    )


# --- quoting and commands ---------------------------------------------------------------------------


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


def _sh(word: str) -> str:
    return shlex.quote(word)


# A paste may lack the namespace, the container or even the pod's name: commands then leave the
# flag out (kubectl's current namespace is where the pasted command most likely ran; its default
# container is the one it would pick) or show a placeholder, never an empty '' argument.


def pod_word(f: Facts) -> str:
    """The pod's name as a command argument; `<pod>` when the input does not name it."""
    return _sh(f.pod.name) if f.pod.name else "<pod>"


def ns_flag(f: Facts) -> str:
    """` -n NAMESPACE`, or nothing when the input does not say the namespace."""
    return f" -n {_sh(f.pod.namespace)}" if f.pod.namespace else ""


def container_flag(f: Facts) -> str:
    """` -c CONTAINER` for commands that read, or nothing when the container is not known."""
    return f" -c {_sh(f.container)}" if f.container else ""


def container_word(f: Facts) -> str:
    """The container for commands that change the workload: `<container>` when unknown, since
    leaving `-c` out of `kubectl set` would change every container."""
    return _sh(f.container) if f.container else "<container>"


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
    return f"kubectl get pod {pod_word(f)}{ns_flag(f)} -o jsonpath={_sh(path)}"


def cmd_debug(f: Facts, *words: str) -> str:
    """A throwaway pod inside the cluster network: the app's view, not the laptop's."""
    tail = " ".join(_sh(w) for w in words)
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
    return f"`kubectl edit {_sh(target)}{ns_flag(f)}`" if target else "the pod's manifest"


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
    cause: Cause, headline: str, f: Facts, evidence: Iterable[Evidence | None], steps: Iterable[str]
) -> Diagnosis:
    # Names and messages in every part come from the cluster: all of it is cleaned, once, here.
    ev = (Evidence(tidy(e.source), e.quote) for e in evidence if e is not None)
    return Diagnosis(
        cause=cause,
        headline=quote(headline),
        container=tidy(f.container),
        evidence=tuple(dict.fromkeys(ev)),
        next_steps=tuple(dict.fromkeys(tidy(s) for s in steps if s)),
    )


# --- event matching ---------------------------------------------------------------------------------


def events_with(f: Facts, reason: str, prefix: str = "", contains: str = "") -> list[Event]:
    return [
        e
        for e in f.events
        if e.reason == reason
        and e.message.lower().startswith(prefix.lower())
        and contains.lower() in e.message.lower()
    ]


def total(events: Sequence[Event]) -> int:
    return sum(e.count for e in events)


def latest(events: Sequence[Event]) -> Event | None:
    return events[-1] if events else None


def merged(events: Sequence[Event], reason: str) -> Evidence | None:
    """One evidence line for several events of the same kind: the newest message, the total count."""
    last = latest(events)
    if last is None:
        return None
    count = total(events)
    return Evidence(f"event {reason} ×{count}" if count > 1 else f"event {reason}", quote(last.message))


# --- image pull -------------------------------------------------------------------------------------

_DENIED = re.compile(
    r"\b401\b|\b403\b|unauthori[sz]ed|forbidden|pull access denied|authorization failed|"
    r"insufficient_scope|authentication required|no basic auth credentials|denied",
    re.IGNORECASE,
)
_UNREACHABLE = re.compile(
    r"no such host|i/o timeout|connection refused|TLS handshake timeout|network is unreachable|"
    r"no route to host|context deadline exceeded|x509|certificate",
    re.IGNORECASE,
)
_NOT_FOUND = re.compile(r"not found|manifest unknown|name unknown|does not exist|no such manifest", re.I)
_IMAGE_IN_MESSAGE = re.compile(r'image "([^"]+)"')


def registry_of(image: str) -> str:
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def repository_of(image: str) -> str:
    """The image without its tag or digest: "ghcr.io/a/web:1.4" -> "ghcr.io/a/web"."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def image_pull_problem(text: str, waiting_reason: str) -> str:
    """ "denied", "unreachable", "not-found", "invalid" or "" for what a pull failure message says."""
    if waiting_reason == "InvalidImageName" or "invalid reference format" in text:
        return "invalid"
    if waiting_reason == "ErrImageNeverPull":
        return "never-pull"
    if _DENIED.search(text):
        return "denied"
    if _UNREACHABLE.search(text):
        return "unreachable"
    if _NOT_FOUND.search(text):
        return "not-found"
    return ""


def rule_image_pull(f: Facts) -> Diagnosis | None:
    waiting_reason = f.waiting.reason if f.waiting else ""
    failed = [
        e
        for e in f.events
        if e.reason in ("Failed", "InspectFailed", "ErrImageNeverPull")
        and ("pull" in e.message.lower() or "image" in e.message.lower())
        and not e.message.startswith("Error: ")
    ]
    # Pull failures that were later overcome leave Failed events behind; only a container still
    # waiting for its image is an image problem.
    not_started = waiting_reason in ("ContainerCreating", "") and f.termination is None
    if waiting_reason not in IMAGE_REASONS and not (failed and not_started):
        return None
    texts = " ".join([e.message for e in failed] + [f.waiting.message if f.waiting else ""])
    problem = image_pull_problem(texts, waiting_reason)
    last = latest(failed)
    found = _IMAGE_IN_MESSAGE.search(last.message) if last else None
    image = found.group(1) if found else (f.spec.image if f.spec else "")
    registry = registry_of(image)
    ev: list[Evidence | None] = []
    if f.waiting is not None:
        ev.append(waiting_evidence(f.waiting))
    ev.append(merged(failed, "Failed"))
    backoff = events_with(f, "BackOff", "Back-off pulling image")
    ev.append(merged(backoff, "BackOff"))
    target = workload(f)
    set_image = (
        f"Point it at a tag that exists: `kubectl set image {_sh(target)} "
        f"{container_word(f)}={_sh(repository_of(image))}:<tag>{ns_flag(f)}`"
        if target
        else "Fix the image reference in the pod's manifest"
    )
    pod_ref = f"{pod_word(f)}{ns_flag(f)}"
    headline_by_problem = {
        "not-found": f"Image {image} can't be pulled: the tag or repository doesn't exist",
        "denied": f"Image {image} can't be pulled: the registry {registry} denied access",
        "unreachable": f"Image {image} can't be pulled: registry {registry} is unreachable from the node",
        "invalid": f"Image reference {image!r} is not a valid image name",
        "never-pull": f"Image {image} is not on the node and imagePullPolicy is Never",
        "": f"Image {image} can't be pulled",
    }
    steps_by_problem: dict[str, list[str]] = {
        "not-found": [
            f"Check the tag exists in {registry}: `docker manifest inspect {_sh(image)}` (or the "
            "registry's UI)",
            set_image,
        ],
        "denied": [
            f"Check the pod's pull secrets: `kubectl get pod {pod_ref} -o "
            f"jsonpath='{{.spec.imagePullSecrets}}'`"
            " and its ServiceAccount's (`kubectl get serviceaccount <sa>"
            f"{ns_flag(f)} -o jsonpath='{{.imagePullSecrets}}'`)",
            f"The pull secret must live {in_namespace(f)}, be of type "
            f"kubernetes.io/dockerconfigjson and hold credentials for {registry}",
            "If the message says the repository may not exist, check the image name too: "
            "registries answer 'denied' for repositories they don't have",
        ],
        "unreachable": [
            "Test the registry from inside the cluster: "
            f"{cmd_debug(f, 'nc', '-zv', registry.split(':')[0], '443')}",
            "Check DNS, proxy and firewall rules between the nodes and the registry",
        ],
        "invalid": [
            f"Fix the image reference in {edit_target(f)} (lowercase, no spaces, name[:tag][@digest])"
        ],
        "never-pull": ["Pre-load the image on the nodes or set imagePullPolicy to IfNotPresent"],
        "": [f"Read the pull error in full: `{cmd_describe(f)}`"],
    }
    return diagnosis(
        "image-pull",
        headline_by_problem[problem],
        f,
        ev,
        [*steps_by_problem[problem], f"`{cmd_describe(f)}` shows the pull attempts under Events"],
    )


# --- missing ConfigMaps, Secrets and keys -----------------------------------------------------------

_MISSING_OBJECT = re.compile(r'\b(secret|configmap)s? "([^"]+)" not found', re.IGNORECASE)
_MISSING_KEY = re.compile(r"couldn't find key (\S+) in (Secret|ConfigMap) ([^/\s]+)/([^\s,\]]+)", re.I)


@dataclass(frozen=True, slots=True)
class MissingConfig:
    kind: str  # "Secret" / "ConfigMap"
    name: str
    key: str = ""  # "" when the whole object is missing


def parse_missing_config(text: str) -> MissingConfig | None:
    key = _MISSING_KEY.search(text)
    if key:
        kind = "Secret" if key.group(2).lower() == "secret" else "ConfigMap"
        return MissingConfig(kind, key.group(4), key.group(1))
    obj = _MISSING_OBJECT.search(text)
    if obj:
        kind = "Secret" if obj.group(1).lower() == "secret" else "ConfigMap"
        return MissingConfig(kind, obj.group(2))
    return None


def refs_to(spec: ContainerSpec | None, kind: str, name: str) -> list[EnvRef]:
    return [r for r in (spec.env_refs if spec else ()) if r.kind == kind and r.name == name]


def describe_ref(ref: EnvRef) -> str:
    if ref.via == "env":
        return f"env {ref.env_name} ← {ref.kind} {ref.name} key {ref.key}"
    if ref.via == "envFrom":
        return f"envFrom {ref.kind} {ref.name}"
    return f"volume from {ref.kind} {ref.name}" + (f" key {ref.key}" if ref.key else "")


def known_configmap_gap(f: Facts) -> MissingConfig | None:
    """A required ConfigMap key the container asks for that the ConfigMap (whose keys we know) lacks."""
    keys = dict(f.inp.configmap_keys)
    for ref in f.spec.env_refs if f.spec else ():
        wanted = ref.kind == "ConfigMap" and ref.key and not ref.optional
        if wanted and ref.name in keys and ref.key not in keys[ref.name]:
            return MissingConfig("ConfigMap", ref.name, ref.key)
    return None


def _config_sources(f: Facts) -> list[tuple[Evidence, str]]:
    """(evidence, text) for every place the kubelet complained about config."""
    found: list[tuple[Evidence, str]] = []
    if f.waiting is not None and f.waiting.reason in CONFIG_REASONS | START_REASONS:
        text = f.waiting.message
        found.append((waiting_evidence(f.waiting), text))
    for event in f.events:
        if event.reason in ("Failed", "FailedMount", "FailedCreatePodContainer"):
            found.append((event_evidence(event), event.message))
    return found


def _never_started(f: Facts) -> bool:
    """Still waiting to be created: config errors stop a container before its first start."""
    waiting_reason = f.waiting.reason if f.waiting else ""
    if waiting_reason in CONFIG_REASONS | START_REASONS:
        return True
    return f.status is None or (waiting_reason in ("ContainerCreating", "") and f.termination is None)


def rule_config_missing(f: Facts) -> Diagnosis | None:
    # Events outlive the fix: a container that has run since is not blocked by its config.
    if not _never_started(f):
        return None
    missing: MissingConfig | None = None
    evidence: list[Evidence] = []
    for ev, text in _config_sources(f):
        hit = parse_missing_config(text)
        if hit is not None:
            missing = missing or hit
            if hit == missing:
                evidence.append(ev)
    if missing is None:
        missing = known_configmap_gap(f)
        if missing is None:
            return None
        keys = dict(f.inp.configmap_keys)[missing.name]
        evidence.append(
            Evidence(f"ConfigMap {missing.name}", quote("keys: " + (", ".join(keys) if keys else "(none)")))
        )
    refs = refs_to(f.spec, missing.kind, missing.name)
    if missing.key:
        refs = [r for r in refs if r.key in (missing.key, "")] or refs
    evidence.extend(Evidence(f"spec {f.label}", quote(describe_ref(r))) for r in refs[:3])
    ns = ns_flag(f)
    kind_cmd = missing.kind.lower()
    used_by = f" (needed by {describe_ref(refs[0])})" if refs else ""
    if missing.key:
        headline = f"Key {missing.key!r} is missing from {missing.kind} {missing.name}{used_by}"
        look = (
            "List the Secret's keys without printing values: `kubectl describe secret "
            f"{_sh(missing.name)}{ns}`"
            if missing.kind == "Secret"
            else f"See the ConfigMap's keys: `kubectl get configmap {_sh(missing.name)}{ns} -o yaml`"
        )
        steps = [
            look,
            f"Add key {missing.key} to {missing.kind} {missing.name}, or fix the key name in "
            f"{edit_target(f)}",
        ]
        close = _close_key(f, missing)
        if close:
            steps.append(f"ConfigMap {missing.name} has {close!r}: a typo in the key name?")
    else:
        headline = f"{missing.kind} {missing.name} doesn't exist {in_namespace(f)}{used_by}"
        steps = [
            f"Check the name and namespace: `kubectl get {kind_cmd}{ns}`"
            + (" (lists names only, no data)" if missing.kind == "Secret" else ""),
            f"Create {missing.kind} {missing.name} {in_namespace(f)}, or fix the "
            f"reference in {edit_target(f)}",
            "Mark the reference `optional: true` only if the app really runs without it",
        ]
    steps.append("The kubelet retries by itself: the container starts once the reference resolves")
    return diagnosis("config-missing", headline, f, evidence, steps)


def _close_key(f: Facts, missing: MissingConfig) -> str:
    keys = dict(f.inp.configmap_keys).get(missing.name, ()) if missing.kind == "ConfigMap" else ()
    close = difflib.get_close_matches(missing.key, list(keys), n=1, cutoff=0.6)
    return close[0] if close else ""


# --- commands that cannot run -----------------------------------------------------------------------

_EXEC_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r'exec: "([^"]+)": executable file not found in \$PATH'), "not-in-path"),
    (re.compile(r'exec: "([^"]+)": (?:stat \S+: )?no such file or directory'), "no-such-file"),
    (re.compile(r"exec (\S+): no such file or directory"), "no-such-file"),
    (re.compile(r"(?:exec format error)"), "exec-format"),
    (re.compile(r'exec: "([^"]+)": permission denied'), "permission"),
    (
        re.compile(
            r"(?:^|\s)(?:/bin/)?(?:ba|da)?sh: (?:\d+: )?(?:line \d+: )?(\S+?): (?:command )?not found"
        ),
        "shell-not-found",
    ),
    (re.compile(r"/usr/bin/env: ['‘\"]?([^'’\":]+)['’\"]?: No such file or directory"), "interpreter"),
    (
        re.compile(r"(?:^|\s)(?:/bin/)?(?:ba|da)?sh: (?:\d+: )?(?:line \d+: )?(\S+?): Permission denied"),
        "permission",
    ),
    (re.compile(r"executable file not found"), "not-in-path"),
)
# Interpreters and servers a typo in `command` most often misses.
_COMMON_COMMANDS = (
    "python", "python3", "node", "java", "sh", "bash", "ruby", "php", "perl", "nginx",
    "gunicorn", "uvicorn", "dotnet", "npm",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ExecProblem:
    kind: str
    command: str
    evidence: Evidence


def find_exec_problem(f: Facts, *, read_log: bool) -> ExecProblem | None:
    """The runtime's (or the shell's) complaint about the command, with where it was said."""
    texts: list[tuple[str, Evidence]] = []
    term = f.termination
    if term is not None and term.message:
        texts.append((term.message, Evidence(f"{f.termination_source}.message", quote(term.message))))
    if f.waiting is not None and f.waiting.message:
        texts.append((f.waiting.message, waiting_evidence(f.waiting)))
    texts.extend((e.message, event_evidence(e)) for e in reversed(f.events) if e.reason == "Failed")
    if read_log:
        texts.extend((line, log_evidence(f, line)) for line in reversed(f.log_lines))
    for text, ev in texts:
        for pattern, kind in _EXEC_PATTERNS:
            match = pattern.search(text)
            if match:
                return ExecProblem(kind, match.group(1) if match.groups() else "", ev)
    return None


_SENSITIVE_ARG = re.compile(
    r"(?i)^(-{0,2}[\w.-]*(?:pass(?:word|wd)?|secret|token|api[-_]?key|credentials?)[\w.-]*=).+"
)


def command_words(spec: ContainerSpec | None) -> str:
    """The container's command line as a shell would read it, with `--password=...` values hidden."""
    if spec is None or not (spec.command or spec.args):
        return ""
    words = (_SENSITIVE_ARG.sub(r"\1***", w) for w in (*spec.command, *spec.args))
    return " ".join(shlex.quote(w) for w in words)


def rule_command_not_found(f: Facts) -> Diagnosis | None:
    code = f.exit_code
    # A runtime that could not start the process labels it; a shell says so with 126/127.
    labelled = f.reason in ("StartError", "ContainerCannotRun") or (
        f.waiting is not None and f.waiting.reason in START_REASONS - {"CreateContainerError"}
    )
    problem = find_exec_problem(f, read_log=labelled or code in (126, 127))
    if not (labelled or code in (126, 127) or problem):
        return None
    kind = (
        problem.kind
        if problem
        else ("cannot-execute" if code == 126 else "shell-not-found" if code == 127 else "")
    )
    name = problem.command if problem else ""
    shown = f"`{name}`" if name else "the command"
    explanations = {
        "not-in-path": f"{shown} is not in the image's $PATH",
        "no-such-file": f"{shown} doesn't exist in the image (a wrong path, or a missing interpreter)",
        "exec-format": "the binary is built for another CPU architecture (exec format error)",
        "permission": f"{shown} is not executable (permission denied)",
        "cannot-execute": "the command was found but could not be executed (exit 126)",
        "shell-not-found": f"the shell could not find {shown} (exit 127)",
        "interpreter": f"the script's interpreter {shown} is not in the image",
        "": "the runtime could not start the process",
    }
    headline = f"{f.subject} can't start its command: {explanations[kind]}"
    cmd = command_words(f.spec)
    ev: list[Evidence | None] = [termination_evidence(f), problem.evidence if problem else None]
    if f.waiting is not None and f.waiting.reason in START_REASONS and not problem:
        ev.append(waiting_evidence(f.waiting))
    ev.append(
        Evidence(f"spec {f.label} command", quote(cmd))
        if cmd
        else Evidence(f"spec {f.label}", "no command/args override: the image's ENTRYPOINT/CMD runs")
        if f.spec_known
        else Evidence(f"spec {f.label} command", "not in the input")
    )
    image = f.spec.image if f.spec else (f.status.image if f.status and f.status.image else "<image>")
    steps = [
        f"Fix command/args in {edit_target(f)}" + (f" (now: {cmd})" if cmd else ""),
        f"See what the image contains: `docker run --rm --entrypoint sh {_sh(image)} -c 'command -v "
        f"{name or '<cmd>'}'`",
    ]
    close = difflib.get_close_matches(name, _COMMON_COMMANDS, n=1, cutoff=0.75) if name else []
    if close and close[0] != name:
        steps.insert(0, f"`{name}` looks like a typo of `{close[0]}`")
    if kind == "exec-format":
        steps.append(
            "Build or pull the image for the node's architecture (`kubectl get node -o wide`; "
            "multi-arch images)"
        )
    if not f.spec_known:
        steps.append(f"See its command and args: `{cmd_spec(f, 'command')}` and `{cmd_spec(f, 'args')}`")
    if not cmd:
        steps.append(
            f"Check the image's entrypoint: `docker inspect {_sh(image)} --format "
            f"'{{{{.Config.Entrypoint}}}} {{{{.Config.Cmd}}}}'`"
        )
    return diagnosis("command-not-found", headline, f, ev, steps)


# --- memory -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemoryTrend:
    """What the samples say about the container's memory up to its death."""

    count: int
    peak: int
    first: MemorySample | None
    last: MemorySample | None  # the last sample before the kill
    slope_mib_per_min: float  # least squares over the samples
    climbing: bool  # kept rising steadily until the kill


def memory_trend(
    samples: Sequence[MemorySample], start: datetime | None, end: datetime | None
) -> MemoryTrend | None:
    """The trend over the dead instance's lifetime (all samples when its times are unknown).

    Samples taken after `end` (the kill) belong to the instance that replaced it: they never stand
    for "the last sample before the kill". None when every sample came after it.
    """
    ordered = sorted(samples, key=lambda s: s.at)
    if end is not None:
        before = [s for s in ordered if s.at <= end]
        window = [s for s in before if start is None or start <= s.at]
        ordered = window or before
    if not ordered:
        return None
    slope = _slope_mib_per_min(ordered)
    rising_steps = sum(1 for a, b in itertools.pairwise(ordered) if b.bytes > a.bytes)
    span = (ordered[-1].at - ordered[0].at).total_seconds()
    climbing = (
        len(ordered) >= 4
        and span >= 60
        and slope > 0
        and rising_steps >= 0.75 * (len(ordered) - 1)
        and ordered[-1].bytes >= 1.3 * ordered[0].bytes
    )
    return MemoryTrend(
        count=len(ordered),
        peak=max(s.bytes for s in ordered),
        first=ordered[0],
        last=ordered[-1],
        slope_mib_per_min=slope,
        climbing=climbing,
    )


def _slope_mib_per_min(samples: Sequence[MemorySample]) -> float:
    if len(samples) < 2:
        return 0.0
    t0 = samples[0].at
    xs = [(s.at - t0).total_seconds() / 60 for s in samples]
    ys = [s.bytes / MIB for s in samples]
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


def container_samples(f: Facts) -> list[MemorySample]:
    return [s for s in f.inp.memory if s.container == f.container]


def memory_findings(f: Facts, limit: int | None) -> tuple[list[Evidence], list[str], MemoryTrend | None]:
    """Evidence and advice from the memory samples, honest about what they cannot show."""
    term = f.termination
    samples = container_samples(f)
    trend = memory_trend(samples, term.started_at if term else None, term.finished_at if term else None)
    if trend is None:
        why = (
            f"all {len(samples)} taken after the kill"
            if samples
            else "not in the input"
            if f.lacks("metrics")
            else "metrics.k8s.io is not available on this cluster"
            if not f.inp.metrics_available
            else "no samples yet"
        )
        return [Evidence("memory samples", f"none ({why})")], [], None
    ev: list[Evidence] = []
    notes: list[str] = []
    peak_text = fmt_bytes(trend.peak)
    if limit:
        peak_text += f" of the {fmt_bytes(limit)} limit ({trend.peak * 100 // limit}%)"
    ev.append(Evidence("memory samples", f"peak {peak_text} over {trend.count} samples"))
    if trend.climbing and trend.first and trend.last:
        ev.append(
            Evidence(
                "memory trend",
                f"{fmt_bytes(trend.first.bytes)} → {fmt_bytes(trend.last.bytes)}, "
                f"+{trend.slope_mib_per_min:.1f} Mi/min until the kill",
            )
        )
    if (
        limit
        and trend.last
        and term is not None
        and term.finished_at is not None
        and trend.last.bytes < 0.8 * limit
    ):
        gap = (term.finished_at - trend.last.at).total_seconds()
        notes.append(
            f"The last sample before the kill ({fmt_seconds(gap)} earlier) was "
            f"{fmt_bytes(trend.last.bytes)}, "
            f"well under the {fmt_bytes(limit)} limit: the spike fell between samples "
            f"(metrics resolution is {METRICS_RESOLUTION_S} s at best) - look for a burst (a large "
            "request, a file loaded whole)"
        )
    return ev, notes, trend


def rule_oom(f: Facts) -> Diagnosis | None:
    if f.reason != "OOMKilled":
        return None
    limit = f.spec.memory_limit if f.spec else None
    mem_ev, notes, trend = memory_findings(f, limit)
    ev: list[Evidence | None] = [termination_evidence(f)]
    shown = fmt_bytes(limit) if limit else "(none)" if f.spec_known else "(not in the input)"
    ev.append(Evidence(f"spec {f.label} resources.limits.memory", shown))
    ev.extend(mem_ev)
    if f.log_cut and f.log_lines:
        ev.append(log_evidence(f, f.log_lines[-1] + " [log ends mid-line]"))
    ev.extend(e for e in [merged(events_with(f, "OOMKilling"), "OOMKilling")] if e)
    target = workload(f)
    peak = trend.peak if trend else 0
    steps: list[str] = []
    if not f.spec_known:
        headline = f"{f.subject} was OOM-killed; its memory limit is not in the input"
        steps.extend(oom_steps_without_spec(f, target))
    elif limit is None:
        headline = f"{f.subject} was OOM-killed with no memory limit: the node ran out of memory"
        base = peak or 0
        steps.append(
            "Set a memory request and limit from observed use"
            + (f": request {fmt_mib(nice_mib(base))}, limit {fmt_mib(nice_mib(base * 1.5))}" if base else "")
        )
        steps.append(f"Check the node's memory pressure: `kubectl describe node {node_ref(f)}`")
    else:
        new_limit = fmt_mib(nice_mib(max(peak, limit) * 1.5))
        if trend is not None and trend.climbing:
            headline = (
                f"{f.subject} was OOM-killed at its {fmt_bytes(limit)} limit after memory climbed "
                f"steadily (+{trend.slope_mib_per_min:.1f} Mi/min): looks like a leak"
            )
            minutes = (nice_mib(max(peak, limit) * 1.5) - limit / MIB) / max(trend.slope_mib_per_min, 0.01)
            steps.append(
                f"Investigate the leak: memory rose {trend.slope_mib_per_min:.1f} Mi/min until the "
                "kill; a bigger limit only "
                f"delays it (at this rate {new_limit} adds about {fmt_seconds(minutes * 60)}); take a "
                "heap profile"
            )
            steps.append(_set_memory(f, target, new_limit, "a stop-gap while the leak is found"))
        else:
            headline = f"{f.subject} was OOM-killed: it needs more than its {fmt_bytes(limit)} memory limit"
            basis = (
                f"observed peak {fmt_bytes(peak)}"
                if trend and peak >= limit * 0.8
                else f"the {fmt_bytes(limit)} limit it hit"
            )
            steps.append(_set_memory(f, target, new_limit, f"{basis} ×1.5"))
            steps.append(
                "If usage keeps climbing after the raise, investigate a leak rather than raising again"
            )
    steps.extend(notes)
    if trend is None:
        steps.append(
            "No memory samples to size the limit from: watch it after the change with "
            f"`kubectl top pod {pod_word(f)}{ns_flag(f)} --containers`"
        )
    steps.append(f"`{cmd_logs(f)}` shows what it was doing when it died")
    return diagnosis("oom-killed", headline, f, ev, steps)


def oom_steps_without_spec(f: Facts, target: str) -> list[str]:
    """What to do about an OOM kill when the limit it hit is unknown: look it up first."""
    raise_it = (
        "If it has one, raise it to about 1.5× what it hit: `kubectl set resources "
        f"{_sh(target)}{ns_flag(f)} -c {container_word(f)} --limits=memory=<new-limit>`"
        if target
        else f"If it has one, raise resources.limits.memory of {f.label} to about 1.5× what it hit"
    )
    return [
        f"See its memory limit: `{cmd_spec(f, 'resources')}`",
        raise_it,
        f"If it has none, the node ran out of memory: `kubectl describe node {node_ref(f)}`",
    ]


def node_ref(f: Facts) -> str:
    return _sh(f.pod.node_name) if f.pod.node_name else "<node>"


def _set_memory(f: Facts, target: str, new_limit: str, why: str) -> str:
    if target:
        return (
            f"Raise the memory limit to {new_limit} ({why}): `kubectl set resources {_sh(target)} "
            f"{ns_flag(f)} -c {container_word(f)} --limits=memory={new_limit}`"
        )
    return f"Raise resources.limits.memory of {f.label} to {new_limit} ({why})"


# --- probes -----------------------------------------------------------------------------------------

_STARTUP_TIME = re.compile(
    r"\b(?:started|ready|listening|startup (?:complete|finished)|initiali[sz]ed)\b[^\n]*?"
    r"\b(?:in|after|took)\s+(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds)\b",
    re.IGNORECASE,
)


def probe_window(probe: Probe) -> int:
    """The kubelet's budget: the seconds after the container started by which a probe that always
    fails has failed failureThreshold times in a row. The first probe runs at initialDelaySeconds,
    the others a period apart, so the last failure lands (failureThreshold - 1) periods after it
    (10 s delay, period 5 s, threshold 3: probes at 10, 15, 20 s, killed at 20 s). The prober's
    ticker can put the first probe up to a period later, so a kill may come that much after."""
    return probe.initial_delay_seconds + probe.period_seconds * max(0, probe.failure_threshold - 1)


def probe_numbers(probe: Probe) -> str:
    return (
        f"initialDelaySeconds {probe.initial_delay_seconds} + periodSeconds {probe.period_seconds} × "
        f"(failureThreshold {probe.failure_threshold} - 1) = {probe_window(probe)} s"
    )


def startup_seconds_from_logs(lines: Iterable[str]) -> float | None:
    """ "Started App in 48.3 seconds", "ready after 45s": the app's own account of its startup."""
    for line in lines:
        match = _STARTUP_TIME.search(line)
        if match:
            value = float(match.group(1))
            return value / 1000 if match.group(2).lower() == "ms" else value
    return None


STARTUP_PERIOD_S = 10  # the period suggested for a new startupProbe
DEFAULT_GRACE_S = 30  # terminationGracePeriodSeconds when the pod spec leaves it out


def startup_allowance(observed: float | None, lower_bound: float | None) -> tuple[float, str]:
    """Seconds a startup check should allow, and why: twice the real startup, or generous when unknown."""
    if observed is not None:
        return 2 * observed, f"observed startup {fmt_seconds(observed)} ×2"
    if lower_bound:
        return (
            max(120.0, 2 * lower_bound),
            f"it was still not up after {fmt_seconds(lower_bound)}: measure the real startup and keep ×2",
        )
    return 120.0, "measure the real startup and keep ×2"


def startup_steps(kind: str, probe: Probe, observed: float | None, lower_bound: float | None) -> list[str]:
    """The probe change that lets a slow starter finish, with numbers."""
    allow, basis = startup_allowance(observed, lower_bound)
    if kind == "startup":
        # The budget is initialDelaySeconds + (failureThreshold - 1) periods (see probe_window).
        threshold = math.ceil(max(0.0, allow - probe.initial_delay_seconds) / probe.period_seconds) + 1
        allowed = probe_window(replace(probe, failure_threshold=threshold))
        return [
            f"Give the startupProbe more time: failureThreshold {threshold} with periodSeconds "
            f"{probe.period_seconds} allows {allowed} s instead of {probe_window(probe)} s ({basis})"
        ]
    threshold = math.ceil(allow / STARTUP_PERIOD_S)
    return [
        f"Add a startupProbe with the liveness check ({probe.handler}), periodSeconds {STARTUP_PERIOD_S}, "
        f"failureThreshold {threshold}: it allows {threshold * STARTUP_PERIOD_S} s ({basis}), and "
        "liveness only starts once it passes",
        f"Or raise the liveness initialDelaySeconds from {probe.initial_delay_seconds} to at least "
        f"{math.ceil(allow)}",
    ]


@dataclass(frozen=True, slots=True)
class ProbeKill:
    kind: str  # "liveness" / "startup"
    killing: list[Event]
    unhealthy: list[Event]


def _near_death(f: Facts, events: Sequence[Event]) -> bool:
    """True unless timestamps show the last such event predates the dead instance's start."""
    term = f.termination
    last = latest(events)
    if last is None or term is None or term.started_at is None or when(last) == 0.0:
        return True
    # Event times counted back from an uncertain `now` can't be set against the container's start.
    return f.lacks("as-of") or when(last) >= term.started_at.timestamp() - 1


def find_probe_kill(f: Facts) -> ProbeKill | None:
    """Liveness or startup probe kills: a Killing event, or repeated failures before a death by signal."""
    for kind in ("startup", "liveness"):
        killing = events_with(f, "Killing", contains=f"failed {kind} probe")
        unhealthy = sorted(
            events_with(f, "Unhealthy", f"{kind.capitalize()} probe failed")
            + events_with(f, "Unhealthy", f"{kind.capitalize()} probe errored"),
            key=when,
        )
        if killing and _near_death(f, killing):
            return ProbeKill(kind, killing, unhealthy)
        # Older servers and expired events: repeated failures still explain a death by signal.
        signalled = f.exit_code in (137, 143) or f.termination is None
        if unhealthy and signalled and total(unhealthy) >= 2 and _near_death(f, unhealthy):
            return ProbeKill(kind, [], unhealthy)
    return None


def kill_delay(f: Facts, kill: ProbeKill) -> tuple[float | None, float]:
    """Seconds from the dead instance's start to the kill, and how much of that may be grace period."""
    term = f.termination
    ran = f.run_seconds
    last_kill = latest(kill.killing)
    # Event times counted back from an uncertain `now` say nothing about the kill's moment.
    if (
        last_kill is not None
        and when(last_kill)
        and not f.lacks("as-of")
        and term is not None
        and term.started_at is not None
    ):
        decided = when(last_kill) - term.started_at.timestamp()
        if 0 <= decided <= (ran if ran is not None else decided) + 5:
            return decided, 0.0
    if ran is None:
        return None, 0.0
    # After SIGTERM the kubelet waits out the grace period before SIGKILL (exit 137).
    return ran, float(DEFAULT_GRACE_S) if f.exit_code == 137 else 0.0


def probe_failure_flavour(message: str) -> str:
    text = message.lower()
    if "connection refused" in text:
        return "nothing answered on the probe port (connection refused)"
    if "deadline exceeded" in text or "timeout" in text or "timed out" in text:
        return "the endpoint answered too slowly (probe timeout)"
    match = re.search(r"statuscode: (\d+)", text)
    if match:
        return f"the endpoint answered HTTP {match.group(1)}"
    return ""


def rule_probe_kill(f: Facts) -> Diagnosis | None:
    if f.reason == "OOMKilled":
        return None
    kill = find_probe_kill(f)
    if kill is None:
        return None
    probe = (f.spec.startup if kill.kind == "startup" else f.spec.liveness) if f.spec else None
    what = f"{kill.kind} probe"
    last_failure = latest(kill.unhealthy)
    flavour = probe_failure_flavour(last_failure.message) if last_failure else ""
    observed = startup_seconds_from_logs(f.log_lines)
    delay, slack = kill_delay(f, kill)
    ev: list[Evidence | None] = [
        merged(kill.unhealthy, "Unhealthy"),
        merged(kill.killing, "Killing"),
        termination_evidence(f),
    ]
    if f.run_seconds is not None:
        ev.append(
            Evidence(f"{f.termination_source} startedAt→finishedAt", f"ran {fmt_seconds(f.run_seconds)}")
        )
    if probe is not None:
        ev.append(
            Evidence(f"spec {f.label} {kill.kind}Probe", quote(f"{probe.handler}; {probe_numbers(probe)}"))
        )
    if observed is not None:
        ev.append(
            Evidence(f.log_source or "log", f"the app reports its startup took {fmt_seconds(observed)}")
        )
    steps: list[str] = []
    if probe is None or delay is None:
        headline = f"The {what} kills {f.container}" + (f": {flavour}" if flavour else "")
        steps.append(
            f"Compare how long the app takes to start with the probe ({probe_numbers(probe)})"
            if probe
            else f"Compare how long the app takes to start with the {what} in {edit_target(f)}"
        )
    elif kill.kind == "startup" or (
        f.spec is not None
        and f.spec.startup is None
        and delay - slack <= probe_window(probe) + 2 * probe.period_seconds
    ):
        window = probe_window(probe)
        allows = f"the probe gives it {window} s (up to {window + probe.period_seconds} s as its ticks fall)"
        headline = f"The {what} kills {f.container} before it finishes starting: " + (
            f"dead {fmt_seconds(delay)} after start ({allows}, then up to {slack:.0f} s grace period)"
            if slack
            else f"killed {fmt_seconds(delay)} after start, {allows}"
        )
        steps.extend(startup_steps(kill.kind, probe, observed, delay - slack))
    else:
        headline = f"The {what} kills {f.container} after {fmt_seconds(delay)} of running: " + (
            flavour or "it stops answering"
        )
        steps.append(
            f"It was up for {fmt_seconds(delay)} before failing {probe.handler}: look for a hang, a deadlock "
            f"or overload at the end of `{cmd_logs(f)}`"
        )
        if "too slowly" in flavour:
            steps.append(
                f"timeoutSeconds is {probe.timeout_seconds}: raise it if the endpoint is only slow under load"
            )
        if "connection refused" in flavour:
            steps.append(f"Check that {probe.handler} is the port the app listens on")
        steps.append("Keep the liveness check local: it must not fail because a dependency is down")
    if events_with(f, "Unhealthy", "Readiness probe failed"):
        steps.append(
            "Readiness failures only take the pod out of Service endpoints; the restarts come from "
            f"the {what}"
        )
    steps.append(f"Watch the probe events: `{cmd_describe(f)}`")
    return diagnosis("liveness-probe", headline, f, ev, steps)


# --- the dying words --------------------------------------------------------------------------------

_ENV_NAME = r"['\"`]?([A-Za-z_][A-Za-z0-9_]*)['\"`]?"
_MISSING_ENV = (
    re.compile(rf"required (?:env(?:ironment)?(?: var(?:iable)?)?s?) {_ENV_NAME}", re.I),
    re.compile(
        rf"(?:env(?:ironment)?\s+var(?:iable)?|\benv)\s+{_ENV_NAME}\s+(?:is\s+)?"
        r"(?:not set|unset|missing|required|empty|undefined)",
        re.I,
    ),
    re.compile(rf"missing (?:required )?(?:env(?:ironment)?(?: var(?:iable)?)?) {_ENV_NAME}", re.I),
    re.compile(r"KeyError: '([A-Z][A-Z0-9_]+)'"),
    re.compile(
        r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]+) (?:is )?(?:not set|must be set|is required|is missing|missing)\b"
    ),
)


def missing_env(lines: Sequence[str]) -> tuple[str, str] | None:
    """(variable, line) for the last line saying a required environment variable is absent."""
    for line in reversed(lines):
        for pattern in _MISSING_ENV:
            match = pattern.search(line)
            if match:
                return match.group(1), line
    return None


_DNS = re.compile(
    r"no such host|could not translate host name|Name or service not known|ENOTFOUND|EAI_AGAIN|"
    r"UnknownHostException|Temporary failure in name resolution|nodename nor servname|getaddrinfo failed",
    re.I,
)
_REFUSED = re.compile(r"connection refused|ECONNREFUSED|Connection refused", re.I)
_TIMEOUT = re.compile(r"i/o timeout|timed out|ETIMEDOUT|deadline exceeded|timeout expired", re.I)
_NO_ROUTE = re.compile(r"no route to host|network is unreachable|EHOSTUNREACH|ENETUNREACH", re.I)
_CONNECTION_TROUBLE = re.compile("|".join(p.pattern for p in (_DNS, _REFUSED, _TIMEOUT, _NO_ROUTE)), re.I)
_HOST_PATTERNS = (
    re.compile(r"dial tcp \[?([\w.:-]+?)\]?:(\d+)"),
    re.compile(r"lookup ([\w.-]+)(?: on [\d.:\[\]a-f]+)?: "),
    re.compile(r'could not translate host name "([^"]+)"'),
    re.compile(r'connection to server at "([^"]+)"(?: \([^)]*\))?, port (\d+)'),
    re.compile(r'server on (?:host )?"([^"]+)"(?: \([^)]*\))?.*?port (\d+)', re.S),
    re.compile(r"connect E\w+ ([\w.-]+):(\d+)"),
    re.compile(r"getaddrinfo E\w+ ([\w.-]+)"),
    re.compile(r"[Ee]rror -?\d+ connecting to ([\w.-]+):(\d+)"),
    re.compile(r"server on '([\w.-]+)(?::(\d+))?'"),
    re.compile(r"UnknownHostException: ([\w.-]+)"),
    re.compile(r"\b((?:[a-zA-Z][\w-]*)(?:\.[\w-]+)*|\d{1,3}(?:\.\d{1,3}){3}):(\d{2,5})\b"),
)
_DEFAULT_PORTS = (
    ("postgres", 5432), ("psql", 5432), ("pg", 5432), ("mysql", 3306), ("mariadb", 3306),
    ("redis", 6379), ("mongo", 27017), ("kafka", 9092), ("rabbit", 5672), ("amqp", 5672),
    ("elastic", 9200), ("memcache", 11211), ("nats", 4222),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Unreachable:
    problem: str  # "dns", "refused", "timeout", "no-route"
    host: str
    port: str
    port_guessed: bool
    line: str
    index: int  # of `line` in the dying words


def connection_problem(line: str) -> str:
    """ "dns", "refused", "no-route", "timeout" or "" for what a line says about a connection."""
    return (
        "dns" if _DNS.search(line)
        else "refused" if _REFUSED.search(line)
        else "no-route" if _NO_ROUTE.search(line)
        else "timeout" if _TIMEOUT.search(line)
        else ""
    )  # fmt: skip


# "    at net.Socket.connect(Socket.java:609)", "    at ... (node:dns:107:26)": not hosts.
_STACK_FRAME = re.compile(r"^\s*at\s")


def dependency_failure(lines: Sequence[str]) -> Unreachable | None:
    """The last line in the dying words saying a connection failed, with the host and port named."""
    for index in range(len(lines) - 1, -1, -1):
        problem = connection_problem(lines[index])
        if not problem:
            continue
        # The line itself first, then its neighbours (libpq spreads one error over several lines).
        context = [
            text
            for text in (
                lines[index],
                *reversed(lines[max(0, index - 3) : index]),
                *lines[index + 1 : index + 3],
            )
            if not _STACK_FRAME.match(text)
        ]
        host, port = _host_port(context)
        guessed = False
        if host and not port:
            port, guessed = _default_port(" ".join([host, *lines])), True
        line = _telling_line(lines, index, problem)
        return Unreachable(problem, host, port, guessed and bool(port), line, index)
    return None


def _telling_line(lines: Sequence[str], index: int, problem: str) -> str:
    """The line to quote: one naming a host. A Node.js error object ends with `code: 'ENOTFOUND'`
    a few lines below its first line, which says what failed and where."""
    for line in reversed(lines[max(0, index - 3) : index + 1]):
        if connection_problem(line) == problem and not _STACK_FRAME.match(line) and _host_port([line])[0]:
            return line
    return lines[index]


def _host_port(texts: Sequence[str]) -> tuple[str, str]:
    host, port = "", ""
    for text in texts:
        for pattern in _HOST_PATTERNS:
            for match in pattern.finditer(text):
                found_host = match.group(1)
                found_port = match.group(2) if (match.lastindex or 0) >= 2 and match.group(2) else ""
                if found_port == "53" and "lookup" in text:
                    continue  # the DNS server, not the dependency
                if found_host.lower() in ("http", "https", "tcp", "localhost") and not found_port:
                    continue
                if not host:
                    host = found_host
                if found_host == host and found_port and not port:
                    port = found_port
                if host and port:
                    return host, port
    return host, port


def _fatal_after(lines: Sequence[str], index: int) -> bool:
    """A later fatal line about something else: the connection trouble was a retry, not the death."""
    fatal = dying_words(lines)
    if not fatal:
        return False
    last = max(i for i, line in enumerate(lines) if line.strip() == fatal)
    return last > index and not _CONNECTION_TROUBLE.search(fatal)


def _default_port(text: str) -> str:
    lowered = text.lower()
    for word, port in _DEFAULT_PORTS:
        if word in lowered:
            return str(port)
    return ""


def rule_missing_env(f: Facts) -> Diagnosis | None:
    if not f.log_lines or f.exit_code == 137:
        return None
    found = missing_env(f.log_lines)
    if found is None:
        return None
    var, line = found
    spec = f.spec
    ev: list[Evidence | None] = [termination_evidence(f), log_evidence(f, line)]
    refs = [r for r in (spec.env_refs if spec else ()) if r.env_name == var]
    env_from = [r for r in (spec.env_refs if spec else ()) if r.via == "envFrom"]
    ns = ns_flag(f)
    steps: list[str] = []
    if not f.spec_known:
        ev.append(Evidence(f"spec {f.label} env", "not in the input"))
        steps.append(
            f"See whether {var} is set, and where from (a value, a Secret or ConfigMap key, envFrom): "
            f"`{cmd_describe(f)}` (Environment)"
        )
    elif spec is not None and var in spec.env_names:
        ev.append(Evidence(f"spec {f.label} env", f"{var} is set (value not shown)"))
        steps.append(
            f"{var} is set in the pod spec but the app rejects it: check its value is not empty or malformed"
        )
    elif refs:
        ref = refs[0]
        ev.append(Evidence(f"spec {f.label} env", quote(describe_ref(ref))))
        check = (
            f"`kubectl describe secret {_sh(ref.name)}{ns}` (key names and sizes only)"
            if ref.kind == "Secret"
            else f"`kubectl get configmap {_sh(ref.name)}{ns} -o yaml`"
        )
        steps.append(
            f"{var} comes from {ref.kind} {ref.name} key {ref.key}: check that key holds a value: {check}"
        )
    elif env_from:
        names = ", ".join(f"{r.kind} {r.name}" for r in env_from)
        ev.append(Evidence(f"spec {f.label} envFrom", quote(names)))
        steps.append(f"{var} can only come from envFrom ({names}): check it has a key named {var}")
    else:
        ev.append(Evidence(f"spec {f.label} env", f"{var} is not set in the pod spec"))
        target = workload(f)
        steps.append(
            f"Set {var}: `kubectl set env {_sh(target)}{ns} -c {container_word(f)} {var}=<value>`"
            + " (for a sensitive value use valueFrom.secretKeyRef, or `--from=secret/<name>`)"
            if target
            else f"Add {var} to the env of {f.label} in the pod's manifest"
        )
    steps.append(f"The full error: `{cmd_logs(f, tail=50)}`")
    headline = f"{f.subject} exits"
    headline += f" with code {f.exit_code}" if f.exit_code not in (None,) else ""
    headline += f": environment variable {var} is not set"
    return diagnosis("app-error", headline, f, ev, steps)


def rule_dependency(f: Facts) -> Diagnosis | None:
    if not f.log_lines or f.exit_code == 137:
        return None
    found = dependency_failure(f.log_lines)
    if found is None or _fatal_after(f.log_lines, found.index):
        return None
    what = {
        "dns": "its name doesn't resolve",
        "refused": "connection refused",
        "timeout": "connection timed out",
        "no-route": "no route to host",
    }[found.problem]
    target = f"{found.host}:{found.port}" if found.host and found.port else found.host or "a dependency"
    headline = f"{f.subject} can't reach {target} ({what})"
    if f.exit_code is not None:
        headline += f" and exits with code {f.exit_code}"
    ev: list[Evidence | None] = [termination_evidence(f), log_evidence(f, found.line)]
    if found.port_guessed:
        ev.append(
            Evidence("assumed", f"port {found.port} is the usual one for {found.host}; the log didn't say")
        )
    ns = ns_flag(f)
    short_host = found.host.split(".")[0] if found.host and not found.host[0].isdigit() else ""
    steps: list[str] = []
    if found.host:
        steps.append(
            "Test it from inside the cluster network (not from a laptop): "
            f"`{cmd_debug(f, 'nc', '-zv', found.host, found.port or '<port>')}`"
        )
    if found.problem == "dns":
        steps.append(
            f"Does the Service exist? `kubectl get svc {_sh(short_host) if short_host else '<service>'}{ns}` "
            f"(a Service in another namespace is reached as {short_host or '<service>'}.<other-ns>)"
        )
        if found.host:
            steps.append(f"Resolve it the way the pod does: `{cmd_debug(f, 'nslookup', found.host)}`")
    elif found.problem == "refused":
        if short_host:
            steps.append(
                f"Does {short_host} have ready endpoints? `kubectl get endpointslices{ns} "
                f"-l kubernetes.io/service-name={_sh(short_host)}` (no endpoints or a wrong port "
                "means refused)"
            )
    else:
        steps.append(
            f"Look for a NetworkPolicy or firewall dropping the traffic: `kubectl get networkpolicy{ns}`"
        )
    steps.append(
        "Make the app retry with backoff at startup instead of exiting while the dependency is not ready"
    )
    steps.append(f"The full error: `{cmd_logs(f, tail=50)}`")
    return diagnosis("dependency-unreachable", headline, f, ev, steps)


_FATAL = re.compile(
    r"\bfatal\b|\bCRITICAL\b|\bpanic\b|Exception in thread|^\s*Caused by: |"
    r"^[\w.$]+(?:Exception|Error)(?::|$)",
    re.I,
)
_ERROR = re.compile(
    r"\bError:|\berror:|\bERROR\b|\"level\":\s*\"error\"|level=error|\bException\b|\bfailed\b", re.I
)
_PY_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|KeyError)\b(?::.*)?$")


def dying_words(lines: Sequence[str]) -> str:
    """The line that best says why the process died: an exception's last line, a panic, a FATAL."""
    traceback = max(
        (i for i, line in enumerate(lines) if "Traceback (most recent call last)" in line), default=-1
    )
    if traceback >= 0:
        for line in reversed(lines[traceback:]):
            if _PY_EXCEPTION.match(line.strip()):
                return line.strip()
    for pattern in (_FATAL, _ERROR):
        for line in reversed(lines):
            if pattern.search(line) and "Traceback (most recent" not in line:
                return line.strip()
    # A traceback cut off at the top of the tail still ends with the exception.
    for line in reversed(lines):
        if _PY_EXCEPTION.match(line.strip()):
            return line.strip()
    return ""


def rule_app_error(f: Facts) -> Diagnosis | None:
    code = f.exit_code
    if code is None and f.restarts and f.termination is None:
        return rule_unrecorded_exit(f)
    if code is None or code == 0 or code in (137, 143):
        return None
    meaning = explain_exit(code, f.termination.signal if f.termination else None, f.reason)
    line = dying_words(f.log_lines)
    ev: list[Evidence | None] = [termination_evidence(f)]
    from_message = f.log_source == f"{f.termination_source}.message"
    if f.termination and f.termination.message and not from_message:
        ev.append(Evidence(f"{f.termination_source}.message", quote(f.termination.message)))
    steps: list[str] = []
    if line:
        ev.append(log_evidence(f, line))
        headline = f"{f.subject} exits with code {code}: {line}"
        steps.append(f"Read the whole error: `{cmd_logs(f, tail=50)}`")
    elif f.log_lines:
        ev.append(log_evidence(f, f.log_lines[-1]))
        where = "termination message" if from_message else "log"
        headline = (
            f"{f.subject} exits with code {code} ({meaning.short}); its last {where} line names no error"
        )
        steps.append(f"Read more of the log: `{cmd_logs(f, tail=200)}`")
    else:
        headline = f"{f.subject} exits with code {code} ({meaning.short})"
        if f.log_source:
            ev.append(Evidence(f.log_source, "(empty: the process wrote nothing before exiting)"))
            steps.append(
                "The app wrote nothing before exiting: run it with more logging, or check the "
                "command and args"
            )
        else:
            steps.append(f"Read its dying words: `{cmd_logs(f)}`")
    if not line or meaning.signal_name:
        steps.append(f"Exit {code}: {meaning.detail}")
    steps.append(
        f"Check the env vars, ConfigMaps and Secrets it reads, and the Last State in `{cmd_describe(f)}`"
    )
    return diagnosis("app-error", headline, f, ev, steps)


def rule_unrecorded_exit(f: Facts) -> Diagnosis | None:
    """Restarting, no termination recorded (lastState lost), but the log names the error."""
    line = dying_words(f.log_lines)
    if not line:
        return None
    return diagnosis(
        "app-error",
        f"{f.subject} keeps restarting (exit not recorded): {line}",
        f,
        [Evidence("lastState", "(empty: the last termination was not recorded)"), log_evidence(f, line)],
        [f"Read the whole error: `{cmd_logs(f, tail=50)}`", f"Restarts and events: `{cmd_describe(f)}`"],
    )


# --- exit 0 -----------------------------------------------------------------------------------------

_DAEMON = re.compile(r"daemon|background|forking|detach", re.I)
_ONE_SHOT = re.compile(r"\b(?:done|finished|complete[d]?|migrat\w*|success(?:fully)?)\b", re.I)


def rule_exits_zero(f: Facts) -> Diagnosis | None:
    if f.exit_code != 0 or f.is_init:
        return None
    if f.pod.restart_policy != "Always" and not (f.spec is not None and f.spec.sidecar):
        return None
    # Without the spec, restartPolicy is the record's default; only restarts after exit 0 prove it.
    if not f.spec_known and not f.restarts:
        return None
    policy = (
        f.pod.restart_policy
        if f.spec_known
        else f"{f.pod.restart_policy} (not in the input; implied by {f.restarts} restarts)"
    )
    ev: list[Evidence | None] = [termination_evidence(f), Evidence("spec.restartPolicy", policy)]
    if f.run_seconds is not None:
        ev.append(
            Evidence(f"{f.termination_source} startedAt→finishedAt", f"ran {fmt_seconds(f.run_seconds)}")
        )
    last = f.log_lines[-1] if f.log_lines else ""
    if last:
        ev.append(log_evidence(f, last))
    cmd = command_words(f.spec)
    if cmd:
        ev.append(Evidence(f"spec {f.label} command", quote(cmd)))
    steps: list[str] = []
    log_text = " ".join(f.log_lines)
    if _DAEMON.search(log_text):
        steps.append(
            "The log suggests it daemonizes: run it in the foreground "
            "(e.g. `nginx -g 'daemon off;'`, no `&`, no --daemon)"
        )
    if cmd and re.search(r"\b(?:sh|bash)\b.*-c|\.sh\b", cmd):
        steps.append(
            "The command is a shell script that finishes: end it with `exec <server>` so the server "
            "becomes the main process"
        )
    if _ONE_SHOT.search(last):
        steps.append(
            "It looks like a one-shot task that finished: run it as a Job (or an init container), "
            "not a Deployment"
        )
    steps.append(
        "The main process must stay in the foreground: a Deployment (restartPolicy Always) restarts "
        "anything that exits, even with 0"
    )
    steps.append(f"Check command/args against the image's entrypoint in {edit_target(f)}")
    headline = (
        f"{f.subject} exits 0 and is restarted (restartPolicy Always): "
        "its main process finishes instead of staying in the foreground"
    )
    return diagnosis("exits-zero", headline, f, ev, steps)


# --- killed by a signal nobody owned up to ----------------------------------------------------------


def rule_sigkill(f: Facts) -> Diagnosis | None:
    if f.termination is None or (f.exit_code != 137 and f.termination.signal != 9):
        return None
    limit = f.spec.memory_limit if f.spec else None
    mem_ev, _, trend = memory_findings(f, limit)
    ev: list[Evidence | None] = [termination_evidence(f), *mem_ev]
    if f.lacks("events"):
        ev.append(Evidence("events", "not in the input: a probe kill can't be ruled out"))
        headline = (
            f"{f.subject} was killed with SIGKILL (exit {f.exit_code}), not marked OOMKilled; "
            "the events that would show a probe kill are not in the input"
        )
    else:
        ev.append(Evidence("events", "no OOMKilled reason, no liveness or startup probe failure recorded"))
        headline = (
            f"{f.subject} was killed with SIGKILL (exit {f.exit_code}) but not marked OOMKilled "
            "and no probe failed: something else killed it"
        )
    if f.log_lines:
        ev.append(log_evidence(f, f.log_lines[-1]))
    steps = [
        "SIGKILL without a reason comes from node memory-pressure eviction, a kernel OOM kill of a "
        "child process, a manual kill (`kill -9`, `crictl stop`), or the kubelet once "
        "terminationGracePeriodSeconds ran out after a SIGTERM",
        f"Look for liveness or startup probe kills (events expire after an hour): `{cmd_events(f)}`"
        if f.lacks("events")
        else f"Events expire after an hour; read what is left: `{cmd_events(f)}`",
    ]
    if limit and trend is not None and trend.peak >= 0.9 * limit:
        steps.insert(
            0,
            f"Memory reached {trend.peak * 100 // limit}% of the {fmt_bytes(limit)} limit: an OOM kill "
            "the runtime did not label is likely (a child process) - treat it as OOM and raise the limit",
        )
    if f.pod.node_name:
        steps.append(
            f"Check the node for MemoryPressure and evictions: `kubectl describe node {_sh(f.pod.node_name)}`"
        )
    steps.append(f"See the dying words: `{cmd_logs(f)}`")
    return diagnosis("unknown", headline, f, ev, steps)


def rule_sigterm(f: Facts) -> Diagnosis | None:
    if f.exit_code != 143:
        return None
    said = dying_words(f.log_lines)
    ev: list[Evidence | None] = [termination_evidence(f)]
    if said:
        ev.append(log_evidence(f, said))
    if f.log_lines and f.log_lines[-1].strip() != said:
        ev.append(log_evidence(f, f.log_lines[-1]))
    headline = f"{f.subject} stopped on SIGTERM (exit 143) " + (
        "and the events that would show a probe kill are not in the input"
        if f.lacks("events")
        else "and no probe failure explains it"
    )
    headline += f"; its log says: {said}" if said else ": something asked it to stop"
    steps = [
        "SIGTERM comes from the kubelet (a probe kill whose events have expired, a deletion, an "
        "eviction or a drain) or from inside the container (a supervisor or watchdog)",
        f"What the kubelet did: `{cmd_events(f)}`",
        f"What the app saw: `{cmd_logs(f, tail=50)}`",
    ]
    return diagnosis("unknown", headline, f, ev, steps)


# --- pods that are not crashing -----------------------------------------------------------------------


def rule_evicted(f: Facts) -> Diagnosis | None:
    if f.pod.reason != "Evicted":
        return None
    return diagnosis(
        "unknown",
        f"Not a crash loop: the kubelet evicted the pod - {f.pod.message}",
        f,
        [Evidence("status.reason", quote(f"{f.pod.reason}: {f.pod.message}"))],
        [
            f"Check the node's pressure conditions: `kubectl describe node {node_ref(f)}`",
            "Set memory requests close to real use: pods using more than they request are evicted first",
            *(
                ["Its controller has already made a replacement; delete this pod once you have read it"]
                if f.pod.controller
                else []
            ),
        ],
    )


def rule_unschedulable(f: Facts) -> Diagnosis | None:
    if f.pod.node_name or f.pod.phase not in ("Pending", ""):
        return None
    failed = events_with(f, "FailedScheduling")
    cond = f.pod.condition("PodScheduled")
    if not failed and not (cond and cond.status == "False"):
        return None
    ev: list[Evidence | None] = [merged(failed, "FailedScheduling")]
    if cond and cond.status == "False":
        ev.append(Evidence("condition PodScheduled", quote(f"{cond.reason}: {cond.message}")))
    newest = latest(failed)
    message = newest.message if newest else cond.message if cond else ""
    return diagnosis(
        "unknown",
        f"Not crashing: the pod is not scheduled - {message}",
        f,
        ev,
        [
            f"Read the scheduler's reasons: `{cmd_describe(f)}`",
            "Compare the pod's requests, nodeSelector, affinity and tolerations with the nodes: "
            "`kubectl describe nodes`",
        ],
    )


def rule_stuck_mount(f: Facts) -> Diagnosis | None:
    mounts = events_with(f, "FailedMount") + events_with(f, "FailedAttachVolume")
    newest = latest(mounts)
    if newest is None or (f.status is not None and f.status.state.kind == "running"):
        return None
    return diagnosis(
        "unknown",
        f"Stuck before start: a volume doesn't mount - {newest.message}",
        f,
        [merged(mounts, newest.reason)],
        [
            f"`{cmd_describe(f)}` (Volumes and Events)",
            f"Check the PVC: `kubectl get pvc{ns_flag(f)}`",
        ],
    )


def uptime(f: Facts) -> float | None:
    state = f.status.state if f.status else None
    if state is None or state.kind != "running" or state.started_at is None:
        return None
    return (f.inp.now - state.started_at).total_seconds()


def recovered(f: Facts) -> bool:
    """Running again for longer than the back-off reset and than twice its last life: history now.

    When `now` is only a lower bound, so is the uptime: a True still holds, a False may not."""
    up = uptime(f)
    if up is None or up < BACKOFF_RESET_S:
        return False
    ran = f.run_seconds
    return ran is None or up > 2 * ran


def _all_running(pod: Pod) -> bool:
    statuses = [
        *pod.container_statuses,
        *(
            s
            for s in pod.init_container_statuses
            if (pod.spec_for(s.name) or ContainerSpec(s.name, "")).sidecar
        ),
    ]
    return bool(statuses) and all(s.state.kind == "running" for s in statuses)


def running_evidence(f: Facts) -> Evidence | None:
    """How long it has run; only since when, if `now` is uncertain."""
    state = f.status.state if f.status else None
    up = uptime(f)
    if state is None or state.started_at is None or up is None:
        return None
    if f.lacks("as-of"):
        return Evidence(f"state.running {f.container}", f"running since {fmt_time(state.started_at)}")
    return Evidence(f"state.running {f.container}", f"running for {fmt_seconds(up)}")


def finished_when(f: Facts, last: ContainerState) -> str:
    """ " 2h29m ago" for a past death; " at <time>" if `now` is uncertain."""
    if last.finished_at is None:
        return ""
    if f.lacks("as-of"):
        return f" at {fmt_time(last.finished_at)}"
    return f" {fmt_seconds((f.inp.now - last.finished_at).total_seconds())} ago"


def rule_healthy(f: Facts) -> Diagnosis | None:
    pod = f.pod
    if pod.phase == "Succeeded":
        return diagnosis(
            "healthy",
            "Completed: every container exited successfully",
            f,
            [Evidence("status.phase", "Succeeded")],
            [],
        )
    if not _all_running(pod):
        return None
    status = f.status
    if f.restarts > 0 and not recovered(f):
        return None  # between two crashes: the last death is the story
    ready = all(s.ready for s in pod.container_statuses)
    ev: list[Evidence | None] = [Evidence("status.phase", pod.phase or "Running"), running_evidence(f)]
    steps: list[str] = []
    if not ready:
        readiness = [
            e
            for e in _pod_events(pod, f.inp.events)
            if e.reason == "Unhealthy" and e.message.startswith("Readiness")
        ]
        ev.append(merged(readiness, "Unhealthy"))
        return diagnosis(
            "unknown",
            "Running without restarts, but not ready: the readiness probe fails (that alone never "
            "restarts it)",
            f,
            ev,
            [
                f"See why the readiness check fails: `{cmd_describe(f)}`",
                f"`{cmd_logs(f, previous=False, tail=50)}`",
            ],
        )
    headline = "Running and ready"
    if (
        f.restarts
        and status is not None
        and status.last_state is not None
        and status.last_state.kind == "terminated"
    ):
        last = status.last_state
        headline += (
            f"; {f.restarts} earlier restarts, the last{finished_when(f, last)} ({termination_quote(last)})"
        )
        ev.append(Evidence("lastState.terminated", termination_quote(last)))
        if last.reason == "OOMKilled":
            steps.append("It was OOM-killed before: keep an eye on memory against the limit")
    return diagnosis("healthy", headline, f, ev, steps)


# --- fallback ---------------------------------------------------------------------------------------


def rule_unknown(f: Facts) -> Diagnosis:
    ev: list[Evidence | None] = [termination_evidence(f)]
    if f.waiting is not None:
        ev.append(waiting_evidence(f.waiting))
    if f.status is not None and f.status.last_state is None and f.termination is None and f.restarts:
        ev.append(Evidence("lastState", "(empty: the last termination was not recorded)"))
    backoff = events_with(f, "BackOff")
    ev.append(merged(backoff, "BackOff"))
    if f.log_lines:
        ev.append(log_evidence(f, f.log_lines[-1]))
    what = (
        f"is waiting ({f.waiting.reason})"
        if f.waiting and f.waiting.reason
        else f"is {f.status.state.kind}"
        if f.status
        else "has no status yet"
    )
    headline = f"{f.subject} {what}; the evidence doesn't name a cause yet"
    steps = [
        f"Last State and Events: `{cmd_describe(f)}`",
        f"The dying words of the previous instance: `{cmd_logs(f)}`",
    ]
    return diagnosis("unknown", headline, f, ev, steps)


# --- rollout ----------------------------------------------------------------------------------------


def pod_revision(pod: Pod, revisions: Sequence[Revision]) -> Revision | None:
    owner = pod.controller
    template_hash = dict(pod.labels).get("pod-template-hash", "")
    for rev in revisions:
        if (owner is not None and owner.kind == "ReplicaSet" and rev.name == owner.name) or (
            template_hash and rev.template_hash == template_hash
        ):
            return rev
    return None


def describe_change(old: Revision, new: Revision, container: str) -> str:
    """What changed between two revisions, in a few words: "image a → b", "memory limit 512Mi → 256Mi"."""
    changes: list[str] = []
    old_by = {c.name: c for c in old.containers}
    for spec in new.containers:
        before = old_by.get(spec.name)
        if before is None:
            changes.append(f"container {spec.name} added")
            continue
        if before.image != spec.image:
            changes.append(f"image {before.image} → {spec.image}")
        if spec.name != container:
            continue
        if (before.command, before.args) != (spec.command, spec.args):
            changes.append("command/args changed")
        if before.memory_limit != spec.memory_limit:
            changes.append(
                f"memory limit {_bytes_or_none(before.memory_limit)} → {_bytes_or_none(spec.memory_limit)}"
            )
        removed = sorted(set(before.env_names) | {r.env_name for r in before.env_refs if r.env_name})
        now_set = set(spec.env_names) | {r.env_name for r in spec.env_refs if r.env_name}
        gone = [name for name in removed if name not in now_set]
        if gone:
            changes.append("env " + ", ".join(gone) + " removed")
        if set(before.env_refs) != set(spec.env_refs) and not gone:
            changes.append("ConfigMap/Secret references changed")
        if (before.liveness, before.startup) != (spec.liveness, spec.startup):
            changes.append("probes changed")
    return "; ".join(changes) or "pod template changed"


def _bytes_or_none(n: int | None) -> str:
    return fmt_bytes(n) if n else "none"


def rollout_finding(f: Facts) -> tuple[str, tuple[str, ...]]:
    """("began with revision N (image a → b)", steps) when the newest revision brought the trouble."""
    revisions = sorted(f.inp.revisions, key=lambda r: r.number)
    if len(revisions) < 2:
        return "", ()
    newest, previous = revisions[-1], revisions[-2]
    mine = pod_revision(f.pod, revisions)
    if mine is None or mine.name != newest.name:
        return "", ()
    if not (previous.ready_replicas > 0 or previous.images != newest.images):
        return "", ()
    hint = f"began with revision {newest.number} ({describe_change(previous, newest, f.container)})"
    if newest.change_cause:
        hint += f"; change-cause: {newest.change_cause}"
    deployment = f.inp.deployment
    name = deployment.name if deployment else workload(f).removeprefix("deployment/")
    if not name:
        return quote(hint), ()
    ns = ns_flag(f)
    undo = (
        f"Restore service while you fix revision {newest.number}: "
        f"`kubectl rollout undo deployment/{_sh(name)}{ns}`"
    )
    if deployment is not None and deployment.paused:
        undo = (
            f"`kubectl rollout resume deployment/{_sh(name)}{ns}` first (a paused Deployment "
            "can't be rolled back), then " + undo
        )
    healthy = (
        f"revision {previous.number} had {previous.ready_replicas} ready" if previous.ready_replicas else ""
    )
    return quote(hint), (undo + (f" ({healthy})" if healthy else ""),)


# --- the engine -------------------------------------------------------------------------------------

Rule = Callable[[Facts], Diagnosis | None]

# Labels first (waiting reasons, OOMKilled, probe Killing events), then exit codes, then log reading.
RULES: tuple[Rule, ...] = (
    rule_healthy,
    rule_evicted,
    rule_image_pull,
    rule_config_missing,
    rule_oom,
    rule_command_not_found,
    rule_probe_kill,
    rule_missing_env,
    rule_dependency,
    rule_exits_zero,
    rule_sigkill,
    rule_sigterm,
    rule_app_error,
    rule_unschedulable,
    rule_stuck_mount,
)


def diagnose(inp: DiagnosisInput) -> Diagnosis:
    """Why the pod keeps dying, what that rests on, and what to do next."""
    facts = gather(inp)
    result = next((d for d in (rule(facts) for rule in RULES) if d is not None), None) or rule_unknown(facts)
    if result.cause == "healthy":
        return result
    hint, undo = rollout_finding(facts)
    if not hint:
        return result
    return replace(result, rollout_hint=hint, next_steps=(*undo, *result.next_steps))
