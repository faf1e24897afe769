"""Event lines that name their pod in the message, the kubelet's and the scheduler's ways, and the
`Scheduled` event naming the pod of an events paste that names none."""

# Pasted rows below are kubectl output verbatim; wrapping them would change what they test.
# ruff: noqa: E501

from __future__ import annotations

import pytest

from kcrash.cluster.paste.named import NamedPod, assigned_pod, pod_in_message
from kcrash.cluster.pastes import combine, parse_paste

UID = "d5a40aa3-e8d8-468c-bd9a-f2ac98136058"
THREE_PODS = (
    "$ kubectl get pods -n shop\n"
    "NAME                   READY   STATUS                       RESTARTS   AGE\n"
    "api-5dbd46fcf5-zsbn4   0/1     CreateContainerConfigError   0          8m\n"
    "web-6d9cf9d776-mbb5c   0/1     CrashLoopBackOff             4          8m\n"
    "db-0                   0/1     CrashLoopBackOff             6          8m\n"
)


@pytest.mark.parametrize(
    ("message", "named"),
    [
        (
            f'Error: container has runAsNonRoot and image will run as root (pod: "api-5dbd46fcf5-zsbn4_shop({UID})", container: api)',
            NamedPod("api-5dbd46fcf5-zsbn4", "shop", "api"),
        ),
        (
            f"Back-off restarting failed container web in pod web-6d9cf9d776-mbb5c_shop({UID})",
            NamedPod("web-6d9cf9d776-mbb5c", "shop", "web"),
        ),
        (
            f'Error syncing pod, skipping: failed to "StartContainer" for "db" with CrashLoopBackOff: "Back-off 40s restarting failed container=db pod=db-0_shop({UID})"',
            NamedPod("db-0", "shop", "db"),
        ),
        (
            f'"Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"db\\" with CrashLoopBackOff: \\"back-off 5m0s restarting failed container=db pod=db-0_shop({UID})\\"" pod="shop/db-0" podUID={UID}',
            NamedPod("db-0", "shop", "db"),
        ),
        (
            '"Probe failed" probeType="Liveness" pod="shop/web-6d9cf9d776-mbb5c"',
            NamedPod("web-6d9cf9d776-mbb5c", "shop"),
        ),
        (
            "Successfully assigned keycloak/keycloak-0 to karbon-dev-8804a0-k8s-worker-4",
            NamedPod("keycloak-0", "keycloak"),
        ),
        (
            "Successfully assigned adsb-sync-6c55b5b56b-94jg7 to 98f2834c-3179-4fe5-971f-854354f0ac11",
            NamedPod("adsb-sync-6c55b5b56b-94jg7"),
        ),
    ],
)
def test_the_pod_a_message_names(message: str, named: NamedPod) -> None:
    assert pod_in_message(message) == named


@pytest.mark.parametrize(
    "message",
    [
        "Back-off restarting failed container",
        'Liveness probe failed: Get "http://10.0.0.7:8080/healthz": context deadline exceeded',
        "pod sandbox changed, it will be killed and re-created",
        'Error: secret "db-pass" not found',
    ],
)
def test_a_message_that_names_no_pod(message: str) -> None:
    assert pod_in_message(message) is None


@pytest.mark.parametrize(
    ("line", "pod", "container"),
    [
        (
            f'Warning  Failed     7m33s (x8 over 9m4s)   kubelet            Error: container has runAsNonRoot and image will run as root (pod: "api-5dbd46fcf5-zsbn4_shop({UID})", container: api)',
            "api-5dbd46fcf5-zsbn4",
            "api",
        ),
        (
            f'  Warning  FailedSync  2m (x7 over 4m)  kubelet, node-1  Error syncing pod, skipping: failed to "StartContainer" for "web" with CrashLoopBackOff: "Back-off 1m20s restarting failed container=web pod=web-6d9cf9d776-mbb5c_shop({UID})"',
            "web-6d9cf9d776-mbb5c",
            "web",
        ),
        (
            f"Warning  BackOff  3m  kubelet  Back-off restarting failed container db in pod db-0_shop({UID})",
            "db-0",
            "db",
        ),
    ],
)
def test_an_event_line_goes_to_the_pod_its_message_names_among_several(
    line: str, pod: str, container: str
) -> None:
    pasted = {p.pod.name: p for p in combine([parse_paste(THREE_PODS), parse_paste(line + "\n")])}
    assert set(pasted) == {"api-5dbd46fcf5-zsbn4", "web-6d9cf9d776-mbb5c", "db-0"}
    (event,) = pasted[pod].events
    assert (event.involved_name, event.namespace, event.container) == (pod, "shop", container)
    assert all(not p.events for name, p in pasted.items() if name != pod)


