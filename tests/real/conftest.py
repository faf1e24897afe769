"""A real control plane for the `real` tests: started once per session from the binaries that
`make controlplane` built, stopped at the end. Without them every `real` test is skipped with one reason.

- `control_plane` (session): the running `ControlPlane`.
- `kubeconfig` (overrides the lab's): its admin kubeconfig, namespace `crashlab`; so the shared
  `kubectl` fixture runs real kubectl against the real apiserver here.
- `binaries`: the built binaries (skips without them); for tests that start control planes of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kcrash.lab.realcp.binaries import Binaries, MissingBinaries, find_binaries
from kcrash.lab.realcp.controlplane import ControlPlane

SKIP_REASON = "the real control plane is not built: run `make controlplane` (needs Go)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without the binaries, mark the `real` tests skipped up front: pytest then folds them into one line."""
    try:
        find_binaries()
    except MissingBinaries:
        skip = pytest.mark.skip(reason=SKIP_REASON)
        for item in items:
            if item.get_closest_marker("real") is not None:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def binaries() -> Binaries:
    try:
        return find_binaries()
    except MissingBinaries:
        pytest.skip(SKIP_REASON)


@pytest.fixture(scope="session")
def control_plane(binaries: Binaries) -> Iterator[ControlPlane]:
    with ControlPlane(binaries) as running:
        yield running


@pytest.fixture(scope="module")
def kubeconfig(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return control_plane.write_kubeconfig(tmp_path_factory.mktemp("real-kubeconfig") / "config")
