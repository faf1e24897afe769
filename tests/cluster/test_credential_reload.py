"""Credentials the server stops accepting are read again from the kubeconfig; credentials never go
over plain http; a broken CA or client certificate in the kubeconfig is named as such."""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kcrash.cluster.api import Api
from kcrash.cluster.config import connect
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.source import ClusterSource
from kcrash.lab.app import Lab


def new_token(lab: Lab, token: str) -> None:
    lab.token = token
    lab.server.token = token


def rewrite(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc))


def one_line(call: Callable[[], Any]) -> str:
    with pytest.raises(KcrashError) as caught:
        call()
    return str(caught.value)


@pytest.mark.parametrize("via_client", [False, True], ids=["direct", "client"])
def test_a_rotated_token_is_read_again_from_the_kubeconfig(
    make_lab: Callable[..., Lab], tmp_path: Path, via_client: bool
) -> None:
    lab = make_lab(builtin_scenarios=False)
    config = lab.write_kubeconfig(tmp_path / "config")
    api = Api(connect(str(config), None, None, False, via_client=via_client))
    assert api.list_pods("kube-system") is not None
    new_token(lab, "rotated-token")
    lab.write_kubeconfig(config)
    assert api.list_pods("kube-system") is not None
    assert api.link.generation == 1


def test_a_rotated_token_file_is_read_again(make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = make_lab(builtin_scenarios=False)
    config = lab.write_kubeconfig(tmp_path / "config")
    token_file = tmp_path / "token"
    token_file.write_text(lab.token)

    def use_file(doc: dict[str, Any]) -> None:
        doc["users"][0]["user"] = {"tokenFile": "token"}

    rewrite(config, use_file)
    api = Api(connect(str(config), None, None, False))
    new_token(lab, "from-the-file")
    token_file.write_text("from-the-file")
    assert api.list_pods("kube-system") is not None


def test_new_credentials_refused_too_say_so_in_one_line(make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = make_lab(builtin_scenarios=False)
    config = lab.write_kubeconfig(tmp_path / "config")
    api = Api(connect(str(config), None, None, False))
    new_token(lab, "nobody-has-this")
    message = one_line(lambda: api.list_pods("kube-system"))
    assert "401" in message and "refused too" in message and str(config) in message
    assert "\n" not in message


def test_a_restarted_cluster_with_a_new_ca_and_token_is_followed(
    make_lab: Callable[..., Lab], tmp_path: Path
) -> None:
    first = make_lab(builtin_scenarios=False)
    config = first.write_kubeconfig(tmp_path / "config")
    source = ClusterSource(connect(str(config), None, None, False), namespace="kube-system")
    states: list[str] = []
    source.watch_pods(lambda batch: None, lambda pods: None, lambda state: states.append(state.phase))
    try:
        assert source.wait_answered(10)
        port = int(first.url.rsplit(":", 1)[1])
        first.stop()
        deadline = time.monotonic() + 10
        while "reconnecting" not in states and time.monotonic() < deadline:
            time.sleep(0.05)
        second = make_lab(builtin_scenarios=False, port=port)
        assert second.ca_pem != first.ca_pem and second.token != first.token
        time.sleep(3)  # the old CA fails verification for a while: no one has rewritten the file
        assert states[-1] != "synced"
        rewritten = time.monotonic()
        second.write_kubeconfig(config)
        while states[-1] != "synced" and time.monotonic() - rewritten < 10:
            time.sleep(0.05)
        assert states[-1] == "synced"
        assert time.monotonic() - rewritten <= 5
    finally:
        source.stop()


def test_r_reconnects_with_credentials_read_again(make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = make_lab(builtin_scenarios=False)
    config = lab.write_kubeconfig(tmp_path / "config")
    source = ClusterSource(connect(str(config), None, None, False), namespace="kube-system")
    assert source.reconnect() is True
    assert source.api.link.generation == 1
    config.write_text("not: [valid")
    assert source.reconnect() is False
    assert "not valid YAML" in source.api.link.renewal_error


def test_no_token_goes_over_plain_http(make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = make_lab(tls=False, builtin_scenarios=False)
    config = lab.write_kubeconfig(tmp_path / "config")
    assert yaml.safe_load(config.read_text())["users"][0]["user"] == {}
    assert Api(connect(str(config), None, None, False)).list_pods("kube-system") is not None
    lab.faults.clear_requests()

    def add_token(doc: dict[str, Any]) -> None:
        doc["users"][0]["user"] = {"token": lab.token}

    rewrite(config, add_token)
    for via_client in (False, True):
        message = one_line(lambda v=via_client: connect(str(config), None, None, False, via_client=v))
        assert "`token`" in message and "plain http" in message and "https://" in message
    assert lab.faults.requests() == []  # refused before a byte was sent


@pytest.mark.parametrize(
    ("field", "where"),
    [
        ("certificate-authority-data", "clusters"),
        ("client-certificate-data", "users"),
        ("client-key-data", "users"),
    ],
)
def test_bad_certificate_data_names_the_field(
    make_lab: Callable[..., Lab], tmp_path: Path, field: str, where: str
) -> None:
    lab = make_lab(builtin_scenarios=False)
    config = lab.write_kubeconfig(tmp_path / "config")
    garbage = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")

    def spoil(doc: dict[str, Any]) -> None:
        body = doc[where][0]["cluster" if where == "clusters" else "user"]
        body[field] = garbage.decode()
        if where == "users":  # a client certificate needs both halves to be tried
            other = "client-key-data" if field == "client-certificate-data" else "client-certificate-data"
            body.setdefault(other, garbage.decode())

    rewrite(config, spoil)
    for via_client in (False, True):
        message = one_line(lambda v=via_client: connect(str(config), None, None, False, via_client=v))
        assert field in message
        assert "network" not in message and "VPN" not in message


def test_an_rbac_refusal_is_not_sent_again(make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = make_lab(builtin_scenarios=False)
    config = lab.write_kubeconfig(tmp_path / "config")
    api = Api(connect(str(config), None, None, False))
    assert api.list_pods("kube-system") is not None
    lab.faults.deny("list", "pods")
    lab.faults.clear_requests()
    message = one_line(lambda: api.list_pods("kube-system"))
    assert "403" in message and "refused too" not in message
    assert len(lab.faults.requests("GET", "/api/v1/namespaces/kube-system/pods")) == 1
    assert api.link.generation == 0


def test_an_exec_plugin_is_run_again_when_its_token_is_refused(
    make_lab: Callable[..., Lab], tmp_path: Path
) -> None:
    lab = make_lab(builtin_scenarios=False)
    config = lab.write_kubeconfig(tmp_path / "config")
    issued = tmp_path / "issued"
    issued.write_text(lab.token)
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json, sys\n"
        f"token = open({str(issued)!r}).read().strip()\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1',"
        " 'kind': 'ExecCredential', 'status': {'token': token}}))\n"
    )

    def use_plugin(doc: dict[str, Any]) -> None:
        doc["users"][0]["user"] = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": sys.executable,
                "args": [str(plugin)],
                "interactiveMode": "Never",
            }
        }

    rewrite(config, use_plugin)
    api = Api(connect(str(config), None, None, False))
    assert api.list_pods("kube-system") is not None
    new_token(lab, "issued-later")
    issued.write_text("issued-later")  # what the plugin hands out from now on
    assert api.list_pods("kube-system") is not None
    assert api.link.generation == 1
