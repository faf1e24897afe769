"""Missing ConfigMaps, Secrets and keys: the kubelet can't create the container until they resolve."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from kcrash.core.diagnose.facts import CONFIG_REASONS, START_REASONS, Facts
from kcrash.core.diagnose.wording import (
    describe_ref,
    diagnosis,
    edit_target,
    event_evidence,
    in_namespace,
    ns_flag,
    quote,
    sh,
    waiting_evidence,
)
from kcrash.core.records import ContainerSpec, Diagnosis, EnvRef, Evidence

_MISSING_OBJECT = re.compile(r'\b(secret|configmap)s? "([^"]+)" not found', re.IGNORECASE)
_MISSING_KEY = re.compile(r"couldn't find key (\S+) in (Secret|ConfigMap) ([^/\s]+)/([^\s,\]]+)", re.I)


@dataclass(frozen=True, slots=True)
class MissingConfig:
    kind: str  # "Secret" / "ConfigMap"
    name: str
    key: str = ""  # "" when the whole object is missing

    @property
    def detail(self) -> str:
        """`missing-secret`, `missing-configmap-key`, ..."""
        return f"missing-{self.kind.lower()}" + ("-key" if self.key else "")


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


def never_started(f: Facts) -> bool:
    """Still waiting to be created: config errors stop a container before its first start.

    Events outlive the fix: a container that has run since is not blocked by its config."""
    waiting_reason = f.waiting.reason if f.waiting else ""
    if waiting_reason in CONFIG_REASONS | START_REASONS:
        return True
    if f.status is None:
        return True
    running = f.status.state.kind == "running"
    return not running and waiting_reason in ("ContainerCreating", "") and f.termination is None


# The kubelet's refusals when securityContext.runAsNonRoot meets an image that runs as root (or
# whose USER it cannot check), and a runAsUser of 0 under that policy.
_NON_ROOT = re.compile(
    r"runAsNonRoot and image will run as root|runAsNonRoot and image has non-numeric user|"
    r"runAsUser breaks non-root policy|will break non-root policy",
    re.I,
)
_NON_NUMERIC_USER = re.compile(r"non-numeric user \(([^)]*)\)")


def rule_run_as_non_root(f: Facts) -> Diagnosis | None:
    """runAsNonRoot asked for, and the image's user is root or not a number the kubelet can check."""
    found = [(ev, text) for ev, text in _config_sources(f) if _NON_ROOT.search(text)]
    if not found:
        return None
    ev, text = found[-1]
    user = _NON_NUMERIC_USER.search(text)
    if user:
        why = f"the image's user {user.group(1)!r} is a name, not a UID the kubelet can check"
        fix = (
            f"Set securityContext.runAsUser to the numeric UID of {user.group(1)!r} in {edit_target(f)}, "
            "or use a USER with a numeric UID in the image"
        )
    elif "breaks non-root policy" in text:
        why = "its runAsUser is 0 (root)"
        fix = f"Set securityContext.runAsUser to a non-zero UID in {edit_target(f)}"
    else:
        why = "the image runs as root"
        fix = (
            f"Set securityContext.runAsUser to a non-zero UID the image can run as in {edit_target(f)}, "
            "or use an image built with a non-root USER"
        )
    headline = f"{f.subject} is not created: the pod requires runAsNonRoot but {why}"
    steps = [
        fix,
        "Only if the policy is not yours to keep: set runAsNonRoot: false (a namespace enforcing "
        "the restricted Pod Security level will still refuse root)",
        "The kubelet retries by itself: the container starts once the user checks out",
    ]
    return diagnosis("config-missing", headline, f, [ev], steps, detail="run-as-non-root")


def rule_config_missing(f: Facts) -> Diagnosis | None:
    non_root = rule_run_as_non_root(f)
    if non_root is not None:
        return non_root
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
            f"{sh(missing.name)}{ns}`"
            if missing.kind == "Secret"
            else f"See the ConfigMap's keys: `kubectl get configmap {sh(missing.name)}{ns} -o yaml`"
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
    return diagnosis("config-missing", headline, f, evidence, steps, detail=missing.detail)


def _close_key(f: Facts, missing: MissingConfig) -> str:
    keys = dict(f.inp.configmap_keys).get(missing.name, ()) if missing.kind == "ConfigMap" else ()
    close = difflib.get_close_matches(missing.key, list(keys), n=1, cutoff=0.6)
    return close[0] if close else ""
