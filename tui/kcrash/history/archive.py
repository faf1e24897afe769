"""The crash archive: one SQLite database per cluster, shared by every kcrash that watches it.

Where: `<user data dir>/kcrash/archive/<context>-<hash>.sqlite3` (platformdirs; on Linux
`$XDG_DATA_HOME/kcrash`, by default `~/.local/share/kcrash`), the hash taken over the server URL
and the context name, so two contexts of one server, or one name on two servers, never mix.

Several processes write at once (a console and `kcrash record`, say): the database is in WAL mode,
so readers never wait for the writer, and every connection waits up to `BUSY_MS` for another's
write lock rather than failing. A crash is stored once, by container ID (`INSERT OR IGNORE`): two
recorders that both saw it keep the first one's copy. Everything written here was redacted
by the caller; nothing here reads the cluster.

Bounded: `prune` deletes crashes older than the retention and then the oldest until the archive's
content fits its byte budget, and memory samples older than the retention.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from kcrash.history.crash import ArchivedEvent, Crash

BUSY_MS = 10_000
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS crashes (
    id INTEGER PRIMARY KEY,
    container_id TEXT NOT NULL UNIQUE,
    namespace TEXT NOT NULL,
    pod TEXT NOT NULL,
    pod_uid TEXT NOT NULL DEFAULT '',
    container TEXT NOT NULL,
    init INTEGER NOT NULL DEFAULT 0,
    restart INTEGER NOT NULL,
    exit_code INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    signal INTEGER,
    message TEXT NOT NULL DEFAULT '',
    started_at REAL,
    finished_at REAL,
    owner_kind TEXT NOT NULL DEFAULT '',
    owner_name TEXT NOT NULL DEFAULT '',
    workload TEXT NOT NULL DEFAULT '',
    revision TEXT NOT NULL DEFAULT '',
    image TEXT NOT NULL DEFAULT '',
    node TEXT NOT NULL DEFAULT '',
    log TEXT NOT NULL DEFAULT '',
    log_error TEXT NOT NULL DEFAULT '',
    log_truncated INTEGER NOT NULL DEFAULT 0,
    events BLOB NOT NULL DEFAULT '[]',
    memory BLOB NOT NULL DEFAULT '[]',
    recorded_at REAL NOT NULL,
    at REAL NOT NULL,
    dying TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS crashes_by_pod ON crashes (namespace, pod, at);
CREATE INDEX IF NOT EXISTS crashes_by_workload ON crashes (namespace, workload, at);
CREATE INDEX IF NOT EXISTS crashes_by_namespace ON crashes (namespace, at);
CREATE INDEX IF NOT EXISTS crashes_by_time ON crashes (at);
CREATE TABLE IF NOT EXISTS memory (
    namespace TEXT NOT NULL,
    pod TEXT NOT NULL,
    container TEXT NOT NULL,
    at REAL NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (namespace, pod, container, at)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memory_by_time ON memory (at);
"""
_COLUMNS = (
    "id, container_id, namespace, pod, pod_uid, container, init, restart, exit_code, reason, signal, "
    "message, started_at, finished_at, owner_kind, owner_name, workload, revision, image, node, log, "
    "log_error, log_truncated, events, memory, recorded_at, dying"
)
_SUMMARY_COLUMNS = _COLUMNS.replace(" log,", " '',")
"""A listing needs only the dying words (a column of their own), not the log."""


class ArchiveError(Exception):
    """The archive cannot be opened or written (one line, with the path)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Which cluster an archive belongs to."""

    server: str
    context: str

    @property
    def file_name(self) -> str:
        digest = hashlib.sha256(f"{self.server}\n{self.context}".encode()).hexdigest()[:12]
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", self.context)[:40].strip("._") or "cluster"
        return f"{slug}-{digest}.sqlite3"


