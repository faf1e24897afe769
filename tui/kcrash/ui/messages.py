"""Messages the app and its workers post; each names what happened, never how to draw it."""

from __future__ import annotations

from textual.message import Message

from kcrash.cluster.access import Access
from kcrash.cluster.reflector import SyncState
from kcrash.core.alerts import DeploymentState
from kcrash.core.records import MemorySample, Pod


class PodsArrived(Message):
    """The reflector delivered events; the app drains its inbox when it handles this.

    Consecutive ones collapse into one (`can_replace`), so a burst of watch events costs one
    table update.
    """

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PodsArrived)


class PodsChanged(Message):
    """These pods were added, changed or removed in the store; screens update only those rows."""

    def __init__(self, keys: frozenset[tuple[str, str]], resync: bool = False) -> None:
        super().__init__()
        self.keys = keys
        self.resync = resync


class Throttled(Message):
    """A request waits before it is sent again: `words` is "throttled, retrying in 3s"."""

    def __init__(self, words: str) -> None:
        super().__init__()
        self.words = words


class SyncChanged(Message):
    """The reflector's connection state changed."""

    def __init__(self, state: SyncState) -> None:
        super().__init__()
        self.state = state

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SyncChanged)


class AccessKnown(Message):
    """What the user may do here (SelfSubjectAccessReview answers)."""

    def __init__(self, access: Access) -> None:
        super().__init__()
        self.access = access


class ScopeChecked(Message):
    """Whether the namespace in scope exists: `problem` says it does not ("" when it does or
    cannot be told)."""

    def __init__(self, problem: str) -> None:
        super().__init__()
        self.problem = problem


class CrashArchived(Message):
    """The recorder archived a crash of pod `key` (namespace, name)."""

    def __init__(self, key: tuple[str, str]) -> None:
        super().__init__()
        self.key = key


class AlertReads(Message):
    """For the alerts: the scope's Deployments (None when not read) and the newest memory samples."""

    def __init__(
        self, deployments: list[DeploymentState] | None, samples: list[tuple[Pod, MemorySample]]
    ) -> None:
        super().__init__()
        self.deployments = deployments
        self.samples = samples
