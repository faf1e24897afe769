"""Start the parts of the control plane and make sure none outlives kcrash.

Each part runs in a session (and so a process group) of its own: a Ctrl-C in the terminal reaches
kcrash only, which then stops the parts in reverse order (SIGTERM to the group, SIGKILL after a grace).
If kcrash itself is killed with no chance to clean up, a watchdog does it: a small process in its own
session that holds the read end of a pipe kcrash writes the groups to; when the pipe closes without
kcrash having said every group is gone, it stops the ones left. That needs no prctl and works on any
POSIX system.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

STOP_GRACE = 10.0
_TAIL_BYTES = 4096


@dataclass
class Part:
    """One running program of the control plane and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    stopped: bool = field(default=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        return self.process.poll()

    def describe_exit(self) -> str:
        """One line: which part, how it ended, where its log is and the last thing it said there."""
        code = self.process.returncode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        last = last_line(self.log)
        said = f": {last}" if last else ""
        return f"{self.name} {how} (log: {self.log}){said}"


class Supervisor:
    """Starts parts, notices the first that dies, and stops all of them."""

    def __init__(self, log_dir: Path, state_dir: Path | None = None) -> None:
        """`state_dir`: what the watchdog clears (all but the logs) if kcrash dies without stopping."""
        self.log_dir = log_dir
        self.parts: list[Part] = []
        self._watchdog = _start_watchdog(state_dir)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Part:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as output:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        part = Part(name, process, log)
        self.parts.append(part)
        self._tell_watchdog(f"+{process.pid}")
        return part

    def crashed(self) -> Part | None:
        """The first part that has exited although nobody stopped it."""
        return next((p for p in self.parts if not p.stopped and p.exit_code() is not None), None)

    def stop(self, grace: float = STOP_GRACE) -> None:
        """Newest part first, one at a time: SIGTERM its group, SIGKILL it after `grace` seconds.

        One at a time because the apiserver's graceful shutdown still talks to etcd: stopped together,
        it waits on an etcd that is gone.
        """
        for part in reversed(self.parts):
            if part.stopped:
                continue
            _signal_group(part.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                part.process.wait(timeout=grace)
            _signal_group(part.pid, signal.SIGKILL)  # the part's children, or the part if it lingered
            part.process.wait()
            part.stopped = True
            self._tell_watchdog(f"-{part.pid}")
        self._close_watchdog()

    def _tell_watchdog(self, line: str) -> None:
        stdin = self._watchdog.stdin
        if stdin is None:
            return
        with contextlib.suppress(OSError, ValueError):
            stdin.write(f"{line}\n".encode("ascii"))
            stdin.flush()

    def _close_watchdog(self) -> None:
        if self._watchdog.stdin is not None:
            with contextlib.suppress(OSError):
                self._watchdog.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._watchdog.wait(timeout=STOP_GRACE + 5)


def _start_watchdog(state_dir: Path | None) -> subprocess.Popen[bytes]:
    extra = [str(state_dir)] if state_dir is not None else []
    return subprocess.Popen(
        [sys.executable, "-m", "kcrash.lab.realcp.watchdog", *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": _package_root()},
    )


def _package_root() -> str:
    """So the watchdog imports this kcrash even where it runs from a source tree not on sys.path."""
    root = str(Path(__file__).resolve().parents[3])
    current = os.environ.get("PYTHONPATH")
    return f"{root}{os.pathsep}{current}" if current else root


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def last_line(path: Path, limit: int = 300) -> str:
    """The last non-empty line of a log, without control characters, cut to `limit` characters."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - _TAIL_BYTES))
            tail = handle.read()
    except OSError:
        return ""
    lines = [line for line in tail.decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines:
        return ""
    text = "".join(ch if ch.isprintable() else " " for ch in lines[-1]).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def watch_pipe(stream: IO[bytes], state_dir: Path | None = None, grace: float = 5.0) -> None:
    """The watchdog's loop: track `+pgid`/`-pgid` lines; at end of input stop the groups still listed
    and, if there were any (kcrash died without stopping them), clear `state_dir` but for its logs."""
    groups: list[int] = []
    for raw in iter(stream.readline, b""):
        line = raw.strip().decode("ascii", "replace")
        with contextlib.suppress(ValueError):
            if line.startswith("+"):
                groups.append(int(line[1:]))
            elif line.startswith("-") and int(line[1:]) in groups:
                groups.remove(int(line[1:]))
    orphaned = bool(groups)
    for pgid in reversed(groups):
        _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while groups and time.monotonic() < deadline:
        groups = [g for g in groups if _group_alive(g)]
        time.sleep(0.1)
    for pgid in groups:
        _signal_group(pgid, signal.SIGKILL)
    if orphaned and state_dir is not None:
        remove_tree(state_dir, keep=["logs"])


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_tree(directory: Path, keep: list[str]) -> None:
    """Remove `directory`, or only what is in it but the entries named in `keep`."""
    if not directory.is_dir():
        return
    if not keep:
        shutil.rmtree(directory, ignore_errors=True)
        return
    for child in directory.iterdir():
        if child.name in keep:
            continue
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                child.unlink()
