"""Figures out of raw runs: medians with min and max, the targets they are held to, the printed table."""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

LAUNCH_TARGETS = ((1000, 1.0), (20000, 3.0))
"""(pods, seconds): complete pod table at most this long; linear between, flat outside."""
MAX_KUBECTL_RATIO = 1.5
LAG_TARGET_MS = 100.0
LAG_TARGET_RATE = "200"
KEY_TARGET_MS = 100.0
KEY_TARGET_RATE = "1000"
RSS_TARGET_MIB = 300.0
IDLE_BYTES_PER_TICKING_CELL = 200.0
"""Bytes per second per visible ticking cell (countdown, "(12s ago)") a frugal redraw needs at most:
one cursor move, one style and a dozen characters for each cell each second, with room to spare."""
IDLE_FLOOR = 1024.0
"""Bytes per second allowed on top (the odd pod change, a clock column rolling over)."""
IDLE_CPU_TARGET = 2.0
"""Percent of one core the console may use while nothing is typed (countdowns still tick)."""

Run = dict[str, Any]


def _get(run: Run, *path: str) -> float | None:
    value: Any = run
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


def figures(run: Run) -> dict[str, float]:
    """The numbers one run contributes, by figure name (missing measurements are left out)."""
    found: dict[str, float | None] = {
        "launch_s": _get(run, "launch", "seconds"),
        "kubectl_s": _get(run, "kubectl", "seconds"),
        "ratio": _get(run, "ratio"),
        "rss_peak_mib": _kib_to_mib(_get(run, "memory_kib", "VmHWM")),
        "rss_after_launch_mib": _kib_to_mib(_get(run, "memory_after_launch_kib", "VmHWM")),
        "idle_bytes_per_s": _get(run, "idle", "bytes_per_second"),
        "idle_redundant_share": _get(run, "idle", "redundant_share"),
        "idle_ticking_cells": _get(run, "idle", "ticking_cells"),
        "idle_pod_changes": _get(run, "idle", "pod_changes"),
        "idle_cpu_percent": _get(run, "idle", "cpu_percent"),
        "idle_main_thread_cpu_percent": _get(run, "idle", "main_thread_cpu_percent"),
        "idle_bytes_per_changed_char": _get(run, "idle", "bytes_per_changed_char"),
        "idle_writes_from_left_share": _share(
            _get(run, "idle", "writes_from_left"), _get(run, "idle", "writes")
        ),
        "api_requests": _get(run, "api", "requests"),
        "api_problems": float(len(run["api"]["problems"])) if "api" in run else None,
        "diagnose_s": _get(run, "diagnose", "seconds"),
        "k9s_launch_s": _get(run, "k9s", "launch", "seconds"),
        "k9s_rss_after_launch_mib": _kib_to_mib(_get(run, "k9s", "memory_after_launch_kib", "VmHWM")),
        "k9s_rss_settled_mib": _kib_to_mib(_get(run, "k9s", "memory_settled_kib", "VmRSS")),
        "k9s_requests": _get(run, "k9s", "requests"),
        "k9s_launch_ratio": _get(run, "k9s", "launch_ratio"),
        "k9s_rss_ratio": _get(run, "k9s", "rss_ratio"),
    }
    for rate, churn in (run.get("churn") or {}).items():
        keys = ("achieved_rate", "lag_p50_ms", "lag_p99_ms", "key_p50_ms", "key_p99_ms")
        for key in (*keys, "help_open_p50_ms", "help_open_p99_ms", "help_close_p50_ms", "help_close_p99_ms"):
            found[f"churn_{rate}_{key}"] = _get(churn, key)
        timeouts = churn["lag_timeouts"] + churn["key_timeouts"] + churn.get("help_timeouts", 0)
        found[f"churn_{rate}_timeouts"] = float(timeouts)
    return {k: v for k, v in found.items() if v is not None and math.isfinite(v)}


def _kib_to_mib(kib: float | None) -> float | None:
    return None if kib is None else kib / 1024


