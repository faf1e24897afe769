"""Images that can't be pulled: a missing tag, a registry that denies access or can't be reached."""

from __future__ import annotations

import re

from kcrash.core.diagnose.facts import Facts, events_with, latest
from kcrash.core.diagnose.network import connection_problem
from kcrash.core.diagnose.wording import (
    cmd_debug,
    cmd_describe,
    container_word,
    diagnosis,
    edit_target,
    in_namespace,
    merged,
    ns_flag,
    pod_word,
    sh,
    waiting_evidence,
    workload,
)
from kcrash.core.records import Diagnosis, Event, Evidence

IMAGE_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})

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


def pull_failures(f: Facts) -> list[Event]:
    """The kubelet's events about failed pulls of this container's image."""
    return [
        e
        for e in f.events
        if e.reason in ("Failed", "InspectFailed", "ErrImageNeverPull")
        and ("pull" in e.message.lower() or "image" in e.message.lower())
        and not e.message.startswith("Error: ")
    ]


def waits_for_image(f: Facts) -> bool:
    """Waiting on an image reason, or not started yet with pull failures on record."""
    waiting_reason = f.waiting.reason if f.waiting else ""
    if waiting_reason in IMAGE_REASONS:
        return True
    # Pull failures that were later overcome leave Failed events behind; only a container still
    # waiting for its image is an image problem.
    not_started = waiting_reason in ("ContainerCreating", "") and f.termination is None
    return not_started and bool(pull_failures(f) or pull_waits(f))


_PULL_WAIT = re.compile(r"^Error: (?:ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull)\b")


def pull_waits(f: Facts) -> list[Event]:
    """The kubelet's events while a container waits for its image: `Back-off pulling image "x"`
    (BackOff), `Error: ImagePullBackOff` (Failed). They tell the wait, not why the pull failed."""
    backoff = events_with(f, "BackOff", "Back-off pulling image")
    return [*backoff, *(e for e in f.events if e.reason == "Failed" and _PULL_WAIT.match(e.message))]


def rule_image_pull(f: Facts) -> Diagnosis | None:
    waiting_reason = f.waiting.reason if f.waiting else ""
    failed = pull_failures(f)
    texts = " ".join([e.message for e in failed] + [f.waiting.message if f.waiting else ""])
    problem = image_pull_problem(texts, waiting_reason)
    last = latest(failed)
    # The failure names the image; a waiting message ("Back-off pulling image ...") does too.
    said = [last.message] if last else []
    said.append(f.waiting.message if f.waiting else "")
    found = next((m for text in said if (m := _IMAGE_IN_MESSAGE.search(text))), None)
    image = found.group(1) if found else (f.spec.image if f.spec else "")
    registry = registry_of(image)
    ev: list[Evidence | None] = []
    if f.waiting is not None:
        ev.append(waiting_evidence(f.waiting))
    waits = [e for e in pull_waits(f) if e.reason == "Failed"]
    ev.append(merged(failed or waits, "Failed"))
    backoff = events_with(f, "BackOff", "Back-off pulling image")
    ev.append(merged(backoff, "BackOff"))
    target = workload(f)
    set_image = (
        f"Point it at a tag that exists: `kubectl set image {sh(target)} "
        f"{container_word(f)}={sh(repository_of(image))}:<tag>{ns_flag(f)}`"
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
            f"Check the tag exists in {registry}: `docker manifest inspect {sh(image)}` (or the "
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
        detail=pull_detail(problem, texts),
    )


_TLS = re.compile(r"x509|certificate", re.I)
_PULL_DETAIL = {
    "denied": "unauthorized",
    "not-found": "not-found",
    "invalid": "invalid-name",
    "never-pull": "never-pull",
    "": "",
}


def pull_detail(problem: str, text: str) -> str:
    """The detail of a pull failure: what the registry answered, or how it could not be reached."""
    if problem != "unreachable":
        return _PULL_DETAIL[problem]
    if _TLS.search(text):
        return "tls"
    if "handshake timeout" in text.lower():
        return "timeout"
    return connection_problem(text) or "unreachable"
