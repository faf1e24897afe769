"""The rules in order of priority, and the engine that asks them.

`RULES` is the whole priority order, in one table a reviewer reads top to bottom: the first rule
whose cheap check applies and whose explanation holds gives the verdict. Labels the kubelet
recorded (a waiting reason, `reason: OOMKilled`, a Killing event) come before rules of thumb read
from an exit code or a log line; a rule that always answers ends the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from msgspec.structs import replace

from kcrash.core.diagnose.config import never_started, rule_config_missing
from kcrash.core.diagnose.execution import cannot_start, rule_command_not_found
from kcrash.core.diagnose.exits import (
    exit_unrecorded,
    exited_with_error,
    restarted_after_exit_zero,
    rule_app_error,
    rule_exits_zero,
    rule_fatal_log,
    rule_sigkill,
    rule_sigterm,
    rule_unrecorded_exit,
    sigkilled,
    sigtermed,
    state_unknown,
)
from kcrash.core.diagnose.facts import Facts, gather
from kcrash.core.diagnose.fallback import always, rule_unknown
from kcrash.core.diagnose.finite import finite_command_restarting, rule_finite_command
from kcrash.core.diagnose.health import fine, rule_healthy, rule_not_ready, running_unready
from kcrash.core.diagnose.image import rule_image_pull, waits_for_image
from kcrash.core.diagnose.memory import oom_killed, rule_oom, rule_unlabelled_oom, unlabelled_oom
from kcrash.core.diagnose.network import has_dying_words, rule_dependency, rule_missing_env
from kcrash.core.diagnose.placement import (
    evicted,
    rule_evicted,
    rule_missing_volume_source,
    rule_stuck_mount,
    rule_unschedulable,
    unplaced,
    volume_source_missing,
    waits_for_volume,
)
from kcrash.core.diagnose.probes import (
    liveness_probe_complained,
    rule_liveness_probe_kill,
    rule_startup_probe_kill,
    startup_probe_complained,
)
from kcrash.core.diagnose.rollout import rollout_finding
from kcrash.core.diagnose.signals import rule_shut_down, rule_stopped, shut_down, stopped_on_purpose
from kcrash.core.diagnose.symptoms import (
    probe_requests_failing,
    refused_probe_behind_app_error,
    rule_app_error_behind_probe,
    rule_killed_while_starting,
    rule_probe_requests,
    still_starting,
)
from kcrash.core.records import Cause, Diagnosis, DiagnosisInput


@dataclass(frozen=True, slots=True)
class Rule:
    """One line of the table. `explain` is only asked once `applies` said yes, and may still find
    the evidence short of a verdict (None)."""

    cause: Cause  # the cause its verdict names
    applies: Callable[[Facts], bool]  # a cheap check of the facts
    explain: Callable[[Facts], Diagnosis | None]

    @property
    def name(self) -> str:
        """`sigkill` for `rule_sigkill`: how traces and reviews name the rule."""
        return self.explain.__name__.removeprefix("rule_").replace("_", "-")


RULES: tuple[Rule, ...] = (
    # Not a crash loop: the node shut down or a preemption took the pod (its container statuses
    # may still say Running); a settled pod's old deaths are history, not the story.
    Rule("killed", shut_down, rule_shut_down),
    Rule("healthy", fine, rule_healthy),
    Rule("unknown", running_unready, rule_not_ready),
    Rule("evicted", evicted, rule_evicted),
    # Labels the kubelet and the runtime recorded.
    Rule("image-pull", waits_for_image, rule_image_pull),
    # A ConfigMap or Secret missing for a volume stops the mount, before any container config.
    Rule("volume-mount", volume_source_missing, rule_missing_volume_source),
    Rule("config-missing", never_started, rule_config_missing),
    Rule("oom-killed", oom_killed, rule_oom),
    Rule("command-not-found", cannot_start, rule_command_not_found),
    # A probe that found nothing listening is the result when the log says why the app never came up.
    Rule("app-error", refused_probe_behind_app_error, rule_app_error_behind_probe),
    Rule("startup-probe", startup_probe_complained, rule_startup_probe_kill),
    Rule("liveness-probe", liveness_probe_complained, rule_liveness_probe_kill),
    # No probe event pasted: the log shows the kubelet's probe failing, or the app still starting.
    Rule("liveness-probe", probe_requests_failing, rule_probe_requests),
    Rule("liveness-probe", still_starting, rule_killed_while_starting),
    # What the node saw: the kernel's OOM killer, where the runtime recorded no OOMKilled.
    Rule("oom-killed", unlabelled_oom, rule_unlabelled_oom),
    # Stopped on purpose: a deletion, a scale-down or a preemption, its preStop hook cut short.
    Rule("killed", stopped_on_purpose, rule_stopped),
    # The dying words.
    Rule("app-error", has_dying_words, rule_missing_env),
    Rule("dependency-unreachable", has_dying_words, rule_dependency),
    # The exit code.
    Rule("exits-zero", restarted_after_exit_zero, rule_exits_zero),
    Rule("killed", sigkilled, rule_sigkill),
    Rule("killed", sigtermed, rule_sigterm),
    Rule("app-error", exited_with_error, rule_app_error),
    Rule("app-error", exit_unrecorded, rule_unrecorded_exit),
    Rule("app-error", state_unknown, rule_fatal_log),
    # No death recorded, and the command (the spec's, or the base image's default) ends by itself.
    Rule("exits-zero", finite_command_restarting, rule_finite_command),
    # Never started.
    Rule("unschedulable", unplaced, rule_unschedulable),
    Rule("volume-mount", waits_for_volume, rule_stuck_mount),
    # Nothing fits: say what is known.
    Rule("unknown", always, rule_unknown),
)


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """What one rule made of a pod: whether it applied, gave a verdict, and won."""

    rule: str
    cause: Cause
    applied: bool
    verdict: bool
    winner: bool
    why: str


def ask(rule: Rule, facts: Facts) -> Diagnosis | None:
    return rule.explain(facts) if rule.applies(facts) else None


def verdict(facts: Facts) -> Diagnosis:
    """The first verdict in the table's order."""
    for rule in RULES:
        found = ask(rule, facts)
        if found is not None:
            return found
    return rule_unknown(facts)  # not reached: the table ends with a rule that always answers


