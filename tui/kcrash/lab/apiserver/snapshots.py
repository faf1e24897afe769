"""List snapshots and continue tokens: a paged list is served from one consistent snapshot.

The token is shaped like the apiserver's (base64 JSON with `rv` and `start`), plus the snapshot's
id; a token whose snapshot has been dropped still works while nothing changed since, else it is 410.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from collections import OrderedDict
from dataclasses import dataclass

import orjson

from kcrash.lab import errors
from kcrash.lab.apiserver.encoding import dumps
from kcrash.lab.store import Obj


@dataclass(frozen=True, slots=True)
class Snapshot:
    rv: int
    items: list[Obj]


class SnapshotCache:
    """Filtered lists kept briefly so `continue` pages come from one consistent snapshot."""

    def __init__(self, size: int) -> None:
        self._entries: OrderedDict[int, Snapshot] = OrderedDict()
        self._size = size
        self._ids = itertools.count(1)

    def put(self, snapshot: Snapshot) -> int:
        ident = next(self._ids)
        self._entries[ident] = snapshot
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return ident

    def get(self, ident: int) -> Snapshot | None:
        return self._entries.get(ident)


def encode_continue(ident: int, rv: int, offset: int, start: str) -> str:
    token = {"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\x00", "id": ident, "offset": offset}
    return base64.urlsafe_b64encode(dumps(token)).decode().rstrip("=")


def decode_continue(text: str) -> tuple[int, int, int]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        token = orjson.loads(raw)
        return int(token["id"]), int(token["rv"]), int(token["offset"])
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise errors.bad_request(
            "invalid continue token: continue key is not valid: incorrect encoded start resourceVersion"
        ) from exc


CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter, or use the continue token in this response to retrieve the "
    "remainder of the results. Continuing with the provided token results in an inconsistent list - objects "
    "that were created, modified, or deleted between the time the first chunk was returned and now may show "
    "up in the list."
)
