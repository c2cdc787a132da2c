"""The local Hub's state: one SQLite file (``DIR/hub.sqlite3``) and one blob per upload.

Every write runs in its own ``BEGIN IMMEDIATE`` transaction on a fresh connection, so that
decisions such as "this protected tag was never pushed" and the insert that records it are
atomic, whatever the number of threads (or processes) pushing at once. The unique keys of the
schema are the backstop: a second row for one protected tag can't exist.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localhub.ids import now_iso

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executors (
    uuid        TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    owner       TEXT,
    secret_hash TEXT,
    visibility  TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS commits (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    executor_uuid   TEXT NOT NULL REFERENCES executors(uuid),
    tags            TEXT NOT NULL,
    protected_tags  TEXT NOT NULL,
    build_env_names TEXT NOT NULL,
    build_env       TEXT,
    dockerfile      TEXT,
    platform        TEXT,
    no_cache        INTEGER NOT NULL DEFAULT 0,
    md5sum          TEXT NOT NULL,
    blob            TEXT NOT NULL,
    size            INTEGER NOT NULL,
    pusher          TEXT,
    status          TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS protected_tags (
    executor_uuid TEXT NOT NULL REFERENCES executors(uuid),
    tag           TEXT NOT NULL,
    commit_id     TEXT NOT NULL REFERENCES commits(id),
    created_at    TEXT NOT NULL,
    PRIMARY KEY (executor_uuid, tag)
);
CREATE TABLE IF NOT EXISTS tags (
    executor_uuid TEXT NOT NULL REFERENCES executors(uuid),
    tag           TEXT NOT NULL,
    commit_id     TEXT NOT NULL REFERENCES commits(id),
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (executor_uuid, tag)
);
CREATE TABLE IF NOT EXISTS tasks (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    executor_uuid TEXT NOT NULL REFERENCES executors(uuid),
    commit_id     TEXT NOT NULL REFERENCES commits(id),
    status        TEXT NOT NULL
                  CHECK (status IN ('pending', 'waiting', 'succeeded', 'failed')),
    reason        TEXT,
    reason_code   INTEGER,
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    finished_at   TEXT
);
CREATE INDEX IF NOT EXISTS tasks_by_executor ON tasks (executor_uuid, seq);
CREATE TABLE IF NOT EXISTS task_logs (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    sn      INTEGER NOT NULL,
    dt      INTEGER NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (task_id, sn)
);
"""

#: Task states on the wire (and in the store): queued, building, and the two ends.
PENDING = "pending"
WAITING = "waiting"
SUCCEEDED = "succeeded"
FAILED = "failed"
FINISHED = (SUCCEEDED, FAILED)


#: What ``os.link`` fails with on a file system without hard links (some FUSE, SMB, FAT).
_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV}
)


@dataclass(frozen=True)
class StoredExecutor:
    """One executor: its ids, owner (None when pushed without a token) and visibility."""

    uuid: str
    name: str
    owner: str | None
    secret_hash: str | None
    visibility: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Commit:
    """One accepted push of an executor."""

    id: str
    executor_uuid: str
    tags: tuple[str, ...]
    protected_tags: tuple[str, ...]
    build_env_names: tuple[str, ...]
    build_env: dict[str, str] | None
    dockerfile: str | None
    platform: str | None
    no_cache: bool
    md5sum: str
    blob: str
    size: int
    pusher: str | None
    status: str
    created_at: str


@dataclass(frozen=True)
class Task:
    """One build task."""

    id: str
    executor_uuid: str
    commit_id: str
    status: str
    reason: str | None
    reason_code: int | None
    attempts: int
    created_at: str
    started_at: str | None
    finished_at: str | None


@dataclass(frozen=True)
class LogLine:
    """One line of a build log."""

    sn: int
    dt: int
    subject: str
    payload: str


