"""The webhook outlet against a real local HTTP receiver: one POST per owner per window, retried."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kcrash.cluster.webhook import WebhookSender
from kcrash.core.alerts import Alert
from kcrash.lab.app import Lab

TUI = Path(__file__).resolve().parents[2] / "tui"


class Receiver:
    """A stdlib HTTP server that records each POST body; `fail_first` answers 503 that many times."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.attempts += 1
                if receiver.attempts <= receiver.fail_first:
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                receiver.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/secret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.stop()


def _alert(n: int, owner: str = "Deployment/web") -> Alert:
    return Alert(
        id=n,
        at=datetime(2025, 3, 1, tzinfo=UTC),
        rule="oom-killed",
        severity="critical",
        namespace="shop",
        pod=f"web-{n}",
        owner=owner,
        container="app",
        message="container app was OOM-killed (exit 137), 3 restarts",
        evidence=(("lastState.terminated.reason", "OOMKilled"),),
    )


def test_one_post_per_owner_per_window_the_rest_counted() -> None:
    receiver = Receiver()
    try:
        sender = WebhookSender(receiver.url, window=3600)
        sent = [sender.send(_alert(n)) for n in range(5)] + [sender.send(_alert(9, "Deployment/api"))]
        sender.close()
        assert sent == [True, False, False, False, False, True]
        assert sorted(b["kcrash"]["owner"] for b in receiver.bodies) == ["Deployment/api", "Deployment/web"]
        first = receiver.bodies[0]
        assert first["text"].startswith("[critical] oom-killed: shop/web-0")
        assert "kcrash diagnose web-0 -n shop" in json.dumps(first["blocks"])
        assert "OOMKilled" in json.dumps(first["blocks"])  # the evidence travels with it
        # the next window's POST says how many were held back
        later = WebhookSender(receiver.url, window=0.2)
        later.send(_alert(10))
        later.send(_alert(11))
        time.sleep(0.3)
        later.send(_alert(12))
        later.close()
        assert "(+1 more alert about Deployment/web before this one)" in receiver.bodies[-1]["text"]
    finally:
        receiver.stop()


def test_a_failed_post_is_retried_with_back_off() -> None:
    receiver = Receiver(fail_first=2)
    errors: list[str] = []
    try:
        sender = WebhookSender(receiver.url, first_delay=0.05, on_error=errors.append)
        sender.send(_alert(1))
        sender.close()
        assert receiver.attempts == 3
        assert len(receiver.bodies) == 1
        assert errors == []
    finally:
        receiver.stop()


def test_giving_up_is_one_line_without_the_secret_path() -> None:
    receiver = Receiver(fail_first=99)
    errors: list[str] = []
    try:
        sender = WebhookSender(receiver.url, attempts=2, first_delay=0.01, on_error=errors.append)
        sender.send(_alert(1))
        sender.close()
        assert receiver.attempts == 2
        assert len(errors) == 1 and "HTTP 503" in errors[0]
        assert "secret" not in errors[0]
    finally:
        receiver.stop()


def test_watch_posts_once_per_owner_from_the_lab(make_lab: Any, tmp_path: Path, receiver: Receiver) -> None:
    lab: Lab = make_lab(speed=20.0)
    kubeconfig = lab.write_kubeconfig(tmp_path / "config")
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(TUI), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "kcrash", "watch", "--kubeconfig", str(kubeconfig), "-n", "crashlab"]
    process = subprocess.Popen(
        [*command, "-o", "json", "--webhook", receiver.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(receiver.bodies) < 4:
            time.sleep(0.2)
        time.sleep(3)  # more crashes of the same owners meanwhile: none may post again
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    owners = [body["kcrash"]["owner"] for body in receiver.bodies]
    assert len(owners) >= 4
    assert len(owners) == len(set(owners)), owners
    printed = [json.loads(line) for line in out.splitlines()]
    new_owners = {row["owner"] for row in printed if row["state"] == "new"}
    assert set(owners) <= new_owners
    assert sum(1 for row in printed if row["state"] == "new") > len(owners)  # the rest were held back
    assert not any(o == "Deployment/healthy-web" for o in owners)
