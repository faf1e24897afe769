"""The lab as a fault bench: a kept identity across restarts, a request log with statuses and
latencies, outage windows, watches dropped and expired on a schedule."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from kcrash.cluster.api import Api
from kcrash.cluster.config import connect
from kcrash.cluster.source import ClusterSource
from kcrash.lab.app import Lab


def wait_until(ready: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def get(lab: Lab, path: str, agent: str = "bench/1") -> int:
    request = urllib.request.Request(
        lab.url + path, headers={"Authorization": f"Bearer {lab.token}", "User-Agent": agent}
    )
    try:
        with urllib.request.urlopen(request, context=lab.client_ssl_context(), timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_a_state_dir_keeps_the_identity_across_restarts(make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    first = make_lab(builtin_scenarios=False, state_dir=tmp_path / "state")
    config = first.write_kubeconfig(tmp_path / "config")
    ca, token, port = first.ca_pem, first.token, first.port
    first.stop()
    second = make_lab(builtin_scenarios=False, state_dir=tmp_path / "state", port=port)
    assert (second.ca_pem, second.token) == (ca, token)
    assert Api(connect(str(config), None, None, False)).list_pods("kube-system") is not None
    assert oct((tmp_path / "state" / "token").stat().st_mode & 0o777) == "0o600"


def test_the_request_log_has_a_line_per_request(make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = make_lab(builtin_scenarios=False)
    log = tmp_path / "requests.jsonl"
    lab.faults.log_requests_to(log)
    lab.faults.fail_next(1, status=429)
    assert get(lab, "/api/v1/namespaces/kube-system/pods?limit=1") == 429
    assert get(lab, "/api/v1/namespaces/kube-system/pods?limit=1", agent="kubectl/x") == 200
    lab.faults.log_requests_to(None)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["status"], r["user_agent"], r["verb"]) for r in lines] == [
        (429, "bench/1", "get"),
        (200, "kubectl/x", "get"),
    ]
    assert all(r["path"] == "/api/v1/namespaces/kube-system/pods" and r["query"] == "limit=1" for r in lines)
    assert all(r["latency_ms"] >= 0 and r["time"] > 1e9 for r in lines)


def test_an_outage_window_refuses_connections_then_serves_the_same_state(
    make_lab: Callable[..., Lab], tmp_path: Path
) -> None:
    lab = make_lab()
    source = ClusterSource(
        connect(str(lab.write_kubeconfig(tmp_path / "config")), None, None, False), namespace="crashlab"
    )
    phases: list[str] = []
    source.watch_pods(lambda batch: None, lambda pods: None, lambda state: phases.append(state.phase))
    try:
        assert source.wait_answered(10)
        wait_until(lambda: phases[-1:] == ["synced"], "synced")
        lab.outage(3.0)
        time.sleep(0.5)
        with pytest.raises(OSError):
            get(lab, "/version")
        wait_until(lambda: phases[-1] == "reconnecting", "stale")
        back = time.monotonic() + 2.5
        wait_until(lambda: get_or_zero(lab) == 200, "the server back", timeout=10)
        wait_until(lambda: phases[-1] == "synced", "live again", timeout=10)
        assert time.monotonic() - back <= 2.0  # live within 2 s of the server's return
    finally:
        source.stop()


def get_or_zero(lab: Lab) -> int:
    try:
        return get(lab, "/version")
    except OSError:
        return 0


def test_watches_dropped_and_expired_on_a_schedule(make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = make_lab()
    source = ClusterSource(
        connect(str(lab.write_kubeconfig(tmp_path / "config")), None, None, False), namespace="crashlab"
    )
    source.watch_pods(lambda batch: None, lambda pods: None, lambda state: None)
    try:
        assert source.wait_answered(10)
        reflector = source.reflector
        assert reflector is not None
        lab.faults.drop_watches_every(0.5)
        wait_until(lambda: reflector.watches >= 4, "watches resumed")
        assert reflector.lists == 1  # resumed from the last resourceVersion, no relist
        lab.faults.reset()
        lab.faults.expire_every(0.7)
        wait_until(lambda: reflector.lists >= 3, "relists after 410")
    finally:
        lab.faults.reset()
        source.stop()
