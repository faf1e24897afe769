"""`python -m kcrash.lab.realcp.watchdog`: stops the control plane's process groups if kcrash dies.

Reads `+pgid` / `-pgid` lines on stdin from kcrash; when stdin closes, stops the groups still listed
and clears the run's directory (its one argument) but for the logs.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from kcrash.lab.realcp.processes import watch_pipe


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the pipe's end tells it to act
    state_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    watch_pipe(sys.stdin.buffer, state_dir)


if __name__ == "__main__":
    main()
