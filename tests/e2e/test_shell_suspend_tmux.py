"""`s` in a real terminal: the console is suspended, the user's kubectl gets the terminal with the
exact arguments, and the console comes back to the same screen when it ends (a stand-in kubectl
on PATH records its arguments and waits for Enter)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kcrash.ui.demo import DEMO_CONTEXT

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def kcrash_command() -> str:
    script = Path(sys.executable).parent / "kcrash"
    return f"{script} --demo" if script.exists() else f"{sys.executable} -m kcrash --demo"


FAKE_KUBECTL = """#!/bin/sh
printf '%s\\n' "$@" > "{args}"
echo "STAND-IN KUBECTL: press Enter"
read line
exit 3
"""


@pytest.fixture
def session(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    args = tmp_path / "args"
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(FAKE_KUBECTL.format(args=args))
    kubectl.chmod(0o755)
    name = f"kcrash-shell-{uuid.uuid4().hex[:8]}"
    env = (
        f"cd {REPO} && unset COLUMNS LINES && PATH={bin_dir}:$PATH "
        f"XDG_STATE_HOME={tmp_path / 'state'} PYTHONPATH={REPO / 'tui'} TERM=xterm-256color"
    )
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "80", "-y", "24", f"{env} {kcrash_command()}"],
        check=True,
    )
    subprocess.run(["tmux", "resize-window", "-t", name, "-x", "80", "-y", "24"], check=False)
    try:
        yield name, args
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False, capture_output=True)


def pane(name: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True).stdout


def keys(name: str, *sent: str) -> None:
    subprocess.run(["tmux", "send-keys", "-t", name, *sent], check=True)


def wait_pane(name: str, ready: str, absent: str = "", timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = pane(name)
        if ready in text and (not absent or absent not in text):
            return text
        time.sleep(0.3)
    raise AssertionError(f"never saw {ready!r}; last capture:\n{text}")


def test_shell_suspends_runs_kubectl_and_comes_back(session: tuple[str, Path]) -> None:
    name, args = session
    wait_pane(name, "● live")
    keys(name, "/")
    time.sleep(0.3)
    keys(name, "healthy-web", "Enter")
    wait_pane(name, "healthy-web", absent="bad-command")
    time.sleep(0.3)
    keys(name, "s")
    shown = wait_pane(name, "STAND-IN KUBECTL", absent="● live")
    assert "kcrash: " in shown and " exec -it healthy-web-" in shown, "the command is shown as it runs"
    argv = args.read_text().splitlines()
    assert argv[argv.index("exec") :][:5] == ["exec", "-it", argv[argv.index("exec") + 2], "-c", "web"]
    assert argv[argv.index("--context") + 1] == DEMO_CONTEXT and argv[argv.index("-n") + 1] == "crashlab"
    assert argv[-4:-1] == ["--", "sh", "-c"]
    keys(name, "Enter")
    back = wait_pane(name, "exited 3")  # the notice comes with the first frame after the return
    assert "healthy-web" in back and "● live" in back
    keys(name, "q")
