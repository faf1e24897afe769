"""The SQLite archive: one row per container ID, newest first, pruned by age and size, shared by
several writers, and settings read from the user's config file."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kcrash.history.archive import Archive, Identity, archive_path
from kcrash.history.crash import ArchivedEvent, Crash
from kcrash.history.settings import HistorySettings, SettingsError, load_settings

T0 = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)


def crash(
    n: int, pod: str = "api-7d9f-x2x4z", *, log: str = "", at: datetime = T0, workload: str = "api"
) -> Crash:
    return Crash(
        namespace="shop",
        pod=pod,
        container="api",
        container_id=f"containerd://{pod}-{n}",
        restart=n,
        exit_code=1,
        reason="Error",
        started_at=at + timedelta(minutes=n),
        finished_at=at + timedelta(minutes=n, seconds=30),
        workload=workload,
        log=log or f"starting\nFATAL: crash {n}",
        events=(ArchivedEvent("Warning", "BackOff", "Back-off restarting failed container", 4),),
        memory=((at, 1024 * n),),
        recorded_at=at + timedelta(minutes=n, seconds=31),
    )


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive.for_cluster(Identity("https://10.0.0.1:6443", "prod"), tmp_path)


def test_a_crash_is_kept_once_per_container_id_and_read_back_whole(archive: Archive) -> None:
    assert archive.add(crash(3))
    assert not archive.add(crash(3))  # a second recorder saw it too
    [listed] = archive.crashes(namespace="shop", pod="api-7d9f-x2x4z")
    assert listed.dying_words == "FATAL: crash 3"
    whole = archive.crash(listed.id)
    assert whole is not None
    assert whole.log == "starting\nFATAL: crash 3"
    assert whole.events[0].reason == "BackOff" and whole.memory == ((T0, 3072),)
    assert whole.finished_at == T0 + timedelta(minutes=3, seconds=30)


def test_crashes_come_newest_first_with_those_of_the_workloads_earlier_pods(archive: Archive) -> None:
    for n in (1, 2):
        archive.add(crash(n, pod="api-old-aaaaa"))
    archive.add(crash(5, pod="api-7d9f-x2x4z"))
    archive.add(crash(9, pod="web-1-bbbbb", workload="web"))
    own = archive.crashes(namespace="shop", pod="api-7d9f-x2x4z")
    assert [c.restart for c in own] == [5]
    family = archive.crashes(namespace="shop", pod="api-7d9f-x2x4z", workload="api")
    assert [(c.pod, c.restart) for c in family] == [
        ("api-7d9f-x2x4z", 5),
        ("api-old-aaaaa", 2),
        ("api-old-aaaaa", 1),
    ]


def test_pruning_drops_what_is_too_old_then_the_oldest_over_the_size_budget(archive: Archive) -> None:
    for n in range(10):
        archive.add(crash(n, log="x" * 10_000))
    dropped = archive.prune(now=T0 + timedelta(minutes=3), max_age_seconds=60, max_bytes=10**9)
    assert dropped == 2  # finished 09:00:30 and 09:01:30 are older than 09:02
    assert archive.prune(now=T0, max_age_seconds=10**9, max_bytes=45_000) == 4
    assert [c.restart for c in archive.crashes()] == [9, 8, 7, 6]


def test_memory_samples_are_kept_once_and_read_by_time(archive: Archive) -> None:
    rows = [("shop", "api", "api", T0 + timedelta(seconds=15 * i), 100 + i) for i in range(4)]
    assert archive.add_memory(rows) == 4
    assert archive.add_memory(rows[:2]) == 0
    assert archive.memory("shop", "api", "api", since=T0 + timedelta(seconds=20)) == [
        (T0 + timedelta(seconds=30), 102),
        (T0 + timedelta(seconds=45), 103),
    ]


def _write_many(path: str, offset: int) -> None:
    archive = Archive(Path(path))
    for n in range(offset, offset + 50):
        archive.add(crash(n))
    archive.close()


def test_several_processes_write_one_archive_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    Archive(path).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_many, args=(str(path), offset)) for offset in (0, 25, 50)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert Archive(path).count() == 100  # 0..99, the overlaps stored once


def test_one_file_per_cluster_identity_under_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    one = archive_path(Identity("https://a:6443", "prod"))
    assert one.parent == tmp_path / "kcrash" / "archive"
    assert one.name.startswith("prod-")
    assert one != archive_path(Identity("https://b:6443", "prod"))
    assert one != archive_path(Identity("https://a:6443", "staging"))


def test_settings_come_from_the_config_file_and_bad_values_are_named(tmp_path: Path) -> None:
    path = tmp_path / "history.toml"
    assert load_settings(path) == HistorySettings()
    path.write_text("max_age_days = 3\nredact = ['card=(?P<value>\\d+)']\n")
    settings = load_settings(path)
    assert settings.max_age_seconds == 3 * 86400
    assert "card=[redacted]" in settings.redactor().line("card=4111")
    path.write_text("max_age = 3\n")
    with pytest.raises(SettingsError, match="unknown key 'max_age'"):
        load_settings(path)
    path.write_text("redact = ['(']\n")
    with pytest.raises(SettingsError, match="not a regular expression"):
        load_settings(path)


def test_an_archive_of_another_format_is_refused_in_one_line_with_the_fix(tmp_path: Path) -> None:
    from kcrash.history.archive import ArchiveError

    path = tmp_path / "old.sqlite3"
    Archive(path).close()
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    with pytest.raises(ArchiveError, match=r"holds archive format 0.*move the file aside"):
        Archive(path)
