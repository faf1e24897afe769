"""Messages of the kubelet and the container runtime pasted alone, without the event row or the log
around them, and the command lines above pasted output (pipes, selectors, flags with values)."""

# Messages below are what the kubelet and runc print, verbatim; wrapping them would change them.
# ruff: noqa: E501

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from paste_cli import diagnose_pastes

from kcrash.cluster.paste.events import parse_describe_events
from kcrash.cluster.paste.loose import read_line
from kcrash.cluster.paste.text import parse_command, pod_name_of
from kcrash.cluster.pastes import parse_paste
from kcrash.diagnose_cmd import main


def _diagnosed(tmp_path: Path, text: str) -> list[dict[str, Any]]:
    return diagnose_pastes(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("standard_init_linux.go:228: exec user process caused: permission denied", "permission-denied"),
        ('`standard_init_linux.go:211: exec user process caused "permission denied"`', "permission-denied"),
        ('standard_init_linux.go:190: exec user process caused "exec format error"', "exec-format-error"),
        (
            'error during container init: exec: "/bin/sh": stat /bin/sh: no such file or directory',
            "no-such-file",
        ),
        (
            'Error: failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "gunicron": executable file not found in $PATH: unknown',
            "not-in-path",
        ),
        (
            'The pod fails with: OCI runtime exec failed: exec failed: unable to start container process: exec: "bash": executable file not found in $PATH',
            "not-in-path",
        ),
    ],
)
def test_a_runtime_message_pasted_alone_is_the_kubelets_failed_event(
    tmp_path: Path, text: str, detail: str
) -> None:
    (row,) = _diagnosed(tmp_path, text + "\n")
    assert (row["cause"], row["detail"]) == ("command-not-found", detail)
    assert any(e["quote"] == text for e in row["evidence"])


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        (
            "The node was low on resource: memory. Container kilo was using 30332Ki, which exceeds its request of 0.",
            "low-on-memory",
        ),
        (
            "The node was low on resource: ephemeral-storage. Threshold quantity: 2Gi, available: 1Gi. Container app was using 3Gi, request is 0, has larger consumption of ephemeral-storage.",
            "low-on-ephemeral-storage",
        ),
        ("The node had condition: [DiskPressure]. ", "low-on-ephemeral-storage"),
        (
            "Pod ephemeral local storage usage exceeds the total limit of containers 500Mi. ",
            "ephemeral-storage-limit",
        ),
        ('Container web exceeded its local ephemeral storage limit "1Gi". ', "ephemeral-storage-limit"),
        ('Usage of EmptyDir volume "cache" exceeds the limit "1Gi". ', "ephemeral-storage-limit"),
    ],
)
def test_an_eviction_message_pasted_alone_is_the_pods_eviction(
    tmp_path: Path, message: str, detail: str
) -> None:
    event = read_line(message)
    assert event is not None
    assert (event.type, event.reason) == ("Warning", "Evicted")
    (row,) = _diagnosed(tmp_path, message + "\n")
    assert (row["cause"], row["detail"]) == ("evicted", detail)
    assert row["evidence"][0]["quote"] == message.strip()


