"""The lab's identity kept in a folder (`--state-dir`): its CA, server certificate and key, and its
bearer token, so a restarted lab is the same cluster to the kubeconfigs written for it, as a real
control plane keeps its CA and service-account keys across restarts. Files are private (0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from kcrash.lab.tls import Certificates, make_certificates

_FILES = {"ca_pem": "ca.pem", "cert_pem": "server.pem", "key_pem": "server-key.pem"}
TOKEN_FILE = "token"


def stored_token(state_dir: Path) -> str:
    """The token kept in `state_dir`, made and kept there on first use."""
    path = state_dir / TOKEN_FILE
    if path.is_file():
        token = path.read_text(encoding="ascii").strip()
        if token:
            return token
    token = secrets.token_urlsafe(24)
    _write_private(path, token.encode("ascii"))
    return token


def stored_certificates(state_dir: Path, host: str) -> Certificates:
    """The CA and server certificate kept in `state_dir`, made and kept there on first use."""
    paths = {field: state_dir / name for field, name in _FILES.items()}
    if all(path.is_file() for path in paths.values()):
        return Certificates(**{field: path.read_bytes() for field, path in paths.items()})
    made = make_certificates(host)
    for field, path in paths.items():
        _write_private(path, getattr(made, field))
    return made


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
