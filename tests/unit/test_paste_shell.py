"""Prompt lines running something other than a kubectl read (`$ cat pod.yaml`, `# tail syslog`,
`kubectl apply`): what they printed is read without them, and kubectl apply's own lines are passed
over; and the kubelet's journal lines read as the events they report."""

# Pasted lines below are what shells and the kubelet print, verbatim; wrapping them would change them.
# ruff: noqa: E501

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kcrash.cluster.paste.journal import journal_events
from kcrash.cluster.paste.text import is_action_line, shell_command
from kcrash.cluster.pastes import combine, parse_paste

MANIFEST = (
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata:\n"
    "  name: test-pod-ubuntu\n"
    "spec:\n"
    "  containers:\n"
    "  - name: container-ubuntu\n"
    "    image: ubuntu:20.04\n"
    '    command: ["/bin/sleep", "30s"]\n'
)
UID = "d697d991-cb76-4a15-9692-8ac99f713816"


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("$ cat testpod.yaml", "cat testpod.yaml"),
        ("user@host:~$ cat deploy.yaml", "cat deploy.yaml"),
        ("# cat x.yml", "cat x.yml"),
        ("❯ bat pod.yaml", "bat pod.yaml"),
        ("[root@node-1 ~]# tail -n 300 /var/log/syslog", "tail -n 300 /var/log/syslog"),
        ("PS C:\\Users\\me> type pod.yaml", "type pod.yaml"),
        (
            "$ sudo journalctl -u kubelet --since '10 min ago'",
            "sudo journalctl -u kubelet --since '10 min ago'",
        ),
        ("$ kubectl apply -f testpod.yaml", "kubectl apply -f testpod.yaml"),
        ("kubectl rollout restart deployment/web", "kubectl rollout restart deployment/web"),
    ],
)
def test_a_prompt_line_running_another_command(line: str, command: str) -> None:
    assert shell_command(line) == command


@pytest.mark.parametrize(
    "line",
    [
        "$ kubectl get pods",
        "$ kubectl logs web-1 --previous",
        "# Events",
        "# Source: chart/templates/deployment.yaml",
        "% ocp -n pipelines-as-code",
        "kubectl is not the problem here",
        "k apply -f x.yaml",
    ],
)
def test_a_line_that_is_no_other_command(line: str) -> None:
    assert shell_command(line) is None


@pytest.mark.parametrize(
    "prompt",
    ["$ cat testpod.yaml", "user@host:~$ cat testpod.yaml", "# cat testpod.yaml", "❯ bat testpod.yaml"],
)
def test_a_manifest_under_a_cat_line_is_read_as_the_pod_it_is(prompt: str) -> None:
    text = (
        f"{prompt}\n{MANIFEST}\n"
        "$ kubectl apply -f testpod.yaml\n"
        "pod/test-pod-ubuntu created\n\n"
        "$ kubectl get pods test-pod-ubuntu\n"
        "NAME              READY   STATUS             RESTARTS         AGE\n"
        "test-pod-ubuntu   0/1     CrashLoopBackOff   10 (2m15s ago)   34m\n"
    )
    facts = parse_paste(text)
    assert not facts.notes
    (pasted,) = combine([facts])
    assert pasted.pod.name == "test-pod-ubuntu"
    (spec,) = pasted.pod.containers
    assert (spec.name, spec.command) == ("container-ubuntu", ("/bin/sleep", "30s"))
    assert pasted.container == "container-ubuntu"


@pytest.mark.parametrize(
    "line",
    [
        "pod/test-pod-ubuntu created",
        "deployment.apps/web configured",
        "service/web unchanged",
        'pod "web-1" deleted',
        "deployment.apps/web restarted",
        "deployment.apps/web configured (server dry run)",
    ],
)
def test_what_kubectl_says_it_did_is_passed_over(line: str) -> None:
    assert is_action_line(line)
    facts = parse_paste(
        f"$ kubectl apply -f web.yaml\n{line}\n\n$ kubectl get pods\nNAME    READY   STATUS             RESTARTS   AGE\nweb-1   0/1     CrashLoopBackOff   4          2m\n"
    )
    assert not facts.notes
    assert [p.pod.name for p in facts.pods] == ["web-1"]


# --- the kubelet's journal ------------------------------------------------------------------------

STRUCTURED = f'Jan 28 16:11:08 hj-vm kubelet[815]: E0128 16:11:08.096467     815 pod_workers.go:918] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"container-ubuntu\\" with CrashLoopBackOff: \\"back-off 5m0s restarting failed container=container-ubuntu pod=test-pod-ubuntu_default({UID})\\"" pod="default/test-pod-ubuntu" podUID={UID}'


