"""Credentials re-read when the server stops accepting them, as kubectl would on its next run.

A token file is rotated, an exec plugin's token expires, a cluster's CA is renewed, a restarted
cluster hands out a new token and someone rewrites the kubeconfig: the answers turn into 401s or
failed TLS verifications, and a console that read its credentials once stays "reconnecting"
forever. `CredentialLink` holds the transport in use for one connection and, on

- a 401, or a TLS verification failure (at most once a second),
- a 403 after the same credentials have worked, when the kubeconfig changed on disk since they
  were read (at most once every 30 s: an RBAC refusal is usually just that, and is not resent),
- `renew(force=True)` (the `r` key, or a kubeconfig file that changed on disk),

re-reads the kubeconfig (token files read again, exec plugins run again, the CA loaded again),
swaps the transport and sends the failed request once more. When the new credentials are refused
too, the error says so in its one line.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from kcrash.cluster.config import Connection
from kcrash.cluster.errors import TRANSPORT_ERRORS, KcrashError
from kcrash.cluster.transport import HttpError, Transport

T = TypeVar("T")

AUTH_EVERY = 1.0  # seconds between re-reads prompted by 401s and failed TLS verifications
FORBIDDEN_EVERY = 30.0  # ... and by 403s


def tls_rejected(exc: BaseException) -> bool:
    """Whether a connection failed because the server's certificate did not verify."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(current):
            return True
        reason = getattr(current, "reason", None)
        todo.extend(
            [reason if isinstance(reason, BaseException) else None, current.__cause__, current.__context__]
        )
    return False


class CredentialLink:
    """The transport of one connection, renewed from the kubeconfig when the server refuses it."""

    def __init__(self, conn: Connection, clock: Callable[[], float] = time.monotonic) -> None:
        self._renewal = conn.renewal
        self._transport = conn.transport
        self._clock = clock
        self._lock = threading.Lock()
        self._generation = 0
        self._last: float | None = None
        self._stamp = self._renewal.stamp() if self._renewal is not None else ()
        self._worked = False
        self.refused_again = False  # the credentials re-read were refused as well
        self.renewal_error = ""  # why the last re-read failed (a broken kubeconfig...)

    @property
    def transport(self) -> Transport:
        return self._transport

    @property
    def generation(self) -> int:
        """How many times the credentials were re-read and replaced."""
        return self._generation

    def changed_on_disk(self) -> bool:
        """Whether a kubeconfig file changed since the credentials in use were read."""
        return self._renewal is not None and self._renewal.stamp() != self._stamp

    def renew(self, *, force: bool = False, every: float = AUTH_EVERY, seen: int | None = None) -> bool:
        """Re-read the credentials; True when a new transport is in place (or another thread just
        put one in since generation `seen`)."""
        if self._renewal is None:
            return False
        with self._lock:
            if seen is not None and seen != self._generation:
                return True
            now = self._clock()
            if not force and self._last is not None and now - self._last < every:
                return False
            self._last = now
            stamp = self._renewal.stamp()
            try:
                transport = self._renewal.rebuild()
            except KcrashError as exc:
                self.renewal_error = str(exc)
                return False
            self._transport, self._stamp = transport, stamp
            self._generation += 1
            self.renewal_error = ""
            return True

    def sent(self, request: Callable[[], T]) -> T:
        """`request()`, sent once more with renewed credentials when the server refused the old ones."""
        seen = self._generation
        try:
            answer = request()
        except HttpError as exc:
            if not self._renew_for(exc.status, seen):
                raise
            answer = self._again(request)
        except TRANSPORT_ERRORS as exc:
            if not tls_rejected(exc) or not self.renew(seen=seen):
                raise
            answer = self._again(request)
        self._worked = True
        self.refused_again = False
        return answer

    def _renew_for(self, status: int, seen: int) -> bool:
        if status == 401:
            return self.renew(seen=seen)
        if status == 403 and self._worked and self.changed_on_disk():
            return self.renew(every=FORBIDDEN_EVERY, seen=seen)
        return False

    def _again(self, request: Callable[[], T]) -> T:
        try:
            return request()
        except HttpError as exc:
            self.refused_again = exc.status in (401, 403)
            raise
        except TRANSPORT_ERRORS as exc:
            self.refused_again = tls_rejected(exc)
            raise

    def explain(self, error: KcrashError) -> KcrashError:
        """The error, saying so when the credentials re-read from the kubeconfig failed too."""
        if self.refused_again and self._renewal is not None:
            where = ", ".join(self._renewal.paths)
            return KcrashError(
                f"{error.message} (the credentials re-read from {where} were refused too: "
                "log in again or fix the kubeconfig)",
                status=error.status,
                reason=error.reason,
            )
        return error
