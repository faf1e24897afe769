"""`python -m kcrash` runs the same entry point as the `kcrash` script."""

from kcrash.cli import run

run()
