"""The embedded lab and a real kube-apiserver answer the same script alike.

The script (cases.py) runs once on each server, in a fresh namespace of its own; then each case is one
test comparing the two servers' normalised observations step by step. A failure prints both answers of
the first step that differs. What a real apiserver does that the lab deliberately does not is listed
in docs/lab.md ("Deviations from a real apiserver") and normalised away in differential.py.
"""

from __future__ import annotations

import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from kcrash.lab.app import Lab
from kcrash.lab.realcp.controlplane import ControlPlane

from .cases import CASES
from .differential import Endpoint, play, wait_until

pytestmark = pytest.mark.real

Observations = dict[str, list[Any]]


def fresh_namespace(endpoint: Endpoint, name: str, wait_for_service_account: bool) -> None:
    """Create `name`; on a real apiserver wait for its `default` ServiceAccount, which pod admission needs."""
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    response = endpoint.http.request(
        "POST",
        f"{endpoint.url}/api/v1/namespaces",
        body=json.dumps(namespace).encode(),
        headers={"Authorization": f"Bearer {endpoint.token}", "Content-Type": "application/json"},
    )
    assert response.status == 201, response.data[:300]
    if wait_for_service_account:
        account = f"{endpoint.url}/api/v1/namespaces/{name}/serviceaccounts/default"
        headers = {"Authorization": f"Bearer {endpoint.token}"}
        found = wait_until(lambda: endpoint.http.request("GET", account, headers=headers).status == 200)
        assert found, f"no default ServiceAccount in {name}"


def run_script(endpoint: Endpoint, namespace: str) -> Observations:
    values = {"ns": namespace}
    return {case.name: play(endpoint, case, values) for case in CASES}


@pytest.fixture(scope="module")
def observations(lab: Lab, control_plane: ControlPlane) -> dict[str, Observations]:
    namespace = f"diff-{secrets.token_hex(3)}"
    lab_endpoint = Endpoint(lab.url, lab.token, lab.ca_pem)
    real_endpoint = Endpoint(control_plane.url, control_plane.admin_token, control_plane.ca_pem)
    fresh_namespace(lab_endpoint, namespace, wait_for_service_account=False)
    fresh_namespace(real_endpoint, namespace, wait_for_service_account=True)
    # Both at once: most of the time goes to watches waiting for their timeoutSeconds.
    with ThreadPoolExecutor(max_workers=2) as pool:
        ours = pool.submit(run_script, lab_endpoint, namespace)
        theirs = pool.submit(run_script, real_endpoint, namespace)
        return {"lab": ours.result(), "real": theirs.result()}


@pytest.mark.parametrize("name", [case.name for case in CASES])
def test_the_lab_answers_as_the_real_apiserver(observations: dict[str, Observations], name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    lab_steps, real_steps = observations["lab"][name], observations["real"][name]
    for index, (step, ours, theirs) in enumerate(zip(case.steps, lab_steps, real_steps, strict=True)):
        where = f"step {index}: {step.method} {step.path} {dict(step.query)}"
        assert ours == theirs, (
            f"{where}\nlab:  {json.dumps(ours, sort_keys=True)}\nreal: {json.dumps(theirs, sort_keys=True)}"
        )
