"""Whether the trouble began with the newest Deployment revision, and the rollback that restores service."""

from __future__ import annotations

from collections.abc import Sequence

from kcrash.core.diagnose.facts import Facts
from kcrash.core.diagnose.wording import fmt_bytes, ns_flag, quote, sh, workload
from kcrash.core.records import Pod, Revision


def pod_revision(pod: Pod, revisions: Sequence[Revision]) -> Revision | None:
    owner = pod.controller
    template_hash = dict(pod.labels).get("pod-template-hash", "")
    for rev in revisions:
        if (owner is not None and owner.kind == "ReplicaSet" and rev.name == owner.name) or (
            template_hash and rev.template_hash == template_hash
        ):
            return rev
    return None


def describe_change(old: Revision, new: Revision, container: str) -> str:
    """What changed between two revisions, in a few words: "image a → b", "memory limit 512Mi → 256Mi"."""
    changes: list[str] = []
    old_by = {c.name: c for c in old.containers}
    for spec in new.containers:
        before = old_by.get(spec.name)
        if before is None:
            changes.append(f"container {spec.name} added")
            continue
        if before.image != spec.image:
            changes.append(f"image {before.image} → {spec.image}")
        if spec.name != container:
            continue
        if (before.command, before.args) != (spec.command, spec.args):
            changes.append("command/args changed")
        if before.memory_limit != spec.memory_limit:
            changes.append(
                f"memory limit {_bytes_or_none(before.memory_limit)} → {_bytes_or_none(spec.memory_limit)}"
            )
        removed = sorted(set(before.env_names) | {r.env_name for r in before.env_refs if r.env_name})
        now_set = set(spec.env_names) | {r.env_name for r in spec.env_refs if r.env_name}
        gone = [name for name in removed if name not in now_set]
        if gone:
            changes.append("env " + ", ".join(gone) + " removed")
        if set(before.env_refs) != set(spec.env_refs) and not gone:
            changes.append("ConfigMap/Secret references changed")
        if (before.liveness, before.startup) != (spec.liveness, spec.startup):
            changes.append("probes changed")
    return "; ".join(changes) or "pod template changed"


def _bytes_or_none(n: int | None) -> str:
    return fmt_bytes(n) if n else "none"


def rollout_finding(f: Facts) -> tuple[str, tuple[str, ...]]:
    """("began with revision N (image a → b)", steps) when the newest revision brought the trouble."""
    revisions = sorted(f.inp.revisions, key=lambda r: r.number)
    if len(revisions) < 2:
        return "", ()
    newest, previous = revisions[-1], revisions[-2]
    mine = pod_revision(f.pod, revisions)
    if mine is None or mine.name != newest.name:
        return "", ()
    if not (previous.ready_replicas > 0 or previous.images != newest.images):
        return "", ()
    hint = f"began with revision {newest.number} ({describe_change(previous, newest, f.container)})"
    if newest.change_cause:
        hint += f"; change-cause: {newest.change_cause}"
    deployment = f.inp.deployment
    name = deployment.name if deployment else workload(f).removeprefix("deployment/")
    if not name:
        return quote(hint), ()
    ns = ns_flag(f)
    undo = (
        f"Restore service while you fix revision {newest.number}: "
        f"`kubectl rollout undo deployment/{sh(name)}{ns}`"
    )
    if deployment is not None and deployment.paused:
        undo = (
            f"`kubectl rollout resume deployment/{sh(name)}{ns}` first (a paused Deployment "
            "can't be rolled back), then " + undo
        )
    healthy = (
        f"revision {previous.number} had {previous.ready_replicas} ready" if previous.ready_replicas else ""
    )
    return quote(hint), (undo + (f" ({healthy})" if healthy else ""),)
