"""The one error type the cluster layer raises, and the mapping from client failures to it.

Every failure the user can meet (a bad kubeconfig, an unreachable server, a 401, a 403, a Status
from the server) becomes a `KcrashError` whose text is ONE line naming the problem and the fix.
The server's own words are untrusted: they are sanitized and flattened before they are shown.
"""

from __future__ import annotations

import re

import orjson
import urllib3.exceptions

from kcrash.cluster.transport import HttpError
from kcrash.core.sanitize import clean

_MAX_MESSAGE = 300


class KcrashError(Exception):
    """A failure explained in one line, with the HTTP status when the server answered."""

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        self.message = one_line(message)
        self.status = status
        self.reason = reason
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def one_line(text: str) -> str:
    """Sanitized, whitespace-collapsed, bounded text fit for a status line."""
    flat = " ".join(clean(text).split())
    return flat if len(flat) <= _MAX_MESSAGE else flat[: _MAX_MESSAGE - 1] + "…"


def status_of(exc: HttpError) -> tuple[str, str]:
    """(message, reason) of the Status object in an error body, or ("", "") when there is none."""
    body = exc.body
    if not body:
        return "", ""
    try:
        status = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace").strip(), ""
    if not isinstance(status, dict):
        return "", ""
    return str(status.get("message") or ""), str(status.get("reason") or "")


def from_http_error(exc: HttpError, action: str, server: str = "") -> KcrashError:
    """Turn an HTTP error into one line: what we tried, what the server said, the fix."""
    code = int(exc.status or 0)
    message, reason = status_of(exc)
    if code == 0:
        where = f" at {server}" if server else ""
        detail = message or str(exc.reason or "no response")
        return KcrashError(f"cannot reach the API server{where} ({detail}) while trying to {action}")
    if code == 401:
        return KcrashError(
            f"the API server rejected your credentials (401 Unauthorized) while trying to {action}: "
            "log in again or fix the user in your kubeconfig",
            status=code,
            reason=reason or "Unauthorized",
        )
    if code == 403:
        said = message or "forbidden"
        return KcrashError(
            f"{said} (403): ask your cluster admin for access, or pick another namespace with -n",
            status=code,
            reason=reason or "Forbidden",
        )
    if code in (429, 503):
        said = message or str(exc.reason or "")
        return KcrashError(
            f"the API server kept turning requests away ({code} {said}) while trying to {action}, "
            "retries included: try again later",
            status=code,
            reason=reason,
        )
    said = message or f"{code} {exc.reason or ''}".strip()
    return KcrashError(f"{action} failed: {said}", status=code, reason=reason)


def from_transport_error(exc: BaseException, action: str, server: str = "") -> KcrashError:
    """A connection that failed below HTTP: refused, reset, timed out, bad TLS."""
    where = f" at {server}" if server else ""
    cause = _root_cause(exc)
    if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "CERTIFICATE_VERIFY_FAILED" in cause:
        why = re.sub(r"\s*\(_ssl\.c:\d+\)", "", cause.split("] ", 1)[-1])
        return KcrashError(
            f"the API server{where} is not trusted by your kubeconfig's CA ({why}) while trying to "
            f"{action}: if the cluster's CA was renewed, get a fresh kubeconfig (certificate-authority-data)"
        )
    return KcrashError(
        f"cannot reach the API server{where} ({cause}) while trying to {action}: "
        "check the server address in your kubeconfig and your network or VPN"
    )


TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
    OSError,
)


def _root_cause(exc: BaseException) -> str:
    """The innermost reason of a urllib3 failure, without the pool and URL noise around it."""
    inner: BaseException = exc
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        inner = reason
    text = str(inner)
    # urllib3 wraps the reason in pool and connection noise; keep the words that say what failed.
    for marker in (">: ", "Failed to establish a new connection: ", "): "):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = re.sub(r"\[Errno -?\d+\] ", "", text).strip()
    return (text[:1].lower() + text[1:]) if text else type(inner).__name__
