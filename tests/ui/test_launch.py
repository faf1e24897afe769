"""`kcrash` refuses a bad setup with one line and exit status 2, before any screen opens; and what
it loads before the first table."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kcrash.lab.app import Lab
from kcrash.ui.launch import build_parser, main


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_missing_kubeconfig(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--kubeconfig", str(tmp_path / "nope")]) == 2
    assert one_line_error(capsys).startswith("kcrash: ")


def test_unknown_context(lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = lab.write_kubeconfig(tmp_path / "config")
    assert main(["--kubeconfig", str(kubeconfig), "--context", "no-such-context"]) == 2
    assert "no-such-context" in one_line_error(capsys)


def test_unreachable_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config"
    config.write_text(
        f"""apiVersion: v1
kind: Config
clusters: [{{name: gone, cluster: {{server: "https://127.0.0.1:{closed_port()}"}}}}]
users: [{{name: me, user: {{token: x}}}}]
contexts: [{{name: gone, context: {{cluster: gone, user: me, namespace: default}}}}]
current-context: gone
"""
    )
    assert main(["--kubeconfig", str(config)]) == 2
    assert "reach" in one_line_error(capsys)


def test_a_refused_list_ends_before_any_screen(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No separate probe: the answer to the first LIST is the check, reported like the probe's was.
    kubeconfig = lab.write_kubeconfig(tmp_path / "config")
    lab.faults.deny("list", "pods")
    try:
        assert main(["--kubeconfig", str(kubeconfig), "-A"]) == 2
    finally:
        lab.faults.allow("list", "pods")
    line = one_line_error(capsys)
    assert "403" in line and "forbidden" in line


def test_unknown_theme(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--theme", "solarized"]) == 2
    assert "dark" in one_line_error(capsys)


def test_bad_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-such-flag"]) == 2
    assert "usage: kcrash" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "field", "value"),
    [
        (["-n", "shop"], "namespace", "shop"),
        (["--namespace", "shop"], "namespace", "shop"),
        (["-A"], "all_namespaces", True),
        (["-l", "app=web"], "selector", "app=web"),
        (["--selector", "app=web"], "selector", "app=web"),
        (["--context", "prod"], "context", "prod"),
        (["--read-only"], "read_only", True),
        (["--theme", "light"], "theme", "light"),
    ],
)
def test_flags_are_spelled_like_kubectl(argv: list[str], field: str, value: object) -> None:
    assert getattr(build_parser().parse_args(argv), field) == value


def test_the_pods_list_loads_neither_the_kubernetes_package_nor_plotext() -> None:
    """What launch imports before the first table: the client's loader and plotext wait (or never
    come) — they cost a third of the 1,000-pod launch budget."""
    script = (
        "import sys\n"
        "import kcrash.ui.launch, kcrash.ui.themes, kcrash.ui.app, kcrash.ui.screens.pods\n"
        "import kcrash.cluster.config, kcrash.cluster.source\n"
        "heavy = {'kubernetes', 'plotext', 'textual_plotext', 'pydantic', 'oauthlib'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_connect_thread_imports_nothing(lab: Lab, tmp_path: Path) -> None:
    """Two threads importing at once failed inside importlib about once in a hundred launches: the
    connect thread's modules are imported before it starts, and it lists and watches with no
    import of its own while the main thread loads Textual."""
    kubeconfig = lab.write_kubeconfig(tmp_path / "config")
    script = (
        "import sys\n"
        "from kcrash.ui.launch import METRICS_INTERVAL, _Connecting, build_parser\n"
        f"args = build_parser().parse_args(['--kubeconfig', {str(kubeconfig)!r}, '-A'])\n"
        "early = _Connecting(args, METRICS_INTERVAL).start()\n"
        "before = set(sys.modules)\n"
        "source = early.source()\n"
        "assert source.wait_answered(10)\n"
        "import time; time.sleep(0.5)  # the watch is open\n"
        "print(sorted(set(sys.modules) - before))\n"
        "source.stop()\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
