"""Commands that cannot run: not in the image, not executable, built for another CPU."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from kcrash.core.diagnose.facts import START_REASONS, Facts
from kcrash.core.diagnose.wording import (
    cmd_spec,
    command_words,
    diagnosis,
    edit_target,
    event_evidence,
    log_evidence,
    quote,
    sh,
    termination_evidence,
    waiting_evidence,
)
from kcrash.core.records import Diagnosis, Evidence

_EXEC_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r'exec: "([^"]+)": executable file not found in \$PATH'), "not-in-path"),
    (re.compile(r'exec: "([^"]+)": (?:stat \S+: )?no such file or directory'), "no-such-file"),
    (re.compile(r"exec (\S+): no such file or directory"), "no-such-file"),
    (re.compile(r"(?:exec format error)"), "exec-format-error"),
    (re.compile(r'exec: "([^"]+)": permission denied'), "permission-denied"),
    (re.compile(r"exec user process caused:? \"?permission denied"), "permission-denied"),
    (
        re.compile(
            r"(?:^|\s)(?:/bin/)?(?:ba|da)?sh: (?:\d+: )?(?:line \d+: )?(\S+?): (?:command )?not found"
        ),
        "not-found",
    ),
    (
        re.compile(r"/usr/bin/env: ['‘\"]?([^'’\":]+)['’\"]?: No such file or directory"),
        "missing-interpreter",
    ),
    (
        re.compile(r"(?:^|\s)(?:/bin/)?(?:ba|da)?sh: (?:\d+: )?(?:line \d+: )?(\S+?): Permission denied"),
        "permission-denied",
    ),
    (re.compile(r"executable file not found"), "not-in-path"),
)
# Interpreters and servers a typo in `command` most often misses.
_COMMON_COMMANDS = (
    "python", "python3", "node", "java", "sh", "bash", "ruby", "php", "perl", "nginx",
    "gunicorn", "uvicorn", "dotnet", "npm",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ExecProblem:
    kind: str
    command: str
    evidence: Evidence


def find_exec_problem(f: Facts, *, read_log: bool) -> ExecProblem | None:
    """The runtime's (or the shell's) complaint about the command, with where it was said."""
    texts: list[tuple[str, Evidence]] = []
    term = f.termination
    if term is not None and term.message:
        texts.append((term.message, Evidence(f"{f.termination_source}.message", quote(term.message))))
    if f.waiting is not None and f.waiting.message:
        texts.append((f.waiting.message, waiting_evidence(f.waiting)))
    texts.extend((e.message, event_evidence(e)) for e in reversed(f.events) if e.reason == "Failed")
    if read_log:
        texts.extend((line, log_evidence(f, line)) for line in reversed(f.log_lines))
    for text, ev in texts:
        for pattern, kind in _EXEC_PATTERNS:
            match = pattern.search(text)
            if match:
                return ExecProblem(kind, match.group(1) if match.groups() else "", ev)
    return None


def start_labelled(f: Facts) -> bool:
    """A runtime that could not start the process labels it; a shell says so with 126/127."""
    runtime = f.reason in ("StartError", "ContainerCannotRun") or (
        f.waiting is not None and f.waiting.reason in START_REASONS - {"CreateContainerError"}
    )
    return runtime or f.exit_code in (126, 127)


def cannot_start(f: Facts) -> bool:
    """Labelled as a failed start, or the runtime's own messages complain about the command."""
    return start_labelled(f) or find_exec_problem(f, read_log=False) is not None


def rule_command_not_found(f: Facts) -> Diagnosis | None:
    code = f.exit_code
    problem = find_exec_problem(f, read_log=start_labelled(f))
    kind = (
        problem.kind if problem else ("cannot-execute" if code == 126 else "not-found" if code == 127 else "")
    )
    name = problem.command if problem else ""
    shown = f"`{name}`" if name else "the command"
    explanations = {
        "not-in-path": f"{shown} is not in the image's $PATH",
        "no-such-file": f"{shown} doesn't exist in the image (a wrong path, or a missing interpreter)",
        "exec-format-error": "the binary is built for another CPU architecture (exec format error)",
        "permission-denied": f"{shown} is not executable (permission denied)",
        "cannot-execute": "the command was found but could not be executed (exit 126)",
        "not-found": f"the shell could not find {shown} (exit 127)",
        "missing-interpreter": f"the script's interpreter {shown} is not in the image",
        "": "the runtime could not start the process",
    }
    headline = f"{f.subject} can't start its command: {explanations[kind]}"
    cmd = command_words(f.spec)
    ev: list[Evidence | None] = [termination_evidence(f), problem.evidence if problem else None]
    if f.waiting is not None and f.waiting.reason in START_REASONS and not problem:
        ev.append(waiting_evidence(f.waiting))
    ev.append(
        Evidence(f"spec {f.label} command", quote(cmd))
        if cmd
        else Evidence(f"spec {f.label}", "no command/args override: the image's ENTRYPOINT/CMD runs")
        if f.spec_known
        else Evidence(f"spec {f.label} command", "not in the input")
    )
    image = f.spec.image if f.spec else (f.status.image if f.status and f.status.image else "<image>")
    steps = [
        f"Fix command/args in {edit_target(f)}" + (f" (now: {cmd})" if cmd else ""),
        f"See what the image contains: `docker run --rm --entrypoint sh {sh(image)} -c 'command -v "
        f"{name or '<cmd>'}'`",
    ]
    close = difflib.get_close_matches(name, _COMMON_COMMANDS, n=1, cutoff=0.75) if name else []
    if close and close[0] != name:
        steps.insert(0, f"`{name}` looks like a typo of `{close[0]}`")
    if kind == "exec-format-error":
        steps.append(
            "Build or pull the image for the node's architecture (`kubectl get node -o wide`; "
            "multi-arch images)"
        )
    if not f.spec_known:
        steps.append(f"See its command and args: `{cmd_spec(f, 'command')}` and `{cmd_spec(f, 'args')}`")
    if not cmd:
        steps.append(
            f"Check the image's entrypoint: `docker inspect {sh(image)} --format "
            f"'{{{{.Config.Entrypoint}}}} {{{{.Config.Cmd}}}}'`"
        )
    return diagnosis("command-not-found", headline, f, ev, steps, detail=kind)
