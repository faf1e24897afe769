"""Crash loops whose end nobody recorded, read from what the log and the spec show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from paste_cli import diagnose_pastes

from kcrash.core.diagnose.finite import default_command_ends, ends_by_itself, image_name
from kcrash.core.diagnose.symptoms import probe_requests
from kcrash.core.records import ContainerSpec


def _diagnosed(tmp_path: Path, *texts: str) -> dict[str, Any]:
    return diagnose_pastes(tmp_path, *texts)[0]


# --- the app's error behind a probe that found nothing listening ----------------------------------

PROBE_REFUSED = """\
Name:         web-7d9c
Namespace:    default
Events:
  Type     Reason     Age                From     Message
  ----     ------     ----               ----     -------
  Normal   Started    2m (x3 over 6m)    kubelet  Started container web
  Warning  Unhealthy  1m (x9 over 6m)    kubelet  {kind} probe failed: Get "http://10.1.2.3:8080/": \
dial tcp 10.1.2.3:8080: connect: connection refused
  Warning  BackOff    10s (x12 over 5m)  kubelet  Back-off restarting failed container web
"""


@pytest.mark.parametrize("kind", ["Startup", "Liveness"])
@pytest.mark.parametrize(
    ("log", "detail"),
    [
        ("mkdir: cannot create directory '/config/cache': Read-only file system\n", "read-only-filesystem"),
        (
            "Error: listen EADDRINUSE: address already in use :::8080\n    at Server.setupListenHandle\n",
            "port-in-use",
        ),
    ],
)
def test_a_refused_probe_is_the_result_of_the_error_the_log_names(
    tmp_path: Path, kind: str, log: str, detail: str
) -> None:
    row = _diagnosed(tmp_path, PROBE_REFUSED.format(kind=kind), f"$ kubectl logs web-7d9c --previous\n{log}")
    assert (row["cause"], row["detail"]) == ("app-error", detail)
    assert any(e["source"].startswith("event Unhealthy") for e in row["evidence"])


def test_a_refused_probe_with_a_log_naming_no_error_is_the_probes(tmp_path: Path) -> None:
    log = "$ kubectl logs web-7d9c --previous\nINFO starting web on :8081\n"
    row = _diagnosed(tmp_path, PROBE_REFUSED.format(kind="Liveness"), log)
    assert row["cause"] == "liveness-probe"


# --- the kubelet's probe requests in an access log ------------------------------------------------


@pytest.mark.parametrize(
    ("line", "status"),
    [
        (
            '10.244.3.1 - - [13/Dec/2017:15:20:36 +0000] "GET /airflow/health HTTP/1.1" 404 3703 "-" '
            '"Go-http-client/1.1"',
            404,
        ),
        (
            '10.0.0.7 - - [01/Mar/2024:10:00:01 +0000] "GET /healthz HTTP/1.1" 503 19 "-" "kube-probe/1.29"',
            503,
        ),
        (
            '::ffff:10.1.0.1 - - [02/Feb/2023:08:01:02 +0000] "GET /api/v1/live HTTP/1.1" 500 52 "-" '
            '"kube-probe/1.26+"',
            500,
        ),
    ],
)
def test_an_access_log_of_failing_probe_requests_is_the_liveness_probe(
    tmp_path: Path, line: str, status: int
) -> None:
    row = _diagnosed(tmp_path, f"$ kubectl logs api-0 --previous\n{line}\n")
    assert (row["cause"], row["detail"]) == ("liveness-probe", "http-status")
    assert f"HTTP {status}" in row["headline"]


def test_probe_requests_answered_200_or_from_other_clients_say_nothing() -> None:
    lines = [
        '10.0.0.7 - - [01/Mar/2024:10:00:01 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"',
        '10.0.0.9 - - [01/Mar/2024:10:00:02 +0000] "GET /missing HTTP/1.1" 404 9 "-" "Go-http-client/1.1"',
        '10.0.0.9 - - [01/Mar/2024:10:00:03 +0000] "GET /healthz HTTP/1.1" 500 9 "-" "curl/8.5.0"',
    ]
    assert [(r.path, r.status) for r in probe_requests(lines)] == [("/healthz", 200)]


# --- a log that ends while the app says it is still starting --------------------------------------


@pytest.mark.parametrize(
    "last",
    [
        "phpbb   INFO  Configuring the application. Please be patient, it can take several minutes "
        "to finish.",
        "Initializing database schema, this may take a few minutes...",
        "Server is still starting, waiting for indexes",
    ],
)
def test_a_log_ending_while_it_still_starts_is_a_kill_before_it_was_up(tmp_path: Path, last: str) -> None:
    row = _diagnosed(tmp_path, f"$ kubectl logs app-0 --previous\nINFO booting\n{last}\n")
    assert (row["cause"], row["detail"]) == ("liveness-probe", "slow-start")


def test_a_log_that_names_an_error_after_saying_be_patient_is_the_error(tmp_path: Path) -> None:
    log = (
        "$ kubectl logs app-0 --previous\nINFO Please be patient, this may take a while\n"
        "Error: listen EADDRINUSE: address already in use :::8080\n"
    )
    assert _diagnosed(tmp_path, log)["cause"] == "app-error"


# --- a command that ends by itself -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "ends"),
    [
        (["/bin/sleep", "30s"], True),
        (["sleep", "3600"], True),
        (["sleep", "infinity"], False),
        (["sh", "-c", "echo hello; sleep 10"], True),
        (["/bin/sh", "-c", "python migrate.py && echo done"], True),
        (["sh", "-c", "while true; do date; sleep 5; done"], False),
        (["sh", "-c", "nginx -g 'daemon off;'"], False),
        (["bash", "-c", "tail -f /dev/null"], False),
        (["true"], True),
        (["nginx"], False),
        ([], False),
    ],
)
def test_a_command_that_ends_by_itself(command: list[str], ends: bool) -> None:
    assert ends_by_itself(command) is ends


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: test-pod
  namespace: default
spec:
  containers:
  - name: main
    image: ubuntu:22.04
    command: {command}
status:
  phase: Running
  containerStatuses:
  - name: main
    image: ubuntu:22.04
    ready: false
    restartCount: 6
    state:
      waiting:
        reason: CrashLoopBackOff
"""


