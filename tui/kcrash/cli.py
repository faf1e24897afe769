"""Command line entry point: `kcrash` (the console), `kcrash lab`, `kcrash diagnose`.

Subcommands import their modules lazily so `kcrash diagnose --from` never pays for Textual and the
console never pays for the lab.
"""

from __future__ import annotations

import sys


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
        from kcrash.ui.launch import main as ui_main

        return ui_main(args)
    except KeyboardInterrupt:
        return 130


def run() -> None:
    """Console-script wrapper: exit with main()'s code."""
    sys.exit(main())
