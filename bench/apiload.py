"""The lab's request log turned into API load per resource, and judged against what a lean client sends.

A lean console asks for each watched resource once (one LIST, possibly in pages, then one long WATCH),
samples metrics with one LIST per scope per interval, and never makes a request per pod. Log reads
(`pods/log`) are counted under their resource but not as per-object requests: the console reads a
log when a container dies (the crash archive), which is a read per crash.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

from labproc import Request

METRICS_INTERVAL = 15.0
"""The console samples metrics at most this often (metrics-server resolves 15 s at best)."""


@dataclass(frozen=True, slots=True)
class Call:
    verb: str  # LIST, LIST-PAGE (a continuation), WATCH, GET, CREATE, ...
    resource: str  # "pods", "pods/log", "podmetrics" ("metrics.k8s.io/pods"), "discovery", ...
    per_object: bool  # names one object (GET pods/NAME, logs of one pod)


def classify(request: Request) -> Call:
    segments = [s for s in request.path.split("/") if s]
    if segments[:1] == ["api"]:
        group, rest = "", segments[2:]
    elif segments[:1] == ["apis"]:
        group, rest = (segments[1] if len(segments) > 1 else ""), segments[3:]
    else:
        return Call(request.method, "discovery" if segments[:1] == ["version"] else request.path, False)
    if not rest:
        return Call(request.method, "discovery", False)
    if rest[0] == "namespaces" and len(rest) > 2:
        rest = rest[2:]  # /namespaces/NS/pods[/NAME[/SUB]]
    resource = f"{group}/{rest[0]}" if group else rest[0]
    named = len(rest) > 1
    if len(rest) > 2:
        resource += "/" + rest[2]
    if request.method == "POST":
        return Call("CREATE", resource, False)
    if request.method != "GET" or named:
        # The crash archive reads each dead instance's log once: a read per crash, not per pod.
        per_object = named and resource != "pods/log"
        return Call("GET" if request.method == "GET" else request.method, resource, per_object)
    query = parse_qs(request.query)
    if query.get("watch", ["false"])[0] in ("true", "1"):
        return Call("WATCH", resource, False)
    if "continue" in query:
        return Call("LIST-PAGE", resource, False)
    if query.get("limit") == ["1"]:
        return Call("LIST-PROBE", resource, False)  # one item: a reachability or access check
    return Call("LIST", resource, False)


def load_by_resource(requests: Iterable[Request]) -> dict[str, dict[str, int]]:
    """{resource: {verb: count}}."""
    counts: dict[str, Counter[str]] = {}
    for request in requests:
        call = classify(request)
        counts.setdefault(call.resource, Counter())[call.verb] += 1
    return {resource: dict(sorted(verbs.items())) for resource, verbs in sorted(counts.items())}


def per_object_requests(requests: Iterable[Request]) -> int:
    return sum(1 for r in requests if classify(r).per_object)


def judge(load: dict[str, dict[str, int]], seconds: float, per_object: int) -> list[str]:
    """What exceeds a lean client's load over a window of `seconds` from launch ([] when nothing)."""
    problems = []
    metrics_budget = math.ceil(seconds / METRICS_INTERVAL) + 1
    for resource, verbs in load.items():
        if resource.startswith("metrics.k8s.io/"):
            if verbs.get("LIST", 0) > metrics_budget:
                problems.append(
                    f"{resource}: {verbs['LIST']} LISTs in {seconds:.0f} s (at most {metrics_budget})"
                )
            continue
        if verbs.get("LIST", 0) > 1:
            problems.append(f"{resource}: {verbs['LIST']} LISTs (one expected)")
        if verbs.get("WATCH", 0) > 1:
            problems.append(f"{resource}: {verbs['WATCH']} WATCHes (one expected)")
    if per_object:
        problems.append(f"{per_object} requests name a single object (none expected while idle)")
    return problems
