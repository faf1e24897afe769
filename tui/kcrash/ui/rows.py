"""Pods turned into table rows: the cells the pods screen shows, their tones and sort keys.

A row is built once per pod version (and per metrics change); only AGE, the "(2m ago)" of
RESTARTS and the NEXT RESTART countdown are computed at draw time, because they change with the
clock alone. Everything here is plain text; the cluster's strings pass through `clean` first.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from msgspec import Struct

from kcrash.core.backoff import estimate_backoff
from kcrash.core.exitcodes import exit_label
from kcrash.core.humanize import countdown, human_duration
from kcrash.core.quantity import format_bytes
from kcrash.core.records import ContainerStatus, Pod
from kcrash.core.sanitize import clean_line as clean
from kcrash.core.status import is_failing, pod_summary, severity
from kcrash.ui.widgets.pod_table import Cell, Column, Tone

SortBy = Literal["problems", "status", "restarts", "age", "name"]

SEVERITY_RANK = {"error": 3, "warn": 2, "ok": 1, "done": 0}
SEVERITY_TONE: dict[str, Tone] = {"error": "error", "warn": "warning", "ok": "normal", "done": "muted"}


def status_tone(status: str) -> Tone:
    """The colour a STATUS string gets: crash loops and OOM kills stand out from other errors."""
    if status.endswith("CrashLoopBackOff"):
        return "crashloop"
    if status.endswith("OOMKilled"):
        return "oom"
    return SEVERITY_TONE[severity(status)]


def exit_tone(code: int | None, reason: str) -> Tone:
    if reason == "OOMKilled":
        return "oom"
    if code is None:
        return "muted"
    return "muted" if code == 0 else "error"


NO_MEMORY = Cell("-", "muted")
OOM_MARK = "OOM▸"
"""Before the name of a pod whose owner has an OOM alert nobody acknowledged (`!`, then `a`)."""


def memory_cell(used: int | None, limit: int | None) -> Cell:
    """MEM/LIMIT: percent of the limit, or bare usage without a limit, "-" without data."""
    if used is None:
        return NO_MEMORY
    if not limit:
        return Cell(format_bytes(used), "muted")
    percent = round(100 * used / limit)
    tone: Tone = "error" if percent >= 90 else "warning" if percent >= 75 else "normal"
    return Cell(f"{percent}%", tone)


class PodRow(Struct, frozen=True, gc=False):
    """One pod as the table shows it (build with `build_row`): a Struct, because 20,000 are built
    at launch and a frozen dataclass takes several times as long to build."""

    key: tuple[str, str]
    pod: Pod
    namespace: str
    name: str
    short_name: str  # without the pod-template hash ("" when there is none to drop)
    ready: str
    status: str
    tone: Tone
    rank: int  # severity: higher is worse
    failing: bool
    restarts: int
    last_restart: datetime | None
    last_exit: Cell
    container: str
    next_restart_at: datetime | None
    memory: Cell
    created_at: datetime | None
    search: str  # lower-cased text the filter matches against
    container_status: ContainerStatus | None  # the primary container's, which the countdown is about
    oom_mark: bool = False  # an OOM alert about this pod's owner nobody acknowledged yet

    def cell(self, column: str, now: datetime) -> Cell:
        if column == "namespace":
            return Cell(self.namespace, "muted")
        if column == "name":
            if self.oom_mark:
                short = f"{OOM_MARK}{self.short_name}" if self.short_name else ""
                return Cell(f"{OOM_MARK}{self.name}", "oom", short)
            return Cell(self.name, "normal", self.short_name)
        if column == "ready":
            return Cell(self.ready, "normal" if self.all_ready else "warning")
        if column == "status":
            return Cell(self.status, self.tone)
        if column == "restarts":
            return self._restarts_cell(now)
        if column == "last_exit":
            return self.last_exit
        if column == "memory":
            return self.memory
        if column == "next_restart":
            return self._next_restart_cell(now)
        if column == "age":
            if self.created_at is None:
                return Cell("<unknown>", "muted")
            return Cell(human_duration((now - self.created_at).total_seconds()), "muted")
        return Cell("")

    @property
    def time_bound(self) -> bool:
        """Whether the clock alone may change this row's verdict or countdown (failing, warning,
        not ready, or backing off); a ready, healthy pod stays so until an event says otherwise."""
        return self.failing or self.rank >= 2 or self.next_restart_at is not None or not self.all_ready

    def outdated(self, now: datetime) -> bool:
        """Whether the verdict or the next restart would differ if the row were built `now`
        (cheaper than building it: the columns and the primary container stay as they are)."""
        pod = self.pod
        return (
            is_failing(pod, now) != self.failing
            or next_restart(pod, self.container_status, now) != self.next_restart_at
        )

    @property
    def all_ready(self) -> bool:
        done, _, total = self.ready.partition("/")
        return done == total

    def _restarts_cell(self, now: datetime) -> Cell:
        if self.restarts == 0:
            return Cell("0", "muted")
        if self.last_restart is None:
            return Cell(str(self.restarts), "normal")
        ago = (now - self.last_restart).total_seconds()
        tone: Tone = "warning" if ago < 600 else "normal"
        return Cell(
            f"{self.restarts} ({human_duration(ago)} ago)",
            tone,
            f"{self.restarts} ({coarse_duration(ago)} ago)",
        )

    def _next_restart_cell(self, now: datetime) -> Cell:
        if self.next_restart_at is None:
            return Cell("")
        remaining = (self.next_restart_at - now).total_seconds()
        if remaining <= 0:
            return Cell("due", "warning")
        return Cell(countdown(remaining), "crashloop")


def _clean(text: str) -> str:
    """`clean_line`, skipped for printable ASCII (nearly every name and reason), which it would
    return unchanged: the cost of 20,000 rows is mostly in such small steps."""
    return text if len(text) < 4000 and text.isascii() and text.isprintable() else clean(text)


def build_row(pod: Pod, now: datetime, memory_used: int | None = None) -> PodRow:
    """The row for one pod version; `memory_used` is the latest sample of its primary container,
    shown only while that container runs."""
    summary = pod_summary(pod)
    columns = summary.columns
    status = _clean(columns.status)
    container = summary.container
    code, reason = summary.exit_code, summary.exit_reason
    container_status = summary.container_status
    if container_status is None or container_status.state.kind != "running":
        memory_used = None  # a dead container's last reading is not its use now (`kubectl top` drops it)
    limit = None
    if memory_used is not None:
        spec = pod.spec_for(container)
        limit = spec.memory_limit if spec is not None else None
    namespace, name = _clean(pod.namespace), _clean(pod.name)
    template_hash = next((v for k, v in pod.labels if k == "pod-template-hash"), "")
    exit_cell = (
        Cell(_clean(exit_label(code, reason)), exit_tone(code, reason), short_exit_label(code, reason))
        if reason or code is not None
        else _NO_EXIT
    )
    rank = SEVERITY_RANK.get(severity(columns.status), 0)
    return PodRow(
        key=pod.key,
        pod=pod,
        namespace=namespace,
        name=name,
        short_name=without_template_hash(name, template_hash),
        ready=columns.ready,
        status=status,
        tone=status_tone(status),
        rank=rank,
        failing=is_failing(pod, now),
        restarts=columns.restarts,
        last_restart=columns.last_restart,
        last_exit=exit_cell,
        container=_clean(container),
        next_restart_at=next_restart(pod, container_status, now),
        memory=memory_cell(memory_used, limit),
        created_at=pod.created_at,
        search=f"{namespace}/{name} {status} {exit_cell.text}".lower(),
        container_status=container_status,
    )


def without_template_hash(name: str, template_hash: str) -> str:
    """`api-7d9f8c6b5-xk2lp` as `api…xk2lp`: the ReplicaSet's hash is the same for every pod of a
    revision, so it is what a narrow NAME column gives up first; "" when there is none."""
    marker = f"-{template_hash}-" if template_hash else ""
    if not marker or marker not in name:
        return ""
    head, _, tail = name.rpartition(marker)
    return f"{head}…{tail}"


SHORT_REASONS = {"OOMKilled": "OOM", "Completed": "done"}
"""Termination reasons in a few letters, for LAST EXIT on a narrow terminal."""

SHORT_EXIT_CELLS = 9
"""LAST EXIT's narrowest width (its title's)."""


def short_exit_label(code: int | None, reason: str) -> str:
    """ "137 OOM", "0 done": LAST EXIT in nine cells; the code alone when the reason does not fit
    ("128" for StartError): a cut word would say less than the number."""
    if code is None or len(exit_label(code, reason)) <= SHORT_EXIT_CELLS:
        return ""
    short = f"{code} {SHORT_REASONS.get(reason, '')}".rstrip()
    return short if len(short) <= SHORT_EXIT_CELLS else str(code)


def coarse_duration(seconds: float) -> str:
    """A duration to its largest unit ("4m", "3h", "2d"), for RESTARTS on a narrow terminal."""
    text = human_duration(seconds)
    for index, char in enumerate(text):
        if char.isalpha():
            return text[: index + 1] if text[:index].isdigit() else text
    return text


def next_restart(pod: Pod, status: ContainerStatus | None, now: datetime) -> datetime | None:
    """When the kubelet should next start a container that is backing off (None if it is not)."""
    if status is None or status.state.reason != "CrashLoopBackOff":
        return None
    return estimate_backoff(status, now, restart_policy=pod.restart_policy).next_restart_at


_NO_EXIT = Cell("", exit_tone(None, ""))


def sort_key(by: SortBy) -> Callable[[Any], Any]:
    """The order for a sort mode.

    "problems" (the default) puts failing pods first and keeps each group in name order, so a pod
    whose STATUS flips between Running and CrashLoopBackOff stays where it is; "status" groups by
    severity and STATUS text.
    """
    if by == "problems":
        return lambda r: (not r.failing, r.namespace, r.name)
    if by == "restarts":
        return lambda r: (-r.restarts, r.namespace, r.name)
    if by == "age":
        # Youngest first: after a rollout the new pods are the ones to look at.
        return lambda r: (-(r.created_at.timestamp() if r.created_at else 0.0), r.namespace, r.name)
    if by == "name":
        return lambda r: (r.namespace, r.name)
    return lambda r: (-r.rank, r.status, r.namespace, r.name)


def row_filter(text: str, hide_healthy: bool) -> Callable[[Any], bool] | None:
    """A predicate for the `/` filter (all words must match) and the hide-healthy toggle."""
    words = text.lower().split()
    if not words and not hide_healthy:
        return None

    def keep(row: Any) -> bool:
        if hide_healthy and not row.failing:
            return False
        return all(word in row.search for word in words)

    return keep


COLUMN_LIMITS = {"name": (20, 28), "namespace": (9, 24), "status": (7, 26), "last_exit": (9, 24)}
"""(narrowest, widest) for the columns whose width follows the data."""


def pod_columns_for(all_namespaces: bool, widths: dict[str, int] | None = None) -> list[Column]:
    """The pods screen's columns; NAMESPACE only when several namespaces are shown.

    `widths` are the longest texts seen per data-sized column, so CreateContainerConfigError is
    never cut to look like CreateContainerError.
    """
    seen = widths or {}

    def fit(key: str, title: str) -> int:
        low, high = COLUMN_LIMITS[key]
        return max(low, len(title), min(high, seen.get(key, 0)))

    columns = [
        # NAME keeps room for the names without their hash: they are what tells pods apart.
        Column("name", "NAME", 30, min_width=fit("name", "NAME"), priority=0, flex=True, truncate="middle"),
        Column("ready", "READY", 5, priority=8, optional=True),
        # STATUS is never cut: CreateContainerConfigError cut looks like CreateContainerError.
        Column("status", "STATUS", fit("status", "STATUS"), priority=1),
        Column("restarts", "RESTARTS", 14, min_width=11, priority=3, ticking=True),
        Column(
            "last_exit", "LAST EXIT", fit("last_exit", "LAST EXIT"), min_width=SHORT_EXIT_CELLS, priority=4
        ),
        Column("memory", "MEM/LIMIT", 9, priority=6, align="right", optional=True),
        Column("next_restart", "NEXT RESTART", 12, priority=5, ticking=True, optional=True),
        Column("age", "AGE", 5, priority=7, ticking=True, optional=True),
    ]
    if all_namespaces:
        columns.insert(0, Column("namespace", "NAMESPACE", fit("namespace", "NAMESPACE"), priority=2))
    return columns


def data_widths(rows: list[PodRow]) -> dict[str, int]:
    """The longest short name, namespace, status and last-exit texts among `rows`."""
    return {
        "name": max((len(r.short_name or r.name) for r in rows), default=0),
        "namespace": max((len(r.namespace) for r in rows), default=0),
        "status": max((len(r.status) for r in rows), default=0),
        "last_exit": max((len(r.last_exit.text) for r in rows), default=0),
    }