@pytest.mark.parametrize(
    ("line", "reason", "message", "pod", "namespace", "container"),
    [
        (
            STRUCTURED,
            "BackOff",
            f"Back-off restarting failed container container-ubuntu in pod test-pod-ubuntu_default({UID})",
            "test-pod-ubuntu",
            "default",
            "container-ubuntu",
        ),
        (
            'Oct 29 13:16:48 centos02 kubelet[4919]: E1029 13:16:48.471488    4919 pod_workers.go:182] Error syncing pod cc89ef7c-bc47-11e7-85ce-901b0edee6b6 ("alpine-368057524-bgt0m_default(cc89ef7c-bc47-11e7-85ce-901b0edee6b6)"), skipping: failed to "StartContainer" for "alpine" with CrashLoopBackOff: "Back-off 5m0s restarting failed container=alpine pod=alpine-368057524-bgt0m_default(cc89ef7c-bc47-11e7-85ce-901b0edee6b6)"',
            "BackOff",
            "Back-off restarting failed container alpine in pod alpine-368057524-bgt0m_default(cc89ef7c-bc47-11e7-85ce-901b0edee6b6)",
            "alpine-368057524-bgt0m",
            "default",
            "alpine",
        ),
        (
            'Mar 14 19:36:06 minikube kubelet[3244]: E0314 19:36:06.517880    3244 pod_workers.go:190] Error syncing pod bade5491-4634-11e9-9bf4-d409029b649b ("ubuntu_default(bade5491-4634-11e9-9bf4-d409029b649b)"), skipping: failed to "StartContainer" for "ubuntu" with ImagePullBackOff: "Back-off pulling image \\"gcr.io/kubeflow-images-public/ubuntu:18.04\\""',
            "BackOff",
            'Back-off pulling image "gcr.io/kubeflow-images-public/ubuntu:18.04"',
            "ubuntu",
            "default",
            "ubuntu",
        ),
        (
            'E0816 20:28:50.954462   46840 pod_workers.go:184] Error syncing pod b7a1 ("web-1_shop(b7a1)"), skipping: failed to "StartContainer" for "web" with ErrImagePull: "image pull failed for unknown error"',
            "Failed",
            "Failed to pull image: image pull failed for unknown error",
            "web-1",
            "shop",
            "web",
        ),
        (
            'Jan 19 22:05:08 node-64 kubelet: E0119 22:05:08.823485   20081 pod_workers.go:1300] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"api\\" with CreateContainerConfigError: \\"secret \\\\\\"db-pass\\\\\\" not found\\"" pod="shop/api-7d9f8b6c5d-x2x9z" podUID=8342124b',
            "Failed",
            'Error: secret "db-pass" not found',
            "api-7d9f8b6c5d-x2x9z",
            "shop",
            "api",
        ),
        (
            'May 02 09:12:40 worker-2 kubelet[1102]: E0502 09:12:40.100200    1102 pod_workers.go:1298] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"app\\" with RunContainerError: \\"failed to start container: exec: \\\\\\"/app/run\\\\\\": permission denied\\"" pod="shop/app-0" podUID=11aa',
            "Failed",
            'Error: failed to start container: exec: "/app/run": permission denied',
            "app-0",
            "shop",
            "app",
        ),
        (
            'Feb 03 11:00:00 node-1 kubelet[900]: I0203 11:00:00.123456     900 prober.go:107] "Probe failed" probeType="Liveness" pod="shop/web-1" podUID=ab12 containerName="web" probeResult="failure" output="HTTP probe failed with statuscode: 500"',
            "Unhealthy",
            "Liveness probe failed: HTTP probe failed with statuscode: 500",
            "web-1",
            "shop",
            "web",
        ),
    ],
)
def test_a_kubelet_line_is_the_event_it_reports(
    line: str, reason: str, message: str, pod: str, namespace: str, container: str
) -> None:
    (pasted,) = journal_events(line) or []
    event = pasted.event
    assert (event.reason, event.message) == (reason, message)
    assert (event.involved_name, event.namespace, event.container) == (pod, namespace, container)
    assert pasted.line == line


def test_one_line_may_report_several_containers() -> None:
    line = 'E1023 18:56:20.145522   31070 pod_workers.go:765] "Error syncing pod, skipping" err="[failed to \\"StartContainer\\" for \\"vcluster\\" with CrashLoopBackOff: \\"back-off 5m0s restarting failed container=vcluster pod=vcluster-1-0_host-ns(c076)\\", failed to \\"StartContainer\\" for \\"syncer\\" with CrashLoopBackOff: \\"back-off 5m0s restarting failed container=syncer pod=vcluster-1-0_host-ns(c076)\\"]" pod="host-ns/vcluster-1-0" podUID=c076'
    events = [e.event for e in journal_events(line) or []]
    assert [(e.reason, e.container, e.involved_name) for e in events] == [
        ("BackOff", "vcluster", "vcluster-1-0"),
        ("BackOff", "syncer", "vcluster-1-0"),
    ]


def test_other_kubelet_lines_report_nothing_and_are_not_unread() -> None:
    other = 'Jan 28 16:11:23 hj-vm kubelet[815]: I0128 16:11:23.096372     815 scope.go:110] "RemoveContainer" containerID="b8f36e66c386"'
    assert journal_events(other) == []
    assert journal_events("2024-01-05 10:00:00 INFO server started") is None
    facts = parse_paste(f"$ tail -n 300 /var/log/syslog\n...\n{STRUCTURED}\n{other}\n")
    assert not facts.notes
    assert [(e.event.reason, e.event.involved_name) for e in facts.events] == [("BackOff", "test-pod-ubuntu")]


def test_a_journal_time_takes_the_year_of_the_paste() -> None:
    (pasted,) = combine([parse_paste(STRUCTURED + "\n")], now=datetime(2022, 2, 1, tzinfo=UTC))
    assert pasted.pod.name == "test-pod-ubuntu"
    (event,) = pasted.events
    assert event.last_seen == datetime(2022, 1, 28, 16, 11, 8, tzinfo=UTC)
    # Read early in a year, a December line is last year's.
    december = STRUCTURED.replace("Jan 28", "Dec 30")
    (pasted,) = combine([parse_paste(december + "\n")], now=datetime(2023, 1, 2, tzinfo=UTC))
    assert pasted.events[0].last_seen == datetime(2022, 12, 30, 16, 11, 8, tzinfo=UTC)


def test_a_journal_line_with_its_year_keeps_its_time() -> None:
    line = STRUCTURED.replace("Jan 28 16:11:08", "2022-01-28T16:11:08+0100")
    (pasted,) = journal_events(line) or []
    assert pasted.event.last_seen == datetime(2022, 1, 28, 15, 11, 8, tzinfo=UTC)
