"""PodStore: watch events, coalesced bursts and relists that reveal deletions."""

from __future__ import annotations

import pytest

from kcrash.core.records import Pod
from kcrash.core.store import Delta, PodStore


def p(name: str, rv: str = "1", phase: str = "Running", ns: str = "crashlab") -> Pod:
    return Pod(namespace=ns, name=name, uid=f"uid-{name}", resource_version=rv, phase=phase)


A1, A2, A3 = p("a", "1"), p("a", "2", "Pending"), p("a", "3", "Failed")
B1 = p("b", "5")
KA, KB = ("crashlab", "a"), ("crashlab", "b")

APPLY_CASES = [
    pytest.param([("ADDED", A1)], [True], {KA: A1}, id="add"),
    pytest.param([("ADDED", A1), ("MODIFIED", A2)], [True, True], {KA: A2}, id="modify"),
    pytest.param([("ADDED", A1), ("MODIFIED", A1)], [True, False], {KA: A1}, id="same-version-ignored"),
    pytest.param(
        [("ADDED", A1), ("MODIFIED", p("a", "1", "Failed"))],
        [True, False],
        {KA: A1},
        id="equal-resource-version-is-the-same-object",
    ),
    pytest.param(
        [("ADDED", p("a", "")), ("MODIFIED", p("a", ""))],
        [True, False],
        {KA: p("a", "")},
        id="no-version-equal-content",
    ),
    pytest.param(
        [("ADDED", p("a", "")), ("MODIFIED", p("a", "", "Failed"))],
        [True, True],
        {KA: p("a", "", "Failed")},
        id="no-version-different-content",
    ),
    pytest.param([("MODIFIED", A1)], [True], {KA: A1}, id="modified-without-added"),
    pytest.param([("ADDED", A1), ("DELETED", A2)], [True, True], {}, id="delete"),
    pytest.param([("DELETED", A1)], [False], {}, id="delete-unknown"),
    pytest.param([("ADDED", A1), ("BOOKMARK", A2)], [True, False], {KA: A1}, id="bookmark-ignored"),
    pytest.param(
        [("ADDED", A1), ("ADDED", p("a", "9", ns="other"))],
        [True, True],
        {KA: A1, ("other", "a"): p("a", "9", ns="other")},
        id="same-name-other-namespace",
    ),
]


@pytest.mark.parametrize(("events", "returns", "final"), APPLY_CASES)
def test_apply(events: list[tuple[str, Pod]], returns: list[bool], final: dict[tuple[str, str], Pod]) -> None:
    store = PodStore()
    assert [store.apply(kind, pod) for kind, pod in events] == returns
    assert {key: store.get(key) for key in store} == final
    assert len(store) == len(final)


@pytest.mark.parametrize("kind", ["ERROR", "added", ""])
def test_apply_rejects_unknown_event_types(kind: str) -> None:
    with pytest.raises(ValueError, match="unknown watch event type"):
        PodStore().apply(kind, A1)


BATCH_CASES = [
    pytest.param([], [("ADDED", A1), ("ADDED", B1)], Delta(added=frozenset({KA, KB})), id="adds"),
    pytest.param(
        [A1],
        [("MODIFIED", A2), ("MODIFIED", A3)],
        Delta(changed=frozenset({KA})),
        id="modifications-coalesce",
    ),
    pytest.param([], [("ADDED", A1), ("DELETED", A1)], Delta(), id="added-then-deleted-is-nothing"),
    pytest.param([A1], [("DELETED", A1), ("ADDED", A2)], Delta(changed=frozenset({KA})), id="recreated"),
    pytest.param([A1], [("DELETED", A1), ("ADDED", A1)], Delta(), id="deleted-and-back-identical"),
    pytest.param([A1], [("MODIFIED", A2), ("DELETED", A2)], Delta(removed=frozenset({KA})), id="removed"),
    pytest.param([A1], [("MODIFIED", A1)], Delta(), id="repeat-is-no-change"),
    pytest.param(
        [A1, B1],
        [("MODIFIED", A2), ("DELETED", B1), ("ADDED", p("c"))],
        Delta(frozenset({("crashlab", "c")}), frozenset({KA}), frozenset({KB})),
        id="mixed",
    ),
]


@pytest.mark.parametrize(("initial", "events", "want"), BATCH_CASES)
def test_apply_batch(initial: list[Pod], events: list[tuple[str, Pod]], want: Delta) -> None:
    store = PodStore(initial)
    assert store.apply_batch(events) == want


RELIST_CASES = [
    pytest.param([], [A1, B1], Delta(added=frozenset({KA, KB})), id="first-list"),
    pytest.param([A1, B1], [A1, B1], Delta(), id="nothing-changed"),
    pytest.param([A1, B1], [A2, B1], Delta(changed=frozenset({KA})), id="changed-while-away"),
    pytest.param([A1, B1], [A1], Delta(removed=frozenset({KB})), id="deleted-while-away"),
    pytest.param([A1, B1], [], Delta(removed=frozenset({KA, KB})), id="everything-gone"),
]


@pytest.mark.parametrize(("before", "after", "want"), RELIST_CASES)
def test_replace_all(before: list[Pod], after: list[Pod], want: Delta) -> None:
    store = PodStore(before)
    assert store.replace_all(after) == want
    assert sorted(store.keys()) == sorted(pod.key for pod in after)


def test_values_is_a_snapshot() -> None:
    store = PodStore([A1, B1])
    snapshot = store.values()
    store.apply("DELETED", A1)
    assert snapshot == [A1, B1]
    assert store.values() == [B1]
    assert KB in store and KA not in store


@pytest.mark.parametrize(
    ("delta", "truthy", "size"),
    [
        (Delta(), False, 0),
        (Delta(added=frozenset({KA})), True, 1),
        (Delta(frozenset({KA}), removed=frozenset({KB})), True, 2),
    ],
)
def test_delta_truth_and_size(delta: Delta, truthy: bool, size: int) -> None:
    assert bool(delta) is truthy
    assert len(delta) == size
    assert len(delta.keys) == size


def test_twenty_thousand_pods_relist_and_burst() -> None:
    pods = [p(f"web-{i}", "1", ns=f"ns-{i % 40}") for i in range(20_000)]
    store = PodStore()
    first = store.replace_all(pods)
    burst = [("MODIFIED", p(f"web-{i}", "2", "Failed", ns=f"ns-{i % 40}")) for i in range(0, 20_000, 10)]
    delta = store.apply_batch(burst)
    relist = store.replace_all(pods[:19_000])
    assert len(first.added) == 20_000
    assert len(delta.changed) == 2_000
    assert len(relist.removed) == 1_000 and len(relist.changed) == 1_900
    assert len(store) == 19_000
