"""Errors quoted in the sentences of a chat message are read as the log lines they quote."""

# Messages below are written as people write them; wrapping them would change what they test.
# ruff: noqa: E501

from __future__ import annotations

import pytest

from kcrash.cluster.paste.prose import quoted_errors
from kcrash.cluster.pastes import combine, parse_paste


@pytest.mark.parametrize(
    ("sentence", "quoted"),
    [
        (
            "Investigating the logs I see the following error: `Error: unknown flag: --metrics-bind-address`.  Seems the args may not be valid?",
            "Error: unknown flag: --metrics-bind-address",
        ),
        (
            "To fix Redis::CannotConnectError: Error connecting to Redis on 127.0.0.1:6379 (Errno::ECONNREFUSED)",
            "Redis::CannotConnectError: Error connecting to Redis on 127.0.0.1:6379 (Errno::ECONNREFUSED)",
        ),
        (
            "the pod dies with java.net.ConnectException: Connection refused (Connection refused)",
            "java.net.ConnectException: Connection refused (Connection refused)",
        ),
        (
            "It crashes on start: ModuleNotFoundError: No module named 'cv2'",
            "ModuleNotFoundError: No module named 'cv2'",
        ),
        (
            "logs say panic: runtime error: invalid memory address or nil pointer dereference",
            "panic: runtime error: invalid memory address or nil pointer dereference",
        ),
        (
            "the operator logs `dial tcp 10.96.0.1:443: connect: connection refused` and exits",
            "dial tcp 10.96.0.1:443: connect: connection refused",
        ),
        (
            'I get FATAL: password authentication failed for user "app"',
            'FATAL: password authentication failed for user "app"',
        ),
        (
            "container prints /bin/sh: 1: /start.sh: not found and restarts",
            "/bin/sh: 1: /start.sh: not found and restarts",
        ),
        ("node fails with `npm ERR! missing script: start`", "npm ERR! missing script: start"),
    ],
)
def test_an_error_quoted_in_a_sentence(sentence: str, quoted: str) -> None:
    assert quoted_errors([sentence]) == [quoted]


@pytest.mark.parametrize(
    "sentence",
    [
        "After upgrading, the error is gone but the pod still restarts.",
        "Any idea what causes this Error?",
        "I am running K3s on the cluster but I don't think that should be an issue.",
        "Errors are logged to stdout, see the docs for the LOG_LEVEL setting.",
    ],
)
def test_a_sentence_that_quotes_no_error(sentence: str) -> None:
    assert quoted_errors([sentence]) == []


def test_a_chat_message_quoting_an_error_gives_a_log() -> None:
    facts = parse_paste(
        "My pod is in CrashLoopBackOff and the logs say `Error: unknown flag: --leader-elect`\n"
    )
    (log,) = facts.logs
    assert log.text.strip() == "Error: unknown flag: --leader-elect"
    assert not facts.notes


def test_an_error_in_prose_beside_kubectl_output_is_read_too() -> None:
    text = (
        "My pod restarts, in the logs I found ConnectionRefusedError: [Errno 111] Connection refused\n"
        "\n"
        "$ kubectl get pods\n"
        "NAME    READY   STATUS             RESTARTS   AGE\n"
        "api-1   0/1     CrashLoopBackOff   4          2m\n"
    )
    facts = parse_paste(text)
    assert [p.pod.name for p in facts.pods] == ["api-1"]
    assert [log.text.strip() for log in facts.logs] == [
        "ConnectionRefusedError: [Errno 111] Connection refused"
    ]


def test_an_error_quoted_beside_several_failing_pods_is_given_to_none() -> None:
    """Words in a chat are no log to refuse: with several pods they could be about, they are left out."""
    text = (
        "My pods keep failing, the logs say `Error: unknown flag: --leader-elect`\n"
        "\n"
        "$ kubectl get pods\n"
        "NAME    READY   STATUS             RESTARTS   AGE\n"
        "api-1   0/1     CrashLoopBackOff   4          2m\n"
        "api-2   0/1     CrashLoopBackOff   4          2m\n"
    )
    pasted = combine([parse_paste(text)])
    assert sorted(p.pod.name for p in pasted) == ["api-1", "api-2"]
    assert all(p.previous_log is None and p.current_log is None for p in pasted)


