"""A realistic fleet of extra pods for scale: many namespaces, Deployments of several replicas.

Most are healthy and created directly in their settled Running state (one store write per pod, no
history to replay); a few percent crash-loop or leak memory and go through the normal kubelet path.
Everything is drawn from the seeded random generator, so the same seed gives the same fleet.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from kcrash.lab.defaults import default_pod_spec
from kcrash.lab.scenarios import Behaviour, Heartbeat, LogLine, Memory

NAMESPACES = (
    "team-a",
    "team-b",
    "payments",
    "search",
    "checkout",
    "identity",
    "data-pipeline",
    "platform",
    "ml-serving",
    "notifications",
)
APPS = (
    "api",
    "web",
    "worker",
    "gateway",
    "indexer",
    "scheduler",
    "cache-warmer",
    "ledger",
    "auth",
    "profile",
    "recommender",
    "ingest",
    "exporter",
    "billing",
    "cart",
    "inventory",
    "search-api",
    "mailer",
    "webhooks",
    "reporting",
)
CRASH_LINES = (
    ("panic: runtime error: invalid memory address or nil pointer dereference", 2),
    ("Error: Cannot find module '/app/dist/server.js'", 1),
    ("java.lang.IllegalStateException: Failed to load ApplicationContext", 1),
    ("KeyError: 'REDIS_URL'", 1),
    ('FATAL: password authentication failed for user "app"', 1),
)


@dataclass(frozen=True, slots=True)
class ExtraDeployment:
    namespace: str
    name: str
    replicas: int
    template: dict[str, Any]
    behaviour: Behaviour
    settled: bool  # healthy: created directly in its running state
    age: float  # seconds before now the Deployment was created


def _template(namespace: str, name: str, image: str, web: bool, limit_mi: int) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name.split("-")[0] if web else "worker",
        "image": image,
        "resources": {
            "requests": {"cpu": "50m", "memory": f"{limit_mi // 2}Mi"},
            "limits": {"memory": f"{limit_mi}Mi"},
        },
    }
    if web:
        container["ports"] = [{"name": "http", "containerPort": 8080}]
        container["readinessProbe"] = {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 10}
    labels = {"app": name, "app.kubernetes.io/part-of": namespace}
    return {"metadata": {"labels": labels}, "spec": default_pod_spec({"containers": [container]})}


def _healthy(rng: random.Random, web: bool, limit_mi: int) -> Behaviour:
    plateau = rng.uniform(0.25, 0.7) * limit_mi
    if web:
        lines = ("{time} INFO  http: GET /v1/items 200 8ms", "{time} INFO  http: GET /ready 200 0.2ms")
        every = rng.choice((120.0, 180.0, 300.0))
    else:
        lines = ("{time} INFO  worker: processed {n}0 jobs", "{time} INFO  worker: queue depth 0")
        every = 300.0
    return Behaviour(
        log_lines=(LogLine(0.3, "{time} INFO  starting on {ip}"), LogLine(1.1, "{time} INFO  ready")),
        heartbeat=Heartbeat(every, lines),
        memory=Memory(
            start_mi=plateau * 0.6, growth_mi_per_min=plateau, plateau_mi=plateau, noise_mi=plateau * 0.03
        ),
        cpu_m=rng.uniform(2.0, 60.0),
    )


def _crashing(rng: random.Random) -> Behaviour:
    text = rng.choices([t for t, _ in CRASH_LINES], weights=[w for _, w in CRASH_LINES])[0]
    return Behaviour(
        exit_after=rng.uniform(1.5, 20.0),
        exit_code=2 if text.startswith("panic") else 1,
        log_lines=(LogLine(0.2, "{time} INFO  starting"),),
        last_log_lines=(text,),
        memory=Memory(start_mi=40.0, growth_mi_per_min=0.0),
        cpu_m=20.0,
    )


def _leaking(rng: random.Random, limit_mi: int) -> Behaviour:
    return Behaviour(
        log_lines=(LogLine(0.2, "{time} INFO  starting"),),
        heartbeat=Heartbeat(30.0, ("{time} INFO  cache: {n} entries, rss={mem_mi}MiB",)),
        memory=Memory(
            start_mi=limit_mi * 0.3, growth_mi_per_min=rng.uniform(0.08, 0.25) * limit_mi, noise_mi=2.0
        ),
        cpu_m=80.0,
    )


def plan_extra(n: int, rng: random.Random, taken: set[tuple[str, str]]) -> list[ExtraDeployment]:
    """Deployments adding up to exactly `n` pods: ~95% healthy, ~3% crash-looping, ~2% leaking."""
    out: list[ExtraDeployment] = []
    remaining = n
    serial = 0
    while remaining > 0:
        namespace = NAMESPACES[serial % len(NAMESPACES)]
        app = APPS[rng.randrange(len(APPS))]
        name = app
        suffix = 1
        while (namespace, name) in taken:
            suffix += 1
            name = f"{app}-{suffix}"
        taken.add((namespace, name))
        serial += 1
        replicas = min(remaining, rng.choice((2, 2, 3, 3, 3, 4, 5, 6, 8, 10)))
        remaining -= replicas
        web = app not in ("worker", "scheduler", "ingest", "exporter", "mailer", "cache-warmer")
        limit_mi = rng.choice((256, 512, 512, 1024))
        version = f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 12)}"
        image = f"registry.example.com/{namespace}/{app}:{version}"
        template = _template(namespace, name, image, web, limit_mi)
        roll = rng.random()
        if roll < 0.03:
            behaviour, settled = _crashing(rng), False
        elif roll < 0.05:
            behaviour, settled = _leaking(rng, limit_mi), False
        else:
            behaviour, settled = _healthy(rng, web, limit_mi), True
        age = rng.uniform(600.0, 1800.0) if not settled else rng.uniform(3600.0, 30 * 86400.0)
        out.append(ExtraDeployment(namespace, name, replicas, template, behaviour, settled, age))
    return out
