"""A crash's log is kept only when the server says the instance is still where it was read from:
the watch's copy of the pod can lag a restart, and the log read then is the next instance's."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from kcrash.cluster.config import connect
from kcrash.cluster.source import ClusterSource
from kcrash.core.terminations import ended_instances
from kcrash.history.archive import Archive
from kcrash.history.recorder import UNSURE, Recorder
from kcrash.lab.app import Lab

POD_PREFIX = "crash-missing-env"


def _source(lab: Lab, directory: Path) -> ClusterSource:
    kubeconfig = lab.write_kubeconfig(directory / "kubeconfig")
    conn = connect(str(kubeconfig), "kcrash-lab", "crashlab", False)
    return ClusterSource(conn, namespace=conn.namespace, metrics_interval=1.0, kubeconfig=str(kubeconfig))


def test_a_log_read_after_an_unseen_restart_is_not_kept(make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = make_lab(speed=60.0)
    source = _source(lab, tmp_path)
    recorder = Recorder(source, Archive(tmp_path / "archive.sqlite3"))  # never started: no watch
    (name,) = [p.name for p in source.api.list_pods("crashlab").items if p.name.startswith(POD_PREFIX)]
    seen = source.api.get_pod("crashlab", name)  # what a lagging watch still holds
    ended = next(e for e in ended_instances(seen) if e.place == "lastState")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the kubelet restarts it again behind the watch's back
        now = source.api.get_pod("crashlab", name)
        if all(e.container_id != ended.container_id for e in ended_instances(now)):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the lab never restarted the container")
    text, error, _ = recorder._read_log(seen, ended)
    assert (text, error) == ("", UNSURE)


def test_a_log_read_while_the_instance_stays_is_kept(make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = make_lab(speed=1.0)  # slow enough that no restart comes between the reads
    source = _source(lab, tmp_path)
    recorder = Recorder(source, Archive(tmp_path / "archive.sqlite3"))
    (name,) = [p.name for p in source.api.list_pods("crashlab").items if p.name.startswith(POD_PREFIX)]
    seen = source.api.get_pod("crashlab", name)
    ended = next(e for e in ended_instances(seen) if e.place == "lastState")
    text, error, _ = recorder._read_log(seen, ended)
    assert error == "" and "DATABASE_URL" in text
