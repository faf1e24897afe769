"""The lab serves https with a CA of its own, so its bearer token is really required.

The certificates are checked as a client would check them (chain, names, validity), then the running
lab over urllib, aiohttp and the kubernetes client; last the `tls=False` escape hatch and the CLI flag.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import ssl
import stat
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from kcrash.lab.app import Lab
from kcrash.lab.tls import make_certificates

NOW = datetime(2030, 5, 17, 12, 0, tzinfo=UTC)
LAB_CLI = "import sys; from kcrash.lab.cli import main; sys.exit(main(sys.argv[1:]))"


def opener(context: ssl.SSLContext | None = None) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers)


def status_of(url: str, *, context: ssl.SSLContext | None = None, token: str | None = None) -> int:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with opener(context).open(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def read_kubeconfig(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def rewrite_user(path: Path, user: dict[str, str]) -> Path:
    config = read_kubeconfig(path)
    config["users"][0]["user"] = user
    path.write_text(yaml.safe_dump(config))
    return path


def san(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    addresses = [str(a) for a in names.get_values_for_type(x509.IPAddress)]
    return addresses, names.get_values_for_type(x509.DNSName)


# -- the certificates ---------------------------------------------------------------------------


def test_the_ca_signs_a_p256_server_certificate_valid_now() -> None:
    made = make_certificates(now=NOW)
    ca = x509.load_pem_x509_certificate(made.ca_pem)
    cert = x509.load_pem_x509_certificate(made.cert_pem)
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    for each in (ca, cert):
        key = each.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
        assert each.not_valid_before_utc < NOW - timedelta(minutes=5)
        assert timedelta(days=2) < each.not_valid_after_utc - NOW < timedelta(days=8)
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in usage


@pytest.mark.parametrize(
    ("host", "addresses", "dns_names"),
    [
        ("127.0.0.1", ["127.0.0.1"], ["localhost"]),
        ("localhost", ["127.0.0.1"], ["localhost"]),
        ("10.1.2.3", ["127.0.0.1", "10.1.2.3"], ["localhost"]),
        ("::1", ["127.0.0.1", "::1"], ["localhost"]),
        ("lab.example", ["127.0.0.1"], ["localhost", "lab.example"]),
    ],
)
def test_subject_names(host: str, addresses: list[str], dns_names: list[str]) -> None:
    cert = x509.load_pem_x509_certificate(make_certificates(host, now=NOW).cert_pem)
    assert san(cert) == ([str(ipaddress.ip_address(a)) for a in addresses], dns_names)


def test_every_certificate_set_is_new() -> None:
    first, second = make_certificates(now=NOW), make_certificates(now=NOW)
    assert first.ca_pem != second.ca_pem and first.key_pem != second.key_pem


def test_no_key_is_left_on_disk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    context = make_certificates().server_context()
    assert isinstance(context, ssl.SSLContext)
    assert list(tmp_path.iterdir()) == []


# -- the running lab over https -----------------------------------------------------------------


def test_the_kubeconfig_carries_the_ca_and_the_token(lab: Lab, kubeconfig: Path) -> None:
    config = read_kubeconfig(kubeconfig)
    cluster = config["clusters"][0]["cluster"]
    assert lab.url.startswith("https://127.0.0.1:") and cluster["server"] == lab.url
    assert base64.b64decode(cluster["certificate-authority-data"]) == lab.ca_pem
    assert lab.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert config["users"][0]["user"] == {"token": lab.token}
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("token", "status"),
    [("right", 200), (None, 401), ("wrong", 401), ("", 401)],
)
def test_only_the_token_gets_in(lab: Lab, token: str | None, status: int) -> None:
    sent = lab.token if token == "right" else token
    url = lab.url + "/api/v1/namespaces/crashlab/pods"
    assert status_of(url, context=lab.client_ssl_context(), token=sent) == status


def test_a_client_that_does_not_trust_the_ca_is_refused(lab: Lab) -> None:
    with pytest.raises(urllib.error.URLError) as refused:
        status_of(lab.url + "/version", context=ssl.create_default_context(), token=lab.token)
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)


def test_plain_http_to_the_https_port_gets_nothing(lab: Lab) -> None:
    plain = lab.url.replace("https://", "http://")
    with pytest.raises(OSError):  # the TLS layer hangs up on a request that is not a handshake
        status_of(plain + "/api/v1/namespaces", token=lab.token)


def test_each_lab_has_its_own_ca(lab: Lab, make_lab: Callable[..., Lab]) -> None:
    other = make_lab(builtin_scenarios=False)
    assert other.ca_pem != lab.ca_pem
    with pytest.raises(urllib.error.URLError) as refused:
        status_of(other.url + "/version", context=lab.client_ssl_context())
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)


def test_aiohttp_keeps_one_connection_alive(lab: Lab) -> None:
    async def statuses() -> tuple[list[int], int]:
        opened: list[object] = []

        async def count(session: object, context: object, params: object) -> None:
            opened.append(params)

        tracing = aiohttp.TraceConfig()
        tracing.on_connection_create_end.append(count)
        connector = aiohttp.TCPConnector(ssl=lab.client_ssl_context())
        headers = {"Authorization": f"Bearer {lab.token}"}
        async with aiohttp.ClientSession(
            connector=connector, headers=headers, trace_configs=[tracing]
        ) as session:
            codes = []
            for _ in range(5):
                async with session.get(lab.url + "/api/v1/namespaces") as response:
                    await response.read()
                    codes.append(response.status)
            return codes, len(opened)

    assert asyncio.run(statuses()) == ([200] * 5, 1)


@pytest.mark.parametrize(
    ("user", "status"),
    [({"token": "right"}, 200), ({}, 401), ({"token": "not-the-token"}, 401)],
)
def test_the_kubernetes_client_verifies_with_the_kubeconfig_ca(
    lab: Lab, kubeconfig: Path, tmp_path: Path, user: dict[str, str], status: int
) -> None:
    written = tmp_path / "config"
    written.write_bytes(kubeconfig.read_bytes())
    if user != {"token": "right"}:
        rewrite_user(written, user)
    api = k8s.CoreV1Api(k8s_config.new_client_from_config(str(written)))
    try:
        if status == 200:
            pods = api.list_namespaced_pod("crashlab")
            assert pods.items and api.api_client.configuration.verify_ssl is True
        else:
            with pytest.raises(k8s.ApiException) as refused:
                api.list_namespaced_pod("crashlab")
            assert refused.value.status == status
    finally:
        api.api_client.close()


# -- plain http, on request ---------------------------------------------------------------------


def test_plain_http_lets_tokenless_requests_in(make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = make_lab(tls=False, builtin_scenarios=False)
    assert lab.url.startswith("http://127.0.0.1:") and lab.ca_pem == b""
    assert status_of(lab.url + "/api/v1/namespaces") == 200
    assert status_of(lab.url + "/api/v1/namespaces", token="wrong") == 401
    cluster = read_kubeconfig(lab.write_kubeconfig(tmp_path / "config"))["clusters"][0]["cluster"]
    assert cluster == {"server": lab.url}
    with pytest.raises(RuntimeError):
        lab.client_ssl_context()


def test_plain_http_can_still_refuse_tokenless_requests(make_lab: Callable[..., Lab]) -> None:
    lab = make_lab(tls=False, allow_anonymous=False, builtin_scenarios=False)
    assert status_of(lab.url + "/api/v1/namespaces") == 401
    assert status_of(lab.url + "/api/v1/namespaces", token=lab.token) == 200


def test_cli_plain_http_flag(tmp_path: Path) -> None:
    config = tmp_path / "lab.kubeconfig"
    command = [sys.executable, "-c", LAB_CLI, "--kubeconfig", str(config), "--no-builtin", "--plain-http"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("kcrash lab serving http://127.0.0.1:"), line
        server = read_kubeconfig(config)["clusters"][0]["cluster"]["server"]
        assert status_of(server + "/api/v1/namespaces") == 200
    finally:
        process.terminate()
        process.communicate(timeout=20)