def _share(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else part / whole


def summarize_runs(runs: list[Run]) -> dict[str, dict[str, float]]:
    """{figure: {median, min, max, n}} over the runs."""
    values: dict[str, list[float]] = {}
    for run in runs:
        for name, value in figures(run).items():
            values.setdefault(name, []).append(value)
    return {
        name: {"median": statistics.median(v), "min": min(v), "max": max(v), "n": float(len(v))}
        for name, v in values.items()
    }


def launch_target(pods: int) -> float:
    (low_pods, low), (high_pods, high) = LAUNCH_TARGETS
    if pods <= low_pods:
        return low
    if pods >= high_pods:
        return high
    return low + (high - low) * (pods - low_pods) / (high_pods - low_pods)


@dataclass(frozen=True, slots=True)
class Verdict:
    figure: str
    value: float
    target: str
    passed: bool


def idle_budget(ticking_cells: float) -> float:
    return IDLE_FLOOR + IDLE_BYTES_PER_TICKING_CELL * ticking_cells


def judge_size(
    extra_pods: int,
    lab_pods: int,
    summary: dict[str, dict[str, float]],
    runs: list[Run],
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    """Each target that applies to what was measured, judged on the median (ratio: on every run)."""
    verdicts: list[Verdict] = []

    def median(name: str) -> float | None:
        return summary[name]["median"] if name in summary else None

    def add(figure: str, value: float | None, target: str, ok: Callable[[float], bool]) -> None:
        if value is not None:
            verdicts.append(Verdict(figure, value, target, ok(value)))

    limit = launch_target(lab_pods)
    add("launch_s", median("launch_s"), f"<= {limit:.2f} s", lambda v: v <= limit)
    worst_ratio = summary["ratio"]["max"] if "ratio" in summary else None
    add("ratio", worst_ratio, f"every run <= {MAX_KUBECTL_RATIO}x kubectl", lambda v: v <= MAX_KUBECTL_RATIO)
    add(
        f"churn_{LAG_TARGET_RATE}_lag_p99_ms",
        median(f"churn_{LAG_TARGET_RATE}_lag_p99_ms"),
        f"< {LAG_TARGET_MS:.0f} ms",
        lambda v: v < LAG_TARGET_MS,
    )
    add(
        f"churn_{KEY_TARGET_RATE}_key_p99_ms",
        median(f"churn_{KEY_TARGET_RATE}_key_p99_ms"),
        f"<= {KEY_TARGET_MS:.0f} ms",
        lambda v: v <= KEY_TARGET_MS,
    )
    add("rss_peak_mib", median("rss_peak_mib"), f"<= {RSS_TARGET_MIB:.0f} MiB", lambda v: v <= RSS_TARGET_MIB)
    problems = sorted({p for run in runs for p in (run.get("api") or {}).get("problems", [])})
    if any("api" in run for run in runs):
        add(
            "api_problems",
            float(len(problems)),
            "one LIST+WATCH per resource, nothing per pod",
            lambda v: v == 0,
        )
    ticking = median("idle_ticking_cells")
    if ticking is not None:
        budget = idle_budget(ticking)
        add("idle_bytes_per_s", median("idle_bytes_per_s"), f"<= {budget:.0f} B/s", lambda v: v <= budget)
    add(
        "idle_cpu_percent",
        median("idle_cpu_percent"),
        f"< {IDLE_CPU_TARGET:.0f} %",
        lambda v: v < IDLE_CPU_TARGET,
    )
    return [asdict(v) for v in verdicts]


LABELS = {
    "launch_s": ("launch -> full pod table", "s", 2),
    "kubectl_s": ("kubectl get pods -A", "s", 2),
    "ratio": ("kcrash / kubectl", "x", 2),
    "rss_after_launch_mib": ("peak RSS after launch", "MiB", 0),
    "rss_peak_mib": ("peak RSS (whole run)", "MiB", 0),
    "api_requests": ("API requests in window", "", 0),
    "api_problems": ("API load problems", "", 0),
    "idle_bytes_per_s": ("idle output", "B/s", 0),
    "idle_bytes_per_changed_char": ("idle bytes per changed character", "B", 0),
    "idle_writes_from_left_share": ("idle writes starting at column 1", "", 2),
    "idle_redundant_share": ("idle bytes rewriting same text", "", 2),
    "idle_ticking_cells": ("ticking cells on screen", "", 0),
    "idle_pod_changes": ("pod changes during idle", "", 0),
    "idle_cpu_percent": ("idle CPU (one core)", "%", 1),
    "idle_main_thread_cpu_percent": ("idle CPU, main thread", "%", 1),
    "diagnose_s": ("kcrash diagnose -A -o json", "s", 2),
    "k9s_launch_s": ("k9s: launch -> pods on screen", "s", 2),
    "k9s_rss_after_launch_mib": ("k9s: peak RSS after launch", "MiB", 0),
    "k9s_rss_settled_mib": ("k9s: RSS 5 s later", "MiB", 0),
    "k9s_requests": ("k9s: API requests until then", "", 0),
    "k9s_launch_ratio": ("kcrash / k9s launch", "x", 2),
    "k9s_rss_ratio": ("kcrash / k9s peak RSS after launch", "x", 2),
}


def _label(name: str) -> tuple[str, str, int]:
    if name in LABELS:
        return LABELS[name]
    if name.startswith("churn_"):
        _, rate, rest = name.split("_", 2)
        text = {
            "achieved_rate": ("lab events done", "/s", 0),
            "lag_p50_ms": ("screen lag p50", "ms", 0),
            "lag_p99_ms": ("screen lag p99", "ms", 0),
            "key_p50_ms": ("cursor key j/k answer p50", "ms", 0),
            "key_p99_ms": ("cursor key j/k answer p99", "ms", 0),
            "help_open_p50_ms": ("? opening help p50", "ms", 0),
            "help_open_p99_ms": ("? opening help p99", "ms", 0),
            "help_close_p50_ms": ("? closing help p50", "ms", 0),
            "help_close_p99_ms": ("? closing help p99", "ms", 0),
            "timeouts": ("probes timed out", "", 0),
        }.get(rest, (rest, "", 2))
        return (f"{rate:>4} ev/s: {text[0]}", text[1], text[2])
    return (name, "", 2)


def _number(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def print_table(results: dict[str, Any]) -> None:
    runs = results["meta"]["runs"]
    for size, block in results["sizes"].items():
        verdicts = {v["figure"]: v for v in block["targets"]}
        print()
        print(f"{int(size):,} extra pods = {block['lab_pods']:,} pods   (median of {runs} run(s), min..max)")
        print(f"  {'figure':<40} {'median':>10} {'min..max':>21}  {'target':<46} verdict")
        for name, stats in block["summary"].items():
            label, unit, digits = _label(name)
            spread = f"{_number(stats['min'], digits)}..{_number(stats['max'], digits)}"
            verdict = verdicts.get(name)
            target = verdict["target"] if verdict else ""
            mark = ("PASS" if verdict["passed"] else "MISS") if verdict else ""
            print(
                f"  {label + (' (' + unit + ')' if unit else ''):<40} {_number(stats['median'], digits):>10} "
                f"{spread:>21}  {target:<46} {mark}"
            )
        problems = sorted({p for run in block["runs"] for p in (run.get("api") or {}).get("problems", [])})
        for problem in problems:
            print(f"  API: {problem}")


def _median_cell(summary: dict[str, dict[str, float]], name: str, digits: int) -> str:
    return _number(summary[name]["median"], digits) if name in summary else "-"


def print_peer_table(results: dict[str, Any]) -> None:
    """kcrash and k9s side by side per size (medians), where k9s was measured."""
    lines = []
    for block in results["sizes"].values():
        summary = block["summary"]
        if "k9s_launch_s" not in summary:
            continue
        cells = [
            _median_cell(summary, name, digits).rjust(width)
            for name, digits, width in (
                ("launch_s", 2, 9),
                ("k9s_launch_s", 2, 7),
                ("k9s_launch_ratio", 2, 7),
                ("rss_after_launch_mib", 0, 11),
                ("k9s_rss_after_launch_mib", 0, 8),
                ("k9s_rss_ratio", 2, 7),
            )
        ]
        lines.append(f"  {block['lab_pods']:>7,} " + " ".join(cells))
    if not lines:
        return
    print()
    print(f"kcrash beside k9s {results['meta'].get('k9s') or ''} (medians; ratios are kcrash / k9s, per run)")
    titles = (("pods", 7), ("kcrash s", 9), ("k9s s", 7), ("ratio", 7), ("kcrash MiB", 11), ("k9s MiB", 8))
    print("  " + " ".join(title.rjust(width) for title, width in (*titles, ("ratio", 7))))
    print("\n".join(lines))
