"""What a container's exit code usually means, in the words an on-call engineer needs.

Shells and container runtimes report death by signal N as exit code 128+N, so 137 is SIGKILL
and 143 is SIGTERM. The `reason` the kubelet records (OOMKilled, Error, Completed, StartError,
ContainerCannotRun) decides between readings the code alone cannot tell apart.
"""

from __future__ import annotations

from dataclasses import dataclass

# Linux signal numbers (x86, arm and most others share these).
SIGNAL_NAMES: dict[int, str] = {
    1: "SIGHUP",
    2: "SIGINT",
    3: "SIGQUIT",
    4: "SIGILL",
    5: "SIGTRAP",
    6: "SIGABRT",
    7: "SIGBUS",
    8: "SIGFPE",
    9: "SIGKILL",
    10: "SIGUSR1",
    11: "SIGSEGV",
    12: "SIGUSR2",
    13: "SIGPIPE",
    14: "SIGALRM",
    15: "SIGTERM",
    16: "SIGSTKFLT",
    17: "SIGCHLD",
    18: "SIGCONT",
    19: "SIGSTOP",
    20: "SIGTSTP",
    21: "SIGTTIN",
    22: "SIGTTOU",
    23: "SIGURG",
    24: "SIGXCPU",
    25: "SIGXFSZ",
    26: "SIGVTALRM",
    27: "SIGPROF",
    28: "SIGWINCH",
    29: "SIGIO",
    30: "SIGPWR",
    31: "SIGSYS",
}
_SIGNAL_BASE = 128
_LAST_SIGNAL = 64  # real-time signals run up to 64


@dataclass(frozen=True, slots=True)
class ExitMeaning:
    """One exit explained: `short` fits a table cell, `detail` is a sentence or two for a panel."""

    code: int | None
    signal_name: str  # "" when no signal was involved
    short: str
    detail: str


_SIGNAL_MEANINGS: dict[int, tuple[str, str]] = {
    2: (
        "interrupted (SIGINT)",
        "The process was interrupted with SIGINT (Ctrl-C). In a container this usually means "
        "something sent it an interrupt on purpose, or the image uses SIGINT as its stop signal.",
    ),
    6: (
        "aborted (SIGABRT)",
        "The process aborted itself: a failed assertion, abort(), a C/C++ runtime error, or a "
        "runtime such as the JVM or glibc detecting corruption. The last log lines usually say why.",
    ),
    9: (
        "killed (SIGKILL)",
        "SIGKILL cannot be caught. In Kubernetes it is usually one of two things: the kernel "
        "OOM killer (the container went over its memory limit; reason OOMKilled) or the kubelet "
        "force-killing a container that did not stop within its grace period after SIGTERM, "
        "typically after failed liveness probes. The reason field decides: OOMKilled means memory, "
        "Error means it was killed for another cause - check the events for Liveness probe failed.",
    ),
    11: (
        "segmentation fault (SIGSEGV)",
        "The process touched memory it does not own: a bug in native code or a native library, "
        "or an image built for another CPU/libc. Look for a crash dump or stack trace in the logs.",
    ),
    15: (
        "terminated (SIGTERM)",
        "The process was asked to stop with SIGTERM and did so. The kubelet sends SIGTERM when it "
        "restarts a container after failed liveness probes, on deletion, eviction or a rollout; "
        "check the events to see which.",
    ),
}


def _signal_meaning(signal: int, code: int | None) -> ExitMeaning:
    name = SIGNAL_NAMES.get(signal, f"signal {signal}")
    if signal in _SIGNAL_MEANINGS:
        short, detail = _SIGNAL_MEANINGS[signal]
    else:
        short = f"killed by {name}"
        detail = (
            f"The process died from {name} (exit code 128+{signal}). Something inside the "
            "container or the runtime sent it; the logs and events may say what."
        )
    return ExitMeaning(code, name, short, detail)


def _oom_killed(code: int | None, signal_name: str) -> ExitMeaning:
    return ExitMeaning(
        code,
        signal_name,
        "OOM-killed: over its memory limit",
        "The kernel killed the container with SIGKILL because it used more memory than its "
        "limit (reason OOMKilled). Either the limit is below what the workload honestly needs or "
        "it leaks; compare memory use over time with the limit before raising it. Logs often end "
        "mid-line because the kill is instant.",
    )


