"""Startup, liveness and readiness probes on sim time, and the kill a failing probe ends in.

A probe does not really connect anywhere: whether it succeeds comes from the behaviour's
`health_after`; what a failure says follows the kubelet's wording for each probe kind.
"""

from __future__ import annotations

from kcrash.lab.kubelet.base import KubeletBase
from kcrash.lab.kubelet.state import ContainerRun, Instance, PodRun
from kcrash.lab.store import Obj


def probe_failure(kind: str, probe: Obj, run: PodRun, c: ContainerRun) -> str:
    """The Unhealthy event message of a failed probe, as the kubelet words it per probe kind."""
    if "httpGet" in probe:
        get = probe["httpGet"]
        host = get.get("host") or run.ip
        port = probe_port(c, get.get("port"))
        scheme = str(get.get("scheme", "HTTP")).lower()
        path = get.get("path", "/")
        return (
            f'{kind} probe failed: Get "{scheme}://{host}:{port}{path}": '
            f"dial tcp {host}:{port}: connect: connection refused"
        )
    if "tcpSocket" in probe:
        tcp = probe["tcpSocket"]
        host = tcp.get("host") or run.ip
        port = probe_port(c, tcp.get("port"))
        return f"{kind} probe failed: dial tcp {host}:{port}: connect: connection refused"
    if "grpc" in probe:
        port = probe["grpc"].get("port")
        return f'{kind} probe failed: timeout: failed to connect service "{run.ip}:{port}" within 1s'
    return f"{kind} probe failed: {c.behaviour.probe_output}".rstrip()


def probe_port(c: ContainerRun, port: object) -> str:
    """A probe's port as a number: a named port is looked up in the container's ports."""
    if isinstance(port, str) and not port.isdigit():
        for declared in c.spec.get("ports") or []:
            if declared.get("name") == port:
                return str(declared.get("containerPort"))
    return str(port)


class ProbesMixin(KubeletBase):
    """The probe timers of one container instance."""

    def _arm_probes(self, run: PodRun, c: ContainerRun, inst: Instance, start: float) -> None:
        spec = c.spec
        if "startupProbe" in spec:
            probe = spec["startupProbe"]
            first = start + float(probe.get("initialDelaySeconds", 0))
            inst.timers.append(self.sched.at(first, lambda: self._startup_tick(run, c, inst)))
        else:
            self._arm_after_started(run, c, inst, start)

    def _arm_after_started(self, run: PodRun, c: ContainerRun, inst: Instance, since: float) -> None:
        start = inst.started_at or since
        if "livenessProbe" in c.spec:
            probe = c.spec["livenessProbe"]
            first = max(start + float(probe.get("initialDelaySeconds", 0)), since)
            inst.timers.append(self.sched.at(first, lambda: self._liveness_tick(run, c, inst)))
        if "readinessProbe" in c.spec:
            probe = c.spec["readinessProbe"]
            first = max(start + float(probe.get("initialDelaySeconds", 0)), since)
            inst.timers.append(self.sched.at(first, lambda: self._readiness_tick(run, c, inst)))
        else:
            inst.timers.append(self.sched.at(since, lambda: self._set_ready(run, c, inst)))

    def _startup_tick(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        if not self._alive(c, inst):
            return
        probe = c.spec["startupProbe"]
        now = self.sched.now()
        if now >= inst.healthy_at:
            c.started = True
            self._publish(run)
            self._arm_after_started(run, c, inst, now)
            return
        inst.startup_failures += 1
        self._event(run, c, "Warning", "Unhealthy", probe_failure("Startup", probe, run, c))
        if inst.startup_failures >= int(probe.get("failureThreshold", 3)):
            self._kill(run, c, inst, f"Container {c.name} failed startup probe, will be restarted", probe)
            return
        inst.timers.append(
            self.sched.after(float(probe.get("periodSeconds", 10)), lambda: self._startup_tick(run, c, inst))
        )

    def _liveness_tick(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        if not self._alive(c, inst):
            return
        probe = c.spec["livenessProbe"]
        if self.sched.now() >= inst.healthy_at:
            return  # it answers from now on; behaviours do not turn unhealthy again
        inst.liveness_failures += 1
        self._event(run, c, "Warning", "Unhealthy", probe_failure("Liveness", probe, run, c))
        if inst.liveness_failures >= int(probe.get("failureThreshold", 3)):
            self._kill(run, c, inst, f"Container {c.name} failed liveness probe, will be restarted", probe)
            return
        period = float(probe.get("periodSeconds", 10))
        inst.timers.append(self.sched.after(period, lambda: self._liveness_tick(run, c, inst)))

    def _readiness_tick(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        if not self._alive(c, inst):
            return
        probe = c.spec["readinessProbe"]
        if self.sched.now() >= inst.healthy_at:
            self._set_ready(run, c, inst)
            return
        self._event(run, c, "Warning", "Unhealthy", probe_failure("Readiness", probe, run, c))
        period = float(probe.get("periodSeconds", 10))
        inst.timers.append(self.sched.after(period, lambda: self._readiness_tick(run, c, inst)))

    def _set_ready(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        if not self._alive(c, inst) or c.ready:
            return
        c.ready = True
        c.started = True
        self._publish(run)

    def _kill(self, run: PodRun, c: ContainerRun, inst: Instance, message: str, probe: Obj | None) -> None:
        """Killing: SIGTERM now, SIGKILL after the grace period if the process ignores it."""
        inst.stopping = True
        c.ready = False
        self._event(run, c, "Normal", "Killing", message)
        grace = float(
            (probe or {}).get("terminationGracePeriodSeconds")
            or run.spec.get("terminationGracePeriodSeconds", 30)
        )
        self._publish(run)
        b = c.behaviour
        if b.ignores_sigterm:
            inst.timers.append(self.sched.after(grace, lambda: self._terminate(run, c, inst, 137, "Error")))
        else:
            code = b.sigterm_exit_code
            after = min(grace, 0.3)
            reason = "Completed" if code == 0 else "Error"
            inst.timers.append(self.sched.after(after, lambda: self._terminate(run, c, inst, code, reason)))
