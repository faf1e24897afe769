"""Lines people copy out of consoles and tools: a waiting reason with its message, a mount failure,
a `> kubectl` prompt, a pod status taken down by the kubelet."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from kcrash.diagnose_cmd import main


def _rows(tmp_path: Path, text: str) -> list[dict[str, Any]]:
    path = tmp_path / "pasted.txt"
    path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    main(["--from", str(path), "-o", "json"], stdout=out, stderr=err, stdin=io.StringIO(""))
    assert out.getvalue().strip(), err.getvalue()
    return json.loads(out.getvalue())  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("text", "cause", "detail"),
    [
        (
            'CreateContainerConfigError: secret "airflow-mysql-secrets" not found\n',
            "config-missing",
            "missing-secret",
        ),
        (
            "CreateContainerConfigError: couldn't find key DB_PASSWORD in Secret default/app-secrets\n",
            "config-missing",
            "missing-secret-key",
        ),
        (
            'ImagePullBackOff: Back-off pulling image "drainnode/leader:v1.0-rc9"\n'
            "ErrImagePull: rpc error: code = Unknown desc = Error response from daemon: manifest for "
            "drainnode/leader:v1.0-rc9 not found: manifest unknown: manifest unknown\n",
            "image-pull",
            "not-found",
        ),
        (
            "The pods are stuck with:\n\nErrImagePull: failed to pull and unpack image "
            '"ghcr.io/acme/api:2.0": '
            "failed to resolve reference: unexpected status from HEAD request: 401 Unauthorized\n",
            "image-pull",
            "unauthorized",
        ),
    ],
)
def test_a_waiting_reason_with_its_message_is_the_containers_state(
    tmp_path: Path, text: str, cause: str, detail: str
) -> None:
    (row,) = _rows(tmp_path, text)
    assert (row["cause"], row["detail"]) == (cause, detail)
    assert any(e["source"] == "state.waiting" for e in row["evidence"])


def test_the_image_a_back_off_waits_for_is_named(tmp_path: Path) -> None:
    (row,) = _rows(tmp_path, 'ImagePullBackOff: Back-off pulling image "acme/api:9.9"\n')
    assert "acme/api:9.9" in row["headline"]


@pytest.mark.parametrize(
    "line",
    [
        "E0710 14:58:07.920997    3414 mount_linux.go:151] Mount failed: exit status 32",
        'Warning  FailedMount  2m  kubelet  MountVolume.SetUp failed for volume "data" : mount failed: '
        "exit status 32",
        "2019-07-10 14:58:07.972927 I | flexdriver: E0710 14:58:07.920997 3414 mount_linux.go:151] "
        "Mount failed: exit status 32",
    ],
)
def test_a_mount_failure_from_a_driver_log_or_an_event_is_a_volume_that_does_not_mount(
    tmp_path: Path, line: str
) -> None:
    (row,) = _rows(tmp_path, line + "\n")
    assert row["cause"] == "volume-mount"


def test_a_kubectl_command_behind_a_quote_prompt_names_its_output(tmp_path: Path) -> None:
    text = (
        "> kubectl get pod\n"
        "NAME       READY   STATUS             RESTARTS   AGE\n"
        "web-0      0/1     CrashLoopBackOff   4          3m\n"
    )
    (row,) = _rows(tmp_path, text)
    assert row["pod"] == "web-0"


POD_SHUT_DOWN = """\
status:
  conditions:
  - lastTransitionTime: "2023-03-30T17:56:51Z"
    message: Pod was terminated in response to imminent node shutdown.
    reason: TerminationByKubelet
    status: "True"
    type: DisruptionTarget
  phase: Succeeded
  containerStatuses:
  - name: calico-node
    image: docker.io/calico/node:v3.25.0
    ready: false
    restartCount: 0
    state:
      terminated:
        exitCode: 0
        reason: Completed
"""


def test_a_completed_pod_the_kubelet_took_down_for_a_node_shutdown_is_diagnosed(tmp_path: Path) -> None:
    (row,) = _rows(tmp_path, POD_SHUT_DOWN)
    assert (row["cause"], row["detail"]) == ("killed", "node-shutdown")
