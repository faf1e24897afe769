"""get and list: selectors, snapshots (also as of an exact resourceVersion), pages with continue
tokens, and the three shapes of answer (JSON, Table, PartialObjectMetadata).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from kcrash.lab import errors, tables
from kcrash.lab.apiserver.base import ServerBase
from kcrash.lab.apiserver.encoding import dumps, with_type
from kcrash.lab.apiserver.requests import (
    PARTIAL_CONTENT_TYPE,
    TABLE_CONTENT_TYPE,
    Query,
    Target,
    negotiate,
    validate_list_options,
)
from kcrash.lab.apiserver.snapshots import CONTINUE_EXPIRED, Snapshot, decode_continue, encode_continue
from kcrash.lab.selectors import FieldSelector, LabelSelector, SelectorError
from kcrash.lab.store import Expired, Obj


def _object_key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


class ListsMixin(ServerBase):
    """get and list."""

    def _get(self, request: web.Request, target: Target) -> web.Response:
        shape = negotiate(request.headers.get("Accept", ""))
        obj = self._lookup(target)
        info = target.info
        if shape == "table":
            include = Query(request.query).text("includeObject", "Metadata")
            meta = {"resourceVersion": obj.get("metadata", {}).get("resourceVersion", "")}
            body = tables.table(
                info.store,
                [with_type(info.store, obj)],
                self.clock.now(),
                include_object=include,
                list_meta=meta,
            )
            return self._json_body(dumps(body), content_type=TABLE_CONTENT_TYPE)
        if shape == "partial":
            return self._json_body(dumps(tables.partial_metadata(obj)), content_type=PARTIAL_CONTENT_TYPE)
        return self._json_body(self.encoder.encode(info.store, obj))

    def _selectors(self, target: Target, query: Query) -> tuple[LabelSelector, FieldSelector]:
        try:
            labels = LabelSelector.parse(query.text("labelSelector"))
        except SelectorError as exc:  # the apiserver answers with the parser's own words, no prefix
            raise errors.bad_request(str(exc)) from exc
        try:
            fields = FieldSelector.parse(query.text("fieldSelector"))
            fields.check(target.info.store)
        except SelectorError as exc:
            raise errors.bad_request(str(exc)) from exc
        if target.name:
            fields = FieldSelector(
                (*fields.requirements, *FieldSelector.parse(f"metadata.name={target.name}").requirements)
            )
        return labels, fields

    def _matcher(self, target: Target, query: Query) -> Callable[[Obj], bool]:
        labels, fields = self._selectors(target, query)
        resource = target.info.store
        namespace = target.namespace
        if labels.empty and fields.empty and not namespace:
            return lambda obj: True

        def accepts(obj: Obj) -> bool:
            meta = obj.get("metadata") or {}
            if namespace and meta.get("namespace", "") != namespace:
                return False
            return labels.matches(meta.get("labels")) and fields.matches(resource, obj)

        return accepts

    def _snapshot(self, target: Target, query: Query) -> tuple[Snapshot, int, int | None]:
        """(snapshot, offset into it, snapshot id if cached) for this list request."""
        accepts = self._matcher(target, query)
        token = query.text("continue")
        if token:
            ident, rv, offset = decode_continue(token)
            snapshot = self.snapshots.get(ident)
            if snapshot is None:
                if rv != self.store.resource_version:
                    raise errors.expired(CONTINUE_EXPIRED)
                snapshot = self._fresh_snapshot(target, accepts)
            return snapshot, offset, ident
        exact = query.integer("resourceVersion") if query.text("resourceVersionMatch") == "Exact" else None
        return self._fresh_snapshot(target, accepts, exact), 0, None

    def _fresh_snapshot(
        self, target: Target, accepts: Callable[[Obj], bool], at: int | None = None
    ) -> Snapshot:
        """The list now, or as it was at resourceVersion `at` (resourceVersionMatch=Exact)."""
        with self.store.lock:
            items, rv = self.store.list(target.info.store, target.namespace or None)
            if at is not None and at != rv:
                items, rv = self._items_at(target.info.store, items, at, rv), at
        return Snapshot(rv, [o for o in items if accepts(o)])

    def _items_at(self, resource: str, items: list[Obj], at: int, now: int) -> list[Obj]:
        """Undo the changes made after `at` (as etcd answers from its history); 410 once it is gone."""
        if at > now:
            raise errors.too_large_resource_version(at, now)
        try:
            changes = self.store.changes_since(resource, at)
        except Expired as exc:
            raise errors.too_old_resource_version(exc.requested, exc.oldest) from exc
        previous = self.hub.previous_versions(resource, at)
        by_key = {_object_key(o): o for o in items}
        for change in reversed(changes):
            before = previous.get(change.rv)
            if change.type == "ADDED":
                by_key.pop(_object_key(change.obj), None)
            elif before is not None:
                by_key[_object_key(before)] = before
            else:  # the hub's shorter memory ends before the store's
                raise errors.too_old_resource_version(at, self.store.oldest_rv(resource))
        return sorted(by_key.values(), key=_object_key)

    def _list(self, request: web.Request, target: Target, query: Query) -> web.Response:
        validate_list_options(query, watch=False)
        shape = negotiate(request.headers.get("Accept", ""))
        snapshot, offset, ident = self._snapshot(target, query)
        # resourceVersion=0 (a reflector's first LIST, as client-go's informers send it) is served
        # whole from the apiserver's watch cache, which ignores `limit`: one reply, no continue token.
        limit = 0 if query.text("resourceVersion") == "0" else query.integer("limit") or 0
        end = offset + limit if limit > 0 else len(snapshot.items)
        page = snapshot.items[offset:end]
        meta: Obj = {"resourceVersion": str(snapshot.rv)}
        if end < len(snapshot.items):
            ident = ident if ident is not None else self.snapshots.put(snapshot)
            last = page[-1].get("metadata", {}) if page else {}
            start = f"{last.get('namespace', '')}/{last.get('name', '')}"
            meta["continue"] = encode_continue(ident, snapshot.rv, end, start)
            if not query.text("labelSelector") and not query.text("fieldSelector"):
                meta["remainingItemCount"] = len(snapshot.items) - end
        return self._list_response(target, shape, page, meta, query)

    def _list_response(
        self, target: Target, shape: str, page: list[Obj], meta: Obj, query: Query
    ) -> web.Response:
        info = target.info
        if shape == "table":
            objects = [with_type(info.store, o) for o in page]
            include = query.text("includeObject", "Metadata")
            body = tables.table(info.store, objects, self.clock.now(), include_object=include, list_meta=meta)
            return self._json_body(dumps(body), content_type=TABLE_CONTENT_TYPE)
        if shape == "partial":
            partial = {
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": meta,
                "items": [tables.partial_metadata(o) for o in page],
            }
            return self._json_body(dumps(partial), content_type=PARTIAL_CONTENT_TYPE)
        head = dumps({"kind": info.list_kind, "apiVersion": info.api_version, "metadata": meta})
        parts = [head[:-1], b',"items":[']
        encode = self.encoder.encode
        for index, obj in enumerate(page):
            if index:
                parts.append(b",")
            parts.append(encode(info.store, obj, typed=False))
        parts.append(b"]}")
        return self._json_body(b"".join(parts))
