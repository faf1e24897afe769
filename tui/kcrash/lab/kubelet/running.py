"""A running container instance: its scheduled log lines and heartbeat, when and how it ends by
itself (exit or OOM kill), and what the kubelet does after an exit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime

from kcrash.lab.kubelet.base import KubeletBase
from kcrash.lab.kubelet.metrics import memory_mi
from kcrash.lab.kubelet.state import (
    SYNC_DELAY,
    ContainerRun,
    Instance,
    PodRun,
    memory_limit_mi,
    should_restart,
)

_WORD = re.compile(r"[A-Za-z]{4,}")


def cut_mid_word(line: str) -> str:
    """The part of `line` a killed process managed to write: it stops inside a word."""
    words = [m for m in _WORD.finditer(line) if m.start() >= len(line) // 3] or list(_WORD.finditer(line))
    if not words:
        return line[: max(1, len(line) // 2)]
    word = words[len(words) // 2]
    return line[: word.start() + max(2, (word.end() - word.start()) // 2)]


_PLACEHOLDER = re.compile(r"\{(time|pod|host|namespace|node|ip|container|restart|n|image|mem_mi)\}")


def app_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class RunningMixin(KubeletBase):
    """Timers of a running instance and its endings."""

    def _arm_instance(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        """Timers for one instance: its log lines, its exit, its heartbeat and its probes."""
        b = c.behaviour
        start = inst.started_at or self.sched.now()
        exit_at, oom = self._exit_time(c, inst, start)
        for line in b.log_lines:
            at = start + line.after
            if exit_at is not None:
                at = min(at, exit_at - 0.05)
            inst.timers.append(self.sched.at(at, self._log_writer(run, c, inst, line.text)))
        self._arm_heartbeat(run, c, inst, max(inst.healthy_at, start + 0.5))
        if exit_at is not None:
            last = b.last_log_lines
            spoken = last[:-1] if oom else last
            for i, text in enumerate(spoken):
                at = exit_at - 0.01 * (len(spoken) - i) - 0.02
                inst.timers.append(self.sched.at(at, self._log_writer(run, c, inst, text)))
            if oom:
                cut = (
                    last[-1] if last else (b.heartbeat.lines[0] if b.heartbeat else "{time} INFO  processing")
                )
                inst.timers.append(self.sched.at(exit_at, lambda: self._oom_kill(run, c, inst, cut)))
            else:
                inst.timers.append(self.sched.at(exit_at, lambda: self._natural_exit(run, c, inst)))
        self._arm_probes(run, c, inst, start)

    def _exit_time(self, c: ContainerRun, inst: Instance, start: float) -> tuple[float | None, bool]:
        """When this instance ends by itself, and whether that is the kernel's OOM killer."""
        b = c.behaviour
        natural = start + b.exit_after if b.exits(inst.number) and b.exit_after is not None else None
        limit = memory_limit_mi(c.spec)
        mem = b.memory
        oom_at: float | None = None
        if (
            limit is not None
            and mem.growth_mi_per_min > 0
            and (mem.plateau_mi is None or mem.plateau_mi >= limit)
        ):
            oom_at = start + max(1.0, (limit - mem.start_mi) / mem.growth_mi_per_min * 60.0)
        if oom_at is not None and (natural is None or oom_at < natural):
            return oom_at, True
        return natural, False

    def _log_writer(self, run: PodRun, c: ContainerRun, inst: Instance, text: str) -> Callable[[], None]:
        def write() -> None:
            if c.current is inst and c.state == "running":
                self._write_log(run, c, inst, self.sched.now(), text)

        return write

    def _write_log(self, run: PodRun, c: ContainerRun, inst: Instance, moment: float, text: str) -> None:
        for line in self._fill(run, c, inst, moment, text).split("\n"):
            self.logs.append(run.namespace, run.name, c.name, moment, line)

    def _fill(self, run: PodRun, c: ContainerRun, inst: Instance, moment: float, text: str) -> str:
        """Replace {placeholders} in a scenario's log line; unknown braces are left alone."""
        if "{" not in text:
            return text

        def value(match: re.Match[str]) -> str:
            key = match.group(1)
            if key == "time":
                return app_time(moment)
            if key == "mem_mi":
                return str(int(memory_mi(c, inst, moment)))
            simple = {
                "pod": run.name,
                "host": run.name,
                "namespace": run.namespace,
                "node": run.node.name,
                "ip": run.ip,
                "container": c.name,
                "restart": str(inst.number),
                "n": str(inst.heartbeats),
                "image": c.image,
            }
            return simple[key]

        return _PLACEHOLDER.sub(value, text)

    def _arm_heartbeat(self, run: PodRun, c: ContainerRun, inst: Instance, first: float) -> None:
        beat = c.behaviour.heartbeat
        if beat is None or first == math.inf:
            return

        def tick() -> None:
            if c.current is not inst or c.state != "running":
                return
            line = beat.lines[inst.heartbeats % len(beat.lines)]
            inst.heartbeats += 1
            self._write_log(run, c, inst, self.sched.now(), line)
            inst.timers.append(self.sched.after(beat.every, tick))

        inst.timers.append(self.sched.at(max(first, self.log_horizon) + beat.every * 0.5, tick))

    # -- endings -------------------------------------------------------------------------------
    def _natural_exit(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        if c.current is not inst or c.state != "running":
            return
        b = c.behaviour
        reason = b.reason or ("Completed" if b.exit_code == 0 else "Error")
        self._terminate(run, c, inst, b.exit_code, reason, b.message, b.signal)

    def _oom_kill(self, run: PodRun, c: ContainerRun, inst: Instance, line: str) -> None:
        if c.current is not inst or c.state != "running":
            return
        cut = cut_mid_word(self._fill(run, c, inst, self.sched.now(), line))
        self._terminate(run, c, inst, 137, "OOMKilled", None, None, cut)

    def _terminate(
        self,
        run: PodRun,
        c: ContainerRun,
        inst: Instance,
        code: int,
        reason: str,
        message: str | None = None,
        signal: int | None = None,
        cut: str | None = None,
    ) -> None:
        if c.current is not inst or c.state != "running":
            return
        now = self.sched.now()
        inst.finished_at, inst.exit_code, inst.reason = now, code, reason
        inst.message, inst.signal = message, signal
        for timer in inst.timers:
            timer.cancel()
        inst.timers.clear()
        c.state, c.ready, c.started = "terminated", False, False
        self.logs.end_instance(run.namespace, run.name, c.name, cut, now)
        self._publish(run)
        if run.deleting:
            self._maybe_finish_delete(run)
        else:
            c.pending.append(self.sched.after(SYNC_DELAY, lambda: self._after_exit(run, c)))

    def _after_exit(self, run: PodRun, c: ContainerRun) -> None:
        """The sync after an exit: next init container, a restart (maybe backed off), or done."""
        if run.deleting or c.current is None:
            return
        code = c.current.exit_code
        if c.init and code == 0:
            self._start_next(run)
            return
        if should_restart(run, c):
            self._sync_container(run, c)
            return
        if c.init:
            run.terminal = True  # restartPolicy Never and an init container failed
        elif all(a.state == "terminated" for a in run.apps):
            run.terminal = True
        if run.terminal:
            for other in run.containers():
                self._cancel_pending(other)
        self._publish(run)
