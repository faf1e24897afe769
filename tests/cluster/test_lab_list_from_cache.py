"""A LIST at resourceVersion=0 comes whole, as a real apiserver serves it from its watch cache.

Measured on kube-apiserver v1.36.3: `GET /api/v1/pods?limit=1&resourceVersion=0` answers every pod and
no continue token, while `?limit=1` pages. Informers (k9s, controllers) send the former; paging it
made them pay one round trip per 500 pods that a real cluster never charges.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config


@pytest.fixture(scope="module")
def core(kubeconfig: Path) -> Iterator[k8s.CoreV1Api]:
    api_client = k8s_config.new_client_from_config(config_file=str(kubeconfig))
    with api_client:
        yield k8s.CoreV1Api(api_client)


def test_a_list_at_resource_version_0_ignores_the_limit(core: k8s.CoreV1Api) -> None:
    whole = core.list_pod_for_all_namespaces(limit=1, resource_version="0")
    assert len(whole.items) > 1
    assert not whole.metadata._continue and whole.metadata.remaining_item_count is None


def test_a_list_without_a_resource_version_still_pages(core: k8s.CoreV1Api) -> None:
    page = core.list_pod_for_all_namespaces(limit=1)
    assert len(page.items) == 1 and page.metadata._continue
    assert page.metadata.remaining_item_count >= 1
