"""What an alert is: which rule fired, about which pod and owner, with the facts it rests on."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from msgspec import Struct

AlertSeverity = Literal["critical", "warning", "info"]
RuleName = Literal[
    "restarted",
    "oom-killed",
    "crash-loop",
    "restart-rate",
    "stuck-waiting",
    "deployment-stuck",
    "memory-high",
]
RULE_NAMES: tuple[RuleName, ...] = (
    "restarted",
    "oom-killed",
    "crash-loop",
    "restart-rate",
    "stuck-waiting",
    "deployment-stuck",
    "memory-high",
)
AlertState = Literal["new", "already-failing"]
OwnerKey = tuple[str, str]  # (namespace, "Kind/name")


class Alert(Struct, frozen=True, gc=False):
    """One alert. `count` is how many occurrences folded into it within its rule's window; an
    alert about a pod that was already failing when watching began has state "already-failing"
    and `since` (when its trouble began, as far as the pod tells)."""

    id: int
    at: datetime
    rule: RuleName
    severity: AlertSeverity
    namespace: str
    pod: str
    owner: str  # "Deployment/web", "StatefulSet/db", "Pod/debug" for a bare pod
    container: str = ""
    restart_count: int = 0
    exit_code: int | None = None
    reason: str = ""  # the Kubernetes reason: OOMKilled, CrashLoopBackOff, ProgressDeadlineExceeded
    message: str = ""  # what happened, one line
    dying_words: str = ""  # the termination message or the last line quoted by the diagnosis
    cause: str = ""  # the diagnosis's cause when one is known ("oom-killed"), else ""
    likely_cause: str = ""  # its words: "OOMKilled — memory limit 256Mi, grew 58Mi/min"
    evidence: tuple[tuple[str, str], ...] = ()  # (source, quote), as the diagnosis quoted them
    count: int = 1
    last_at: datetime | None = None  # the latest occurrence folded in
    state: AlertState = "new"
    since: datetime | None = None
    acknowledged: bool = False

    @property
    def owner_key(self) -> OwnerKey:
        return (self.namespace, self.owner)

    @property
    def key(self) -> tuple[str, str]:
        """The pod's (namespace, name)."""
        return (self.namespace, self.pod)


class DeploymentState(Struct, frozen=True, gc=False):
    """What the deployment-stuck rule reads of a Deployment: its Progressing condition."""

    namespace: str
    name: str
    progressing_reason: str = ""  # "ProgressDeadlineExceeded" when the rollout is stuck
    message: str = ""
    since: datetime | None = None  # the condition's lastTransitionTime
    labels: tuple[tuple[str, str], ...] = ()
