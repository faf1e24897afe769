"""Client-side fixtures over the shared `lab`: a connection, the Api wrapper and ClusterSources.

Everything goes through the real `kubernetes` client (its kubeconfig loader and ApiClient: the path
exec plugins and OIDC take) over real HTTP to the lab of the module; the console's tests use the
direct transport static credentials take, and test_transport.py holds the two to the same answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kcrash.cluster.api import Api
from kcrash.cluster.config import Connection, connect
from kcrash.cluster.source import ClusterSource


@pytest.fixture(scope="module")
def conn(kubeconfig: Path) -> Connection:
    return connect(str(kubeconfig), None, None, False, via_client=True)


@pytest.fixture(scope="module")
def api(conn: Connection) -> Api:
    return Api(conn)


@pytest.fixture
def source(conn: Connection) -> Iterator[ClusterSource]:
    running = ClusterSource(conn, namespace="crashlab")
    yield running
    running.stop()


@pytest.fixture
def read_only_source(conn: Connection) -> Iterator[ClusterSource]:
    running = ClusterSource(conn, namespace="crashlab", read_only=True)
    yield running
    running.stop()
