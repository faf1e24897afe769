"""Getting a container to run: the kubelet's per-container sync with crash back-off, image pulls
(and their back-off), env from Secrets and ConfigMaps, and creating and starting an instance.
"""

from __future__ import annotations

import math
from typing import Any

from kcrash.lab.kubelet.base import KubeletBase
from kcrash.lab.kubelet.state import SYNC_DELAY, ContainerRun, Instance, PodRun, should_restart
from kcrash.lab.scenarios import go_duration


class ContainersMixin(KubeletBase):
    """Sync, back-off, pull, configure and start containers."""

    def _start_next(self, run: PodRun) -> None:
        """Start the next init container, or every app container once init is done."""
        if not run.init_done:
            for c in run.init:
                if c.current is None or c.current.exit_code != 0 or c.state != "terminated":
                    self._sync_container(run, c)
                    return
            run.init_done = True
            run.conditions["Initialized"] = ("True", self.sched.now())
            for c in run.apps:
                c.waiting_reason = "ContainerCreating"
            self._publish(run)
        for c in run.apps:
            if c.state != "running":
                self._sync_container(run, c)

    # -- one container's sync ------------------------------------------------------------------
    def _sync_container(self, run: PodRun, c: ContainerRun, pulled: bool = False) -> None:
        """What the kubelet's SyncPod does for one container that is not running."""
        if run.deleting or run.terminal or c.state == "running" or not run.sandbox_ready:
            return
        self._cancel_pending(c)
        now = self.sched.now()
        prior = c.current
        if prior is not None and prior.finished_at is not None and not pulled:
            if not should_restart(run, c):
                return
            finished = prior.finished_at
            c.last = prior
            self.logs.keep_as_previous(run.namespace, run.name, c.name)
            if c.crash_backoff.in_backoff_since(finished, now):
                self._enter_crash_backoff(run, c, finished)
                return
            c.crash_backoff.next(finished, now)
        if not pulled and not self._image_ready(run, c):
            return
        problem = self._config_problem(run, c)
        if problem is not None:
            self._config_error(run, c, problem)
            return
        self._create_and_start(run, c)

    def _enter_crash_backoff(self, run: PodRun, c: ContainerRun, finished: float) -> None:
        period = c.crash_backoff.period
        c.state = "waiting"
        c.waiting_reason = "CrashLoopBackOff"
        c.waiting_message = (
            f"back-off {go_duration(period)} restarting failed container={c.name} "
            f"pod={run.name}_{run.namespace}({run.uid})"
        )
        self._publish(run)
        self._backoff_event(run, c, finished + period)
        c.pending.append(self.sched.at(finished + period, lambda: self._sync_container(run, c)))

    def _backoff_event(self, run: PodRun, c: ContainerRun, until: float) -> None:
        """The pod worker retries every 10-15 s while waiting, each time recording BackOff."""
        if run.deleting or c.state != "waiting" or c.waiting_reason != "CrashLoopBackOff":
            return
        message = f"Back-off restarting failed container {c.name} in pod {self._pod_ref(run)}"
        times, last = self._retries_in_the_past(until)
        self._event(run, c, "Warning", "BackOff", message, times, last)
        if times > 1:
            return
        retry = self.sched.now() + self.rng.uniform(10.0, 15.0)
        if retry < until:
            c.pending.append(self.sched.at(retry, lambda: self._backoff_event(run, c, until)))

    # -- images --------------------------------------------------------------------------------
    def _image_ready(self, run: PodRun, c: ContainerRun) -> bool:
        image = c.image
        policy = c.spec.get("imagePullPolicy", "IfNotPresent")
        present = (run.node.name, image) in self._images
        if policy == "Never" or (present and policy != "Always"):
            self._event(run, c, "Normal", "Pulled", f'Container image "{image}" already present on machine')
            return True
        if c.pulling:
            return False
        now = self.sched.now()
        if c.image_backoff.period and now - c.image_backoff.updated < c.image_backoff.period:
            self._image_pull_backoff(run, c, c.image_backoff.updated + c.image_backoff.period)
            return False
        self._event(run, c, "Normal", "Pulling", f'Pulling image "{image}"')
        c.pulling = True
        seconds = c.behaviour.pull_seconds * self.rng.uniform(0.8, 1.25)
        c.pending.append(self.sched.after(seconds, lambda: self._pull_done(run, c, seconds)))
        return False

    def _pull_done(self, run: PodRun, c: ContainerRun, seconds: float) -> None:
        c.pulling = False
        if run.deleting:
            return
        image = c.image
        now = self.sched.now()
        if c.behaviour.image_pull == "fail":
            error = c.behaviour.pull_error or (
                f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
                f'failed to resolve reference "{image}": {image}: not found'
            )
            self._event(run, c, "Warning", "Failed", f'Failed to pull image "{image}": {error}')
            self._event(run, c, "Warning", "Failed", "Error: ErrImagePull")
            c.image_backoff.next(now, now)
            c.state, c.waiting_reason, c.waiting_message = "waiting", "ErrImagePull", error
            self._publish(run)
            c.pending.append(self.sched.after(SYNC_DELAY, lambda: self._sync_container(run, c)))
            return
        self._images.add((run.node.name, image))
        took = go_duration(round(seconds, 3))
        size = c.behaviour.image_size
        self._event(
            run,
            c,
            "Normal",
            "Pulled",
            f'Successfully pulled image "{image}" in {took} ({took} including waiting). '
            f"Image size: {size} bytes.",
        )
        self._sync_container(run, c, pulled=True)

    def _image_pull_backoff(self, run: PodRun, c: ContainerRun, until: float) -> None:
        if run.deleting:
            return
        image = c.image
        c.state, c.waiting_reason = "waiting", "ImagePullBackOff"
        c.waiting_message = f'Back-off pulling image "{image}"'
        self._publish(run)
        times, last = self._retries_in_the_past(until)
        self._event(run, c, "Normal", "BackOff", f'Back-off pulling image "{image}"', times, last)
        self._event(run, c, "Warning", "Failed", "Error: ImagePullBackOff", times, last)
        retry = self.sched.now() + self.rng.uniform(10.0, 15.0)
        if retry < until and times == 1:
            c.pending.append(self.sched.at(retry, lambda: self._image_pull_backoff(run, c, until)))
        else:
            c.pending.append(self.sched.at(until, lambda: self._sync_container(run, c)))

    # -- configuration (env from Secrets and ConfigMaps) ---------------------------------------
    def _config_problem(self, run: PodRun, c: ContainerRun) -> str | None:
        ns = run.namespace
        for env in c.spec.get("env") or []:
            source = env.get("valueFrom") or {}
            for ref_key, resource, kind in (
                ("secretKeyRef", "secrets", "Secret"),
                ("configMapKeyRef", "configmaps", "ConfigMap"),
            ):
                ref = source.get(ref_key)
                if ref is None:
                    continue
                problem = self._missing_key(ns, resource, kind, ref)
                if problem:
                    return problem
        for env_from in c.spec.get("envFrom") or []:
            for ref_key, resource in (("secretRef", "secrets"), ("configMapRef", "configmaps")):
                ref = env_from.get(ref_key)
                if ref is None or ref.get("optional"):
                    continue
                if self.store.get(resource, ns, ref.get("name", "")) is None:
                    return f'{resource[:-1]} "{ref.get("name", "")}" not found'
        return None

    def _missing_key(self, ns: str, resource: str, kind: str, ref: dict[str, Any]) -> str | None:
        if ref.get("optional"):
            return None
        name = ref.get("name", "")
        obj = self.store.get(resource, ns, name)
        if obj is None:
            return f'{resource[:-1]} "{name}" not found'
        data = dict(obj.get("data") or {})
        data.update(obj.get("stringData") or {})
        data.update(obj.get("binaryData") or {})
        if ref.get("key") not in data:
            return f"couldn't find key {ref.get('key')} in {kind} {ns}/{name}"
        return None

    def _config_error(self, run: PodRun, c: ContainerRun, problem: str) -> None:
        c.state, c.waiting_reason, c.waiting_message = "waiting", "CreateContainerConfigError", problem
        self._event(run, c, "Warning", "Failed", f"Error: {problem}")
        self._publish(run)
        retry = self.rng.uniform(10.0, 15.0)
        c.pending.append(self.sched.after(retry, lambda: self._sync_container(run, c)))

    # -- create, start, run --------------------------------------------------------------------
    def _create_and_start(self, run: PodRun, c: ContainerRun) -> None:
        now = self.sched.now()
        c.restart_count += 1
        b = c.behaviour
        self._event(run, c, "Normal", "Created", f"Created container: {c.name}")
        self.logs.start_instance(run.namespace, run.name, c.name)
        if b.start_error:
            inst = Instance(
                c.restart_count, self._container_id(), None, now, b.start_error_exit_code, "StartError"
            )
            inst.message = b.start_error
            c.current, c.state, c.ready, c.started = inst, "terminated", False, False
            if not c.init:
                self._series_started(run, c, inst)
            self.logs.end_instance(run.namespace, run.name, c.name)
            self._event(run, c, "Warning", "Failed", f"Error: {b.start_error}")
            self._publish(run)
            c.pending.append(self.sched.after(SYNC_DELAY, lambda: self._after_exit(run, c)))
            return
        inst = Instance(c.restart_count, self._container_id(), now)
        c.current, c.state, c.ready = inst, "running", False
        if not c.init:
            self._series_started(run, c, inst)
        c.started = "startupProbe" not in c.spec
        self._event(run, c, "Normal", "Started", f"Started container {c.name}")
        inst.healthy_at = now + b.health_after if b.health_after is not None else math.inf
        self._arm_instance(run, c, inst)
        self._publish(run)
