"""Everything the parts of a real control plane authenticate with, written into one private directory.

- a cluster CA and the apiserver's serving certificate (loopback plus the in-cluster service names);
- a client certificate the apiserver presents to kubelets (`kubectl logs` goes through it);
- a front-proxy CA and client certificate, so aggregated APIs (metrics.k8s.io) can trust the apiserver;
- the service-account key pair (RSA: what every token verifier accepts);
- static bearer tokens for the admin, the controller-manager and the scheduler, so their kubeconfigs
  look like the embedded lab's (a token and the CA inline).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kcrash.lab.tls import Authority, subject_names

# The first address of the service range is the `kubernetes` Service's cluster IP.
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
SERVICE_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
ADMIN_USER = "kcrash-admin"
FRONT_PROXY_CLIENT = "front-proxy-client"


@dataclass(frozen=True)
class Token:
    value: str
    user: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pki:
    """Paths of the files written, and the tokens (also in `tokens_file`)."""

    directory: Path
    ca_pem: bytes
    admin: Token
    controller_manager: Token
    scheduler: Token

    def file(self, name: str) -> Path:
        return self.directory / name

    @property
    def tokens_file(self) -> Path:
        return self.file("tokens.csv")


def write_pki(directory: Path) -> Pki:
    """Create `directory` (owner only) and every key, certificate and token file in it."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca = Authority.create("kcrash-controlplane-ca")
    _write_pair(directory, "ca", ca.cert_pem, ca.key_pem)
    serving = ca.issue("kube-apiserver", server_names=_apiserver_names())
    _write_pair(directory, "apiserver", serving.cert_pem, serving.key_pem)
    kubelet_client = ca.issue("kube-apiserver-kubelet-client", organizations=("system:masters",), client=True)
    _write_pair(directory, "apiserver-kubelet-client", kubelet_client.cert_pem, kubelet_client.key_pem)
    front_proxy = Authority.create("kcrash-front-proxy-ca")
    _write_pair(directory, "front-proxy-ca", front_proxy.cert_pem, front_proxy.key_pem)
    proxy_client = front_proxy.issue(FRONT_PROXY_CLIENT, client=True)
    _write_pair(directory, FRONT_PROXY_CLIENT, proxy_client.cert_pem, proxy_client.key_pem)
    _write_service_account_keys(directory)
    pki = Pki(
        directory=directory,
        ca_pem=ca.cert_pem,
        admin=Token(secrets.token_urlsafe(32), ADMIN_USER, ("system:masters",)),
        controller_manager=Token(secrets.token_urlsafe(32), "system:kube-controller-manager"),
        scheduler=Token(secrets.token_urlsafe(32), "system:kube-scheduler"),
    )
    _write_tokens(pki.tokens_file, (pki.admin, pki.controller_manager, pki.scheduler))
    return pki


def _apiserver_names() -> list[x509.GeneralName]:
    names = subject_names("127.0.0.1")
    names.append(x509.IPAddress(ipaddress.ip_address(KUBERNETES_SERVICE_IP)))
    names.extend(x509.DNSName(name) for name in SERVICE_NAMES)
    return names


def _write_service_account_keys(directory: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_pair(directory, "sa", public, private, cert_suffix=".pub")


def _write_tokens(path: Path, tokens: tuple[Token, ...]) -> None:
    """The apiserver's --token-auth-file format: token,user,uid[,"group1,group2"]."""
    lines = []
    for token in tokens:
        row = f"{token.value},{token.user},{token.user}"
        if token.groups:
            row += ',"' + ",".join(token.groups) + '"'
        lines.append(row)
    write_private(path, ("\n".join(lines) + "\n").encode("ascii"))


def _write_pair(
    directory: Path, stem: str, cert_pem: bytes, key_pem: bytes, cert_suffix: str = ".crt"
) -> None:
    write_private(directory / f"{stem}{cert_suffix}", cert_pem)
    write_private(directory / f"{stem}.key", key_pem)


def write_private(path: Path, data: bytes) -> Path:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    return path
