"""The lab's TLS: a throwaway CA and a server certificate it signs, made fresh every time the lab starts.

kubectl (client-go) only sends a bearer token over https, so the lab serves https to make the token
matter. Keys are EC P-256 (generated in milliseconds) and live in memory; the ssl module loads a
certificate chain only from files, so the PEMs pass through a private temp dir that is removed as
soon as they are loaded. Validity uses the real clock, not the simulated one: clients check it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Some slack for clocks that run a little behind this one; a few days outlasts any lab session.
NOT_BEFORE_SLACK = timedelta(hours=1)
VALIDITY = timedelta(days=3)
LOCAL_NAMES = ("localhost",)
LOCAL_ADDRESSES = ("127.0.0.1",)
# The server speaks HTTP/1.1 only; saying so keeps clients from trying h2 over the connection.
ALPN = ["http/1.1"]


@dataclass(frozen=True)
class Certificates:
    """PEM bytes of the CA certificate, and of the server's certificate and private key."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(ALPN)
        _load_chain(context, self.cert_pem + self.ca_pem, self.key_pem)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Trusts the lab's CA and nothing else; checks the host name (127.0.0.1 or localhost)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_verify_locations(cadata=self.ca_pem.decode("ascii"))
        return context


def make_certificates(host: str = "127.0.0.1", now: datetime | None = None) -> Certificates:
    """A fresh CA and a server certificate for 127.0.0.1, localhost and `host`."""
    authority = Authority.create("kcrash-lab-ca", now)
    issued = authority.issue("kcrash-lab", server_names=subject_names(host))
    return Certificates(ca_pem=authority.cert_pem, cert_pem=issued.cert_pem, key_pem=issued.key_pem)


@dataclass(frozen=True)
class Issued:
    """A leaf certificate and its private key, PEM."""

    cert_pem: bytes
    key_pem: bytes


@dataclass(frozen=True)
class Authority:
    """A CA that signs server and client certificates (EC P-256, SHA-256), valid from `start`."""

    name: x509.Name
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    start: datetime

    @classmethod
    def create(cls, common_name: str, now: datetime | None = None) -> Authority:
        start = (now or datetime.now(UTC)) - NOT_BEFORE_SLACK
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        cert = (
            _builder(name, name, key.public_key(), start)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(name=name, key=key, cert=cert, start=start)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return _private_pem(self.key)

    def issue(
        self,
        common_name: str,
        *,
        organizations: tuple[str, ...] = (),
        server_names: list[x509.GeneralName] | None = None,
        client: bool = False,
    ) -> Issued:
        """A server certificate when `server_names` is given, a client one when `client` (or both).

        Kubernetes reads a client certificate's CN as the user name and its O entries as groups.
        """
        attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        usages = [ExtendedKeyUsageOID.SERVER_AUTH] if server_names else []
        if client:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            _builder(x509.Name(attributes), self.name, key.public_key(), self.start)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        )
        if server_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(server_names), critical=False)
        cert = (
            builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        return Issued(cert_pem=cert.public_bytes(serialization.Encoding.PEM), key_pem=_private_pem(key))


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def subject_names(host: str) -> list[x509.GeneralName]:
    """127.0.0.1 and localhost, plus the address or name the lab listens on if it is another one."""
    addresses = dict.fromkeys(LOCAL_ADDRESSES)
    names = dict.fromkeys(LOCAL_NAMES)
    if _is_address(host):
        addresses.setdefault(host)
    elif host:
        names.setdefault(host)
    general: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    general.extend(x509.DNSName(n) for n in names)
    return general


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, start: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + NOT_BEFORE_SLACK + VALIDITY)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _load_chain(context: ssl.SSLContext, chain_pem: bytes, key_pem: bytes) -> None:
    """`load_cert_chain` reads only files: write them owner-only, load, and remove them at once."""
    directory = Path(tempfile.mkdtemp(prefix="kcrash-lab-tls-"))  # mode 0700
    try:
        cert_file = _write_private(directory / "server.crt", chain_pem)
        key_file = _write_private(directory / "server.key", key_pem)
        context.load_cert_chain(cert_file, key_file)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(directory)


def _write_private(path: Path, data: bytes) -> Path:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    return path
