"""Deaths read from the exit: exit 0 under restartPolicy Always, signals nobody owned up to, an app's
own error exit."""

from __future__ import annotations

import re

from kcrash.core.diagnose.apperrors import AppFailure, app_failure, fatal_failure
from kcrash.core.diagnose.facts import Facts, dying_words, events_with, latest
from kcrash.core.diagnose.finite import default_command_ends
from kcrash.core.diagnose.memory import memory_findings
from kcrash.core.diagnose.wording import (
    cmd_describe,
    cmd_events,
    cmd_logs,
    command_words,
    diagnosis,
    edit_target,
    event_evidence,
    fmt_bytes,
    fmt_seconds,
    log_evidence,
    quote,
    sh,
    termination_evidence,
)
from kcrash.core.exitcodes import explain_exit
from kcrash.core.records import Diagnosis, Evidence


def exited_with_error(f: Facts) -> bool:
    """An exit code of its own: not 0, and not the 137/143 of a kill from outside."""
    return f.exit_code is not None and f.exit_code not in (0, 137, 143)


def exit_unrecorded(f: Facts) -> bool:
    """Restarting, but the last termination was not recorded (lastState lost)."""
    return f.exit_code is None and bool(f.restarts) and f.termination is None


def rule_app_error(f: Facts) -> Diagnosis | None:
    code = f.exit_code
    meaning = explain_exit(code, f.termination.signal if f.termination else None, f.reason)
    found = app_failure(f.log_lines)
    line = found.line if found else ""
    ev: list[Evidence | None] = [termination_evidence(f)]
    from_message = f.log_source == f"{f.termination_source}.message"
    if f.termination and f.termination.message and not from_message:
        ev.append(Evidence(f"{f.termination_source}.message", quote(f.termination.message)))
    steps: list[str] = []
    if found is not None:
        ev.extend(failure_evidence(f, found))
        headline = f"{f.subject} exits with code {code}: {line}"
        steps.extend(failure_steps(f, found))
    elif f.log_lines:
        ev.append(log_evidence(f, f.log_lines[-1]))
        where = "termination message" if from_message else "log"
        headline = (
            f"{f.subject} exits with code {code} ({meaning.short}); its last {where} line names no error"
        )
        steps.append(f"Read more of the log: `{cmd_logs(f, tail=200)}`")
    else:
        headline = f"{f.subject} exits with code {code} ({meaning.short})"
        if f.log_source:
            ev.append(Evidence(f.log_source, "(empty: the process wrote nothing before exiting)"))
            steps.append(
                "The app wrote nothing before exiting: run it with more logging, or check the "
                "command and args"
            )
        else:
            steps.append(f"Read its dying words: `{cmd_logs(f)}`")
    if not line or meaning.signal_name:
        steps.append(f"Exit {code}: {meaning.detail}")
    steps.append(
        f"Check the env vars, ConfigMaps and Secrets it reads, and the Last State in `{cmd_describe(f)}`"
    )
    detail = signal_detail(meaning.signal_name) or (found.detail if found else "")
    return diagnosis("app-error", headline, f, ev, steps, detail=detail)


def failure_evidence(f: Facts, found: AppFailure) -> list[Evidence]:
    """The line that names the error, and the line the process died on when that is another."""
    said = dying_words(f.log_lines)
    ev = [log_evidence(f, found.line)]
    if said and said != found.line:
        ev.append(log_evidence(f, said))
    return ev


def failure_steps(f: Facts, found: AppFailure) -> list[str]:
    steps = [found.family.advice] if found.family else []
    steps.append(f"Read the whole error: `{cmd_logs(f, tail=50)}`")
    return steps


def signal_detail(signal_name: str) -> str:
    """`sigsegv` for an exit that means SIGSEGV (139): the finer reason of an app's error exit."""
    return signal_name.lower().replace(" ", "-")


def rule_unrecorded_exit(f: Facts) -> Diagnosis | None:
    """Restarting with no termination recorded, but the log names the error."""
    found = app_failure(f.log_lines)
    if found is None:
        return None
    return diagnosis(
        "app-error",
        f"{f.subject} keeps restarting (exit not recorded): {found.line}",
        f,
        [
            Evidence("lastState", "(empty: the last termination was not recorded)"),
            *failure_evidence(f, found),
        ],
        [*failure_steps(f, found), f"Restarts and events: `{cmd_describe(f)}`"],
        detail="unrecorded-exit",
    )


def state_unknown(f: Facts) -> bool:
    """A log with nothing to say how the container ended (a log pasted alone)."""
    return f.status is None and bool(f.log_lines)


