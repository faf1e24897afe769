"""`kcrash --version` and `kcrash completion`: the scripts complete what the parsers take."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kcrash.cli import main
from kcrash.completion import bash_script, flags_of, zsh_script
from kcrash.ui.launch import build_parser
from kcrash.version import installed_version


def complete_in_bash(script: Path, *words: str) -> list[str]:
    """What bash offers for the last of `words` (the command line typed so far)."""
    line = " ".join(f"'{w}'" for w in words)
    program = f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _kcrash; "
    program += 'printf "%s\\n" "${COMPREPLY[@]}"'
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=10, check=True)
    return [word for word in done.stdout.split("\n") if word]


@pytest.fixture(scope="module")
def bash_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    path = tmp_path_factory.mktemp("completion") / "kcrash.bash"
    path.write_text(bash_script())
    return path


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out == f"kcrash {installed_version()}\n" and installed_version() != "unknown"


def test_completion_of_an_unknown_shell_is_one_line_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "fish"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bash" in err and "zsh" in err


def test_bash_offers_subcommands_and_flags(bash_file: Path) -> None:
    offered = complete_in_bash(bash_file, "kcrash", "")
    assert {"diagnose", "lab", "completion", "--read-only", "--version", "-A"} <= set(offered)
    assert "--demo-speed" not in offered, "a hidden flag is not offered"
    assert complete_in_bash(bash_file, "kcrash", "--th") == ["--theme"]
    assert complete_in_bash(bash_file, "kcrash", "di") == ["diagnose"]


def test_bash_completes_values_per_subcommand(bash_file: Path) -> None:
    assert complete_in_bash(bash_file, "kcrash", "--theme", "") == ["dark", "light", "high-contrast"]
    assert complete_in_bash(bash_file, "kcrash", "diagnose", "-o", "") == ["text", "json"]
    assert complete_in_bash(bash_file, "kcrash", "diagnose", "--expl") == ["--explain-rules"]
    assert "--error-rate" in complete_in_bash(bash_file, "kcrash", "lab", "--err")
    assert complete_in_bash(bash_file, "kcrash", "completion", "")[:2] == ["bash", "zsh"]


def test_every_flag_of_the_console_is_in_both_scripts() -> None:
    bash, zsh = bash_script(), zsh_script()
    for flag in flags_of(build_parser()):
        for name in flag.names:
            assert name in bash and name in zsh, name


def test_zsh_script_parses() -> None:
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("no zsh")
    subprocess.run([zsh, "-n", "-c", zsh_script()], check=True, timeout=10)


def test_the_console_script_prints_the_version() -> None:
    kcrash = Path(sys.executable).parent / "kcrash"
    done = subprocess.run([str(kcrash), "--version"], capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout.startswith("kcrash ")
