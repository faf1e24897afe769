"""`make bench`: how kcrash holds up at 1,000, 5,000 and 20,000 pods, measured from outside.

    .venv/bin/python bench/run.py [--sizes 1000,5000,20000] [--runs 3] [--quick]
                                  [--only launch,kubectl,rss,api,idle,churn,diagnose,k9s]
                                  [--k9s PATH] [--out FILE]

For each size the lab runs in a process of its own with that many extra pods (plus the scenarios).
Each run, against that same lab: `kubectl get pods -A`, then `kcrash -A` in a real terminal (tmux)
timed until its header counts every pod live; its API requests from launch on; the bytes it writes
while nothing is typed; screen lag and key answers while the lab churns pods; its peak memory;
then k9s (built by `make k9s`; skipped with one line where it is not) launched in the same terminal
size against the same lab until its pods are on screen, and its memory; finally
`kcrash diagnose -A -o json`. Figures are medians over the runs with min and max, printed
next to their targets, and written to bench/results.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import k9speer  # noqa: E402
import measure  # noqa: E402
from labproc import LabError, LabProcess  # noqa: E402
from report import judge_size, print_peer_table, print_table, summarize_runs  # noqa: E402
from tmuxterm import TmuxError, TmuxTerm  # noqa: E402

MEASUREMENTS = ("launch", "kubectl", "rss", "api", "idle", "churn", "diagnose", "k9s")
SETTLE = 2.0
"""Seconds after the table is complete before the idle capture (the first metrics round lands)."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", type=_ints, default=[1000, 5000, 20000], help="extra pods, comma-separated"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per size (figures are medians)")
    parser.add_argument("--quick", action="store_true", help="short windows: a smoke run, not figures")
    parser.add_argument("--only", type=_names, default=list(MEASUREMENTS), help="comma-separated subset")
    parser.add_argument(
        "--rates",
        type=_floats,
        default=None,
        help="churn events/s; 0 is a baseline without churn (default 0,50,200,1000)",
    )
    parser.add_argument("--churn-seconds", type=float, default=None, help="per rate (default 30; quick 4)")
    parser.add_argument("--api-seconds", type=float, default=None, help="API window (default 60; quick 8)")
    parser.add_argument("--idle-seconds", type=float, default=None, help="idle capture (default 10; quick 3)")
    parser.add_argument(
        "--launch-timeout", type=float, default=measure.LAUNCH_TIMEOUT, help="seconds to wait for the table"
    )
    parser.add_argument(
        "--k9s", type=Path, default=None, help="k9s binary (default: the release `make k9s` built)"
    )
    parser.add_argument("--width", type=int, default=200)
    parser.add_argument("--height", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=BENCH / "results.json")
    args = parser.parse_args(argv)
    quick = args.quick
    args.rates = args.rates or ([0.0, 1000.0] if quick else [0.0, 50.0, 200.0, 1000.0])
    args.churn_seconds = args.churn_seconds or (4.0 if quick else 30.0)
    args.api_seconds = args.api_seconds or (8.0 if quick else 60.0)
    args.idle_seconds = args.idle_seconds or (3.0 if quick else 10.0)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = set(names) - set(MEASUREMENTS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown measurement(s) {sorted(unknown)}; choose from {MEASUREMENTS}"
        )
    return names


