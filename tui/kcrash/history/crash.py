"""One archived crash: an ended container instance with its last log lines and what surrounded it.

The JSON form (`as_json`) is what `kcrash history -o json` prints; docs/history.md lists its fields.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

DYING_LINES = 1


@dataclass(frozen=True, slots=True)
class ArchivedEvent:
    type: str
    reason: str
    message: str
    count: int = 1
    last_seen: str = ""  # RFC 3339, "" when the event carried no time


@dataclass(frozen=True, slots=True)
class Crash:
    """A container instance that ended, as the archive keeps it."""

    namespace: str
    pod: str
    container: str
    container_id: str
    restart: int
    exit_code: int | None = None
    reason: str = ""
    signal: int | None = None
    message: str = ""  # terminationMessage
    started_at: datetime | None = None
    finished_at: datetime | None = None
    pod_uid: str = ""
    init: bool = False
    owner_kind: str = ""
    owner_name: str = ""
    workload: str = ""  # the Deployment (or other top owner) the pod's owner belongs to
    revision: str = ""  # pod-template-hash (or controller-revision-hash)
    image: str = ""
    node: str = ""
    log: str = ""
    log_error: str = ""  # why there is no log, when there is none
    log_truncated: bool = False
    events: tuple[ArchivedEvent, ...] = ()
    memory: tuple[tuple[datetime, int], ...] = ()  # (sampled at, working set bytes), oldest first
    recorded_at: datetime | None = None
    words: str = ""  # the dying words as archived (a listing reads them without the log)
    id: int = 0  # the archive's row id, 0 before it is stored

    @property
    def dying_words(self) -> str:
        """The last non-empty line of the log: what the process said just before it died."""
        if self.words:
            return self.words
        lines = [line for line in self.log.split("\n") if line.strip()]
        return "\n".join(lines[-DYING_LINES:])

    @property
    def moment(self) -> datetime | None:
        """When it died (else when it was recorded)."""
        return self.finished_at or self.recorded_at

    def as_json(self, *, with_log: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "namespace": self.namespace,
            "pod": self.pod,
            "podUID": self.pod_uid,
            "container": self.container,
            "init": self.init,
            "containerID": self.container_id,
            "restart": self.restart,
            "exitCode": self.exit_code,
            "reason": self.reason,
            "signal": self.signal,
            "terminationMessage": self.message,
            "startedAt": _stamp(self.started_at),
            "finishedAt": _stamp(self.finished_at),
            "owner": {"kind": self.owner_kind, "name": self.owner_name} if self.owner_name else None,
            "workload": self.workload,
            "revision": self.revision,
            "image": self.image,
            "node": self.node,
            "dyingWords": self.dying_words,
            "logError": self.log_error,
            "logTruncated": self.log_truncated,
            "events": [asdict(event) for event in self.events],
            "memory": [{"at": _stamp(at), "bytes": used} for at, used in self.memory],
            "recordedAt": _stamp(self.recorded_at),
        }
        if with_log:
            out["log"] = self.log
        return out


def _stamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