def _start_failure(code: int | None, reason: str) -> ExitMeaning:
    return ExitMeaning(
        code,
        "",
        "could not start (bad command or entrypoint)",
        f"The runtime could not start the process (reason {reason}): the command or entrypoint "
        "does not exist in the image, is not executable, or a mount it needs failed. Compare the "
        "pod's command/args with what the image contains.",
    )


_PLAIN_CODES: dict[int, tuple[str, str]] = {
    0: (
        "exited cleanly (0)",
        "The process finished successfully. For a Deployment (restartPolicy Always) that is still "
        "a crash loop: Kubernetes expects a service to run forever, so a process that finishes, "
        "daemonizes itself or runs a script that ends is restarted again and again.",
    ),
    1: (
        "application error (1)",
        "The generic failure code: the application exited with an error of its own, such as an "
        "unhandled exception, a missing setting or a failed connection at startup. The last lines "
        "of the previous container's log usually name it.",
    ),
    2: (
        "usage error (2)",
        "Usually a command-line usage error: a shell builtin misused, or a program rejecting its "
        "arguments or flags. Check the command and args in the pod spec.",
    ),
    126: (
        "command cannot execute (126)",
        "The command was found but could not be executed: missing execute permission, a script "
        "without a valid interpreter line, or a binary for another architecture.",
    ),
    127: (
        "command not found (127)",
        "The shell could not find the command: a typo in command/args, a PATH that lacks it, or "
        "an image that does not contain the tool.",
    ),
    128: (
        "invalid exit or start failure (128)",
        "Either the program called exit with an invalid argument, or the runtime failed to start "
        "the process at all; the reason field (StartError, ContainerCannotRun) tells which.",
    ),
    255: (
        "exit status out of range (255)",
        "The program exited with -1 or a status above 255 (reported as 255), or an entrypoint "
        "wrapper failed. The application's own log is the place to look.",
    ),
}


def _by_code(code: int) -> ExitMeaning:
    if code in _PLAIN_CODES:
        short, detail = _PLAIN_CODES[code]
        return ExitMeaning(code, "", short, detail)
    if _SIGNAL_BASE < code <= _SIGNAL_BASE + _LAST_SIGNAL:
        return _signal_meaning(code - _SIGNAL_BASE, code)
    if 0 < code < _SIGNAL_BASE:
        return ExitMeaning(
            code,
            "",
            f"application error ({code})",
            f"The application chose exit code {code}; its meaning is the application's own. "
            "Its documentation or the last lines of its log say what it stands for.",
        )
    return ExitMeaning(
        code,
        "",
        f"unusual exit code ({code})",
        f"Exit code {code} is outside the 0-255 range a Linux process can return; it comes from "
        "the container runtime or a non-Linux platform rather than the application.",
    )


def explain_exit(code: int | None, signal: int | None = None, reason: str = "") -> ExitMeaning:
    """Explain an exit from its code, the signal the runtime reported (rare) and its reason."""
    signal_name = ""
    if signal:
        signal_name = SIGNAL_NAMES.get(signal, f"signal {signal}")
    elif code is not None and _SIGNAL_BASE < code <= _SIGNAL_BASE + _LAST_SIGNAL:
        signal_name = SIGNAL_NAMES.get(code - _SIGNAL_BASE, f"signal {code - _SIGNAL_BASE}")
    if reason == "OOMKilled":
        return _oom_killed(code, signal_name or "SIGKILL")
    if reason in ("StartError", "ContainerCannotRun"):
        return _start_failure(code, reason)
    if code is None:
        if signal:
            return _signal_meaning(signal, None)
        return ExitMeaning(
            None, "", "no exit code", "The container has not exited, so there is no exit code yet."
        )
    if signal and code == 0:
        return _signal_meaning(signal, code)
    meaning = _by_code(code)
    if code == _SIGNAL_BASE + 9 and reason:
        # A recorded reason other than OOMKilled rules out the OOM killer.
        return ExitMeaning(code, meaning.signal_name, "killed (SIGKILL), not by OOM", meaning.detail)
    return meaning


def exit_label(code: int | None, reason: str = "") -> str:
    """A compact cell: "137 OOMKilled", "1 Error", "0 Completed", "143", or "" when unknown."""
    if code is None:
        return reason
    return f"{code} {reason}".rstrip()