def _executor(row: sqlite3.Row) -> StoredExecutor:
    return StoredExecutor(
        uuid=row["uuid"],
        name=row["name"],
        owner=row["owner"],
        secret_hash=row["secret_hash"],
        visibility=row["visibility"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _commit(row: sqlite3.Row) -> Commit:
    build_env = json.loads(row["build_env"]) if row["build_env"] is not None else None
    return Commit(
        id=row["id"],
        executor_uuid=row["executor_uuid"],
        tags=tuple(json.loads(row["tags"])),
        protected_tags=tuple(json.loads(row["protected_tags"])),
        build_env_names=tuple(json.loads(row["build_env_names"])),
        build_env=build_env,
        dockerfile=row["dockerfile"],
        platform=row["platform"],
        no_cache=bool(row["no_cache"]),
        md5sum=row["md5sum"],
        blob=row["blob"],
        size=row["size"],
        pusher=row["pusher"],
        status=row["status"],
        created_at=row["created_at"],
    )


def _task(row: sqlite3.Row) -> Task:
    return Task(
        id=row["id"],
        executor_uuid=row["executor_uuid"],
        commit_id=row["commit_id"],
        status=row["status"],
        reason=row["reason"],
        reason_code=row["reason_code"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


class Tx:
    """Queries and writes on one open connection (inside a transaction when writing)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _one(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._conn.execute(sql, params).fetchone()
        return row

    # executors -------------------------------------------------------------------------
    def executor_by_name(self, name: str) -> StoredExecutor | None:
        row = self._one("SELECT * FROM executors WHERE name = ?", (name,))
        return _executor(row) if row else None

    def executor_by_uuid(self, uuid: str) -> StoredExecutor | None:
        row = self._one("SELECT * FROM executors WHERE uuid = ?", (uuid,))
        return _executor(row) if row else None

    def executor_by_id(self, ident: str) -> StoredExecutor | None:
        """By name first, then by UUID8 (names and UUID8s are both accepted as `id`)."""
        return self.executor_by_name(ident) or self.executor_by_uuid(ident)

    def insert_executor(self, executor: StoredExecutor) -> None:
        self._conn.execute(
            "INSERT INTO executors (uuid, name, owner, secret_hash, visibility, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                executor.uuid,
                executor.name,
                executor.owner,
                executor.secret_hash,
                executor.visibility,
                executor.created_at,
                executor.updated_at,
            ),
        )

    def update_executor(self, uuid: str, *, visibility: str, updated_at: str) -> None:
        self._conn.execute(
            "UPDATE executors SET visibility = ?, updated_at = ? WHERE uuid = ?",
            (visibility, updated_at, uuid),
        )

    def uuid_taken(self, uuid: str) -> bool:
        return self._one("SELECT 1 FROM executors WHERE uuid = ?", (uuid,)) is not None

    # commits and tags --------------------------------------------------------------------
    def insert_commit(self, commit: Commit) -> None:
        self._conn.execute(
            "INSERT INTO commits (id, executor_uuid, tags, protected_tags, build_env_names,"
            " build_env, dockerfile, platform, no_cache, md5sum, blob, size, pusher, status,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                commit.id,
                commit.executor_uuid,
                json.dumps(list(commit.tags)),
                json.dumps(list(commit.protected_tags)),
                json.dumps(list(commit.build_env_names)),
                json.dumps(commit.build_env) if commit.build_env is not None else None,
                commit.dockerfile,
                commit.platform,
                int(commit.no_cache),
                commit.md5sum,
                commit.blob,
                commit.size,
                commit.pusher,
                commit.status,
                commit.created_at,
            ),
        )

    def commit(self, commit_id: str) -> Commit | None:
        row = self._one("SELECT * FROM commits WHERE id = ?", (commit_id,))
        return _commit(row) if row else None

    def latest_commit(self, executor_uuid: str, *, status: str | None = None) -> Commit | None:
        if status is None:
            row = self._one(
                "SELECT * FROM commits WHERE executor_uuid = ? ORDER BY seq DESC LIMIT 1",
                (executor_uuid,),
            )
        else:
            row = self._one(
                "SELECT * FROM commits WHERE executor_uuid = ? AND status = ?"
                " ORDER BY seq DESC LIMIT 1",
                (executor_uuid, status),
            )
        return _commit(row) if row else None

    def finish_commit(self, commit_id: str, status: str) -> None:
        """Record the build result and forget the build-env values (their names stay)."""
        self._conn.execute(
            "UPDATE commits SET status = ?, build_env = NULL WHERE id = ?", (status, commit_id)
        )

    def protected_tags(self, executor_uuid: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT tag FROM protected_tags WHERE executor_uuid = ? ORDER BY created_at, tag",
            (executor_uuid,),
        ).fetchall()
        return [row["tag"] for row in rows]

    def insert_protected_tag(self, executor_uuid: str, tag: str, commit_id: str) -> None:
        """Raises ``sqlite3.IntegrityError`` if the tag was already pushed."""
        self._conn.execute(
            "INSERT INTO protected_tags (executor_uuid, tag, commit_id, created_at)"
            " VALUES (?, ?, ?, ?)",
            (executor_uuid, tag, commit_id, now_iso()),
        )

    def release_protected_tags(self, commit_id: str) -> None:
        """Free the protected tags a commit reserved (its build failed): pushable again."""
        self._conn.execute("DELETE FROM protected_tags WHERE commit_id = ?", (commit_id,))

    def tags(self, executor_uuid: str) -> dict[str, str]:
        """Tag -> commit id, for every tag that points at a built commit."""
        rows = self._conn.execute(
            "SELECT tag, commit_id FROM tags WHERE executor_uuid = ? ORDER BY updated_at, tag",
            (executor_uuid,),
        ).fetchall()
        return {row["tag"]: row["commit_id"] for row in rows}

    def point_tags(self, executor_uuid: str, tags: tuple[str, ...], commit_id: str) -> None:
        """Point ``tags`` at a built commit, unless a newer commit already holds a tag."""
        now = now_iso()
        for tag in tags:
            self._conn.execute(
                "INSERT INTO tags (executor_uuid, tag, commit_id, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (executor_uuid, tag) DO UPDATE SET commit_id = excluded.commit_id,"
                " updated_at = excluded.updated_at"
                " WHERE (SELECT seq FROM commits WHERE id = excluded.commit_id)"
                " > (SELECT seq FROM commits WHERE id = tags.commit_id)",
                (executor_uuid, tag, commit_id, now),
            )

    # tasks ---------------------------------------------------------------------------------
    def insert_task(self, task: Task) -> None:
        self._conn.execute(
            "INSERT INTO tasks (id, executor_uuid, commit_id, status, reason, reason_code,"
            " attempts, created_at, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                task.id,
                task.executor_uuid,
                task.commit_id,
                task.status,
                task.reason,
                task.reason_code,
                task.attempts,
                task.created_at,
                task.started_at,
                task.finished_at,
            ),
        )

    def task(self, task_id: str) -> Task | None:
        row = self._one("SELECT * FROM tasks WHERE id = ?", (task_id,))
        return _task(row) if row else None

    def tasks_of(self, executor_uuid: str, *, newest_first: bool, limit: int) -> list[Task]:
        order = "DESC" if newest_first else "ASC"
        rows = self._conn.execute(
            f"SELECT * FROM tasks WHERE executor_uuid = ? ORDER BY seq {order} LIMIT ?",  # noqa: S608
            (executor_uuid, limit),
        ).fetchall()
        return [_task(row) for row in rows]

    def unfinished_tasks(self) -> list[Task]:
        rows = self._conn.execute(
            "SELECT * FROM tasks WHERE status IN (?, ?) ORDER BY seq", (PENDING, WAITING)
        ).fetchall()
        return [_task(row) for row in rows]

    def start_task(self, task_id: str) -> None:
        self._conn.execute(
            "UPDATE tasks SET status = ?, started_at = ?, attempts = attempts + 1 WHERE id = ?",
            (WAITING, now_iso(), task_id),
        )

    def requeue_task(self, task_id: str) -> None:
        self._conn.execute("UPDATE tasks SET status = ? WHERE id = ?", (PENDING, task_id))

    def finish_task(
        self, task_id: str, status: str, reason: str | None, reason_code: int | None
    ) -> None:
        self._conn.execute(
            "UPDATE tasks SET status = ?, reason = ?, reason_code = ?, finished_at = ?"
            " WHERE id = ?",
            (status, reason, reason_code, now_iso(), task_id),
        )

    # build logs ------------------------------------------------------------------------------
    def append_log(self, task_id: str, dt: int, subject: str, payload: str) -> int:
        row = self._one(
            "SELECT COALESCE(MAX(sn), 0) AS sn FROM task_logs WHERE task_id = ?", (task_id,)
        )
        sn = int(row["sn"] if row else 0) + 1
        self._conn.execute(
            "INSERT INTO task_logs (task_id, sn, dt, subject, payload) VALUES (?, ?, ?, ?, ?)",
            (task_id, sn, dt, subject, payload),
        )
        return sn

    def logs(self, task_id: str, *, after_sn: int = 0) -> list[LogLine]:
        rows = self._conn.execute(
            "SELECT sn, dt, subject, payload FROM task_logs WHERE task_id = ? AND sn > ?"
            " ORDER BY sn",
            (task_id, after_sn),
        ).fetchall()
        return [LogLine(row["sn"], row["dt"], row["subject"], row["payload"]) for row in rows]

    def last_sn(self, task_id: str) -> int:
        row = self._one(
            "SELECT COALESCE(MAX(sn), 0) AS sn FROM task_logs WHERE task_id = ?", (task_id,)
        )
        return int(row["sn"]) if row else 0


class Store:
    """The SQLite database and the blob folder under one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.db_path = data_dir / "hub.sqlite3"
        self.blobs_dir = data_dir / "blobs"
        self.uploads_dir = data_dir / "uploads"
        self.work_dir = data_dir / "work"
        for folder in (self.data_dir, self.blobs_dir, self.uploads_dir, self.work_dir):
            folder.mkdir(parents=True, exist_ok=True)
        # Leftovers of a previous run that stopped mid-upload or mid-build.
        for stale in self.uploads_dir.glob("upload-*"):
            stale.unlink(missing_ok=True)
        for stale in self.work_dir.iterdir():
            shutil.rmtree(stale, ignore_errors=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=60.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 60000")
        return conn

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[Tx]:
        conn = self._connect()
        try:
            conn.execute(begin)
            yield Tx(conn)
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()

    def read(self) -> AbstractContextManager[Tx]:
        """A consistent read (one deferred transaction)."""
        return self._transaction("BEGIN")

    def write(self) -> AbstractContextManager[Tx]:
        """One atomic write: ``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception."""
        return self._transaction("BEGIN IMMEDIATE")

    # blobs -----------------------------------------------------------------------------------
    def blob_path(self, blob: str) -> Path:
        return self.blobs_dir / blob

    def keep_upload(self, upload: Path, md5: str) -> str:
        """Move an upload (a link, no copy) into the blob folder; return its blob key.

        Each upload is its own blob, ``md5/AB/MD5-RANDOM.zip``: named by the protocol's
        checksum (the push's ``md5sum``; its build checks it), but never shared by two uploads, so
        an MD5 collision can't swap one executor's archive for another's. (Blobs of earlier
        versions, keyed ``sha256/…``, stay readable: a key is just a path under ``blobs/``.)
        """
        folder = self.blobs_dir / "md5" / md5[:2]
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            key = f"md5/{md5[:2]}/{md5}-{secrets.token_hex(8)}.zip"
            target = self.blob_path(key)
            try:  # a new name, claimed atomically: a link fails if the name is taken
                os.link(upload, target)
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in _NO_HARD_LINKS:
                    raise
                # A file system without hard links: claim the name, then rename onto it.
                try:
                    target.touch(exist_ok=False)
                except FileExistsError:
                    continue
                upload.replace(target)
                return key
            # Not a rename onto a claimed name: on ext4 that writes the whole upload out to
            # disk before it returns (auto_da_alloc), which held the push's answer ~0.5 s/GiB.
            upload.unlink()
            return key
