"""The alert engine: pod versions in, alerts out, one per owner per rule per window.

Fed by the same deltas that update the pods table (`baseline` with the first full list, then
`update` with what each batch of watch events touched), plus `tick` for the rules that fire
when a state merely lasts, `memory` for the samples kcrash already takes and `deployments` for
the Progressing conditions. Pure: time is passed in, nothing is read from anywhere.

- Pods failing in the first list are listed as "already-failing" with the moment their trouble
  began; they fire nothing new. What happens to them afterwards (another kill) is new.
- A rule that fires for an owner (a Deployment, a StatefulSet, a bare pod) whose alert of that rule
  is younger than the rule's window folds into that alert's `count`: a storm is one alert.
- Scope (namespaces, labels) and mutes are checked before anything is built.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from msgspec.structs import replace

from kcrash.core.alerts.config import DEFAULT_CONFIG, AlertConfig, Mute
from kcrash.core.alerts.model import Alert, DeploymentState, OwnerKey, RuleName
from kcrash.core.alerts.triggers import CRASH_LOOP, OOM, STUCK_REASONS, Seen, Trigger, compare, seen
from kcrash.core.alerts.wording import explain, owner_of, rate_words
from kcrash.core.records import ContainerStatus, MemorySample, Pod
from kcrash.core.sanitize import clean_line
from kcrash.core.status import is_failing, primary_container

Key = tuple[str, str]
KEEP_ALERTS = 1000  # the newest alerts kept for the list; older ones are forgotten
KEEP_SAMPLES = 16  # memory samples per container, for the trend an OOM alert quotes
MEMORY_CLEAR = 0.05  # working set must fall this far below the threshold before it may fire again


class AlertEngine:
    """Alerts for the pods of one scope. Not thread-safe: one owner thread feeds it."""

    def __init__(self, config: AlertConfig = DEFAULT_CONFIG) -> None:
        self.config = config
        self.started = False
        self._next_id = 1
        self._alerts: dict[int, Alert] = {}
        self._open: dict[tuple[OwnerKey, RuleName], int] = {}
        self._seen: dict[Key, tuple[Seen, ...]] = {}
        self._pods: dict[Key, Pod] = {}  # only pods with a stuck container waiting to be timed
        self._stuck: dict[tuple[Key, str], tuple[str, datetime]] = {}  # -> (reason, since)
        self._restarts: dict[OwnerKey, deque[datetime]] = {}
        self._samples: dict[tuple[Key, str], deque[MemorySample]] = {}
        self._memory_high: set[tuple[Key, str]] = set()
        self._deployments_stuck: set[Key] = set()
        self._deployments_seen = False
        self._mutes: list[Mute] = list(config.mutes)

    # -- reading ---------------------------------------------------------------------------------
    @property
    def alerts(self) -> list[Alert]:
        """Every alert kept, oldest first."""
        return list(self._alerts.values())

    def get(self, alert_id: int) -> Alert | None:
        return self._alerts.get(alert_id)

    @property
    def unacknowledged(self) -> int:
        """New alerts nobody acknowledged (pods failing before watching began are not news)."""
        return sum(1 for a in self._alerts.values() if not a.acknowledged and a.state == "new")

    def marked_owners(self, rule: RuleName = "oom-killed") -> set[OwnerKey]:
        """Owners with an alert of `rule` nobody acknowledged: their pods keep a mark."""
        return {
            a.owner_key
            for a in self._alerts.values()
            if a.rule == rule and not a.acknowledged and a.state == "new"
        }

    # -- feeding ---------------------------------------------------------------------------------
    def baseline(self, pods: Iterable[Pod], now: datetime) -> list[Alert]:
        """The first full list: remember every pod, list the failing ones as already failing."""
        self.started = True
        listed: list[Alert] = []
        for pod in pods:
            self._seen[pod.key] = seen(pod)
            for status in (*pod.init_container_statuses, *pod.container_statuses):
                if status.state.kind == "waiting" and status.state.reason in STUCK_REASONS:
                    self._stuck[(pod.key, status.name)] = (status.state.reason, now)
                    self._pods[pod.key] = pod
            already = self._already_failing(pod, now)
            if already is not None:
                listed.append(already)
        return listed

    def update(self, pods: Iterable[Pod], removed: Iterable[Key], now: datetime) -> list[Alert]:
        """Pods added or changed, and keys deleted, since the last call: the alerts that fire."""
        fired: list[Alert] = []
        for key in removed:
            self._forget(key)
        threshold = self.config.rule("crash-loop").threshold
        for pod in pods:
            after = seen(pod)
            before = self._seen.get(pod.key)
            if after == before:
                continue
            self._seen[pod.key] = after
            for trigger in compare(before, after, threshold):
                alert = self._on_trigger(pod, trigger, now)
                if alert is not None:
                    fired.append(alert)
            self._clear_unstuck(pod, after)
        return fired

    def tick(self, now: datetime) -> list[Alert]:
        """Fire the waits that lasted longer than stuck-waiting allows."""
        after = timedelta(seconds=self.config.rule("stuck-waiting").threshold)
        fired: list[Alert] = []
        for (key, container), (reason, since) in list(self._stuck.items()):
            if since is not None and now - since >= after:
                self._stuck[(key, container)] = (reason, datetime.max.replace(tzinfo=now.tzinfo))
                pod = self._pods.get(key)
                if pod is not None:
                    alert = self._fire("stuck-waiting", pod, container, reason, now)
                    if alert is not None:
                        fired.append(alert)
        return fired

    def memory(self, pod: Pod, sample: MemorySample, now: datetime) -> list[Alert]:
        """One working-set sample of one container: fires memory-high at the threshold share of its
        limit (again only once it fell back below), and keeps the samples an OOM alert quotes."""
        slot = (pod.key, sample.container)
        ring = self._samples.get(slot)
        if ring is None:
            ring = self._samples[slot] = deque(maxlen=KEEP_SAMPLES)
        ring.append(sample)
        spec = pod.spec_for(sample.container)
        if spec is None or not spec.memory_limit:
            return []
        share = self.config.rule("memory-high").threshold / 100
        used = sample.bytes / spec.memory_limit
        if used < share - MEMORY_CLEAR:
            self._memory_high.discard(slot)
            return []
        if used < share or slot in self._memory_high:
            return []
        self._memory_high.add(slot)
        percent = f"{used * 100:.0f}%"
        alert = self._fire("memory-high", pod, sample.container, f"{percent} of limit", now)
        return [alert] if alert is not None else []

    def deployments(self, states: Iterable[DeploymentState], now: datetime) -> list[Alert]:
        """The Deployments' Progressing conditions: fires when one stops progressing. The first
        call lists those already stuck."""
        first = not self._deployments_seen
        self._deployments_seen = True
        fired: list[Alert] = []
        stuck_now: set[Key] = set()
        for state in states:
            key = (state.namespace, state.name)
            if state.progressing_reason != "ProgressDeadlineExceeded":
                continue
            stuck_now.add(key)
            if key in self._deployments_stuck:
                continue
            alert = self._fire_deployment(state, now, already=first)
            if alert is not None:
                fired.append(alert)
        self._deployments_stuck = stuck_now
        return fired

    # -- the user's say --------------------------------------------------------------------------
    def acknowledge(self, alert_id: int) -> Alert | None:
        alert = self._alerts.get(alert_id)
        if alert is None:
            return None
        self._alerts[alert_id] = done = replace(alert, acknowledged=True)
        return done

    def mute(self, namespace: str, owner: str, until: datetime | None) -> None:
        """No alert about this owner (every owner of the namespace when "") until `until`."""
        self._mutes.append(Mute(namespace, owner, until))

    def muted(self, namespace: str, owner: str, now: datetime) -> bool:
        return any(m.covers(namespace, owner, now) for m in self._mutes)

    # -- inside ----------------------------------------------------------------------------------
    def _on_trigger(self, pod: Pod, trigger: Trigger, now: datetime) -> Alert | None:
        if trigger.rule == "stuck-waiting":
            self._stuck[(pod.key, trigger.container)] = (trigger.reason, now)
            self._pods[pod.key] = pod
            return None
        if trigger.rule == "restart-rate":
            return self._count_restarts(pod, trigger, now)
        return self._fire(trigger.rule, pod, trigger.container, trigger.reason, now)

    def _count_restarts(self, pod: Pod, trigger: Trigger, now: datetime) -> Alert | None:
        settings = self.config.rule("restart-rate")
        if not settings.enabled:
            return None
        owner = (pod.namespace, owner_of(pod))
        times = self._restarts.get(owner)
        if times is None:
            times = self._restarts[owner] = deque()
        times.extend([now] * min(trigger.restarts_added, 1000))
        horizon = now - timedelta(seconds=settings.period)
        while times and times[0] < horizon:
            times.popleft()
        if len(times) < settings.threshold:
            return None
        return self._fire(
            "restart-rate", pod, trigger.container, rate_words(len(times), settings.period), now
        )

    def _clear_unstuck(self, pod: Pod, after: tuple[Seen, ...]) -> None:
        """A container no longer waiting on a stuck reason ends its episode."""
        for container in after:
            slot = (pod.key, container.name)
            if slot in self._stuck:
                if container.waiting in STUCK_REASONS:
                    self._pods[pod.key] = pod
                else:
                    del self._stuck[slot]
        if not any(k == pod.key for k, _ in self._stuck):
            self._pods.pop(pod.key, None)

    def _forget(self, key: Key) -> None:
        self._seen.pop(key, None)
        self._pods.pop(key, None)
        for slot in [s for s in self._stuck if s[0] == key]:
            del self._stuck[slot]
        for slot in [s for s in self._samples if s[0] == key]:
            del self._samples[slot]
            self._memory_high.discard(slot)

    def _covered(
        self, rule: RuleName, namespace: str, owner: str, labels: tuple[tuple[str, str], ...], now: datetime
    ) -> bool:
        settings = self.config.rule(rule)
        return (
            settings.enabled
            and self.config.scope.covers(namespace, labels)
            and settings.scope.covers(namespace, labels)
            and not self.muted(namespace, owner, now)
        )

    def _fold(self, rule: RuleName, owner: OwnerKey, now: datetime) -> bool:
        """Fold into the owner's open alert of this rule when its window still runs."""
        open_id = self._open.get((owner, rule))
        alert = self._alerts.get(open_id) if open_id is not None else None
        if alert is None or (now - alert.at).total_seconds() >= self.config.rule(rule).window:
            return False
        self._alerts[alert.id] = replace(alert, count=alert.count + 1, last_at=now)
        return True

    def _fire(self, rule: RuleName, pod: Pod, container: str, reason: str, now: datetime) -> Alert | None:
        owner = owner_of(pod)
        if not self._covered(rule, pod.namespace, owner, pod.labels, now):
            return None
        if self._fold(rule, (pod.namespace, owner), now):
            return None
        words = explain(rule, pod, container, reason, now, self._samples_of(pod.key))
        message = words.message
        if rule in ("restart-rate", "memory-high"):
            message = f"container {container}: {reason}"
        alert = self._new(
            rule=rule,
            at=now,
            namespace=pod.namespace,
            pod=pod.name,
            owner=owner,
            container=container,
            restart_count=words.restart_count,
            exit_code=words.exit_code,
            reason=_reason(rule, reason),
            message=message,
            dying_words=words.dying_words,
            cause=words.cause,
            likely_cause=words.likely_cause,
            evidence=words.evidence,
        )
        self._open[((pod.namespace, owner), rule)] = alert.id
        return alert

    def _fire_deployment(self, state: DeploymentState, now: datetime, *, already: bool) -> Alert | None:
        owner = f"Deployment/{state.name}"
        if not self._covered("deployment-stuck", state.namespace, owner, state.labels, now):
            return None
        if not already and self._fold("deployment-stuck", (state.namespace, owner), now):
            return None
        alert = self._new(
            rule="deployment-stuck",
            at=now,
            namespace=state.namespace,
            pod="",
            owner=owner,
            reason=state.progressing_reason,
            message=f"deployment {state.name} stopped progressing: {clean_line(state.message, max_len=240)}",
            state="already-failing" if already else "new",
            since=state.since if already else None,
        )
        if not already:
            self._open[((state.namespace, owner), "deployment-stuck")] = alert.id
        return alert

    def _already_failing(self, pod: Pod, now: datetime) -> Alert | None:
        if not is_failing(pod, now):
            return None
        container = primary_container(pod)
        status = pod.status_for(container)
        if status is None:
            return None
        rule, reason = _rule_of_state(status)
        if rule is None:
            return None
        owner = owner_of(pod)
        if not self._covered(rule, pod.namespace, owner, pod.labels, now):
            return None
        words = explain(rule, pod, container, reason, now)
        return self._new(
            rule=rule,
            at=now,
            namespace=pod.namespace,
            pod=pod.name,
            owner=owner,
            container=container,
            restart_count=words.restart_count,
            exit_code=words.exit_code,
            reason=reason,
            message=words.message,
            dying_words=words.dying_words,
            cause=words.cause,
            likely_cause=words.likely_cause,
            evidence=words.evidence,
            state="already-failing",
            since=_trouble_since(pod),
        )

    def _new(self, **fields: object) -> Alert:
        rule = fields["rule"]
        assert isinstance(rule, str)
        alert = Alert(id=self._next_id, severity=self.config.rule(rule).severity, **fields)  # type: ignore[arg-type]
        self._next_id += 1
        self._alerts[alert.id] = alert
        if len(self._alerts) > KEEP_ALERTS:
            del self._alerts[next(iter(self._alerts))]
        return alert

    def _samples_of(self, key: Key) -> list[MemorySample]:
        return [s for (k, _), ring in self._samples.items() if k == key for s in ring]

    def __iter__(self) -> Iterator[Alert]:
        return iter(list(self._alerts.values()))


def _reason(rule: RuleName, reason: str) -> str:
    return {"restart-rate": "RestartRate", "memory-high": "MemoryHigh"}.get(rule, reason)


def _rule_of_state(status: ContainerStatus) -> tuple[RuleName | None, str]:
    """Which rule describes a container already in trouble: its last kill, else its waiting reason."""
    waiting = status.state.reason if status.state.kind == "waiting" else ""
    last = status.state if status.state.kind == "terminated" else status.last_state
    if last is not None and last.kind == "terminated" and last.reason == OOM:
        return "oom-killed", OOM
    if waiting == CRASH_LOOP:
        return "crash-loop", CRASH_LOOP
    if waiting in STUCK_REASONS:
        return "stuck-waiting", waiting
    if status.restart_count > 0:
        return "restarted", (last.reason if last is not None and last.reason else "Restarted")
    return None, ""


def _trouble_since(pod: Pod) -> datetime | None:
    """When the trouble began, as far as the pod tells: the Ready condition turning false, else
    the pod's start."""
    ready = pod.condition("Ready")
    if ready is not None and ready.status != "True" and ready.last_transition is not None:
        return ready.last_transition
    return pod.start_time or pod.created_at
