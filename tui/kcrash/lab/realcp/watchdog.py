"""`python -m kcrash.lab.realcp.watchdog`: stops the control plane's process groups if kcrash dies.

Reads `+pgid` / `-pgid` lines on stdin from kcrash; when stdin closes, stops the groups still listed.
"""

from __future__ import annotations

import signal
import sys

from kcrash.lab.realcp.processes import watch_pipe


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the pipe's end tells it to act
    watch_pipe(sys.stdin.buffer)


if __name__ == "__main__":
    main()