@pytest.mark.parametrize(
    ("text", "pod", "namespace"),
    [
        (
            "Events:\n"
            "  Type     Reason     Age                    From               Message\n"
            "  ----     ------     ----                   ----               -------\n"
            "  Normal   Scheduled  4m15s                  default-scheduler  Successfully assigned keycloak/keycloak-0 to worker-4\n"
            "  Normal   Started    2m24s (x2 over 3m51s)  kubelet            Started container keycloak\n"
            "  Warning  Unhealthy  115s (x6 over 3m45s)   kubelet            Startup probe failed: HTTP probe failed with statuscode: 503\n",
            "keycloak-0",
            "keycloak",
        ),
        (
            "Events:\n"
            "  Type     Reason     Age               From                                   Message\n"
            "  ----     ------     ----              ----                                   -------\n"
            "  Normal   Scheduled  9m                default-scheduler                      Successfully assigned javatest/hello-v2-1-fjchl to node-1.example.com\n"
            "  Warning  BackOff    15s (x7 over 1m)  kubelet, node-1.example.com            Back-off restarting failed container\n",
            "hello-v2-1-fjchl",
            "javatest",
        ),
        (
            "  Normal   Scheduled              39s   default-scheduler   Successfully assigned adsb-sync-6c55b5b56b-94jg7 to 98f2834c\n"
            '  Warning  Failed                 27s   kubelet, 98f2834c   Failed to pull image "yfauser/adsb-sync:1d79": rpc error: code = Unknown desc = manifest unknown\n',
            "adsb-sync-6c55b5b56b-94jg7",
            "",
        ),
        (
            "  FirstSeen\tLastSeen\tCount\tFrom\t\t\tSubObjectPath\tType\t\tReason\t\tMessage\n"
            "  ---------\t--------\t-----\t----\t\t\t-------------\t--------\t------\t\t-------\n"
            "  8m\t\t8m\t\t1\t{default-scheduler }\t\t\t\tNormal\t\tScheduled\tSuccessfully assigned my-nginx-3800858182-hud7j to w\n"
            '  6m\t\t1m\t\t10\t{kubelet w}\t\t\t\t\tWarning\t\tFailedSync\tError syncing pod, skipping: failed to "StartContainer" for "POD" with ImagePullBackOff: "Back-off pulling image \\"gcr.io/google_containers/pause:2.0\\""\n',
            "my-nginx-3800858182-hud7j",
            "",
        ),
    ],
)
def test_the_scheduled_event_names_the_pod_of_an_events_paste(text: str, pod: str, namespace: str) -> None:
    (pasted,) = combine([parse_paste(text)])
    assert (pasted.pod.name, pasted.pod.namespace) == (pod, namespace)
    assert pasted.name_pasted
    assert len(pasted.events) >= 2


def test_a_scheduled_event_among_named_rows_keeps_them_where_they_are() -> None:
    text = (
        "LAST SEEN   TYPE      REASON      OBJECT        MESSAGE\n"
        "4m          Normal    Scheduled   pod/web-1     Successfully assigned shop/web-1 to node-2\n"
        "1m          Warning   BackOff     pod/api-2     Back-off restarting failed container api in pod api-2_shop(uid)\n"
    )
    pasted = {p.pod.name: [e.reason for e in p.events] for p in combine([parse_paste(text)])}
    assert pasted == {"web-1": ["Scheduled"], "api-2": ["BackOff"]}


def test_assigned_pod_reads_only_the_schedulers_message() -> None:
    assert assigned_pod("Successfully assigned shop/web-1 to node-2") == NamedPod("web-1", "shop")
    assert assigned_pod("Back-off restarting failed container web in pod web-1_shop(uid)") is None