def one_run(
    lab: LabProcess, kubeconfig: Path, args: argparse.Namespace, workdir: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    """Every measurement once, in an order where none disturbs the next."""
    only = set(args.only)
    out: dict[str, Any] = {"load_average": list(os.getloadavg())}
    if "kubectl" in only:
        kubectl = measure.measure_kubectl(kubeconfig, workdir)
        out["kubectl"] = {"seconds": kubectl.seconds, "rows": kubectl.rows}
        say(f"kubectl get pods -A {kubectl.seconds:.2f} s ({kubectl.rows} rows)")
    if only & {"launch", "rss", "api", "idle", "churn"}:
        out.update(console_run(lab, kubeconfig, args, workdir, say))
    if "launch" in out and "kubectl" in out:
        out["ratio"] = out["launch"]["seconds"] / out["kubectl"]["seconds"]
    if "k9s" in only and args.k9s is not None:
        out["k9s"] = peer_run(lab, kubeconfig, args, workdir, say)
        out["k9s"].update(peer_ratios(out))
    if "diagnose" in only:
        out["diagnose"] = measure.measure_diagnose(kubeconfig)
        say(f"kcrash diagnose -A {out['diagnose']['seconds']:.2f} s")
    return out


def console_run(
    lab: LabProcess, kubeconfig: Path, args: argparse.Namespace, workdir: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    only = set(args.only)
    out: dict[str, Any] = {}
    with TmuxTerm(args.width, args.height) as term:
        lab.clear_requests()
        since = time.time()
        launch = measure.measure_launch(term, lab, kubeconfig, lab.pod_count(), args.launch_timeout)
        out["launch"] = {"seconds": launch.seconds, "pods": launch.pods}
        out["memory_after_launch_kib"] = measure.memory_kib(launch.pid)
        say(f"kcrash -A: {launch.pods} pods on screen after {launch.seconds:.2f} s")
        if "idle" in only:
            time.sleep(SETTLE)
            out["idle"] = measure.measure_idle_output(term, lab, args.idle_seconds, workdir, launch.pid)
            idle = out["idle"]
            say(
                f"idle output {idle['bytes_per_second']:.0f} B/s, CPU {idle['cpu_percent']:.1f} % "
                f"(main thread {idle['main_thread_cpu_percent']:.1f} %)"
            )
        if "api" in only:
            time.sleep(max(0.0, since + args.api_seconds - time.time()))
            out["api"] = measure.api_load(lab, since, args.api_seconds)
            say(f"API: {out['api']['requests']} requests in {args.api_seconds:.0f} s")
        if "churn" in only:
            out["churn"] = churn_runs(term, lab, args, say)
        out["memory_kib"] = measure.memory_kib(launch.pid)
        term.send("q")
        with_deadline(lambda: term.pane_dead(), 10.0)
    return out


def peer_run(
    lab: LabProcess, kubeconfig: Path, args: argparse.Namespace, workdir: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    """k9s in a terminal of the same size against the same lab: launch -> pods on screen, memory.

    A k9s that never shows the pods is reported in one line and recorded as an error; the run goes on.
    """
    with TmuxTerm(args.width, args.height) as term:
        since = time.time()
        try:
            launch = k9speer.measure_launch(term, lab, args.k9s, kubeconfig, workdir, args.launch_timeout)
        except (TmuxError, LabError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            say(f"k9s: no pods on screen ({first})")
            return {"error": first}
        out: dict[str, Any] = {
            "launch": {"seconds": launch.seconds, "pods": launch.pods, "names_seen": launch.names_seen},
            "memory_after_launch_kib": measure.memory_kib(launch.pid),
        }
        time.sleep(k9speer.SETTLE)
        out["memory_settled_kib"] = measure.memory_kib(launch.pid)
        out["requests"] = sum(1 for r in lab.requests() if r.time >= since)
    say(
        f"k9s -A: {launch.pods} pods on screen after {launch.seconds:.2f} s, "
        f"RSS {out['memory_after_launch_kib'].get('VmHWM', 0) / 1024:.0f} MiB"
    )
    return out


def peer_ratios(run: dict[str, Any]) -> dict[str, float]:
    """kcrash over k9s in this run: launch time and peak RSS once the pods are on screen."""
    peer, ratios = run["k9s"], {}
    if "launch" in run and "launch" in peer:
        ratios["launch_ratio"] = run["launch"]["seconds"] / peer["launch"]["seconds"]
    ours = run.get("memory_after_launch_kib", {}).get("VmHWM")
    theirs = peer.get("memory_after_launch_kib", {}).get("VmHWM")
    if ours and theirs:
        ratios["rss_ratio"] = ours / theirs
    return ratios


def churn_runs(
    term: TmuxTerm, lab: LabProcess, args: argparse.Namespace, say: Callable[[str], None]
) -> dict[str, Any]:
    targets = measure.pick_targets(term, lab)
    say(f"probe targets: {', '.join(f'{ns}/{name}' for ns, name in targets) or 'none on screen'}")
    rng = random.Random(args.seed)
    results: dict[str, Any] = {}
    for rate in args.rates:
        churned = measure.measure_churn(term, lab, targets, rate, args.churn_seconds, rng).as_dict()
        results[f"{rate:g}"] = churned
        say(
            f"churn {rate:g}/s (lab did {churned['achieved_rate']:.0f}/s): "
            f"lag p50 {churned['lag_p50_ms']:.0f} ms p99 {churned['lag_p99_ms']:.0f} ms, "
            f"keys p99 {churned['key_p99_ms']:.0f} ms"
        )
        time.sleep(1.0)  # the churn's restoring flips drain before the next rate
    return results


def with_deadline(done: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.1)
    return False


def run_size(size: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    def say(text: str) -> None:
        print(f"  [{size}] {text}", flush=True)

    started = time.monotonic()
    with LabProcess(size, args.seed, workdir / f"kubeconfig-{size}") as lab:
        assert lab.info is not None
        lab_info = lab.info
        say(f"lab up with {lab_info.pods} pods in {time.monotonic() - started:.0f} s ({lab_info.url})")
        runs = []
        for index in range(args.runs):
            say(f"run {index + 1}/{args.runs}")
            runs.append(one_run(lab, lab_info.kubeconfig, args, workdir, say))
    summary = summarize_runs(runs)
    return {
        "extra_pods": size,
        "lab_pods": lab_info.pods,
        "runs": runs,
        "summary": summary,
        "targets": judge_size(size, lab_info.pods, summary, runs, args),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if shutil.which("tmux") is None and set(args.only) & {"launch", "rss", "api", "idle", "churn", "k9s"}:
        print("bench: tmux is not installed", file=sys.stderr)
        return 2
    if "k9s" in args.only:
        given, args.k9s = args.k9s, k9speer.usable_binary(args.k9s)
        if args.k9s is None:
            print(k9speer.missing_line(given), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks, end the lab
    results: dict[str, Any] = {"meta": meta(args), "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="kcrash-bench-") as tmp:
        for size in args.sizes:
            print(f"size {size} extra pods", flush=True)
            results["sizes"][str(size)] = run_size(size, args, Path(tmp))
            write(results, args.out)
    print_table(results)
    print_peer_table(results)
    print(f"results: {args.out}")
    return 0


def meta(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": args.quick,
        "runs": args.runs,
        "sizes": args.sizes,
        "only": args.only,
        "rates": args.rates,
        "churn_seconds": args.churn_seconds,
        "api_seconds": args.api_seconds,
        "idle_seconds": args.idle_seconds,
        "terminal": f"{args.width}x{args.height}",
        "probe_timeout_s": measure.PROBE_TIMEOUT,
        "python": platform.python_version(),
        "cpus": os.cpu_count() or 0,
        "k9s": k9speer.pinned_version() if args.k9s is not None else None,
        "load_average": list(os.getloadavg()),
    }


def write(results: dict[str, Any], path: Path) -> None:
    def clean(value: Any) -> Any:  # JSON has no NaN
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean(results), indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