def data_dir() -> Path:
    """kcrash's data directory (honours $XDG_DATA_HOME on Linux)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("kcrash", appauthor=False))


def archive_path(identity: Identity, root: Path | None = None) -> Path:
    return (root or data_dir()) / "archive" / identity.file_name


def _ts(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class Archive:
    """One cluster's archive. Thread-safe: one connection, used under a lock."""

    def __init__(self, path: Path, identity: Identity | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.touch(mode=0o600, exist_ok=True)  # crash logs are nobody else's to read
            self._db = sqlite3.connect(
                path, timeout=BUSY_MS / 1000, check_same_thread=False, isolation_level=None
            )
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            with self._write() as db:
                _check_format(db, path)
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                )
                if identity is not None:
                    db.executemany(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                        (("server", identity.server), ("context", identity.context)),
                    )
        except ArchiveError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise ArchiveError(f"cannot open the crash archive {path}: {exc}") from None

    @classmethod
    def for_cluster(cls, identity: Identity, root: Path | None = None) -> Archive:
        return cls(archive_path(identity, root), identity)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that takes the write lock at once (no upgrade deadlock between writers)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- writing -------------------------------------------------------------------------------
    def has(self, container_id: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM crashes WHERE container_id = ?", (container_id,)).fetchone()
        return row is not None

    def known_ids(self, container_ids: Iterable[str]) -> set[str]:
        """Which of these container IDs are archived already."""
        ids = list(container_ids)
        found: set[str] = set()
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT container_id FROM crashes WHERE container_id IN ({marks})", chunk
                )
                found.update(row[0] for row in rows)
        return found

    def add(self, crash: Crash) -> bool:
        """Store a crash; False when its container ID was stored already."""
        events = orjson.dumps([_event_json(event) for event in crash.events])
        memory = orjson.dumps([[at.timestamp(), used] for at, used in crash.memory])
        size = len(crash.log.encode()) + len(events) + len(memory) + len(crash.message) + 256
        recorded = crash.recorded_at or datetime.now(UTC)
        try:
            with self._write() as db:
                cursor = db.execute(
                    f"INSERT OR IGNORE INTO crashes ({_COLUMNS.removeprefix('id, ')}, at, size) "
                    f"VALUES ({','.join('?' * 28)})",
                    (
                        crash.container_id,
                        crash.namespace,
                        crash.pod,
                        crash.pod_uid,
                        crash.container,
                        int(crash.init),
                        crash.restart,
                        crash.exit_code,
                        crash.reason,
                        crash.signal,
                        crash.message,
                        _ts(crash.started_at),
                        _ts(crash.finished_at),
                        crash.owner_kind,
                        crash.owner_name,
                        crash.workload,
                        crash.revision,
                        crash.image,
                        crash.node,
                        crash.log,
                        crash.log_error,
                        int(crash.log_truncated),
                        events,
                        memory,
                        recorded.timestamp(),
                        crash.dying_words,
                        (crash.finished_at or recorded).timestamp(),
                        size,
                    ),
                )
                return cursor.rowcount > 0
        except sqlite3.Error as exc:
            raise ArchiveError(f"cannot write the crash archive {self.path}: {exc}") from None

    def add_memory(self, samples: Iterable[tuple[str, str, str, datetime, int]]) -> int:
        """Store memory samples (namespace, pod, container, at, bytes); repeats are ignored."""
        rows = [(ns, pod, container, at.timestamp(), used) for ns, pod, container, at, used in samples]
        if not rows:
            return 0
        try:
            with self._write() as db:
                cursor = db.executemany("INSERT OR IGNORE INTO memory VALUES (?, ?, ?, ?, ?)", rows)
                return max(0, cursor.rowcount)
        except sqlite3.Error as exc:
            raise ArchiveError(f"cannot write the crash archive {self.path}: {exc}") from None

    def prune(self, *, now: datetime, max_age_seconds: float, max_bytes: int) -> int:
        """Drop crashes and samples past the retention, then the oldest crashes over the byte budget."""
        cutoff = now.timestamp() - max_age_seconds
        with self._write() as db:
            dropped = db.execute("DELETE FROM crashes WHERE at < ?", (cutoff,)).rowcount
            db.execute("DELETE FROM memory WHERE at < ?", (cutoff,))
            total = db.execute("SELECT coalesce(sum(size), 0) FROM crashes").fetchone()[0]
            if total > max_bytes:
                excess = total - max_bytes
                rows = db.execute("SELECT id, size FROM crashes ORDER BY at, id").fetchall()
                doomed: list[int] = []
                for row_id, size in rows:
                    if excess <= 0:
                        break
                    doomed.append(row_id)
                    excess -= size
                db.executemany("DELETE FROM crashes WHERE id = ?", ((row_id,) for row_id in doomed))
                dropped += len(doomed)
        return dropped

    # -- reading -------------------------------------------------------------------------------
    def crashes(
        self,
        *,
        namespace: str | None = None,
        pod: str | None = None,
        workload: str | None = None,
        limit: int = 500,
        with_log: bool = False,
    ) -> list[Crash]:
        """Crashes, newest first: of one pod, or of one pod and every pod of the same workload."""
        where: list[str] = []
        args: list[object] = []
        if namespace is not None:
            where.append("namespace = ?")
            args.append(namespace)
        if pod is not None and workload:
            where.append("(pod = ? OR workload = ?)")
            args += [pod, workload]
        elif pod is not None:
            where.append("pod = ?")
            args.append(pod)
        elif workload:
            where.append("workload = ?")
            args.append(workload)
        sql = (
            f"SELECT {_COLUMNS if with_log else _SUMMARY_COLUMNS} FROM crashes"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY at DESC, id DESC LIMIT ?"
        )
        with self._lock:
            rows = self._db.execute(sql, (*args, limit)).fetchall()
        return [_crash(row) for row in rows]

    def crash(self, crash_id: int) -> Crash | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM crashes WHERE id = ?", (crash_id,)).fetchone()
        return _crash(row) if row else None

    def memory(self, namespace: str, pod: str, container: str, since: datetime) -> list[tuple[datetime, int]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at, bytes FROM memory WHERE namespace = ? AND pod = ? AND container = ? AND at >= ? "
                "ORDER BY at",
                (namespace, pod, container, since.timestamp()),
            ).fetchall()
        return [(datetime.fromtimestamp(at, UTC), used) for at, used in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM crashes").fetchone()[0])


def _check_format(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a file in another archive format, in one line with the fix."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
        return
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if row is not None and row[0] != str(SCHEMA_VERSION):
        raise ArchiveError(
            f"{path} holds archive format {row[0]}, this kcrash reads format {SCHEMA_VERSION}: "
            "move the file aside and kcrash starts a new archive"
        )


def _event_json(event: ArchivedEvent) -> dict[str, object]:
    return {
        "type": event.type,
        "reason": event.reason,
        "message": event.message,
        "count": event.count,
        "last_seen": event.last_seen,
    }


def _crash(row: tuple[object, ...]) -> Crash:
    (row_id, container_id, namespace, pod, pod_uid, container, init, restart, exit_code, reason, signal,
     message, started, finished, owner_kind, owner_name, workload, revision, image, node, log, log_error,
     truncated, events, memory, recorded, dying) = row  # fmt: skip
    return Crash(
        id=int(row_id),  # type: ignore[call-overload]
        container_id=str(container_id),
        namespace=str(namespace),
        pod=str(pod),
        pod_uid=str(pod_uid),
        container=str(container),
        init=bool(init),
        restart=int(restart),  # type: ignore[call-overload]
        exit_code=exit_code if isinstance(exit_code, int) else None,
        reason=str(reason),
        signal=signal if isinstance(signal, int) else None,
        message=str(message),
        started_at=_dt(started if isinstance(started, float) else None),
        finished_at=_dt(finished if isinstance(finished, float) else None),
        owner_kind=str(owner_kind),
        owner_name=str(owner_name),
        workload=str(workload),
        revision=str(revision),
        image=str(image),
        node=str(node),
        log=str(log),
        log_error=str(log_error),
        log_truncated=bool(truncated),
        events=tuple(ArchivedEvent(**item) for item in orjson.loads(events)),  # type: ignore[arg-type]
        memory=tuple(
            (datetime.fromtimestamp(at, UTC), int(used))
            for at, used in orjson.loads(memory)  # type: ignore[arg-type]
        ),
        recorded_at=_dt(recorded if isinstance(recorded, float) else None),
        words=str(dying),
    )