def rule_fatal_log(f: Facts) -> Diagnosis | None:
    """A log alone that ends in an error the process could not live with: the app's own error."""
    found = fatal_failure(f.log_lines)
    if found is None:
        return None
    what = f" ({found.family.what})" if found.family else ""
    return diagnosis(
        "app-error",
        f"{f.subject} dies of an error of its own{what}: {found.line}",
        f,
        [
            *failure_evidence(f, found),
            Evidence("state", "not in the input: the log alone tells how it ended"),
        ],
        [*failure_steps(f, found), f"Its exit code and restarts: `{cmd_describe(f)}`"],
        detail=found.detail,
    )


# --- exit 0 ---------------------------------------------------------------------------------------

_DAEMON = re.compile(r"daemon|background|forking|detach", re.I)
_USAGE = re.compile(r"^\s*Usage(?: of \S+)?:", re.I)  # Go's flag package, cobra, argparse, click
_ONE_SHOT = re.compile(r"\b(?:done|finished|complete[d]?|migrat\w*|success(?:fully)?)\b", re.I)


def restarted_after_exit_zero(f: Facts) -> bool:
    """Exit 0 from a container that is restarted for it (restartPolicy Always, or a sidecar)."""
    if f.exit_code != 0 or f.is_init:
        return False
    if f.pod.restart_policy != "Always" and not (f.spec is not None and f.spec.sidecar):
        return False
    # Without the spec, restartPolicy is the record's default; only restarts after exit 0 prove it,
    # and a crash-loop back-off is one (OnFailure never restarts an exit 0, Never nothing). So is
    # the exit 0 being the *last* state: the kubelet moves a termination there only when it starts
    # the container again.
    again = f.termination_source == "lastState.terminated"
    return f.spec_known or bool(f.restarts) or backing_off(f) or again


def backing_off(f: Facts) -> bool:
    """The kubelet holds the container in a crash-loop back-off: its state or its BackOff event."""
    if f.waiting is not None and f.waiting.reason == "CrashLoopBackOff":
        return True
    return bool(events_with(f, "BackOff", "Back-off restarting failed"))


def rule_exits_zero(f: Facts) -> Diagnosis | None:
    ev: list[Evidence | None] = [termination_evidence(f), Evidence("spec.restartPolicy", _policy(f))]
    backoff = latest(events_with(f, "BackOff", "Back-off restarting failed"))
    if not f.spec_known and not f.restarts and backoff is not None:
        ev.append(event_evidence(backoff))
    if f.run_seconds is not None:
        ev.append(
            Evidence(f"{f.termination_source} startedAt→finishedAt", f"ran {fmt_seconds(f.run_seconds)}")
        )
    last = f.log_lines[-1] if f.log_lines else ""
    if last:
        ev.append(log_evidence(f, last))
    cmd = command_words(f.spec)
    if cmd:
        ev.append(Evidence(f"spec {f.label} command", quote(cmd)))
    hints = exit_zero_hints(f, cmd, last)
    steps = [step for _, step in hints]
    steps.append(
        "The main process must stay in the foreground: a Deployment (restartPolicy Always) restarts "
        "anything that exits, even with 0"
    )
    steps.append(f"Check command/args against the image's entrypoint in {edit_target(f)}")
    headline = (
        f"{f.subject} exits 0 and is restarted (restartPolicy Always): "
        "its main process finishes instead of staying in the foreground"
    )
    return diagnosis("exits-zero", headline, f, ev, steps, detail=hints[0][0] if hints else "")


def _policy(f: Facts) -> str:
    """restartPolicy as the spec says it, or what implies it when the spec is not in the input."""
    if f.spec_known:
        return f.pod.restart_policy
    implied = (
        ("1 restart" if f.restarts == 1 else f"{f.restarts} restarts")
        if f.restarts
        else "the crash-loop back-off"
    )
    return f"{f.pod.restart_policy} (not in the input; implied by {implied})"


