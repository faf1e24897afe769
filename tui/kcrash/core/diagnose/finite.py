"""Commands that end by themselves, restarted by restartPolicy Always: no death needs recording.

- The spec's own command: `sleep 30`, `echo done`, a `sh -c` script whose last step is one.
- No command at all, on an image whose default command is a shell or a REPL (busybox, ubuntu,
  python, node...) or that prints and exits (hello-world): without `stdin`/`tty` the shell reads
  end-of-input at once and exits 0. An image built on one of them carries its own name, so only the
  base images themselves are known here.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from kcrash.core.diagnose.facts import Facts
from kcrash.core.diagnose.wording import cmd_describe, command_words, diagnosis, quote
from kcrash.core.records import ContainerSpec, Diagnosis, Evidence

_FINITE = frozenset(
    {"true", "echo", "printf", "date", "env", "printenv", "hostname", "whoami", "ls", "id", "uname"}
)
_LOOPS = re.compile(r"\b(?:while|until|for)\b|tail -f|sleep (?:inf|infinity)\b|\bwait\b|&\s*$")
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh"})

# Official images whose default CMD is a shell, a REPL, or a message: each ends at once when no
# one holds its stdin open.
_SHELL_IMAGES = frozenset(
    {
        "busybox", "alpine", "ubuntu", "debian", "centos", "fedora", "rockylinux", "almalinux",
        "amazonlinux", "oraclelinux", "archlinux", "photon", "leap", "tumbleweed", "ubi", "ubi8",
        "ubi9", "ubi-minimal", "ubi8-minimal", "ubi9-minimal", "bash", "golang", "buildpack-deps",
        "rust", "gcc",
    }
)  # fmt: skip
_REPL_IMAGES = frozenset({"python", "node", "ruby", "openjdk", "eclipse-temurin", "perl", "php"})
_MESSAGE_IMAGES = frozenset({"hello-world"})


def _finite_step(words: Sequence[str]) -> bool:
    """One command that returns by itself: `sleep 30s`, `echo hi`, `true`, `exit 0`."""
    if not words:
        return False
    name = words[0].rsplit("/", 1)[-1]
    if name == "sleep":
        return len(words) == 2 and bool(re.fullmatch(r"\d+(?:\.\d+)?[smhd]?", words[1]))
    if name == "exit":
        return True
    return name in _FINITE


def ends_by_itself(command: Sequence[str]) -> bool:
    """The container's command (command + args) runs to its end: a finite command, or a shell
    script (`sh -c`) whose last step is one and which has no loop or wait."""
    if not command:
        return False
    if command[0].rsplit("/", 1)[-1] in _SHELLS and "-c" in command[1:]:
        script = command[command.index("-c") + 1] if command.index("-c") + 1 < len(command) else ""
        if not script or _LOOPS.search(script):
            return False
        last = re.split(r";|&&|\n", script.strip().rstrip(";"))[-1]
        try:
            return _finite_step(shlex.split(last))
        except ValueError:
            return False
    return _finite_step(command)


def image_name(image: str) -> str:
    """`busybox` for `docker.io/library/busybox:1.36@sha256:...`: the last path part, untagged."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[0].lower()


def default_command_ends(spec: ContainerSpec) -> str:
    """What the image's own default command is, when it ends at once ("" when it may not): the
    spec sets no command or args, holds no stdin open, and names a base image."""
    if spec.command or spec.args or spec.interactive:
        return ""
    name = image_name(spec.image)
    if name in _SHELL_IMAGES:
        return "a shell"
    if name in _REPL_IMAGES:
        return "an interactive interpreter"
    if name in _MESSAGE_IMAGES:
        return "a program that prints a message"
    return ""


def finite_command_restarting(f: Facts) -> bool:
    """Restarting (back-off or restarts counted), no death recorded, and the container's command
    (its spec's, or its base image's default) ends by itself."""
    if f.termination is not None or f.is_init or f.pod.restart_policy != "Always" or f.spec is None:
        return False
    looping = f.restarts > 0 or (f.waiting is not None and f.waiting.reason == "CrashLoopBackOff")
    if not looping and not spec_alone(f):
        return False
    return command_ends(f.spec, known=f.spec_known)


def command_ends(spec: ContainerSpec, *, known: bool = True) -> bool:
    """The container's command, or its base image's default when the spec is known to set none,
    ends by itself."""
    return ends_by_itself((*spec.command, *spec.args)) or bool(known and default_command_ends(spec))


def spec_alone(f: Facts) -> bool:
    """Only the spec was pasted (a manifest): no phase, no node, no container status. A pod from
    the API always has a phase, so a live pod is never judged on its spec alone."""
    return f.spec_known and not f.pod.phase and not f.pod.node_name and not f.pod.container_statuses


def rule_finite_command(f: Facts) -> Diagnosis | None:
    assert f.spec is not None  # finite_command_restarting checked it
    cmd = command_words(f.spec)
    default = "" if cmd else default_command_ends(f.spec)
    if default:
        headline = (
            f"{f.subject} sets no command, so {f.spec.image} runs its default, {default}, which ends "
            "at once with no stdin"
        )
        said = Evidence(f"spec {f.label} image", f"{quote(f.spec.image)}, no command or args, no stdin/tty")
    else:
        headline = f"{f.subject} runs {cmd}, which ends by itself"
        said = Evidence(f"spec {f.label} command", quote(cmd))
    alone = spec_alone(f)
    restarts = "will restart it, with back-off (CrashLoopBackOff)" if alone else "restarts it, with back-off"
    state = Evidence("status", "not in the input: the spec alone") if alone else _no_termination()
    return diagnosis(
        "exits-zero",
        f"{headline}; restartPolicy Always {restarts}",
        f,
        [said, Evidence("spec.restartPolicy", f.pod.restart_policy), state],
        [
            "The main process must keep running: a pod's containers are restarted whenever they "
            "exit, even with 0",
            "For a task that runs and ends, use a Job (or a CronJob); to keep a debug pod up, "
            "`sleep infinity`",
            f"Confirm the exit code (0, reason Completed): `{cmd_describe(f)}`",
        ],
        detail="base-image" if default else "one-shot",
    )


def _no_termination() -> Evidence:
    return Evidence("lastState", "(empty: the last termination was not recorded)")
