"""Pod summaries other than kubectl's table: `oc status` findings and markdown tables of pods."""

from __future__ import annotations

import pytest

from kcrash.cluster.paste.summaries import markdown_pods, oc_status_pods
from kcrash.cluster.pastes import parse_paste


@pytest.mark.parametrize(
    ("lines", "pod", "container", "restarts", "waiting"),
    [
        (["Errors:", "  * pod/centos-1-dl5dp is crash-looping"], "centos-1-dl5dp", "", 0, "CrashLoopBackOff"),
        (
            ["Errors:", '  * container "app" in pod/web-2-x8k2p is crash-looping'],
            "web-2-x8k2p",
            "app",
            0,
            "CrashLoopBackOff",
        ),
        (
            ["Warnings:", '  * container "app" in pod/web-2-x8k2p has restarted 7 times'],
            "web-2-x8k2p",
            "app",
            7,
            "",
        ),
        (
            ["Warnings:", '  * container "db" in pod/db-1-q9 has restarted within the last 10 minutes'],
            "db-1-q9",
            "db",
            1,
            "",
        ),
        (
            [
                "Errors:",
                "  * pod/api-3-zz is crash-looping",
                "",
                "    Check the container logs with",
                "      oc logs api-3-zz -c api",
            ],
            "api-3-zz",
            "api",
            0,
            "CrashLoopBackOff",
        ),
    ],
)
def test_an_oc_status_finding(
    lines: list[str], pod: str, container: str, restarts: int, waiting: str
) -> None:
    (facts,) = oc_status_pods(lines)
    (status,) = facts.pod.container_statuses
    assert (facts.pod.name, status.name, status.restart_count, status.state.reason) == (
        pod,
        container,
        restarts,
        waiting,
    )


def test_a_crash_loop_and_its_restarts_found_apart_are_one_pod() -> None:
    lines = [
        "Errors:",
        '  * container "app" in pod/web-2-x8k2p is crash-looping',
        "Warnings:",
        '  * container "app" in pod/web-2-x8k2p has restarted 12 times',
    ]
    (facts,) = oc_status_pods(lines)
    (status,) = facts.pod.container_statuses
    assert (status.restart_count, status.state.reason) == (12, "CrashLoopBackOff")


def test_an_oc_status_paste_is_read() -> None:
    text = (
        "In project shop on server https://api.example:6443\n"
        "\n"
        "Errors:\n"
        '  * container "app" in pod/web-2-x8k2p is crash-looping\n'
        "\n"
        "    The container is starting and exiting repeatedly.\n"
    )
    facts = parse_paste(text)
    assert [(p.pod.name, p.pod.container_statuses[0].state.reason) for p in facts.pods] == [
        ("web-2-x8k2p", "CrashLoopBackOff")
    ]


@pytest.mark.parametrize(
    ("lines", "pods"),
    [
        (
            [
                "| namespace | pod | restarts |",
                "|---|---|---|",
                "| `shop` | `web-6b8d9c7f5-q4w2e` | **50** |",
                "| `shop` | `web-6b8d9c7f5-a1b2c` | 3 |",
            ],
            [("shop", "web-6b8d9c7f5-q4w2e", 50, ""), ("shop", "web-6b8d9c7f5-a1b2c", 3, "")],
        ),
        (
            [
                "| NAME | READY | STATUS | RESTARTS | AGE |",
                "| :--- | :---: | :--- | ---: | ---: |",
                "| api-1 | 0/1 | CrashLoopBackOff | 7 (2m ago) | 1h |",
            ],
            [("", "api-1", 7, "CrashLoopBackOff")],
        ),
        (
            ["| Pod name | Status |", "|------|------|", "| job-x1 | OOMKilled |"],
            [("", "job-x1", 0, "OOMKilled")],
        ),
        (["| service | port |", "|---|---|", "| web | 80 |"], []),
    ],
)
def test_a_markdown_table_of_pods(lines: list[str], pods: list[tuple[str, str, int, str]]) -> None:
    found = markdown_pods(lines)
    assert [
        (
            f.pod.namespace,
            f.pod.name,
            f.pod.container_statuses[0].restart_count,
            f.pod.container_statuses[0].state.reason,
        )
        for f in found
    ] == pods


@pytest.mark.parametrize("indent", [" ", "  ", "\t"])
def test_a_get_pods_table_indented_with_its_rows(indent: str) -> None:
    text = (
        "kubectl get pod -n jobs fyxxs4ei\n"
        f"{indent}NAME READY STATUS RESTARTS AGE\n"
        f"{indent}fyxxs4ei 0/1 OOMKilled 0 16h\n"
        "Pod status:\n"
    )
    facts = parse_paste(text)
    assert [(p.pod.namespace, p.pod.name, p.status_text) for p in facts.pods] == [
        ("jobs", "fyxxs4ei", "OOMKilled")
    ]
