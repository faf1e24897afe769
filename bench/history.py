"""What the crash archive costs: the recorder's CPU and memory, the archive's size, `history`'s speed.

    .venv/bin/python bench/history.py [--crashes 10000] [--idle-pods 20000] [--storm-pods 250]
        [--storm-speed 20] [--seconds 60] [--only archive,idle,storm]

- archive: 10,000 crashes written as the recorder writes them (a 40-line log tail, five events and
  forty memory samples each, over 50 namespaces and 2,000 pods), then the file's size (database and
  WAL after a checkpoint) and the time of the queries `kcrash history` makes (one pod, one workload,
  the newest 200 of a namespace) and of `kcrash history -o json` end to end (a process of its own).
- idle: `kcrash record -A` against the lab with `--idle-pods` healthy pods (nothing crashes but
  the scenarios): CPU (utime + stime of the process, all threads, as % of one core) and resident
  memory (VmRSS and VmHWM) over `--seconds`, after the first list.
- storm: the same with `--storm-pods` replicas of a crash loop in a lab sped up `--storm-speed`
  times: at the kubelet's 5-minute back-off cap each replica dies every 300/speed s, so 250 replicas
  at 20x are 1,000 restarts a minute. Printed beside: crashes archived, without a log, dropped.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))

from kcrash.history.archive import Archive
from kcrash.history.crash import ArchivedEvent, Crash

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STORM = """
scenarios:
  - name: storm
    replicas: {replicas}
    template:
      spec:
        containers:
          - name: app
            image: registry.example.com/shop/orders:2.3.0
            resources:
              limits: {{memory: 256Mi}}
    behaviour:
      app:
        exit_after: 1.6s
        exit_code: 1
        memory: {{start_mi: 38, growth_mi_per_min: 0}}
        log_lines:
          - "{{time}} INFO  orders.server: starting orders 2.3.0 (pid 1, python 3.12.4)"
          - "{{time}} INFO  orders.settings: reading configuration from the environment"
        last_log_line: "FATAL: required environment variable DATABASE_URL is not set"
