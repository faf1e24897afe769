"""`make chaos`: kcrash against a cluster that misbehaves, measured, written to docs/reliability.md.

Each scenario runs against the lab (its own fault switches) and, where the binaries are built,
against a real control plane behind a fault-injecting proxy (bench/faultproxy.py); see
bench/chaosreal.py for both. kcrash is measured as a user meets it: the console in a terminal
(tmux), its screen read from outside, and `kcrash diagnose` (in-process, its stdout, stderr and exit
status read as a script would); the watch churn reads the pod reflector behind the table.

    python bench/chaos.py                       # the full suite, both targets (about an hour)
    python bench/chaos.py --target lab          # one target only
    python bench/chaos.py --window 300          # how long the throttling and 500s last (seconds)
    python bench/chaos.py --short               # fewer runs and shorter windows (< 3 min, lab only)
    python bench/chaos.py --target lab --json lab.json      # figures as JSON, to render later:
    python bench/chaos.py --render lab.json real.json --output docs/reliability.md

Every figure is printed as it is measured, with its goal and PASS or MISS.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tui"))

from kcrash.cluster.api import Api  # noqa: E402
from kcrash.cluster.config import connect  # noqa: E402
from kcrash.cluster.source import ClusterSource  # noqa: E402
from kcrash.core.records import Pod  # noqa: E402
from kcrash.diagnose_cmd import main as diagnose_main  # noqa: E402
from kcrash.lab.realcp.binaries import MissingBinaries, find_binaries  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from chaosreal import LabCluster, RealCluster  # noqa: E402
from chaosterm import Console, filled, press_every_key  # noqa: E402
from pane import header, rows  # noqa: E402

NAMESPACE = "crashlab"
TARGETS = ("lab", "real")


@dataclass(frozen=True)
class Plan:
    """How long and how often: the full suite, or the short one that runs with the tests."""

    outage: float
    runs: int
    window: float
    pods: int
    churn_rate: float
    churn_seconds: float
    drop_every: float
    expire_every: float
    key_rounds: int

    @staticmethod
    def of(short: bool) -> Plan:
        if short:
            return Plan(
                outage=5,
                runs=3,
                window=15,
                pods=500,
                churn_rate=100,
                churn_seconds=15,
                drop_every=3,
                expire_every=7,
                key_rounds=1,
            )
        return Plan(
            outage=60,
            runs=20,
            window=300,
            pods=5000,
            churn_rate=200,
            churn_seconds=600,
            drop_every=30,
            expire_every=120,
            key_rounds=3,
        )


@dataclass(frozen=True)
class Figure:
    target: str
    scenario: str
    figure: str
    value: str
    goal: str
    passed: bool


class Cluster(Protocol):
    """What a scenario drives: the lab, or the real control plane behind the fault proxy."""

    target: str

    def kubeconfig(self, path: Path) -> Path: ...
    def direct_kubeconfig(self, path: Path) -> Path: ...
    def log_requests_to(self, path: Path | None) -> None: ...
    def set_error_rate(self, rate: float, status: int = 500, retry_after: int = 1) -> None: ...
    def drop_watches_every(self, seconds: float) -> None: ...
    def expire_every(self, seconds: float) -> None: ...
    def reset(self) -> None: ...
    def outage(self, seconds: float) -> None: ...
    def answers(self) -> bool: ...
    def churn(self, rate: float, seconds: float) -> int: ...
    def restart_with_new_credentials(self) -> None: ...
    def stop(self) -> None: ...


@dataclass
class Suite:
    plan: Plan
    work: Path
    target: str
    figures: list[Figure] = field(default_factory=list)
    tracebacks: int = 0
    secret_requests: int = 0
    write_requests: int = 0
    loads: list[float] = field(default_factory=list)
    real: RealCluster | None = None

    def add(self, scenario: str, figure: str, value: str, goal: str, passed: bool) -> None:
        self.figures.append(Figure(self.target, scenario, figure, value, goal, passed))
        verdict = "PASS" if passed else "MISS"
        print(f"[{self.target}] {scenario} | {figure}: {value} (goal {goal}) {verdict}", flush=True)

    def cluster(self, name: str, **lab_options: Any) -> _Scope:
        return _Scope(self, name, lab_options)

    def count(self, log: Path) -> None:
        """Secret and write requests kcrash sent, from a request log."""
        if not log.exists():
            return
        for line in log.read_text().splitlines():
            row = json.loads(line)
            if "secrets" in row["path"].split("/"):
                self.secret_requests += 1
            if row["method"] in ("PUT", "PATCH", "DELETE") or (
                row["method"] == "POST" and not row["path"].endswith("accessreviews")
            ):
                self.write_requests += 1

    def sample_load(self) -> None:
        self.loads.append(os.getloadavg()[0])


class _Scope:
    """`with suite.cluster(name) as cluster:` a lab of its own, or the real control plane with a
    new proxy; its request log is counted after."""

    def __init__(self, suite: Suite, name: str, lab_options: dict[str, Any]) -> None:
        self.suite, self.name, self.lab_options = suite, name, lab_options
        self.cluster: Cluster | None = None
        self.log = suite.work / f"{suite.target}-{name}.requests.jsonl"

    def __enter__(self) -> Cluster:
        if self.suite.real is not None:
            self.suite.real.new_proxy()
            self.cluster = self.suite.real
        else:
            self.cluster = LabCluster(**self.lab_options)
        self.cluster.log_requests_to(self.log)
        return self.cluster

    def __exit__(self, *_: object) -> None:
        assert self.cluster is not None
        self.cluster.log_requests_to(None)
        self.cluster.reset()
        if self.suite.real is None:
            self.cluster.stop()
        self.suite.count(self.log)
        self.suite.sample_load()


# -- what the console's table holds (the churn) -----------------------------------------------


class Rows:
    """The pods as the console's table holds them, fed by the reflector's callbacks."""

    def __init__(self) -> None:
        self.pods: dict[tuple[str, str], Pod] = {}
        self.phases: list[str] = []
        self._lock = threading.Lock()

    def events(self, batch: list[tuple[str, Pod]]) -> None:
        with self._lock:
            for kind, pod in batch:
                if kind == "DELETED":
                    self.pods.pop(pod.key, None)
                else:
                    self.pods[pod.key] = pod

    def resync(self, pods: list[Pod]) -> None:
        with self._lock:
            self.pods = {pod.key: pod for pod in pods}

    def state(self, state: Any) -> None:
        self.phases.append(state.phase)

    @property
    def live(self) -> bool:
        return bool(self.phases) and self.phases[-1] == "synced"

    def versions(self) -> dict[tuple[str, str], str]:
        with self._lock:
            return {key: pod.resource_version for key, pod in self.pods.items()}


def watch(config: Path, namespace: str | None = NAMESPACE) -> tuple[ClusterSource, Rows]:
    source = ClusterSource(connect(str(config), None, None, False), namespace=namespace)
    table = Rows()
    source.watch_pods(table.events, table.resync, table.state)
    return source, table


def wait(ready: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def server_versions(config: Path, namespace: str | None) -> dict[tuple[str, str], str]:
    page = Api(connect(str(config), None, None, False)).list_all_pods(namespace)
    return {pod.key: pod.resource_version for pod in page.items}


def diagnose(config: Path, timeout: float = 60) -> tuple[int, list[dict[str, Any]], str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["-n", NAMESPACE, "-o", "json", "--timeout", str(timeout), "--kubeconfig", str(config)]
    code = diagnose_main(argv, stdout=out, stderr=err)
    found = json.loads(out.getvalue()) if out.getvalue().strip() else []
    return code, found, err.getvalue()


# -- the screen ----------------------------------------------------------------------------------


def live(screen: str) -> bool:
    found = header(screen)
    return found is not None and found.live


def stale(screen: str) -> bool:
    """The console is up (its table's title row is drawn) and its status line does not say live:
    "stale 09:29:41: refused", "reconnecting: ..." (not live, the header is compact and a long
    reason may push the pod count off it, so the pane's header parser does not read it)."""
    first = next((line for line in screen.splitlines() if line.strip()), "")
    return "● live" not in first and any(" NAME " in line for line in screen.splitlines()[:4])


def row_keys(screen: str) -> set[tuple[str, str]]:
    return {row.key for row in rows(screen)}


def seen_within(console: Console, ready: Callable[[str], bool], timeout: float) -> float | None:
    """Seconds until the screen shows `ready`, or None."""
    began = time.monotonic()
    return time.monotonic() - began if console.wait(ready, timeout) else None


# -- the scenarios --------------------------------------------------------------------------------


def api_down(suite: Suite) -> None:
    """The console on screen while the API is down: stale shown, rows kept, live again on return."""
    name = f"API down {suite.plan.outage:g} s, same credentials"
    with suite.cluster("outage") as cluster:
        config = cluster.kubeconfig(suite.work / f"{suite.target}-outage.kubeconfig")
        console = Console(config, "-n", NAMESPACE)
        try:
            if not console.wait(filled, 90):
                raise RuntimeError(f"the console never filled:\n{console.screen()}")
            time.sleep(1)
            before = row_keys(console.screen())
            cluster.outage(suite.plan.outage)
            to_stale = seen_within(console, stale, 10)
            kept = _rows_while_down(console, cluster, before, suite.plan.outage + 30)
            to_live = seen_within(console, live, 60)
            suite.tracebacks += console.tracebacks()
        finally:
            console.stop()
    stale_text = "never" if to_stale is None else f"{to_stale:.1f}"
    suite.add(
        name, "seconds to the stale indication", stale_text, "≤ 1", to_stale is not None and to_stale <= 1
    )
    back_text = "never" if to_live is None else f"{to_live:.1f}"
    suite.add(
        name, "seconds from return to live (screen)", back_text, "≤ 2", to_live is not None and to_live <= 2
    )
    figure = "rows kept on screen while down (fewest seen)"
    suite.add(name, figure, f"{kept} of {len(before)}", "all", kept == len(before) > 0)


def _rows_while_down(console: Console, cluster: Cluster, before: set[tuple[str, str]], timeout: float) -> int:
    """Read the screen twice a second until the server answers again: the fewest of `before`'s
    rows on screen."""
    kept = len(before)
    deadline = time.monotonic() + timeout
    next_read = 0.0
    time.sleep(0.5)
    while not cluster.answers() and time.monotonic() < deadline:
        if time.monotonic() >= next_read:
            screen = console.screen()
            kept = min(kept, len(row_keys(screen) & before))
            next_read = time.monotonic() + 0.5
        time.sleep(0.01)
    return kept


def new_credentials(suite: Suite) -> None:
    """The server restarts with a new CA and token; the kubeconfig is rewritten 2 s later."""
    what = "lab" if suite.real is None else "control plane"
    name = f"{what} restarted with new credentials, kubeconfig rewritten"
    with suite.cluster("credentials") as cluster:
        config = cluster.direct_kubeconfig(suite.work / f"{suite.target}-credentials.kubeconfig")
        console = Console(config, "-n", NAMESPACE)
        try:
            if not console.wait(live, 90):
                raise RuntimeError(f"the console never went live:\n{console.screen()}")
            cluster.restart_with_new_credentials()
            console.wait(stale, 30)
            time.sleep(2)  # the old CA and token fail for a while before anyone rewrites the file
            cluster.direct_kubeconfig(config)
            seconds = seen_within(console, live, 60)
            suite.tracebacks += console.tracebacks()
        finally:
            console.stop()
    text = "never" if seconds is None else f"{seconds:.1f}"
    suite.add(
        name, "seconds to live after the rewrite (screen)", text, "≤ 5", seconds is not None and seconds <= 5
    )


def spread(window: float, jobs: list[Callable[[], None]]) -> float:
    """Start job i at i * window / len(jobs) (at once when an earlier one ran late); then wait
    out the window. Returns the seconds from the first start to the end of the last job."""
    began = time.monotonic()
    for index, job in enumerate(jobs):
        time.sleep(max(0.0, began + index * window / len(jobs) - time.monotonic()))
        job()
    ended = time.monotonic()
    time.sleep(max(0.0, began + window - ended))
    return ended - began


def throttled(suite: Suite) -> None:
    plan = suite.plan
    name = f"30 % 429 with Retry-After for {plan.window:g} s"
    runs, starts, complete = plan.runs, [0], [0]
    with suite.cluster("throttled") as cluster:
        config = cluster.kubeconfig(suite.work / f"{suite.target}-throttled.kubeconfig")
        settle(config)
        cluster.set_error_rate(0.3, status=429, retry_after=1)

        def start() -> None:
            starts[0] += _console_fills(suite, config)

        def run() -> None:
            code, _, err = diagnose(config)
            suite.tracebacks += err.count("Traceback")
            complete[0] += code in (0, 1)

        span = spread(plan.window, [job for _ in range(runs) for job in (start, run)])
        cluster.reset()
    print(f"  (runs spread over {span:.0f} s of a {plan.window:g} s window)", flush=True)
    figure = f"console starts in a terminal that fill (of {runs})"
    suite.add(name, figure, f"{starts[0]}/{runs}", f"{runs}/{runs}", starts[0] == runs)
    suite.add(
        name,
        f"diagnose runs complete (of {runs})",
        f"{complete[0]}/{runs}",
        f"{runs}/{runs}",
        complete[0] == runs,
    )


def _console_fills(suite: Suite, config: Path) -> bool:
    """The console started in a terminal: does its table fill, live, within 30 s?"""
    console = Console(config, "-n", NAMESPACE)
    try:
        if console.wait(filled, 30):
            return True
        status = console.screen().strip().splitlines()[:1]
        print(f"  (a console start did not fill in 30 s; its status line: {status})", flush=True)
        return False
    finally:
        suite.tracebacks += console.tracebacks()
        console.stop()


def server_errors(suite: Suite) -> None:
    plan = suite.plan
    name = f"30 % 500 for {plan.window:g} s"
    runs, declared, silent = plan.runs, [0], [0]
    with suite.cluster("errors") as cluster:
        config = cluster.kubeconfig(suite.work / f"{suite.target}-errors.kubeconfig")
        clean = {row["pod"]: row["cause"] for row in settle(config)}
        cluster.set_error_rate(0.3, status=500)

        def run() -> None:
            code, found, err = diagnose(config)
            suite.tracebacks += err.count("Traceback")
            declared[0] += code in (0, 1) or (code == 3 and "partial evidence" in err)
            silent[0] += sum(
                1 for r in found if not r["unread"] and r["pod"] in clean and r["cause"] != clean[r["pod"]]
            )

        span = spread(plan.window, [run] * runs)
        cluster.reset()
    print(f"  (runs spread over {span:.0f} s of a {plan.window:g} s window)", flush=True)
    figure = f"diagnose runs complete or declared partial (of {runs})"
    suite.add(name, figure, f"{declared[0]}/{runs}", f"{runs}/{runs}", declared[0] == runs)
    suite.add(
        name, "silent partials (changed verdicts with nothing declared)", str(silent[0]), "0", silent[0] == 0
    )


def settle(config: Path, timeout: float = 60) -> list[dict[str, Any]]:
    """Diagnose until two runs in a row agree: every scenario has reached the state it shows."""
    previous: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while True:
        _, found, _ = diagnose(config)
        causes = {r["pod"]: r["cause"] for r in found}
        if causes == previous or time.monotonic() > deadline:
            return found
        previous = causes
        time.sleep(1.0)


def watch_churn(suite: Suite) -> None:
    plan = suite.plan
    name = (
        f"watch dropped every {plan.drop_every:g} s + 410 every {plan.expire_every:g} s, "
        f"{plan.churn_seconds:g} s of churn at {plan.churn_rate:g} ev/s, {plan.pods:,} pods"
    )
    with suite.cluster("churn", speed=1.0, extra_pods=plan.pods) as cluster:
        if isinstance(cluster, RealCluster):
            cluster.create_churn_pods(plan.pods)
        config = cluster.kubeconfig(suite.work / f"{suite.target}-churn.kubeconfig")
        direct = cluster.direct_kubeconfig(suite.work / f"{suite.target}-churn-direct.kubeconfig")
        source, table = watch(config, None)  # the extra pods live in namespaces of their own
        try:
            wait(lambda: table.live and len(table.pods) >= plan.pods, 300)
            cluster.drop_watches_every(plan.drop_every)
            cluster.expire_every(plan.expire_every)
            began = time.monotonic()
            changes = cluster.churn(plan.churn_rate, plan.churn_seconds)
            took = time.monotonic() - began
            cluster.reset()
            lost = extra = wrong = -1
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                server, held = server_versions(direct, None), table.versions()
                lost = len(server.keys() - held.keys())
                extra = len(held.keys() - server.keys())
                wrong = sum(1 for key in server.keys() & held.keys() if server[key] != held[key])
                if lost == extra == wrong == 0:
                    break
                time.sleep(0.5)
            relists = source.reflector.lists if source.reflector else 0
        finally:
            source.stop()
    print(f"  ({changes} changes made in {took:.0f} s, {relists} lists by the reflector)", flush=True)
    figure = "lost, duplicated, wrong rows at the end vs the server"
    suite.add(name, figure, f"{lost}, {extra}, {wrong}", "0, 0, 0", lost == extra == wrong == 0)
    rate = changes / took if took else 0.0
    suite.add(
        name,
        "changes made (ev/s achieved)",
        f"{changes} ({rate:.0f}/s)",
        f"≥ {plan.churn_rate * 0.95:g}/s (95 % of {plan.churn_rate:g})",
        rate >= plan.churn_rate * 0.95,
    )


def read_only_keys(suite: Suite) -> None:
    name = "read-only session with every key pressed"
    before = suite.write_requests
    with suite.cluster("read-only") as cluster:
        config = cluster.kubeconfig(suite.work / f"{suite.target}-read-only.kubeconfig")
        pressed, tracebacks = press_every_key(
            lambda: Console(config, "-n", NAMESPACE, "--read-only"), suite.plan.key_rounds
        )
    suite.tracebacks += tracebacks
    writes = suite.write_requests - before
    print(f"  ({pressed} keys pressed, each followed by y and Enter)", flush=True)
    suite.add(name, "write requests in the request log", str(writes), "0", writes == 0 and pressed > 0)


def whole_suite(suite: Suite) -> None:
    suite.add("whole suite", "Secret requests", str(suite.secret_requests), "0", suite.secret_requests == 0)
    suite.add("whole suite", "tracebacks", str(suite.tracebacks), "0", suite.tracebacks == 0)
    writes = str(suite.write_requests)
    suite.add("whole suite", "write requests (all scenarios)", writes, "0", suite.write_requests == 0)


LAB_SCENARIOS: tuple[Callable[[Suite], None], ...] = (
    api_down,
    new_credentials,
    throttled,
    server_errors,
    watch_churn,
    read_only_keys,
)
REAL_SCENARIOS: tuple[Callable[[Suite], None], ...] = (
    api_down,
    throttled,
    server_errors,
    read_only_keys,
    watch_churn,
    new_credentials,  # last: it replaces the control plane
)
NOT_YET = (
    "crash loops on the real control plane: it runs no kubelet yet, so its pods stay Pending and "
    "there the console and `diagnose` read Unschedulable pods: no container logs, restarts or "
    "last exits are asked for under the faults;",
    "an outage of the real apiserver process: the outage there is the fault proxy's port refusing "
    "connections and cutting open ones while the apiserver behind it keeps running;",
    "the watch churn on screen: 5,000 rows do not fit a terminal, so the churn is read from the pod "
    "reflector the table is fed by, not from the screen.",
)


@dataclass
class Result:
    """What one run of the suite (one target or both) measured."""

    figures: list[Figure]
    seconds: float
    loads: list[float]
    runs: int = 1

    def to_json(self) -> str:
        return json.dumps(
            {"figures": [asdict(f) for f in self.figures], "seconds": self.seconds, "loads": self.loads}
        )

    @staticmethod
    def from_json(text: str) -> Result:
        data = json.loads(text)
        return Result([Figure(**f) for f in data["figures"]], float(data["seconds"]), list(data["loads"]))


def merge(parts: list[Result]) -> Result:
    """Results of runs made apart, in order: a later figure replaces an earlier one of the same
    target, scenario and figure; the whole suite's counts add up."""
    figures: dict[tuple[str, str, str], Figure] = {}
    for part in parts:
        for f in part.figures:
            key = (f.target, f.scenario, f.figure)
            earlier = figures.get(key)
            if f.scenario == "whole suite" and earlier is not None:
                total = int(earlier.value) + int(f.value)
                f = replace(f, value=str(total), passed=total == 0)
            figures[key] = f
    ordered = sorted(figures.values(), key=lambda f: (f.target != "lab", f.scenario == "whole suite"))
    seconds = sum(p.seconds for p in parts)
    return Result(ordered, seconds, [x for p in parts for x in p.loads], runs=len(parts))


def run(
    short: bool, targets: tuple[str, ...] = ("lab",), window: float | None = None, only: tuple[str, ...] = ()
) -> Result:
    plan = Plan.of(short)
    if window is not None:
        plan = replace(plan, window=window)
    began = time.monotonic()
    figures: list[Figure] = []
    loads: list[float] = []
    for target in targets:
        suite = run_target(plan, target, only)
        figures += suite.figures
        loads += suite.loads
    return Result(figures, time.monotonic() - began, loads)


def run_target(plan: Plan, target: str, only: tuple[str, ...] = ()) -> Suite:
    work = Path(tempfile.mkdtemp(prefix=f"kcrash-chaos-{target}-"))
    label = "lab" if target == "lab" else "real control plane"
    suite = Suite(plan, work, label)
    scenarios = LAB_SCENARIOS
    if target == "real":
        try:
            find_binaries()
        except MissingBinaries as missing:
            print(f"[real control plane] skipped: {missing}", flush=True)
            return suite
        suite.real = RealCluster(work)
        scenarios = REAL_SCENARIOS
    if only:
        scenarios = tuple(s for s in scenarios if s.__name__ in only)
    try:
        for scenario in scenarios:
            began = time.monotonic()
            try:
                scenario(suite)
                print(f"  ({scenario.__name__} took {time.monotonic() - began:.0f} s)", flush=True)
            except Exception:  # a scenario that breaks is a MISS, and its traceback is counted
                suite.tracebacks += 1
                traceback.print_exc()
                suite.add(scenario.__name__, "completed", "no", "yes", False)
    finally:
        if suite.real is not None:
            suite.real.stop()
    whole_suite(suite)
    return suite


def markdown(result: Result, command: str) -> str:
    minutes = result.seconds / 60
    runs = f" over {result.runs} runs rendered together (`--render`)" if result.runs > 1 else ""
    loads = result.loads or [0.0]
    lines = [
        "# Reliability: kcrash against a cluster that misbehaves",
        "",
        "Measured by the chaos suite (`bench/chaos.py`) against two targets: the lab and its fault",
        "switches (see [lab.md](lab.md)), and a real control plane (etcd, kube-apiserver, controller",
        "manager and scheduler from `controlplane/`) behind a fault-injecting HTTPS proxy on loopback",
        "(`bench/faultproxy.py`: 429 with Retry-After, 500, dropped watches, 410 Expired on resume, a",
        "refused port) that passes kcrash's own token through, so the apiserver still authenticates",
        "and authorizes every request.",
        "",
        "The outage and the new credentials are read from the console's screen in a terminal (tmux):",
        "its status line and its table's rows, polled from outside. The throttling and the server",
        "errors hold the fault for the whole window while the console starts and `diagnose` runs are",
        "spread across it. The watch churn reads the pod reflector the table is fed by and compares it",
        "with a LIST straight from the server. Against the real control plane the new credentials are",
        "a new control plane (new CA, new tokens) on the same port, reached without the proxy.",
        "",
        "The real control plane runs no kubelet, so its pods never run: the suite creates them",
        "Pending. The 20 in `crashlab` (the console's table, `diagnose`) ask for a node label no node",
        "has and are Unschedulable; the churn's 5,000 ask for a scheduler nobody runs, and the churn",
        "is label patches. (Pods bound by `nodeName` to a node that does not exist would be deleted by",
        "the controller manager's pod garbage collector.)",
        "",
        f"Reproduce: `{command}`",
        "",
        f"Wall time: {minutes:.0f} minutes{runs} on a shared two-core machine, load average (1 min) from",
        f"{min(loads):.1f} to {max(loads):.1f} at the end of the scenarios.",
        "",
        "| against | scenario | figure | measured | goal | result |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for f in result.figures:
        verdict = "PASS" if f.passed else "MISS"
        lines.append(f"| {f.target} | {f.scenario} | {f.figure} | {f.value} | {f.goal} | {verdict} |")
    lines += ["", "Not measured yet:", ""]
    lines += [f"- {note}" for note in NOT_YET]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--short", action="store_true", help="fewer runs and shorter windows (< 3 min)")
    parser.add_argument(
        "--target", choices=(*TARGETS, "all"), help="lab, real or all (default: all; --short: lab)"
    )
    parser.add_argument("--window", type=float, help="seconds the throttling and the 500s last (default 300)")
    parser.add_argument("--output", type=Path, help="write the table here (markdown)")
    parser.add_argument("--json", type=Path, help="write the figures here (JSON), to --render later")
    parser.add_argument("--render", type=Path, nargs="+", help="merge JSON results instead of running")
    parser.add_argument("--only", default="", help="scenarios to run, e.g. throttled,api_down")
    args = parser.parse_args(argv)
    if args.render:
        result = merge([Result.from_json(path.read_text()) for path in args.render])
    else:
        chosen = args.target or ("lab" if args.short else "all")
        targets = TARGETS if chosen == "all" else (chosen,)
        only = tuple(name for name in args.only.split(",") if name)
        result = run(args.short, targets, args.window, only)
        print(f"suite took {result.seconds / 60:.1f} minutes", flush=True)
    if args.json:
        args.json.write_text(result.to_json())
    if args.output:
        command = "python bench/chaos.py --short" if args.short else "make chaos"
        args.output.write_text(markdown(result, command))
        print(f"wrote {args.output}")
    return 0 if all(f.passed for f in result.figures) else 1


if __name__ == "__main__":
    sys.exit(main())