def test_an_error_quoted_beside_one_failing_pod_is_its_log() -> None:
    text = (
        "It keeps failing, the logs say `Error: unknown flag: --leader-elect`\n"
        "\n"
        "$ kubectl get pods\n"
        "NAME    READY   STATUS             RESTARTS   AGE\n"
        "api-1   0/1     CrashLoopBackOff   4          2m\n"
        "web-1   1/1     Running            0          2d\n"
    )
    pasted = {p.pod.name: p for p in combine([parse_paste(text)])}
    assert (pasted["api-1"].previous_log or "").strip() == "Error: unknown flag: --leader-elect"


_TABLE = (
    "Events:\n"
    "  Type    Reason     Age   From               Message\n"
    "  ----    ------     ----  ----               -------\n"
    "  Normal  Scheduled  13m   default-scheduler  Successfully assigned monitoring/prom-0 to node-1\n"
    "  Normal  Created    13m   kubelet            Created container config-reloader\n"
)


@pytest.mark.parametrize(
    ("sentence", "reason", "message"),
    [
        (
            "Startup probe keeps on failing. pod Events: Startup probe failed: HTTP probe failed with statuscode: 503",
            "Unhealthy",
            "Startup probe failed: HTTP probe failed with statuscode: 503",
        ),
        (
            'the events also said Liveness probe failed: Get "http://10.0.0.7:8080/healthz": context deadline exceeded',
            "Unhealthy",
            'Liveness probe failed: Get "http://10.0.0.7:8080/healthz": context deadline exceeded',
        ),
        (
            "and then `Back-off restarting failed container` over and over",
            "BackOff",
            "Back-off restarting failed container` over and over",
        ),
    ],
)
def test_an_event_quoted_above_an_event_table_is_the_tables_pod(
    sentence: str, reason: str, message: str
) -> None:
    (pasted,) = combine([parse_paste(f"{sentence}\n\nI have increased the timeout\n\n{_TABLE}")])
    assert pasted.pod.name == "prom-0"
    quoted = [e for e in pasted.events if e.reason == reason]
    assert [e.message for e in quoted] == [message]


def test_talk_above_an_event_table_adds_no_event() -> None:
    (pasted,) = combine([parse_paste(f"I have increased the timeout but still it's giving\n\n{_TABLE}")])
    assert sorted(e.reason for e in pasted.events) == ["Created", "Scheduled"]


@pytest.mark.parametrize(
    "sentence",
    [
        'The pod get created but then "CrashLoopBackOff" forever.',
        "after deploying, the worker sits in CrashLoopBackOff and I can't exec into it",
        "status is `CrashLoopBackOff`, restarts keep going up",
        "so my process ends up in a CrashLoopBackoff state.",
        "When I deploy it the pod goes into crashloopbackoff",
        "the second instance to exit triggers the service into the CrashBackOffLoop status",
        "all our workers end up on the CrashLookBackoff and no work gets done.",
        "its goes in crashloop and after few restart it terminates",
        "the operator keeps crashlooping since the upgrade",
        "it could go into crash loop backoff",
    ],
)
def test_a_sentence_naming_a_crash_loop_is_a_pod_waiting_in_back_off(sentence: str) -> None:
    facts = parse_paste(f"{sentence}\n")
    (pod,) = facts.pods
    (status,) = pod.pod.container_statuses
    assert (status.state.kind, status.state.reason) == ("waiting", "CrashLoopBackOff")
    assert pod.sources["/state.waiting.reason"] == sentence


@pytest.mark.parametrize(
    "sentence",
    [
        "I read about CrashLoopBackOffs in the docs",
        "see https://example.com/crashloop-guide for more",
        "a terminal console for investigating Kubernetes pods that crash-loop",
    ],
)
def test_a_sentence_naming_no_crash_loop_gives_no_pod(sentence: str) -> None:
    assert parse_paste(f"{sentence}\n").pods == ()


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("Although I am careful to exit with an exit status of zero, it goes into CrashLoopBackOff", 0),
        ("a check provokes a exit code = 0 and all workers end up on the CrashLookBackoff", 0),
        (
            "as long as my process exits *successfully* (i.e, exit status 0) ... ends up in a CrashLoopBackoff",
            0,
        ),
        ("I run some command contains **exit 0 ** in this pod, so the status keeps `CrashLoopBackOff`", 0),
        ("the app exited with `1` and now it is in CrashLoopBackOff", 1),
        ("The container is in CrashLoopBackOff, exit code: 137", 137),
        ("The job container is completing successfully but it sits in a crashloopbackoff", 0),
    ],
)
def test_an_exit_code_told_in_words_beside_a_crash_loop_is_the_last_state(message: str, code: int) -> None:
    (pod,) = parse_paste(f"{message}\n").pods
    (status,) = pod.pod.container_statuses
    assert status.last_state is not None and status.last_state.exit_code == code
    assert pod.sources["/lastState.terminated.exitCode"] == message


