"""The layering holds at run time: importing core, cluster and history pulls in no UI (and core no API
client)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TUI = Path(__file__).resolve().parents[1] / "tui"

# Imports every module of the given packages, then reports which of the watched modules got loaded.
PROBE = """
import importlib, json, pkgutil, sys
packages = sys.argv[1].split(",")
watched = sys.argv[2].split(",")
for name in packages:
    package = importlib.import_module(name)
    for module in pkgutil.walk_packages(package.__path__, name + "."):
        importlib.import_module(module.name)
loaded = sorted(m for m in watched if m in sys.modules)
print(json.dumps({"loaded": loaded, "kcrash": sorted(m for m in sys.modules if m.startswith("kcrash"))}))
"""


def _probe(packages: list[str], watched: list[str]) -> dict[str, list[str]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TUI), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(packages), ",".join(watched)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, list[str]] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize(
    ("packages", "forbidden"),
    [
        (
            ["kcrash.core"],
            ["textual", "kubernetes", "aiohttp", "urllib3", "kcrash.cluster", "kcrash.ui", "kcrash.lab"],
        ),
        (["kcrash.core", "kcrash.cluster"], ["textual", "textual_plotext", "kcrash.ui", "kcrash.lab"]),
        # The archive, the recorder and the record and history commands run headless.
        (["kcrash.history"], ["textual", "textual_plotext", "plotext", "kcrash.ui", "kcrash.lab"]),
    ],
)
def test_lower_layers_import_no_upper_ones(packages: list[str], forbidden: list[str]) -> None:
    report = _probe(packages, forbidden)
    assert report["loaded"] == []
    assert "kcrash.core.status" in report["kcrash"]  # the probe really imported the package
