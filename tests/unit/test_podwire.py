"""The pod fast path (msgspec straight into records) against the forgiving one (orjson + parse_pod).

Every recorded pod document must give the same records both ways, and every shape the fast path
does not model must make it decline, so that the forgiving path judges it.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from kcrash.cluster.api import _pod_page
from kcrash.cluster.parse import objects_in, parse_pod
from kcrash.cluster.podwire import decode_pod_event, decode_pod_list
from kcrash.cluster.reflector import WatchStream

DATA = Path(__file__).resolve().parent.parent / "data"


def recorded_pods() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted([*DATA.glob("pods/*.json"), *DATA.glob("parse/*.json")]):
        for kind, obj in objects_in(orjson.loads(path.read_bytes())):
            if kind == "Pod":
                found.append((f"{path.parent.name}/{path.stem}", dict(obj)))
    return found


RECORDED = recorded_pods()


def page(*items: Any, rv: str = "42", token: str = "") -> bytes:
    meta = {"resourceVersion": rv, "continue": token}
    return orjson.dumps({"kind": "PodList", "metadata": meta, "items": items})


def test_the_recordings_hold_pods_of_every_shape() -> None:
    """The equality test below means something only if the recordings cover what it compares."""
    pods = [parse_pod(obj) for _, obj in RECORDED]
    assert len(pods) >= 30
    assert any(p.init_containers for p in pods)
    assert any(s.sidecar for p in pods for s in p.init_containers)
    assert any(c.liveness and c.env_refs for p in pods for c in p.containers)
    assert any(r.via == "volume" for p in pods for c in p.containers for r in c.env_refs)
    assert any(s.last_state and s.last_state.kind == "terminated" for p in pods for s in p.container_statuses)
    assert any(s.state.kind == "waiting" for p in pods for s in p.container_statuses)
    assert any(p.default_container for p in pods)


@pytest.mark.parametrize(("name", "obj"), RECORDED, ids=[name for name, _ in RECORDED])
def test_a_recorded_pod_gives_the_same_record_both_ways(name: str, obj: dict[str, Any]) -> None:
    decoded = decode_pod_list(page(obj))
    assert decoded is not None, f"{name}: the fast path declined a pod the API server wrote"
    assert decoded[0] == [parse_pod(obj)]


def test_a_page_keeps_its_resource_version_continue_token_and_order() -> None:
    objs = [obj for _, obj in RECORDED[:5]]
    decoded = decode_pod_list(page(*objs, rv="1234", token="next-page"))
    assert decoded is not None
    pods, rv, token = decoded
    assert [p.name for p in pods] == [parse_pod(o).name for o in objs]
    assert (rv, token) == ("1234", "next-page")


def with_change(path: str, value: Any) -> dict[str, Any]:
    """A recorded crash-looping pod with the field at `path` ("a.b.0.c") set to `value`."""
    obj = copy.deepcopy(dict(RECORDED_BY_NAME["pods/crash-missing-env"]))
    *parents, last = path.split(".")
    node: Any = obj
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return obj


RECORDED_BY_NAME = dict(RECORDED)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("status.containerStatuses.0.restartCount", "3"),  # a number written as text
        ("status.containerStatuses.0.lastState", {"terminated": None}),  # a present null state
        ("status.containerStatuses.0.ready", 1),
        ("metadata.labels", {"app": 7}),
        ("metadata.name", None),
        ("status.conditions", [None]),
        ("status.startTime", "yesterday"),  # not a time: parse_pod reads it as unset
        ("spec.containers", [None]),
        ("spec.containers.0.resources", "[not json"),  # text where an object belongs: still read
    ],
)
def test_odd_shapes_give_the_forgiving_paths_record(path: str, value: Any) -> None:
    obj = with_change(path, value)
    assert _pod_page(None, page(obj)).items == (parse_pod(obj),)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("status.containerStatuses.0.restartCount", "3"),
        ("status.containerStatuses.0.lastState", {"terminated": None}),
        ("metadata.labels", {"app": 7}),
        ("status.startTime", "yesterday"),
    ],
)
def test_the_fast_path_declines_what_it_does_not_model(path: str, value: Any) -> None:
    assert decode_pod_list(page(with_change(path, value))) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T12:00:00+02:00", datetime(2026, 11, 20, 10, tzinfo=UTC)),
        ("2026-11-20T10:00:00Z", datetime(2026, 11, 20, 10, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),  # Go's zero time
        ("0001-01-01T00:00:00+01:00", None),  # before year 1 in UTC
        ("1970-01-01T00:00:00Z", None),  # containerd's "never started"
    ],
)
def test_times_are_utc_and_unset_times_are_none(text: str, expected: datetime | None) -> None:
    obj = with_change("status.startTime", text)
    decoded = decode_pod_list(page(obj))
    assert decoded is not None
    assert decoded[0][0].start_time == expected == parse_pod(obj).start_time


def test_replicas_share_one_container_spec_but_not_a_changed_one() -> None:
    a = RECORDED_BY_NAME["pods/crash-missing-env"]
    b = with_change("spec.containers.0.image", "registry.example.com/other:2")
    decoded = decode_pod_list(page(a, copy.deepcopy(a), b))
    assert decoded is not None
    first, second, third = decoded[0]
    assert first.containers[0] is second.containers[0]
    assert third.containers[0].image == "registry.example.com/other:2"
    assert third.containers[0] != first.containers[0]


def test_not_json_and_not_a_list_are_declined() -> None:
    assert decode_pod_list(b"") is None
    assert decode_pod_list(b"{not json") is None
    assert decode_pod_list(b'{"items": {"a": 1}}') is None


def test_a_watch_line_for_a_pod_is_decoded_and_others_are_left_to_the_stream() -> None:
    obj = RECORDED_BY_NAME["pods/oom-leak"]
    decoded = decode_pod_event(orjson.dumps({"type": "MODIFIED", "object": obj}))
    assert decoded == ("MODIFIED", parse_pod(obj), obj["metadata"]["resourceVersion"])
    bookmark = {"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": "9"}}}
    error = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old"}}
    assert decode_pod_event(orjson.dumps(bookmark)) is None
    assert decode_pod_event(orjson.dumps(error)) is None
    odd = with_change("metadata.labels", [])
    assert decode_pod_event(orjson.dumps({"type": "ADDED", "object": odd})) is None


def test_the_watch_stream_gives_the_same_events_with_and_without_the_fast_path() -> None:
    obj = RECORDED_BY_NAME["pods/oom-leak"]
    restarted = with_change("status.containerStatuses.0.restartCount", "4")
    lines = [
        orjson.dumps({"type": "ADDED", "object": obj}),
        orjson.dumps({"type": "MODIFIED", "object": restarted}),
        orjson.dumps({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "77"}}}),
        orjson.dumps({"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old"}}),
    ]
    fast = WatchStream(None, parse_pod, decode_pod_event)
    slow = WatchStream(None, parse_pod)
    assert [fast.decode(line) for line in lines] == [slow.decode(line) for line in lines]
    modified = fast.decode(lines[1]).obj
    assert modified is not None and modified.container_statuses[0].restart_count == 4