def test_an_evicted_event_row_beside_a_running_pod_changes_nothing(tmp_path: Path) -> None:
    """A pod a paste shows running was never evicted: the event is about an older pod of the name."""
    text = (
        "$ kubectl get pods\n"
        "NAME    READY   STATUS    RESTARTS   AGE\n"
        "db-0    1/1     Running   0          2m\n"
        "\n"
        "$ kubectl get events\n"
        "LAST SEEN   TYPE      REASON    OBJECT     MESSAGE\n"
        "3m          Warning   Evicted   pod/db-0   The node was low on resource: memory.\n"
    )
    pods = [p for p in parse_paste(text).pods if p.pod.name == "db-0"]
    assert pods and pods[0].pod.reason == ""
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "pasted.txt"
    path.write_text(text)
    main(["db-0", "--from", str(path), "-o", "json"], stdout=out, stderr=err, stdin=io.StringIO(""))
    assert json.loads(out.getvalue())[0]["cause"] != "evicted"


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        (
            'Multi-Attach error for volume "pvc-dcf3b382" Volume is already exclusively attached to one node and can\'t be attached to another',
            "multi-attach",
        ),
        (
            'AttachVolume.Attach failed for volume "pvc-1" : rpc error: code = Internal desc = timed out',
            "attach",
        ),
    ],
)
def test_an_attach_failure_pasted_alone_is_a_volume_that_does_not_mount(
    tmp_path: Path, message: str, detail: str
) -> None:
    event = read_line(message)
    assert event is not None and (event.type, event.reason) == ("Warning", "FailedAttachVolume")
    (row,) = _diagnosed(tmp_path, message + "\n")
    assert (row["cause"], row["detail"]) == ("volume-mount", detail)


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        (
            "$ kubectl get pod -o yaml -n kube-ai web-6hdc6 | yq '.status.containerStatuses[0].lastState'",
            ("get", "web-6hdc6", "kube-ai", "yaml", "", "yq '.status.containerStatuses[0].lastState'"),
        ),
        (
            "$ oc --context app.ci -n ci get pods -l app=web -oyaml | yq '.items[0].status.reason'",
            ("get", "", "ci", "yaml", "app=web", "yq '.items[0].status.reason'"),
        ),
        (
            "kubectl get pods --selector app=web --context prod -o json|jq -r '.items[1].status.message'",
            ("get", "", "", "json", "app=web", "jq -r '.items[1].status.message'"),
        ),
        (
            "kubectl get pod web-1 -o=jsonpath='{.status.containerStatuses[0].lastState}'",
            ("get", "web-1", "", "jsonpath={.status.containerStatuses[0].lastState}", "", ""),
        ),
        (
            "$ kubectl get pods -lapp=web --sort-by .metadata.name",
            ("get", "", "", "", "app=web", ""),
        ),
        (
            "$ kubectl logs -f -n shop web-1 | grep -i 'error|fatal'",
            ("logs", "web-1", "shop", "", "", "grep -i 'error|fatal'"),
        ),
    ],
)
def test_a_command_line_with_a_pipe_and_flags_with_values(line: str, fields: tuple[str, ...]) -> None:
    command = parse_command(line)
    assert command is not None
    got = (
        command.verb,
        pod_name_of(command),
        command.namespace,
        command.output,
        command.selector,
        command.pipe,
    )
    assert got == fields


@pytest.mark.parametrize(
    ("row", "fields"),
    [
        (
            "  6h\t\t3m\t\t72\tkubelet, gke-pool-1-762d699b-pfk1\tspec.containers{tainter}\tNormal\t\tStarted\t\tStarted container",
            ("Normal", "Started", 72, "tainter", "kubelet, gke-pool-1-762d699b-pfk1"),
        ),
        (
            "  6h\t\t7s\t\t1542\tkubelet, node-1\tspec.containers{tainter}\tWarning\t\tBackOff\t\tBack-off restarting failed container",
            ("Warning", "BackOff", 1542, "tainter", "kubelet, node-1"),
        ),
        (
            "  1m  1m  1  default-scheduler    Normal  Scheduled  Successfully assigned web-1 to node-1",
            ("Normal", "Scheduled", 1, "", "default-scheduler"),
        ),
        (
            "  40s\t\t5s\t\t4\t{kubelet node1}\tspec.containers{web}\t\tWarning\t\tBackOff\t\tBack-off restarting failed docker container",
            ("Warning", "BackOff", 4, "web", "kubelet, node1"),
        ),
    ],
)
def test_describe_events_of_kubectl_1_7(row: str, fields: tuple[Any, ...]) -> None:
    """`From` became "kubelet, node" in kubectl 1.7, with the FirstSeen/LastSeen columns still there."""
    header = "  FirstSeen\tLastSeen\tCount\tFrom\t\t\tSubObjectPath\t\tType\t\tReason\t\tMessage"
    (pasted,) = parse_describe_events([header, row])
    e = pasted.event
    assert (e.type, e.reason, e.count, e.container, e.source) == fields


@pytest.mark.parametrize(
    "line",
    [
        'Erro "Back-off restarting failed" quando executando no kubernetes.',
        "Warning  BackOff  Back-off restarting failed container",
        "Back-off restarting failed docker container",
        "  Warning  BackOff    4m53s (x72 over 20m)  kubelet  Back-off restarting failed container manager in pod web_shop(uid)",
    ],
)
def test_a_back_off_quoted_whole_or_shortened_is_the_back_off_event(line: str) -> None:
    row = read_line(line)
    assert row is not None and (row.type, row.reason) == ("Warning", "BackOff")


def test_a_back_off_word_inside_another_word_is_no_event() -> None:
    assert read_line("Back-off restarting failedover pods") is None
