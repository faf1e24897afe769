"""The timeline headline: when the loop began and the rollout just before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kcrash.core.records import ContainerSpec, Revision
from kcrash.core.timeline import image_change, loop_headline, loop_start

T = datetime(2025, 3, 14, 14, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T + timedelta(minutes=minutes)


def rev(number: int, minutes: float, image: str) -> Revision:
    return Revision(f"api-{number}", number, (ContainerSpec("api", image),), created_at=at(minutes))


REVISIONS = (
    rev(6, -600, "registry.example.com/shop/api:1.4.2"),
    rev(7, 0, "registry.example.com/shop/api:1.5.0"),
)


@pytest.mark.parametrize(
    ("crashes", "revisions", "want"),
    [
        (
            [at(2), at(2.5), at(3.5), at(6)],
            REVISIONS,
            "crash-looping since 14:02 UTC, 2 min after revision 7 (api:1.4.2 → 1.5.0)",
        ),
        # an old crash hours before is not part of this loop
        (
            [at(-300), at(2), at(3)],
            REVISIONS,
            "crash-looping since 14:02 UTC, 2 min after revision 7 (api:1.4.2 → 1.5.0)",
        ),
        # the loop began before the rollout: the rollout did not start it
        ([at(-5), at(-4), at(3)], REVISIONS, "crash-looping since 13:55 UTC"),
        ([at(2)], REVISIONS, ""),  # one crash is not a loop
        ([at(90), at(91)], REVISIONS, "crash-looping since 15:30 UTC"),  # the rollout was too long before
        ([at(2), at(3)], (), "crash-looping since 14:02 UTC"),
    ],
)
def test_loop_headline(crashes: list[datetime], revisions: tuple[Revision, ...], want: str) -> None:
    assert loop_headline(crashes, revisions) == want


def test_a_pause_longer_than_the_longest_back_off_ends_a_loop() -> None:
    assert loop_start([at(0), at(5), at(30), at(35)]) == at(30)
    assert loop_start([at(0), at(5), at(30)]) is None


def test_a_loop_whose_first_crashes_went_unseen_began_with_the_pod() -> None:
    assert loop_start([at(30), at(35)], pod_start=at(1), first_restart=6) == at(1)
    # restart 2 half an hour after the start: it ran a while before the loop
    assert loop_start([at(30), at(35)], pod_start=at(1), first_restart=2) == at(30)
    headline = loop_headline([at(30), at(35)], REVISIONS, pod_start=at(1), first_restart=6)
    assert headline == "crash-looping since 14:01 UTC, 1 min after revision 7 (api:1.4.2 → 1.5.0)"
    soon = loop_headline([at(30), at(35)], REVISIONS, pod_start=at(0.2), first_restart=6)
    assert soon == "crash-looping since 14:00 UTC, under a minute after revision 7 (api:1.4.2 → 1.5.0)"


def test_an_image_from_another_repository_is_named_whole() -> None:
    moved = (rev(1, 0, "docker.io/acme/api:1.0"), rev(2, 5, "ghcr.io/acme/api:1.0"))
    assert image_change(moved[1], moved) == "api:1.0 → ghcr.io/acme/api:1.0"
    assert image_change(moved[0], moved) == ""