"""


def fake_crash(n: int) -> Crash:
    pod = n % 2000
    at = START + timedelta(seconds=30 * n)
    log = "\n".join(
        f"{(at - timedelta(seconds=40 - i)).isoformat()} INFO  orders.worker: processed batch {n * 40 + i} "
        f"of region eu-west-{i % 3} in {i * 7} ms"
        for i in range(39)
    )
    return Crash(
        namespace=f"team-{pod % 50}",
        pod=f"orders-{pod // 4:04d}-7c9d8f6b5-{pod:05d}",
        container="app",
        container_id=f"containerd://{n:064x}",
        restart=n // 2000,
        exit_code=1,
        reason="Error",
        started_at=at - timedelta(seconds=40),
        finished_at=at,
        owner_kind="ReplicaSet",
        owner_name=f"orders-{pod // 4:04d}-7c9d8f6b5",
        workload=f"orders-{pod // 4:04d}",
        revision="7c9d8f6b5",
        image="registry.example.com/shop/orders:2.3.0",
        node=f"node-{pod % 100}",
        log=log + "\nFATAL: required environment variable DATABASE_URL is not set",
        events=tuple(
            ArchivedEvent("Warning", "BackOff", "Back-off restarting failed container app in pod", 4 + i)
            for i in range(5)
        ),
        memory=tuple((at - timedelta(seconds=15 * i), 100_000_000 + i) for i in range(40)),
        recorded_at=at,
    )


def bench_archive(crashes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "archive.sqlite3"
        archive = Archive(path)
        began = time.perf_counter()
        for n in range(crashes):
            archive.add(fake_crash(n))
        write = time.perf_counter() - began
        archive._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        print(f"archive: {crashes} crashes written in {write:.1f} s ({write / crashes * 1000:.2f} ms each)")
        print(f"archive: size {size / 1024 / 1024:.1f} MiB ({size / crashes / 1024:.1f} KiB per crash)")
        sample = fake_crash(crashes // 2)
        for label, query in (
            ("one pod", lambda: archive.crashes(namespace=sample.namespace, pod=sample.pod)),
            (
                "pod + workload",
                lambda: archive.crashes(namespace=sample.namespace, pod=sample.pod, workload=sample.workload),
            ),
            ("newest 200 of a namespace", lambda: archive.crashes(namespace=sample.namespace, limit=200)),
            ("newest 200 of all", lambda: archive.crashes(limit=200)),
        ):
            times = []
            for _ in range(20):
                began = time.perf_counter()
                found = query()
                times.append(time.perf_counter() - began)
            print(f"query {label}: {len(found)} crashes, median {statistics.median(times) * 1000:.2f} ms")
        archive.close()
        kubeconfig = Path(tmp) / "kubeconfig"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            "clusters: [{name: c, cluster: {server: https://127.0.0.1:1}}]\n"
            "users: [{name: u, user: {token: t}}]\n"
            "contexts: [{name: c, context: {cluster: c, user: u, namespace: team-1}}]\n"
        )
        times = []
        for _ in range(5):
            began = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "kcrash",
                    "history",
                    "--kubeconfig",
                    str(kubeconfig),
                    "--archive",
                    str(path),
                    "-o",
                    "json",
                ],
                capture_output=True,
                check=True,
            )
            times.append(time.perf_counter() - began)
        print(
            f"kcrash history -o json (process, 200 crashes): median {statistics.median(times) * 1000:.0f} ms"
        )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    now = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return now / 1024, peak / 1024


def bench_recorder(label: str, lab_args: list[str], seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        env = {**os.environ, "XDG_DATA_HOME": f"{tmp}/data", "XDG_CONFIG_HOME": f"{tmp}/config"}
        lab = subprocess.Popen(
            [sys.executable, "-m", "kcrash", "lab", "--kubeconfig", str(kubeconfig), *lab_args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            deadline = time.monotonic() + 600
            while not kubeconfig.exists():
                assert time.monotonic() < deadline and lab.poll() is None, "the lab did not start"
                time.sleep(0.5)
            record = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kcrash",
                    "record",
                    "-A",
                    "--kubeconfig",
                    str(kubeconfig),
                    "--report-every",
                    str(seconds),
                ],
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            time.sleep(min(20.0, seconds / 3))  # the first list, and the first crashes' log reads
            cpu0, t0 = cpu_seconds(record.pid), time.monotonic()
            time.sleep(seconds)
            cpu1, t1 = cpu_seconds(record.pid), time.monotonic()
            now, peak = rss(record.pid)
            record.send_signal(signal.SIGTERM)
            _, err = record.communicate(timeout=30)
            last = [line for line in err.splitlines() if "stopped:" in line]
            print(
                f"{label}: CPU {100 * (cpu1 - cpu0) / (t1 - t0):.1f} % of a core over {t1 - t0:.0f} s, "
                f"RSS {now:.0f} MiB (peak {peak:.0f} MiB)"
            )
            print(f"{label}: {last[-1] if last else err.strip()[-300:]}")
        finally:
            lab.terminate()
            lab.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--crashes", type=int, default=10_000)
    parser.add_argument("--idle-pods", type=int, default=20_000)
    parser.add_argument("--storm-pods", type=int, default=250)
    parser.add_argument("--storm-speed", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--only", default="archive,idle,storm")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if "archive" in parts:
        bench_archive(args.crashes)
    if "idle" in parts:
        bench_recorder(f"idle, {args.idle_pods} pods", ["--extra-pods", str(args.idle_pods)], args.seconds)
    if "storm" in parts:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as scenario:
            scenario.write(STORM.format(replicas=args.storm_pods))
        rate = args.storm_pods * args.storm_speed / 300 * 60
        bench_recorder(
            f"storm, ~{rate:.0f} restarts/min",
            ["--no-builtin", "--scenarios", scenario.name, "--speed", str(args.storm_speed)],
            args.seconds,
        )
        os.unlink(scenario.name)


if __name__ == "__main__":
    main()
