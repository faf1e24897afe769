"""One line pasted alone, as people paste them from a describe, a log or a chat: each is read for
what it is, never refused."""

# Lines below are written as the kubelet, runtimes and people write them.
# ruff: noqa: E501

from __future__ import annotations

from pathlib import Path

import pytest
from paste_cli import diagnose_pastes


def _verdict(tmp_path: Path, line: str) -> tuple[str, str]:
    (row,) = diagnose_pastes(tmp_path, line + "\n")
    return row["cause"], row["detail"]


@pytest.mark.parametrize(
    ("line", "cause", "detail"),
    [
        ('Back-off pulling image "myrepo/app:1.0"', "image-pull", ""),
        ("Error: ErrImagePull", "image-pull", ""),
        ("Warning  Failed  12s (x3 over 50s)  kubelet  Error: ImagePullBackOff", "image-pull", ""),
        ("dial tcp: lookup postgres on 10.96.0.10:53: no such host", "dependency-unreachable", "dns"),
        (
            "psycopg2.OperationalError: could not connect to server: Connection refused",
            "dependency-unreachable",
            "refused",
        ),
        (
            "my pod is in CrashLoopBackOff and the logs say exec /docker-entrypoint.sh: no such file or directory",
            "command-not-found",
            "no-such-file",
        ),
        ("pod keeps crashing with exit code 137", "killed", "sigkill"),
        ("the pod shows createcontainerconfigerror", "unknown", ""),
        (
            "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused.",
            "dependency-unreachable",
            "refused",
        ),
        (
            "mkdir: cannot create directory '/var/lib/postgresql/data': Permission denied",
            "app-error",
            "file-permissions",
        ),
        ("x509: certificate has expired or is not yet valid", "app-error", "certificate"),
    ],
)
def test_one_line_is_read_for_what_it_says(tmp_path: Path, line: str, cause: str, detail: str) -> None:
    assert _verdict(tmp_path, line) == (cause, detail)
