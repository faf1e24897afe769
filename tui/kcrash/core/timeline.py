"""When a crash loop began, and the rollout just before it: the drill-down's timeline headline.

    crash-looping since 14:02, 2 min after revision 7 (api:1.4.2 → 1.5.0)

The loop is the latest run of crashes no more than `STREAK_GAP` apart (the kubelet's back-off
tops out at 5 minutes, so a loop never pauses longer than that plus a run); it began at the first
crash of that run. The rollout named is the newest revision created before the loop began, within
`DEPLOY_WINDOW`: a rollout after the first crash did not start it. Pure: times are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from kcrash.core.humanize import human_duration
from kcrash.core.records import Revision

STREAK_GAP = timedelta(minutes=15)
PER_RESTART = timedelta(minutes=6)
"""The longest a crash-looping instance lasts, back-off included (the cap is 5 minutes): restart R
seen no later than R of these after the pod started means it crashed all along."""
DEPLOY_WINDOW = timedelta(hours=1)
MIN_CRASHES = 2


def loop_start(
    crashes: Sequence[datetime], *, pod_start: datetime | None = None, first_restart: int = 0
) -> datetime | None:
    """The first crash of the latest run of crashes; None with fewer than MIN_CRASHES in it.

    When the first crash known is restart `first_restart` (> 0: earlier ones went unseen) and came
    soon enough after `pod_start` for every instance before it to have crashed too, the loop began
    with the pod."""
    times = sorted(set(crashes))
    if len(times) < MIN_CRASHES:
        return None
    start = len(times) - 1
    while start > 0 and times[start] - times[start - 1] <= STREAK_GAP:
        start -= 1
    if len(times) - start < MIN_CRASHES:
        return None
    began = times[start]
    if (
        start == 0
        and pod_start is not None
        and first_restart > 0
        and began - pod_start <= first_restart * PER_RESTART
    ):
        return min(began, pod_start)
    return began


def deploy_before(moment: datetime, revisions: Sequence[Revision]) -> Revision | None:
    """The newest revision created at or before `moment`, no longer than DEPLOY_WINDOW before."""
    candidates = [
        r for r in revisions if r.created_at is not None and moment - DEPLOY_WINDOW <= r.created_at <= moment
    ]
    return max(candidates, key=lambda r: (r.created_at, r.number), default=None)


def image_change(revision: Revision, revisions: Sequence[Revision]) -> str:
    """`api:1.4.2 → 1.5.0` for each container whose image changed from the revision before."""
    older = [r for r in revisions if r.number < revision.number]
    if not older:
        return ""
    before = {c.name: c.image for c in max(older, key=lambda r: r.number).containers}
    changes = []
    for container in revision.containers:
        old = before.get(container.name)
        if old is not None and old != container.image:
            changes.append(f"{short_image(old)} → {_new_part(old, container.image)}")
    return ", ".join(changes)


def short_image(image: str) -> str:
    """The image without its registry and path: `registry.example.com/shop/api:1.4.2` -> `api:1.4.2`."""
    return image.rsplit("/", 1)[-1]


def _new_part(old: str, new: str) -> str:
    """Only the new tag when the repository stayed the same, else the whole new image."""
    old_repo, _, _ = old.rpartition(":")
    new_repo, _, tag = new.rpartition(":")
    if old_repo and old_repo == new_repo and "/" not in tag:
        return tag
    return new


def loop_headline(
    crashes: Sequence[datetime],
    revisions: Sequence[Revision],
    *,
    pod_start: datetime | None = None,
    first_restart: int = 0,
) -> str:
    """`crash-looping since HH:MM[, N min after revision R (image change)]`, or "" with no loop."""
    start = loop_start(crashes, pod_start=pod_start, first_restart=first_restart)
    if start is None:
        return ""
    text = f"crash-looping since {start:%H:%M} UTC"
    deploy = deploy_before(start, revisions)
    if deploy is None or deploy.created_at is None:
        return text
    gap = (start - deploy.created_at).total_seconds()
    after = "under a minute" if gap < 60 else f"{round(gap / 60)} min" if gap < 7200 else human_duration(gap)
    change = image_change(deploy, revisions)
    return f"{text}, {after} after revision {deploy.number}" + (f" ({change})" if change else "")
