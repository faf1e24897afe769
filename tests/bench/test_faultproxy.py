"""The chaos suite's fault proxy, in front of the lab over real HTTPS: it forwards with the client's
own token, and each switch does what a misbehaving apiserver does."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from faultproxy import FaultProxy
from kcrash.lab.app import Lab
from kcrash.lab.kubeconfig import write_kubeconfig

PODS = "/api/v1/namespaces/crashlab/pods"


@pytest.fixture
def proxy(lab: Lab) -> Iterator[FaultProxy]:
    with FaultProxy(lab.url, lab.ca_pem) as running:
        yield running


def core(proxy: FaultProxy, lab: Lab, tmp_path: Path) -> client.CoreV1Api:
    path = write_kubeconfig(tmp_path / "config", proxy.url, lab.token, "crashlab", ca_pem=proxy.ca_pem)
    return client.CoreV1Api(config.new_client_from_config(str(path)))


def get(proxy: FaultProxy, lab: Lab, target: str, timeout: float = 10) -> urllib.request._UrlopenRet:
    request = urllib.request.Request(proxy.url + target, headers={"Authorization": f"Bearer {lab.token}"})
    context = ssl.create_default_context(cadata=proxy.ca_pem.decode("ascii"))
    return urllib.request.urlopen(request, context=context, timeout=timeout)


def test_it_forwards_with_the_clients_token(proxy: FaultProxy, lab: Lab, tmp_path: Path) -> None:
    through = {p.metadata.name for p in core(proxy, lab, tmp_path).list_namespaced_pod("crashlab").items}
    direct = {p.metadata.name for p in lab_core(lab, tmp_path).list_namespaced_pod("crashlab").items}
    assert through == direct and through


def lab_core(lab: Lab, tmp_path: Path) -> client.CoreV1Api:
    path = lab.write_kubeconfig(tmp_path / "direct")
    return client.CoreV1Api(config.new_client_from_config(str(path)))


def test_a_wrong_token_is_refused_by_the_server_behind_it(proxy: FaultProxy, lab: Lab) -> None:
    request = urllib.request.Request(proxy.url + PODS, headers={"Authorization": "Bearer wrong"})
    context = ssl.create_default_context(cadata=proxy.ca_pem.decode("ascii"))
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, context=context, timeout=10)
    assert refused.value.code == 401


def test_throttling_answers_429_with_retry_after(proxy: FaultProxy, lab: Lab, tmp_path: Path) -> None:
    proxy.set_error_rate(1.0, status=429, retry_after=3)
    with pytest.raises(client.ApiException) as throttled:
        core(proxy, lab, tmp_path).list_namespaced_pod("crashlab", _request_timeout=10)
    assert throttled.value.status == 429
    assert throttled.value.headers["Retry-After"] == "3"
    assert json.loads(throttled.value.body)["reason"] == "TooManyRequests"


def test_a_resumed_watch_gets_410_expired(proxy: FaultProxy, lab: Lab) -> None:
    with get(proxy, lab, PODS) as listed:
        version = json.loads(listed.read())["metadata"]["resourceVersion"]
    proxy.expire_next_watch()
    with get(proxy, lab, f"{PODS}?watch=true&resourceVersion={version}") as watching:
        event = json.loads(watching.readline())
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"


def test_a_dropped_watch_ends_cleanly(proxy: FaultProxy, lab: Lab) -> None:
    with get(proxy, lab, f"{PODS}?watch=true&timeoutSeconds=60") as watching:
        time.sleep(0.5)
        proxy.drop_watches()
        began = time.monotonic()
        watching.read()  # returns at the last chunk; a cut stream would raise IncompleteRead
    assert time.monotonic() - began < 10


def test_an_outage_refuses_then_serves_again(proxy: FaultProxy, lab: Lab) -> None:
    proxy.outage(1.5)
    time.sleep(0.3)
    with pytest.raises(urllib.error.URLError):
        get(proxy, lab, "/version", timeout=2)
    time.sleep(2.0)
    with get(proxy, lab, "/version") as answer:
        assert answer.status == 200