@pytest.mark.parametrize(
    "message",
    [
        "it does not exit with 0, it just sits in CrashLoopBackOff",
        'pod em CrashLoopBackOff, possível "Exit code 0"',
        "maybe the exit code is 0? the pod is in CrashLoopBackOff",
        "CrashLoopBackOff after the exit; the log has 3 lines",
        "it did not finish successfully and now it is in CrashLoopBackOff",
    ],
)
def test_an_exit_code_denied_guessed_or_not_told_is_no_last_state(message: str) -> None:
    (pod,) = parse_paste(f"{message}\n").pods
    (status,) = pod.pod.container_statuses
    assert status.last_state is None


def test_an_exit_told_in_another_paragraph_of_the_message_is_the_last_state() -> None:
    message = (
        "The container publishes its results but it looks like it is in a crashloopbackoff.\n\n"
        "The container is completing successfully but the restartPolicy of Always restarts it.\n"
    )
    (pod,) = parse_paste(message).pods
    (status,) = pod.pod.container_statuses
    assert status.last_state is not None and status.last_state.exit_code == 0


def test_two_exits_told_in_a_message_give_no_last_state() -> None:
    message = "the pod is in CrashLoopBackOff\n\nsometimes it exits with 0\n\nsometimes exit code 1\n"
    (pod,) = parse_paste(message).pods
    (status,) = pod.pod.container_statuses
    assert status.last_state is None


@pytest.mark.parametrize(
    ("sentence", "waiting", "oom"),
    [
        ("pod stuck in ImagePullBackOff since the upgrade", "ImagePullBackOff", False),
        ("the pod shows createcontainerconfigerror", "CreateContainerConfigError", False),
        ("my pod keeps getting OOMKilled after a few minutes", "", True),
        ("it was OOM killed and now sits in CrashLoopBackOff", "CrashLoopBackOff", True),
        ("ErrImagePull first, then CrashLoopBackOff", "ErrImagePull", False),
    ],
)
def test_a_sentence_naming_a_status_is_that_status(sentence: str, waiting: str, oom: bool) -> None:
    (pod,) = parse_paste(f"{sentence}\n").pods
    (status,) = pod.pod.container_statuses
    assert status.state.reason == waiting
    assert (status.last_state is not None and status.last_state.reason == "OOMKilled") is oom


def test_a_status_named_in_a_sentence_is_no_error_quoted_from_the_log() -> None:
    facts = parse_paste("the pod shows CreateContainerConfigError\n")
    assert facts.logs == ()


@pytest.mark.parametrize(
    "sentence",
    [
        "the pods keep restarting, no idea why",
        "when the daemonset pod finishes, it is restarted everytime it finishes",
        "since execution is completed pod is terminating,but its again restarting",
    ],
)
def test_a_restart_loop_told_in_words_is_a_restarted_container(sentence: str) -> None:
    (pod,) = parse_paste(f"{sentence}\n").pods
    (status,) = pod.pod.container_statuses
    assert status.restart_count == 1 and pod.sources["/restartCount"] == sentence


@pytest.mark.parametrize(
    ("sentence", "code"),
    [
        ("when the daemonset pod finishes, it is restarted everytime it finishes", 0),
        ("the job runs to completion and then it restarts again", 0),
        ("the download completes, then it crashes and restarts again", None),
        ("it never finishes and keeps restarting", None),
    ],
)
def test_a_normal_end_told_in_words(sentence: str, code: int | None) -> None:
    (pod,) = parse_paste(f"{sentence}\n").pods
    (status,) = pod.pod.container_statuses
    assert (status.last_state.exit_code if status.last_state else None) == code
