"""Connecting: every way a kubeconfig or a server can be wrong ends as ONE line naming the fix."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from kcrash.cluster.config import choose_context, connect
from kcrash.cluster.errors import KcrashError


def write_config(path: Path, server: str = "https://127.0.0.1:1", token: str = "t", **extra: Any) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c1", "cluster": {"server": server}}],
        "users": [{"name": "u1", "user": {"token": token}}],
        "contexts": [
            {"name": "one", "context": {"cluster": "c1", "user": "u1", "namespace": "team-a"}},
            {"name": "two", "context": {"cluster": "c1", "user": "u1"}},
        ],
        "current-context": "one",
        **extra,
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_line_error(call: Any) -> str:
    with pytest.raises(KcrashError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize(
    ("content", "context", "expected"),
    [
        ("clusters: [\n  - bad", None, "is not valid YAML (line"),
        ("- just\n- a list\n", None, "is not a kubeconfig"),
        ("contexts: []\n", None, "has no contexts"),
    ],
)
def test_broken_kubeconfig_files(tmp_path: Path, content: str, context: str | None, expected: str) -> None:
    path = tmp_path / "config"
    path.write_text(content)
    message = one_line_error(lambda: connect(str(path), context, None, False))
    assert expected in message and str(path) in message


def test_missing_kubeconfig_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    message = one_line_error(lambda: connect(str(missing), None, None, False))
    assert message == f"kubeconfig {missing} does not exist: pass an existing file with --kubeconfig"


def test_unknown_context_lists_the_known_ones(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config")
    message = one_line_error(lambda: connect(str(path), "three", None, False))
    assert 'context "three" not found' in message
    assert "known contexts: one, two" in message


def test_no_current_context_asks_for_one(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config", **{"current-context": ""})
    message = one_line_error(lambda: choose_context([str(path)], None))
    assert "has no current-context: pick one with --context (known: one, two)" in message


@pytest.mark.parametrize(
    ("context", "namespace", "all_namespaces", "expected"),
    [
        (None, None, False, "team-a"),  # the context's namespace
        ("two", None, False, "default"),  # a context without one
        (None, "other", False, "other"),  # -n wins
        (None, None, True, None),  # -A
    ],
)
def test_namespace_scope(
    tmp_path: Path, context: str | None, namespace: str | None, all_namespaces: bool, expected: str | None
) -> None:
    path = write_config(tmp_path / "config")
    conn = connect(str(path), context, namespace, all_namespaces, check=False)
    assert conn.namespace == expected
    assert conn.context == (context or "one")
    assert conn.server == "https://127.0.0.1:1"


def test_kubeconfig_env_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path / "config")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{path}")
    conn = connect(None, "two", None, False, check=False)
    assert conn.context == "two"


def test_failing_credentials_plugin(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config")
    doc = yaml.safe_load(path.read_text())
    doc["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "false",
            "interactiveMode": "Never",
        }
    }
    path.write_text(yaml.safe_dump(doc))
    message = one_line_error(lambda: connect(str(path), None, None, False, check=False))
    assert message == (
        'the credentials plugin of context "one" failed: exec: process returned 1; '
        "run it by hand (or log in again) and retry"
    )


def test_server_down(tmp_path: Path) -> None:
    port = closed_port()
    path = write_config(tmp_path / "config", server=f"https://127.0.0.1:{port}")
    message = one_line_error(lambda: connect(str(path), None, None, False))
    assert message.startswith(f"cannot reach the API server at https://127.0.0.1:{port}")
    assert "check the server address" in message


def test_wrong_token_is_401(lab: Any, tmp_path: Path) -> None:
    path = tmp_path / "config"
    lab.write_kubeconfig(path)
    doc = yaml.safe_load(path.read_text())
    doc["users"][0]["user"]["token"] = "not-the-token"
    path.write_text(yaml.safe_dump(doc))
    message = one_line_error(lambda: connect(str(path), None, None, False))
    assert "401 Unauthorized" in message and "log in again" in message


def test_forbidden_is_403_with_the_servers_words(lab: Any, kubeconfig: Path) -> None:
    lab.faults.deny("list", "pods")
    try:
        message = one_line_error(lambda: connect(str(kubeconfig), None, "crashlab", False))
    finally:
        lab.faults.allow("list", "pods")
    assert "forbidden" in message and "(403)" in message
    assert 'in the namespace "crashlab"' in message


def test_lab_connects(kubeconfig: Path) -> None:
    conn = connect(str(kubeconfig), None, None, False)
    assert (conn.context, conn.namespace) == ("kcrash-lab", "crashlab")
