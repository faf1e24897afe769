"""The two ways a request reaches the lab: kcrash's own transport for static credentials and the
`kubernetes` client's for everything else. Both must give the same answers and the same one-line
errors; the kubeconfig decides which one is used."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import stat
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kcrash.cluster.api import Api
from kcrash.cluster.config import Connection, connect
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.transport import ClientTransport, DirectTransport

REPO = Path(__file__).resolve().parents[2]


def edit(kubeconfig: Path, target: Path, change: Any) -> Path:
    """A copy of the lab's kubeconfig at `target`, with `change(doc)` applied."""
    doc = yaml.safe_load(kubeconfig.read_text())
    change(doc)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(doc))
    return target


def user(doc: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = doc["users"][0]["user"]
    return body


def cluster(doc: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = doc["clusters"][0]["cluster"]
    return body


def names(conn: Connection) -> list[str]:
    return sorted(pod.name for pod in Api(conn).list_all_pods("crashlab").items)


def error_of(call: Any) -> str:
    with pytest.raises(KcrashError) as caught:
        call()
    return str(caught.value)


def test_static_credentials_take_the_direct_transport_and_agree_with_the_client(kubeconfig: Path) -> None:
    direct = connect(str(kubeconfig), None, None, False)
    client = connect(str(kubeconfig), None, None, False, via_client=True)
    assert isinstance(direct.transport, DirectTransport)
    assert isinstance(client.transport, ClientTransport)
    assert direct.server == client.server
    listed = names(direct)
    assert listed == names(client) and len(listed) > 10
    # The same Status error, word for word, through either one.
    missing = [error_of(lambda c=c: Api(c).get_pod("crashlab", "no-such-pod")) for c in (direct, client)]
    assert missing[0] == missing[1]
    assert 'pods "no-such-pod" not found' in missing[0]


def test_a_wrong_token_is_the_same_401_line_either_way(kubeconfig: Path, tmp_path: Path) -> None:
    wrong = edit(kubeconfig, tmp_path / "config", lambda d: user(d).update(token="nope"))
    lines = [
        error_of(lambda v=v: connect(str(wrong), None, None, False, via_client=v)) for v in (False, True)
    ]
    assert lines[0] == lines[1]
    assert lines[0].startswith("the API server rejected your credentials (401 Unauthorized)")


def test_one_call_is_one_request_with_its_query(lab: Any, kubeconfig: Path) -> None:
    conn = connect(str(kubeconfig), None, None, False, check=False)
    name = names(conn)[0]
    path = f"/api/v1/namespaces/crashlab/pods/{name}"
    before = len(lab.faults.requests("GET", path))
    Api(conn).get_pod("crashlab", name)
    assert len(lab.faults.requests("GET", path)) == before + 1
    Api(conn).list_pods("crashlab", "app in (oom-leak,web),tier!=x", limit=7)
    listed = lab.faults.requests("GET", "/api/v1/namespaces/crashlab/pods")[-1]
    assert parse_qs(listed.query) == {"labelSelector": ["app in (oom-leak,web),tier!=x"], "limit": ["7"]}


def test_an_exec_plugin_goes_through_the_client_loader(lab: Any, kubeconfig: Path, tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.py"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": lab.token},
    }
    plugin.write_text(f"import json\nprint(json.dumps({credential!r}))\n")
    exec_user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(plugin)],
            "interactiveMode": "Never",
        }
    }
    config = edit(kubeconfig, tmp_path / "config", lambda d: d["users"][0].update(user=exec_user))
    conn = connect(str(config), None, None, False)
    assert isinstance(conn.transport, ClientTransport)
    assert len(names(conn)) > 10


