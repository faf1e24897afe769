"""A real terminal for the console under test: one tmux session on a private tmux server.

The benchmark reads the screen the way a person would (`capture-pane`), types with `send-keys` and
taps the bytes the program writes (`pipe-pane`). Every tmux call has a timeout; `close()` kills the
private server, so nothing is left behind even when a measurement fails.
"""

from __future__ import annotations

import os
import select
import shlex
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

TMUX_TIMEOUT = 10.0
SIZE_VARIABLES = ("COLUMNS", "LINES")
"""Left out of the program's environment: Textual would believe them over the terminal's real size."""


class TmuxError(RuntimeError):
    """tmux failed, or the program in the terminal exited."""


class ScreenTimeout(TmuxError):
    """The screen never showed what was waited for."""


class ControlClient:
    """One `tmux -C` client kept open, so a screen capture costs a line on a pipe, not a new process.

    Polling every few milliseconds with a fresh `tmux capture-pane` each time would take a good part
    of a core from the console under test. The client neither resizes the window nor receives the
    pane's output (`ignore-size,no-output`). Each command's answer is the block between `%begin`
    and `%end` whose flags say it answers this client (1); tmux may answer the attach itself (0)
    after our first command, and notifications come between blocks.
    """

    def __init__(self, argv: list[str], session: str) -> None:
        self._process = subprocess.Popen(
            [*argv, "-C", "attach-session", "-t", session, "-f", "ignore-size,no-output"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if k not in SIZE_VARIABLES},
        )
        self._buffer = b""
        token = f"kcrash-bench-{uuid.uuid4().hex}"
        self._send(f"display-message -p {token}")
        deadline = time.monotonic() + TMUX_TIMEOUT
        while token not in self._answer(deadline, "display-message"):
            pass  # the attach's own answer came first

    def command(self, line: str, timeout: float = TMUX_TIMEOUT) -> str:
        self._send(line)
        return self._answer(time.monotonic() + timeout, line.split()[0])

    def _send(self, line: str) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(line.encode() + b"\n")
        self._process.stdin.flush()

    def _answer(self, deadline: float, what: str) -> str:
        """The next block answering one of our commands (flags 1); tmux's own (the attach) are skipped."""
        while True:
            begin = self._readline(deadline)
            if not begin.startswith(b"%begin "):
                continue  # a notification
            lines: list[bytes] = []
            while not (line := self._readline(deadline)).startswith((b"%end ", b"%error ")):
                lines.append(line)
            if begin.split()[-1:] != [b"1"]:
                continue
            if line.startswith(b"%error "):
                raise TmuxError(f"tmux {what}: {b' '.join(lines).decode(errors='replace')}")
            return "".join(part.decode(errors="replace") + "\n" for part in lines)

    def _readline(self, deadline: float) -> bytes:
        assert self._process.stdout is not None
        fd = self._process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TmuxError("the tmux control client did not answer in time")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise TmuxError("the tmux control client went away")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)


class TmuxTerm:
    """A `width` x `height` terminal whose program can be (re)started and read from outside."""

    def __init__(self, width: int = 200, height: int = 50) -> None:
        self.width = width
        self.height = height
        tag = uuid.uuid4().hex[:8]
        self.socket = f"kcrash-bench-{os.getpid()}-{tag}"
        self.session = f"bench-{tag}"
        self._open = False
        self._control: ControlClient | None = None

    def __enter__(self) -> TmuxTerm:
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def tmux(self, *args: str, check: bool = True) -> str:
        try:
            result = subprocess.run(
                ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
                capture_output=True,
                text=True,
                timeout=TMUX_TIMEOUT,
                check=False,
                env={k: v for k, v in os.environ.items() if k not in SIZE_VARIABLES},
            )
        except subprocess.TimeoutExpired as exc:
            raise TmuxError(f"tmux {args[0]} did not answer in {TMUX_TIMEOUT:.0f} s") from exc
        if check and result.returncode != 0:
            raise TmuxError(f"tmux {' '.join(args[:2])}: {result.stderr.strip()}")
        return result.stdout

    def open(self) -> None:
        """A session holding an idle placeholder, with panes that stay readable after their program exits."""
        self.tmux(
            "new-session",
            "-d",
            "-s",
            self.session,
            "-x",
            str(self.width),
            "-y",
            str(self.height),
            "sleep 86400",
        )
        self._open = True
        self.tmux("set-option", "-t", self.session, "remain-on-exit", "on")
        self.tmux("set-option", "-t", self.session, "status", "off")
        self.tmux("resize-window", "-t", self.session, "-x", str(self.width), "-y", str(self.height))
        self._control = ControlClient(["tmux", "-L", self.socket, "-f", "/dev/null"], self.session)

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._open:
            self._open = False
            self.tmux("kill-server", check=False)

    def launch(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        """Replace whatever runs in the pane with `argv` (exec'd, so the pane's pid is the program's)."""
        unset = " ".join(f"-u {name}" for name in SIZE_VARIABLES)
        command = f"cd {shlex.quote(str(cwd))} && exec env {unset} {shlex.join(argv)}"
        pairs = [item for key, value in env.items() for item in ("-e", f"{key}={value}")]
        self.tmux("respawn-pane", "-k", *pairs, "-t", self.session, command)

    def capture(self, styled: bool = False) -> str:
        """The screen as text; `styled` keeps the colours as escape sequences (`capture-pane -e`)."""
        if self._control is not None:
            return self._control.command(f"capture-pane -p{'e' if styled else ''} -t {self.session}")
        return self.tmux("capture-pane", "-p", *(["-e"] if styled else []), "-t", self.session)

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def pane_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", self.session, "#{pane_pid}").strip() or 0)

    def pane_dead(self) -> bool:
        return self.tmux("display-message", "-p", "-t", self.session, "#{pane_dead}").strip() == "1"

    def pipe_to(self, path: Path) -> None:
        """Append everything the program writes from now on to `path`."""
        self.tmux("pipe-pane", "-o", "-t", self.session, f"cat >> {shlex.quote(str(path))}")

    def stop_pipe(self) -> None:
        self.tmux("pipe-pane", "-t", self.session)

    def wait_for(
        self, ready: Callable[[str], bool], timeout: float, interval: float = 0.02, styled: bool = False
    ) -> tuple[float, str]:
        """Poll the screen until `ready(screen)`; returns (when it was seen, the screen).

        The time is time.monotonic() half way through the capture that first showed it (tmux took
        its snapshot somewhere in that call), so the error is half a capture plus `interval`.
        """
        deadline = time.monotonic() + timeout
        next_liveness = time.monotonic() + 1.0
        while True:
            asked = time.monotonic()
            screen = self.capture(styled)
            answered = time.monotonic()
            if ready(screen):
                return (asked + answered) / 2, screen
            if answered > deadline:
                raise ScreenTimeout(f"the screen never got there in {timeout:.1f} s; last screen:\n{screen}")
            if answered > next_liveness:
                next_liveness = answered + 1.0
                if self.pane_dead():
                    raise TmuxError(f"the program in the terminal exited; last screen:\n{screen}")
            time.sleep(interval)
