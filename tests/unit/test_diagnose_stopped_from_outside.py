"""Deaths and stalls the container did not cause: the kernel's OOM killer, evictions, the node shutting
down, preemption, deletion, probes, volumes that don't mount.

Each family member is written as kubectl or the kernel prints it, pasted with nothing else (`--from -`)
or beside a container state, and run through the whole command: reader, choice of pods, rules.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from kcrash.core.diagnose import diagnose
from kcrash.core.diagnose.placement import mount_detail
from kcrash.core.diagnose.probes import failure_steps
from kcrash.core.records import (
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    DiagnosisInput,
    Event,
    Pod,
    PodCondition,
)
from kcrash.core.status import is_failing
from kcrash.diagnose_cmd import main

NOW = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


def verdicts(paste: str) -> list[tuple[str, str]]:
    """(cause, detail) of every pod `kcrash diagnose --from -` finds failing in the paste."""
    out, err = io.StringIO(), io.StringIO()
    main(["--from", "-", "-o", "json"], stdout=out, stderr=err, stdin=io.StringIO(paste))
    rows: list[dict[str, Any]] = json.loads(out.getvalue()) if out.getvalue() else []
    return [(row["cause"], row["detail"]) for row in rows]


def one(paste: str) -> tuple[str, str]:
    found = verdicts(paste)
    assert len(found) == 1, found
    return found[0]


def pod_with(
    state: ContainerState,
    *,
    last: ContainerState | None = None,
    events: tuple[Event, ...] = (),
    log: str | None = None,
    phase: str = "Running",
    restarts: int = 1,
    reason: str = "",
    message: str = "",
    conditions: tuple[PodCondition, ...] = (),
    limit: int | None = None,
) -> DiagnosisInput:
    pod = Pod(
        "shop",
        "web-1",
        phase=phase,
        reason=reason,
        message=message,
        node_name="node-a",
        conditions=conditions,
        containers=(ContainerSpec("web", "shop/web:1", memory_limit=limit),),
        container_statuses=(ContainerStatus("web", restart_count=restarts, state=state, last_state=last),),
    )
    return DiagnosisInput(pod=pod, now=NOW, events=events, previous_log=log)


def event(reason: str, message: str, kind: str = "Warning") -> Event:
    return Event("shop", "web-1.1", kind, reason, message, involved_name="web-1")


WAITING = ContainerState("waiting", reason="CrashLoopBackOff")
CREATING = ContainerState("waiting", reason="ContainerCreating")
KILLED_ERROR = ContainerState("terminated", reason="Error", exit_code=137)

# --- which pods are failing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "failing"),
    [
        (ContainerStatus("c", state=ContainerState("terminated", reason="OOMKilled", exit_code=0)), True),
        (
            ContainerStatus("c", state=ContainerState("terminated", reason="OOMKilled")),
            True,
        ),  # a get pods row
        (ContainerStatus("c", state=ContainerState("terminated", reason="Error")), True),
        (ContainerStatus("c", state=ContainerState("terminated", reason="ContainerStatusUnknown")), True),
        (ContainerStatus("c", state=ContainerState("terminated", reason="Completed", exit_code=0)), False),
        # Only a paste leaves the present unknown: the death it shows is why it was pasted.
        (
            ContainerStatus("c", last_state=ContainerState("terminated", reason="OOMKilled", exit_code=137)),
            True,
        ),
        (
            ContainerStatus("c", last_state=ContainerState("terminated", reason="Completed", exit_code=0)),
            False,
        ),
    ],
)
def test_a_failed_termination_is_failing_whatever_its_exit_code(
    status: ContainerStatus, failing: bool
) -> None:
    pod = Pod("shop", "web-1", phase="Succeeded", container_statuses=(status,))
    assert is_failing(pod, NOW) is failing


@pytest.mark.parametrize(
    ("reason", "failing"), [("Terminated", True), ("NodeShutdown", True), ("Preempting", True), ("", False)]
)
def test_a_pod_stopped_by_its_node_is_failing(reason: str, failing: bool) -> None:
    running = ContainerStatus("c", ready=True, state=ContainerState("running", started_at=NOW))
    pod = Pod("shop", "web-1", phase="Running", reason=reason, container_statuses=(running,))
    assert is_failing(pod, NOW) is failing


# --- OOM kills ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["Succeeded", "Running", "Failed"])
def test_oomkilled_with_exit_0_is_an_oom_kill_even_in_phase_succeeded(phase: str) -> None:
    inp = pod_with(ContainerState("terminated", reason="OOMKilled", exit_code=0), phase=phase, restarts=0)
    diag = diagnose(inp)
    assert (diag.cause, diag.detail) == ("oom-killed", "oom-exit-0")


OOM_EVENTS = [
    ("SystemOOM", "System OOM encountered, victim process: java, pid: 4242", "node-oom", "java"),
    ("OOMKilling", "Out of memory: Killed process 4242 (node) total-vm:1200kB", "node-oom", "node"),
    (
        "OOMKilling",
        "Memory cgroup out of memory: Killed process 4242 (python3) total-vm:1kB",
        "over-limit",
        "python3",
    ),
    ("OOMKilling", "Memory cgroup out of memory: Kill process 4242 (ruby) score 998", "over-limit", "ruby"),
]


@pytest.mark.parametrize(("reason", "message", "detail", "victim"), OOM_EVENTS)
def test_a_sigkill_reported_as_error_with_the_kernels_oom_kill_on_record(
    reason: str, message: str, detail: str, victim: str
) -> None:
    inp = pod_with(WAITING, last=KILLED_ERROR, events=(event(reason, message),), limit=512 * 2**20)
    diag = diagnose(inp)
    assert (diag.cause, diag.detail) == ("oom-killed", detail)
    assert f"process {victim}" in diag.headline


def test_a_memory_cgroup_kill_without_a_container_limit_is_the_nodes() -> None:
    # The kubepods cgroup is a memory cgroup too: with no limit of its own, the node ran out.
    inp = pod_with(WAITING, last=KILLED_ERROR, events=(event("OOMKilling", OOM_EVENTS[2][1]),))
    assert (diagnose(inp).cause, diagnose(inp).detail) == ("oom-killed", "node-oom")


KERNEL_LINES = [
    "[7314336.623488] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),task=operator,pid=878236,uid=0",
    "Jul  8 12:22:59 node-a kernel: oom_reaper: reaped process 878236 (java), now anon-rss:0kB",
    "Jul  8 12:22:59 node-a kernel: java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0",
    "kernel: Memory cgroup out of memory: Killed process 878236 (operator) total-vm:1334108kB",
]


@pytest.mark.parametrize("line", KERNEL_LINES)
def test_kernel_oom_lines_in_a_log_explain_a_sigkill(line: str) -> None:
    diag = diagnose(pod_with(WAITING, last=KILLED_ERROR, log=f"starting\n{line}\n"))
    assert diag.cause == "oom-killed"


def test_oom_evidence_does_not_explain_an_exit_of_its_own() -> None:
    exit1 = ContainerState("terminated", reason="Error", exit_code=1)
    diag = diagnose(pod_with(WAITING, last=exit1, events=(event("SystemOOM", OOM_EVENTS[0][1]),)))
    assert diag.cause == "app-error"


def test_kernel_oom_lines_pasted_alone_name_the_oom_kill() -> None:
    paste = (
        "Jul  8 12:22:59 node-a kernel: [7314336.623578] Memory cgroup out of memory: Killed process 878236 "
        "(operator) total-vm:1334108kB, anon-rss:99744kB, file-rss:0kB\n"
    )
    assert one(paste) == ("oom-killed", "over-limit")


# --- evictions -------------------------------------------------------------------------------------

EVICTIONS = [
    (
        "The node was low on resource: memory. Container web was using 30332Ki, which exceeds its "
        "request of 0.",
        "low-on-memory",
    ),
    (
        "The node was low on resource: ephemeral-storage. Container web was using 44Ki, which exceeds its "
        "request of 0.",
        "low-on-ephemeral-storage",
    ),
    ("The node had condition: [MemoryPressure].", "low-on-memory"),
    ("The node had condition: [DiskPressure].", "low-on-ephemeral-storage"),
    (
        "Pod ephemeral local storage usage exceeds the total limit of containers 500Mi.",
        "ephemeral-storage-limit",
    ),
    ('Container web exceeded its local ephemeral storage limit "1Gi".', "ephemeral-storage-limit"),
    ('Usage of EmptyDir volume "cache" exceeds the limit "1Gi".', "ephemeral-storage-limit"),
]


@pytest.mark.parametrize(("message", "detail"), EVICTIONS)
def test_an_evicted_event_names_the_eviction(message: str, detail: str) -> None:
    diag = diagnose(pod_with(ContainerState("unknown"), events=(event("Evicted", message),), restarts=0))
    assert (diag.cause, diag.detail) == ("evicted", detail)


@pytest.mark.parametrize(("message", "detail"), EVICTIONS)
def test_an_eviction_message_pasted_alone(message: str, detail: str) -> None:
    assert one(message + "\n") == ("evicted", detail)


def test_get_events_rows_of_evictions() -> None:
    paste = (
        "LAST SEEN   TYPE      REASON    OBJECT          MESSAGE\n"
        f"4m11s       Warning   Evicted   pod/web-1       {EVICTIONS[0][0]}\n"
        "4m11s       Normal    Killing   pod/web-1       Stopping container web\n"
    )
    assert one(paste) == ("evicted", "low-on-memory")


def test_a_pod_running_again_after_an_evicted_event_is_not_evicted() -> None:
    running = ContainerState("running", started_at=NOW)
    diag = diagnose(pod_with(running, events=(event("Evicted", EVICTIONS[0][0]),), restarts=0))
    assert diag.cause != "evicted"


# --- stopped from outside --------------------------------------------------------------------------

RUNNING = ContainerState("running", started_at=NOW)


@pytest.mark.parametrize(
    ("reason", "message", "conditions", "detail"),
    [
        ("Terminated", "Pod was terminated in response to imminent node shutdown.", (), "node-shutdown"),
        ("Terminated", "", (), "node-shutdown"),
        ("NodeShutdown", "Pod was rejected as the node is shutting down.", (), "node-shutdown"),
        ("Preempting", "Preempted in order to admit critical pod", (), "preempted"),
        (
            "",
            "",
            (
                PodCondition(
                    "DisruptionTarget", "True", "PreemptionByScheduler", "Kube-scheduler: preempting"
                ),
            ),
            "preempted",
        ),
        (
            "",
            "",
            (
                PodCondition(
                    "DisruptionTarget",
                    "True",
                    "TerminationByKubelet",
                    "Pod was terminated in response to imminent node shutdown.",
                ),
            ),
            "node-shutdown",
        ),
    ],
)
def test_a_pod_its_node_stopped_is_killed_even_with_running_statuses(
    reason: str, message: str, conditions: tuple[PodCondition, ...], detail: str
) -> None:
    inp = pod_with(RUNNING, reason=reason, message=message, conditions=conditions, restarts=0)
    diag = diagnose(inp)
    assert (diag.cause, diag.detail) == ("killed", detail)


def test_a_describe_of_a_pod_shut_down_with_its_node() -> None:
    paste = (
        "Name:         web-1\n"
        "Namespace:    shop\n"
        "Node:         node-a/10.0.0.3\n"
        "Status:       Running\n"
        "Reason:       Terminated\n"
        "Message:      Pod was terminated in response to imminent node shutdown.\n"
    )
    assert one(paste) == ("killed", "node-shutdown")


TERM = ContainerState("terminated", reason="Error", exit_code=143)


@pytest.mark.parametrize(
    ("events", "state", "detail"),
    [
        ((event("Preempted", "Preempted by pod 5b0b3c on node node-b", "Normal"),), TERM, "preempted"),
        ((event("Preempted", "Preempted by shop/batch-7 on node node-b", "Normal"),), None, "preempted"),
        (
            (
                event(
                    "FailedPreStopHook",
                    'Exec lifecycle hook ([/drain.sh]) for Container "web" in Pod "web-1_shop(uid)" failed - '
                    "error: command '/drain.sh' exited with 137: ",
                ),
            ),
            KILLED_ERROR,
            "prestop-hook",
        ),
        (
            (
                event(
                    "FailedPreStopHook",
                    'PreStop hook for Container "web" failed: Get "http://10.0.0.9:8080/stop": '
                    "connection refused",
                ),
            ),
            TERM,
            "prestop-hook",
        ),
        ((event("Killing", "Stopping container web", "Normal"),), TERM, "deleted"),
        (
            (event("Killing", "Killing container with id docker://web:Need to kill Pod", "Normal"),),
            KILLED_ERROR,
            "deleted",
        ),
    ],
)
def test_a_container_stopped_on_purpose(
    events: tuple[Event, ...], state: ContainerState | None, detail: str
) -> None:
    current = state or ContainerState("unknown")
    diag = diagnose(pod_with(current, events=events, restarts=0))
    assert (diag.cause, diag.detail) == ("killed", detail)


def test_a_prestop_hook_cut_short_names_the_grace_period() -> None:
    hook = event(
        "FailedPreStopHook",
        'Exec lifecycle hook ([/drain.sh]) for Container "web" failed - error: '
        "command '/drain.sh' exited with 137: ",
    )
    diag = diagnose(pod_with(KILLED_ERROR, events=(hook,), restarts=0))
    assert "terminationGracePeriodSeconds" in diag.headline
    assert "terminationGracePeriodSeconds" in diag.next_steps[0]


def test_a_killing_after_a_probe_failure_is_the_probes() -> None:
    events = (
        event(
            "Unhealthy",
            'Liveness probe failed: Get "http://10.0.0.9:8080/healthz": context deadline exceeded',
        ),
        event(
            "Unhealthy",
            'Liveness probe failed: Get "http://10.0.0.9:8080/healthz": context deadline exceeded',
        ),
        event("Killing", "Stopping container web", "Normal"),
    )
    assert diagnose(pod_with(WAITING, last=KILLED_ERROR, events=events)).cause == "liveness-probe"


def test_a_crash_loop_with_a_deletion_on_record_is_still_the_apps() -> None:
    exit1 = ContainerState("terminated", reason="Error", exit_code=1)
    events = (event("Killing", "Stopping container web", "Normal"),)
    assert diagnose(pod_with(WAITING, last=exit1, events=events, restarts=4)).cause == "app-error"


@pytest.mark.parametrize(
    "line",
    [
        "  Normal   Killing    8m23s  kubelet  Stopping container web",
        "  Normal   Preempted  8m23s  default-scheduler  Preempted by pod 5b0b3c on node node-b",
    ],
)
def test_normal_events_that_stop_a_container_make_an_events_paste_failing(line: str) -> None:
    paste = "Events:\n  Type  Reason  Age  From  Message\n  ----  ------  ----  ----  -------\n"
    assert [cause for cause, _ in verdicts(paste + line + "\n")] == ["killed"]


# --- probes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "cause", "detail"),
    [
        ("Startup probe failed: HTTP probe failed with statuscode: 404", "startup-probe", "http-status"),
        ("Liveness probe failed: HTTP probe failed with statuscode: 503", "liveness-probe", "http-status"),
        (
            'Liveness probe failed: Get "http://10.0.0.9:8080/healthz": dial tcp 10.0.0.9:8080: connect: '
            "connection refused",
            "liveness-probe",
            "refused",
        ),
        (
            'Startup probe failed: Get "http://10.0.0.9:8080/up": context deadline exceeded (Client.Timeout '
            "exceeded while awaiting headers)",
            "startup-probe",
            "timeout",
        ),
        ("Container web failed liveness probe, will be restarted", "liveness-probe", ""),
        ("Container web failed startup probe, will be restarted", "startup-probe", ""),
    ],
)
def test_one_probe_line_pasted_alone_names_the_probe(line: str, cause: str, detail: str) -> None:
    assert one(line + "\n") == (cause, detail)


def test_one_probe_failure_beside_a_log_that_names_an_error_is_not_enough() -> None:
    unhealthy = event("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 503")
    inp = pod_with(ContainerState("unknown"), events=(unhealthy,), log="FATAL: database is down\n")
    assert diagnose(inp).cause != "liveness-probe"


def test_readiness_failures_alone_never_explain_restarts() -> None:
    line = "Readiness probe failed: HTTP probe failed with statuscode: 503\n"
    assert all(cause not in ("liveness-probe", "startup-probe") for cause, _ in verdicts(line))


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("Startup probe failed: HTTP probe failed with statuscode: 404", "path is not served"),
        ("Liveness probe failed: HTTP probe failed with statuscode: 403", "credentials"),
        ("Liveness probe failed: HTTP probe failed with statuscode: 503", "dependency"),
        ('Liveness probe failed: Get "http://x:8080/": dial tcp x:8080: connect: connection refused', "port"),
        ('Liveness probe failed: Get "http://x:8080/": context deadline exceeded', "timeoutSeconds"),
    ],
)
def test_what_a_probe_failure_points_at(message: str, words: str) -> None:
    assert words in failure_steps(message)[0]


# --- volumes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        (
            'MountVolume.SetUp failed for volume "config" : configmap "app-config" not found',
            "missing-configmap",
        ),
        ('MountVolume.SetUp failed for volume "tls" : secret "web-tls" not found', "missing-secret"),
        (
            'Unable to mount volumes for pod "web-1_shop(0731e1f9)": configmaps "app-config" not found',
            "missing-configmap",
        ),
    ],
)
def test_a_configmap_or_secret_volume_missing_is_a_mount_failure(message: str, detail: str) -> None:
    diag = diagnose(pod_with(CREATING, events=(event("FailedMount", message),), phase="Pending", restarts=0))
    assert (diag.cause, diag.detail) == ("volume-mount", detail)
    assert "can't mount" in diag.headline


def test_the_same_message_from_create_container_config_error_is_config_missing() -> None:
    waiting = ContainerState(
        "waiting", reason="CreateContainerConfigError", message='configmap "app-config" not found'
    )
    events = (event("Failed", 'Error: configmap "app-config" not found'),)
    diag = diagnose(pod_with(waiting, events=events, phase="Pending", restarts=0))
    assert (diag.cause, diag.detail) == ("config-missing", "missing-configmap")


@pytest.mark.parametrize(
    ("reason", "message", "detail"),
    [
        (
            "FailedAttachVolume",
            'Multi-Attach error for volume "pvc-1" Volume is already exclusively attached to one node',
            "multi-attach",
        ),
        ("Failed", 'Error: failed to prepare subPath for volumeMount "conf" of container "web"', "subpath"),
        (
            "Failed",
            'Error: failed to create subPath directory for volumeMount "data" of container "web"',
            "subpath",
        ),
        (
            "FailedMount",
            'MountVolume.SetUp failed for volume "nfs" : mount failed: exit status 32 ... mount: '
            "wrong fs type, bad option, bad superblock on 10.0.0.5:/export",
            "mount-program",
        ),
        (
            "FailedMount",
            'MountVolume.SetUp failed for volume "share" : mount failed: exit status 32 ... (for several '
            "filesystems (e.g. nfs, cifs) you might need a /sbin/mount.<type> program)",
            "mount-program",
        ),
    ],
)
def test_mount_families(reason: str, message: str, detail: str) -> None:
    waiting = ContainerState(
        "waiting", reason="CreateContainerConfigError" if reason == "Failed" else "ContainerCreating"
    )
    diag = diagnose(pod_with(waiting, events=(event(reason, message),), phase="Pending", restarts=0))
    assert (diag.cause, diag.detail) == ("volume-mount", detail)
    assert mount_detail([event(reason, message)]) == detail


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        (
            'Multi-Attach error for volume "pvc-1" Volume is already exclusively attached to one node '
            "and can't be attached to another",
            "multi-attach",
        ),
        (
            "Warning  Failed  41s  kubelet, node-a  Error: failed to prepare subPath for volumeMount "
            '"conf" of container "web"',
            "subpath",
        ),
        (
            "Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[data]: "
            "timed out waiting for the condition",
            "timeout",
        ),
    ],
)
def test_mount_lines_pasted_alone(line: str, detail: str) -> None:
    assert one(line + "\n") == ("volume-mount", detail)


_SIDECAR_STARTED = (
    "Events:\n"
    "  Type     Reason     Age                From     Message\n"
    "  ----     ------     ----               ----     -------\n"
    "  Normal   Scheduled  48m                default-scheduler  "
    "Successfully assigned ops/mgr-5d8-x2 to node-1\n"
    "  Normal   Created    48m                kubelet  Created container proxy\n"
    "  Normal   Started    48m                kubelet  Started container proxy\n"
)


@pytest.mark.parametrize(
    ("rows", "cause"),
    [
        (
            "  Normal   Killing    45m (x2 over 47m)  kubelet  "
            "Container manager failed liveness probe, will be restarted\n",
            "liveness-probe",
        ),
        (
            "  Normal   Killing    45m (x2 over 47m)  kubelet  "
            "Container manager failed startup probe, will be restarted\n",
            "startup-probe",
        ),
        (
            "  Warning  BackOff    45m (x9 over 47m)  kubelet  "
            "Back-off restarting failed container manager in pod mgr-5d8-x2_ops(uid)\n"
            "  Normal   Killing    45m (x2 over 47m)  kubelet  "
            "Container manager failed liveness probe, will be restarted\n",
            "liveness-probe",
        ),
    ],
)
def test_events_alone_name_a_sidecar_beside_the_killed_container(rows: str, cause: str) -> None:
    assert one(_SIDECAR_STARTED + rows)[0] == cause
