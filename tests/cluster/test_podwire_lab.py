"""The pod fast path over the lab's real LIST pages and WATCH lines, against the forgiving path."""

from __future__ import annotations

import orjson

from kcrash.cluster.api import Api
from kcrash.cluster.parse import parse_pod
from kcrash.cluster.podwire import decode_pod_event, decode_pod_list


def test_every_lab_pod_page_takes_the_fast_path_and_gives_the_same_records(api: Api) -> None:
    token, pages, pods = "", 0, 0
    while True:
        body = api.pod_list_body(None, "", 7, token)
        decoded = decode_pod_list(body)
        assert decoded is not None, "the fast path declined a page the lab wrote"
        doc = orjson.loads(body)
        assert decoded[0] == [parse_pod(item) for item in doc["items"]]
        assert decoded[1:] == (doc["metadata"]["resourceVersion"], doc["metadata"].get("continue", ""))
        pages, pods, token = pages + 1, pods + len(decoded[0]), decoded[2]
        if not token:
            break
    assert pages > 2 and pods >= 20  # paged: more than one page, every scenario


def test_lab_watch_lines_take_the_fast_path(api: Api) -> None:
    first = api.list_pods("crashlab", limit=500)
    stream = api.watch_pods("crashlab", "", "0", timeout_seconds=2)
    try:
        lines = [line for _, line in zip(range(len(first.items)), stream.lines(), strict=False)]
    finally:
        stream.close()
    assert lines
    for line in lines:
        decoded = decode_pod_event(line)
        assert decoded is not None
        assert decoded[1] == parse_pod(orjson.loads(line)["object"])
