"""Command line entry point: `kcrash` (the console), `kcrash lab`, `kcrash diagnose`, `kcrash watch`,
`kcrash record`, `kcrash history`, `kcrash completion`.

Subcommands import their modules lazily so `kcrash diagnose --from` never pays for Textual and the
console never pays for the lab.
"""

from __future__ import annotations

import os
import sys

# Textual waits this long after a lone Escape to tell it from an escape sequence; 100 ms (its
# default) makes "back" feel sluggish, and 25 ms is ample on local and SSH terminals alike.
ESCAPE_DELAY_MS = "25"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else ""
    try:
        if command == "lab":
            from kcrash.lab.cli import main as lab_main

            return lab_main(args[1:])
        if command == "diagnose":
            from kcrash.diagnose_cmd import main as diagnose_main

            return diagnose_main(args[1:])
        if command == "watch":
            from kcrash.watch_cmd import main as watch_main

            return watch_main(args[1:])
        if command == "record":
            from kcrash.history.record_cmd import main as record_main

            return record_main(args[1:])
        if command == "history":
            from kcrash.history.history_cmd import main as history_main

            return history_main(args[1:])
        if command == "completion":
            from kcrash.completion import main as completion_main

            return completion_main(args[1:])
        os.environ.setdefault("ESCDELAY", ESCAPE_DELAY_MS)
        from kcrash.ui.launch import main as ui_main

        return ui_main(args)
    except KeyboardInterrupt:
        return 130


def run() -> None:
    """Console-script wrapper: exit with main()'s code."""
    sys.exit(main())
