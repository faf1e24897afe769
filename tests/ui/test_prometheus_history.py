"""A real Prometheus behind the lab: the pre-played hour backfilled with promtool, the lab's
`/metrics` scraped, Prometheus found through the API server's service proxy, and the drill-down's
chart covering the hour at its first paint. Needs Debian's prometheus package (`make prometheus`)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kcrash.history.prometheus import PodHistory
from kcrash.lab.app import Lab
from kcrash.ui.app import make_app
from kcrash.ui.widgets.memory_chart import MemoryChart

from .conftest import lab_source, wait_for, wait_synced
from .test_console import open_pod

pytestmark = pytest.mark.prometheus
HOUR = 3600.0
READY_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class RunningPrometheus:
    address: str  # host:port on loopback
    backfilled: int  # samples promtool wrote


def _binaries() -> tuple[str, str]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if prometheus is None or promtool is None:
        pytest.skip("prometheus and promtool are not installed (run `make prometheus`)")
    return prometheus, promtool


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _backfill(promtool: str, lab: Lab, directory: Path) -> int:
    history = directory / "history.om"
    history.write_text(lab.call(lab.openmetrics_history), encoding="utf-8")
    done = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(history), str(directory / "data")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=directory,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # The table promtool prints: ULID, min time, max time, duration, samples, chunks, series, size.
    rows = [line.split() for line in done.stdout.splitlines()[1:] if line.strip()]
    return sum(int(row[-4]) for row in rows)


def _config(lab: Lab, directory: Path) -> Path:
    """Scrape the lab as Prometheus scrapes an API server: https, its CA, the bearer token."""
    ca = directory / "ca.pem"
    ca.write_bytes(lab.ca_pem)
    config = directory / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 15s\n"
        "scrape_configs:\n"
        "  - job_name: kcrash-lab\n"
        "    scheme: https\n"
        f"    tls_config: {{ca_file: '{ca}'}}\n"
        f"    authorization: {{credentials: '{lab.token}'}}\n"
        f"    static_configs: [{{targets: ['{lab.url.split('//', 1)[1]}']}}]\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def prometheus_behind(
    make_lab: Callable[..., Lab], tmp_path: Path
) -> Iterator[tuple[Lab, RunningPrometheus]]:
    """A lab with an hour played, and a Prometheus holding that hour and scraping it since; both
    files and process stay under the test's directory, and the process is stopped afterwards."""
    prometheus, promtool = _binaries()
    lab = make_lab(speed=1.0, preplay_seconds=HOUR)
    work = tmp_path / "prometheus"
    work.mkdir()
    backfilled = _backfill(promtool, lab, work)
    address = f"127.0.0.1:{_free_port()}"
    log = (work / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            prometheus,
            f"--config.file={_config(lab, work)}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address={address}",
            "--storage.tsdb.retention.time=1d",
        ],
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_ready(address, process, work / "prometheus.log")
        lab.add_service_target(address)  # monitoring/prometheus-k8s:9090, the first usual place
        yield lab, RunningPrometheus(address, backfilled)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_ready(address: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"prometheus exited {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://{address}/-/ready", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"prometheus was not ready within {READY_TIMEOUT:g}s: {log.read_text()[-2000:]}")


async def test_the_chart_covers_the_preplayed_hour_at_first_paint(
    prometheus_behind: tuple[Lab, RunningPrometheus], tmp_path: Path
) -> None:
    lab, running = prometheus_behind
    assert running.backfilled > 1000
    source = lab_source(lab, tmp_path)
    app = make_app(source, clock=lab.clock, metrics_seconds=1.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_synced(pilot, app)
        pane = await open_pod(pilot, app, "oom-leak")
        await wait_for(
            pilot,
            lambda: "prometheus" in pane.pieces and app.screen.query(MemoryChart),
            what="Prometheus's hour",
        )
        history = pane.pieces["prometheus"]
        assert isinstance(history, PodHistory), history
        chart = app.screen.query_one(MemoryChart)
        await wait_for(pilot, lambda: chart.data.legend.startswith("memory: Prometheus"), what="the legend")
        data = chart.data
        caption = str(app.screen.query_one("#d-memory-caption").render())
    assert caption.splitlines()[0] == data.legend
    assert history.where == "monitoring/prometheus-k8s:9090 via the API server"
    assert data.xs[0] <= -55.0, "the first paint reaches back to the start of the pre-played hour"
    assert len(data.ooms) >= 3, "the OOM kills Prometheus saw are marked"
    assert {r.reason for r in history.restarts} == {"OOMKilled"}
    first_samples = sum(1 for x in data.xs if x < -5.0)
    assert first_samples >= 30
    print(
        f"\nprometheus: {running.backfilled} samples backfilled; one pod's hour: "
        f"{len(history.samples)} samples at {history.step:g}s step, "
        f"3 range queries in {history.seconds * 1000:.0f} ms\n{caption}"
    )