def test_a_finite_command_restarting_with_no_recorded_death_exits_zero(tmp_path: Path) -> None:
    row = _diagnosed(tmp_path, POD.format(command='["/bin/sleep", "30s"]'))
    assert (row["cause"], row["detail"]) == ("exits-zero", "one-shot")


def test_a_server_command_restarting_with_no_recorded_death_is_not_called_exits_zero(tmp_path: Path) -> None:
    row = _diagnosed(tmp_path, POD.format(command='["nginx", "-g", "daemon off;"]'))
    assert row["cause"] == "unknown"


# --- no command: the base image's default ends at once ------------------------------------------------


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("busybox", "busybox"),
        ("docker.io/library/busybox:latest", "busybox"),
        ("registry.access.redhat.com/ubi9/ubi-minimal:9.4@sha256:abc", "ubi-minimal"),
        ("localhost:5000/team/app:1.2", "app"),
    ],
)
def test_the_image_name_is_the_last_path_part_untagged(image: str, name: str) -> None:
    assert image_name(image) == name


@pytest.mark.parametrize(
    ("spec", "ends"),
    [
        (ContainerSpec("c", "busybox:1.36"), "a shell"),
        (ContainerSpec("c", "python:3.12-slim"), "an interactive interpreter"),
        (ContainerSpec("c", "hello-world"), "a program that prints a message"),
        (ContainerSpec("c", "busybox", command=("httpd", "-f")), ""),
        (ContainerSpec("c", "ubuntu", args=("sleep", "infinity")), ""),
        (ContainerSpec("c", "ubuntu", interactive=True), ""),
        (ContainerSpec("c", "nginx:1.27"), ""),
        (ContainerSpec("c", "acme/ubuntu-app:3"), ""),
    ],
)
def test_a_base_image_with_no_command_ends_at_once(spec: ContainerSpec, ends: str) -> None:
    assert default_command_ends(spec) == ends


BASE_IMAGE_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: shell
spec:
  containers:
  - name: shell
    image: {image}
{extra}status:
  containerStatuses:
  - name: shell
    image: {image}
    restartCount: 4
    state:
      waiting:
        reason: CrashLoopBackOff
{last}"""

COMPLETED = """\
    lastState:
      terminated:
        exitCode: 0
        reason: Completed
"""


@pytest.mark.parametrize("last", ["", COMPLETED])
def test_a_base_image_with_no_command_restarting_exits_zero(tmp_path: Path, last: str) -> None:
    row = _diagnosed(tmp_path, BASE_IMAGE_POD.format(image="alpine:3.20", extra="", last=last))
    assert (row["cause"], row["detail"]) == ("exits-zero", "base-image")
    assert any("alpine:3.20" in step for step in [row["headline"], *row["next_steps"]])


def test_a_base_image_held_open_by_stdin_is_not_called_exits_zero(tmp_path: Path) -> None:
    pod = BASE_IMAGE_POD.format(image="alpine:3.20", extra="    stdin: true\n    tty: true\n", last="")
    assert _diagnosed(tmp_path, pod)["cause"] == "unknown"