def with_rollout(facts: Facts, result: Diagnosis) -> Diagnosis:
    """A crash that began with the newest revision leads with the rollback."""
    if result.cause == "healthy":
        return result
    hint, undo = rollout_finding(facts)
    if not hint:
        return result
    return replace(result, rollout_hint=hint, next_steps=(*undo, *result.next_steps))


def diagnose(inp: DiagnosisInput) -> Diagnosis:
    """Why the pod keeps dying, what that rests on, and what to do next."""
    facts = gather(inp)
    return with_rollout(facts, verdict(facts))


def explain_rules(inp: DiagnosisInput) -> list[RuleTrace]:
    """Every rule in order, asked in full (not only up to the winner), so a reviewer sees which
    rules would also have answered and which one the order chose."""
    facts = gather(inp)
    asked = [(rule, rule.applies(facts)) for rule in RULES]
    answers = [rule.explain(facts) if applied else None for rule, applied in asked]
    won = next((i for i, found in enumerate(answers) if found is not None), None)
    winner = RULES[won].name if won is not None else ""
    return [
        RuleTrace(
            rule=rule.name,
            cause=rule.cause,
            applied=applied,
            verdict=found is not None,
            winner=i == won,
            why=_why(i == won, applied, found is not None, winner),
        )
        for i, ((rule, applied), found) in enumerate(zip(asked, answers, strict=True))
    ]


def _why(won: bool, applied: bool, answered: bool, winner: str) -> str:
    if won:
        return "the first rule in order with a verdict"
    if answered:
        return f"a verdict too, but {winner} comes first"
    if applied:
        return "applies, but the evidence falls short of a verdict"
    return "does not apply"
