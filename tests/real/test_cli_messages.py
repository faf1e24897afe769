"""`kcrash lab --control-plane real` on a machine where it cannot run says why in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LAB_CLI = "import sys; from kcrash.lab.cli import main; sys.exit(main(sys.argv[1:]))"


def run_lab(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run(
        [sys.executable, "-c", LAB_CLI, *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_without_the_build_it_names_make_controlplane(tmp_path: Path) -> None:
    result = run_lab("--control-plane", "real", cache=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kcrash lab: error: the real control plane v1.")
    assert str(tmp_path / "kcrash" / "controlplane") in lines[0]
    assert "run `make controlplane`" in lines[0]


def test_simulation_flags_are_refused_with_a_real_control_plane(tmp_path: Path) -> None:
    result = run_lab("--control-plane", "real", "--speed", "5", "--plain-http", cache=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "kcrash lab: error: --speed, --plain-http: only for the embedded lab, not --control-plane real"
    )


def test_an_unknown_control_plane_is_a_usage_error(tmp_path: Path) -> None:
    result = run_lab("--control-plane", "kind", cache=tmp_path)
    assert result.returncode == 2
    assert "argument --control-plane: invalid choice: 'kind'" in result.stderr