def exit_zero_hints(f: Facts, cmd: str, last: str) -> list[tuple[str, str]]:
    """(detail, step) for each sign of why the main process finishes, the strongest first."""
    hints: list[tuple[str, str]] = []
    # A usage text first: its flag descriptions may well mention daemons and backgrounds.
    if any(_USAGE.match(line) for line in f.log_lines):
        hints.append(
            (
                "printed-usage",
                "It printed its usage text and exited: its command/args don't tell it what to run "
                "(a missing subcommand, or --help)",
            )
        )
    elif _DAEMON.search(" ".join(f.log_lines)):
        hints.append(
            (
                "daemonized",
                "The log suggests it daemonizes: run it in the foreground "
                "(e.g. `nginx -g 'daemon off;'`, no `&`, no --daemon)",
            )
        )
    default = default_command_ends(f.spec) if f.spec_known and f.spec is not None else ""
    if default:
        hints.append(
            (
                "base-image",
                f"It sets no command, so {f.spec.image if f.spec else 'the image'} runs its default, "
                f"{default}, which ends at once with no stdin: give it the command of a process that "
                "keeps running (or `sleep infinity` for a debug pod)",
            )
        )
    if cmd and re.search(r"\b(?:sh|bash)\b.*-c|\.sh\b", cmd):
        hints.append(
            (
                "script-ends",
                "The command is a shell script that finishes: end it with `exec <server>` so the "
                "server becomes the main process",
            )
        )
    if _ONE_SHOT.search(last):
        hints.append(
            (
                "one-shot",
                "It looks like a one-shot task that finished: run it as a Job (or an init container), "
                "not a Deployment",
            )
        )
    return hints


# --- killed by a signal nobody owned up to ----------------------------------------------------------


def sigkilled(f: Facts) -> bool:
    return f.termination is not None and (f.exit_code == 137 or f.termination.signal == 9)


def sigtermed(f: Facts) -> bool:
    return f.exit_code == 143


def rule_sigkill(f: Facts) -> Diagnosis | None:
    limit = f.spec.memory_limit if f.spec else None
    mem_ev, _, trend = memory_findings(f, limit)
    ev: list[Evidence | None] = [termination_evidence(f), *mem_ev]
    if f.lacks("events"):
        ev.append(Evidence("events", "not in the input: a probe kill can't be ruled out"))
        headline = (
            f"{f.subject} was killed with SIGKILL (exit {f.exit_code}), not marked OOMKilled; "
            "the events that would show a probe kill are not in the input"
        )
    else:
        ev.append(Evidence("events", "no OOMKilled reason, no liveness or startup probe failure recorded"))
        headline = (
            f"{f.subject} was killed with SIGKILL (exit {f.exit_code}) but not marked OOMKilled "
            "and no probe failed: something else killed it"
        )
    if f.log_lines:
        ev.append(log_evidence(f, f.log_lines[-1]))
    steps = [
        "SIGKILL without a reason comes from node memory-pressure eviction, a kernel OOM kill of a "
        "child process, a manual kill (`kill -9`, `crictl stop`), or the kubelet once "
        "terminationGracePeriodSeconds ran out after a SIGTERM",
        f"Look for liveness or startup probe kills (events expire after an hour): `{cmd_events(f)}`"
        if f.lacks("events")
        else f"Events expire after an hour; read what is left: `{cmd_events(f)}`",
    ]
    near_limit = bool(limit and trend is not None and trend.peak >= 0.9 * limit)
    if limit and trend is not None and near_limit:
        steps.insert(
            0,
            f"Memory reached {trend.peak * 100 // limit}% of the {fmt_bytes(limit)} limit: an OOM kill "
            "the runtime did not label is likely (a child process) - treat it as OOM and raise the limit",
        )
    if f.pod.node_name:
        steps.append(
            f"Check the node for MemoryPressure and evictions: `kubectl describe node {sh(f.pod.node_name)}`"
        )
    steps.append(f"See the dying words: `{cmd_logs(f)}`")
    return diagnosis("killed", headline, f, ev, steps, detail="likely-oom" if near_limit else "sigkill")


def rule_sigterm(f: Facts) -> Diagnosis | None:
    said = dying_words(f.log_lines)
    ev: list[Evidence | None] = [termination_evidence(f)]
    if said:
        ev.append(log_evidence(f, said))
    if f.log_lines and f.log_lines[-1].strip() != said:
        ev.append(log_evidence(f, f.log_lines[-1]))
    headline = f"{f.subject} stopped on SIGTERM (exit 143) " + (
        "and the events that would show a probe kill are not in the input"
        if f.lacks("events")
        else "and no probe failure explains it"
    )
    headline += f"; its log says: {said}" if said else ": something asked it to stop"
    steps = [
        "SIGTERM comes from the kubelet (a probe kill whose events have expired, a deletion, an "
        "eviction or a drain) or from inside the container (a supervisor or watchdog)",
        f"What the kubelet did: `{cmd_events(f)}`",
        f"What the app saw: `{cmd_logs(f, tail=50)}`",
    ]
    return diagnosis("killed", headline, f, ev, steps, detail="sigterm")