def test_a_token_file_and_a_ca_file_are_read_relative_to_the_kubeconfig(
    kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = yaml.safe_load(kubeconfig.read_text())
    folder = tmp_path / "kube"
    folder.mkdir()
    (folder / "token").write_text(user(doc)["token"] + "\n")
    (folder / "ca.crt").write_bytes(base64.b64decode(cluster(doc)["certificate-authority-data"]))

    def relative(d: dict[str, Any]) -> None:
        d["users"][0]["user"] = {"tokenFile": "token"}
        d["clusters"][0]["cluster"].pop("certificate-authority-data")
        d["clusters"][0]["cluster"]["certificate-authority"] = "ca.crt"

    config = edit(kubeconfig, folder / "config", relative)
    monkeypatch.chdir(tmp_path)  # not the kubeconfig's folder
    conn = connect(str(config), None, None, False)
    assert isinstance(conn.transport, DirectTransport)
    assert len(names(conn)) > 10


def test_a_missing_ca_file_is_one_line(kubeconfig: Path, tmp_path: Path) -> None:
    def missing(d: dict[str, Any]) -> None:
        cluster(d).pop("certificate-authority-data")
        cluster(d)["certificate-authority"] = "nowhere/ca.crt"

    config = edit(kubeconfig, tmp_path / "config", missing)
    line = error_of(lambda: connect(str(config), None, None, False))
    where = tmp_path / "nowhere" / "ca.crt"
    context = 'certificate-authority of context "kcrash-lab"'
    assert line == f"{context} does not exist: {where}; fix the kubeconfig"


def test_no_ca_means_the_system_store_and_an_untrusted_server_is_one_line(
    kubeconfig: Path, tmp_path: Path
) -> None:
    config = edit(kubeconfig, tmp_path / "config", lambda d: cluster(d).pop("certificate-authority-data"))
    line = error_of(lambda: connect(str(config), None, None, False))
    assert line.startswith("the API server at https://127.0.0.1:")
    assert "not trusted by your kubeconfig's CA (certificate verify failed" in line and "\n" not in line
    assert "certificate-authority-data" in line and "VPN" not in line and not line.endswith("…")


def test_insecure_skip_tls_verify_works_without_a_warning(kubeconfig: Path, tmp_path: Path) -> None:
    def insecure(d: dict[str, Any]) -> None:
        cluster(d).pop("certificate-authority-data")
        cluster(d)["insecure-skip-tls-verify"] = True

    config = edit(kubeconfig, tmp_path / "config", insecure)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        conn = connect(str(config), None, None, False)
        listed = names(conn)
    assert isinstance(conn.transport, DirectTransport) and len(listed) > 10
    assert not [w for w in caught if "Unverified HTTPS" in str(w.message)]


def test_tls_server_name_is_checked_against_the_certificate(kubeconfig: Path, tmp_path: Path) -> None:
    good = edit(kubeconfig, tmp_path / "good", lambda d: cluster(d).update({"tls-server-name": "localhost"}))
    assert len(names(connect(str(good), None, None, False))) > 10
    bad = edit(
        kubeconfig, tmp_path / "bad", lambda d: cluster(d).update({"tls-server-name": "elsewhere.example"})
    )
    assert "elsewhere.example" in error_of(lambda: connect(str(bad), None, None, False))


def client_certificate() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "oncall")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def test_client_certificate_data_is_loaded_from_private_files(kubeconfig: Path, tmp_path: Path) -> None:
    cert, key = client_certificate()

    def with_certificate(d: dict[str, Any]) -> None:
        user(d)["client-certificate-data"] = base64.b64encode(cert).decode()
        user(d)["client-key-data"] = base64.b64encode(key).decode()

    config = edit(kubeconfig, tmp_path / "config", with_certificate)
    conn = connect(str(config), None, None, False)  # the TLS handshake loads the pair
    assert isinstance(conn.transport, DirectTransport)
    pool: Any = conn.transport._pool
    files = [pool.connection_pool_kw["cert_file"], pool.connection_pool_kw["key_file"]]
    assert [Path(f).read_bytes() for f in files] == [cert, key]
    assert all(stat.S_IMODE(os.stat(f).st_mode) == 0o600 for f in files)
    assert stat.S_IMODE(os.stat(Path(files[0]).parent).st_mode) == 0o700


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: user(d).update({"client-key-data": "bm90IGEga2V5"}), "without its key"),
        (
            lambda d: user(d).pop("token") and user(d).update({"client-certificate-data": "%%%"}),
            "not valid base64",
        ),
    ],
)
def test_broken_certificate_entries_are_one_line(
    kubeconfig: Path, tmp_path: Path, change: Any, expected: str
) -> None:
    config = edit(kubeconfig, tmp_path / "config", change)
    line = error_of(lambda: connect(str(config), None, None, False))
    assert expected in line and "\n" not in line


@pytest.mark.parametrize(
    "change",
    [
        lambda d: user(d).update({"as": "someone-else"}),  # impersonation
        lambda d: user(d).update({"username": "admin", "password": "secret"}),  # basic auth
        lambda d: cluster(d).update({"proxy-url": "http://127.0.0.1:9"}),
        lambda d: user(d).update({"auth-provider": {"name": "oidc", "config": {}}}),
    ],
)
def test_anything_but_static_credentials_is_left_to_the_client(
    kubeconfig: Path, tmp_path: Path, change: Any
) -> None:
    config = edit(kubeconfig, tmp_path / "config", change)
    try:
        conn = connect(str(config), None, None, False, check=False)
    except KcrashError:
        return  # the client's loader refused it: still not ours
    assert isinstance(conn.transport, ClientTransport)


def test_a_proxy_in_the_environment_is_left_to_the_client(
    kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    conn = connect(str(kubeconfig), None, None, False, check=False)
    assert isinstance(conn.transport, ClientTransport)


def test_static_credentials_never_import_the_kubernetes_package(kubeconfig: Path) -> None:
    script = (
        "import sys, json\n"
        "from kcrash.cluster.config import connect\n"
        "from kcrash.cluster.source import ClusterSource\n"
        f"conn = connect({str(kubeconfig)!r}, None, None, True)\n"
        "source = ClusterSource(conn, namespace=None)\n"
        "pods = source.api.list_all_pods(None).items\n"
        "print(json.dumps([len(pods), sorted(m for m in sys.modules if m.split('.')[0] == 'kubernetes')]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "tui")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    count, loaded = json.loads(out.stdout)
    assert count > 10 and loaded == []
