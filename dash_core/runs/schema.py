"""The run store's database: schema, migrations, connections and store faults.

The database is one SQLite file (``runs.sqlite``, WAL mode, safe across
processes). Its version is SQLite's ``PRAGMA user_version``; :func:`migrate`
brings any older store up to :data:`SCHEMA_VERSION` in place:

1. runs, progress log and text log;
2. workspaces (who owns a run), read-only share links, the ``stale`` flag of a
   run failed for silence (so that it can still complete), the job's process
   group and the job's fingerprint (kind + parameters + data, to refuse
   launching the same job twice).

Every database error is turned into a :class:`StoreError` that names the
fault (read-only disk, corrupt file, full disk, locked) and what to do, so no
caller ever shows a raw ``sqlite3`` traceback.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dash_core.io.errors import DashInputError

__all__ = ["HOME_ENV", "WORKSPACE_ENV", "SCHEMA_VERSION", "StoreError", "connect", "migrate", "store_fault"]

#: Environment variable naming the store's home folder.
HOME_ENV = "DASH_STUDIO_HOME"
#: Environment variable pinning one workspace for every visitor and every run created without an owner
#: (a personal, single-user installation; tests). Unset on a shared server.
WORKSPACE_ENV = "DASH_STUDIO_WORKSPACE"
#: Version written to ``PRAGMA user_version`` by :func:`migrate`.
SCHEMA_VERSION = 2

_V1 = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    params TEXT NOT NULL DEFAULT '{}',
    dataset_dir TEXT,
    artifact_dir TEXT,
    parent_id TEXT,
    pid INTEGER,
    pid_start TEXT,
    heartbeat REAL,
    fraction REAL,
    message TEXT NOT NULL DEFAULT '',
    summary TEXT,
    error TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created);
CREATE INDEX IF NOT EXISTS runs_parent ON runs (parent_id);
CREATE TABLE IF NOT EXISTS progress (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    time REAL NOT NULL,
    fraction REAL,
    message TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS progress_run ON progress (run_id, seq);
CREATE TABLE IF NOT EXISTS logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    time REAL NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_run ON logs (run_id, seq);
"""

_V2_TABLES = """
CREATE TABLE IF NOT EXISTS workspaces (
    workspace_id TEXT PRIMARY KEY,
    token_hash TEXT UNIQUE,
    owner TEXT UNIQUE,
    created REAL NOT NULL,
    last_seen REAL
);
CREATE TABLE IF NOT EXISTS shares (
    token_hash TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS shares_run ON shares (run_id);
"""

#: Columns added to ``runs`` by version 2: name -> SQL type.
_V2_RUN_COLUMNS = {"workspace_id": "TEXT", "stale": "INTEGER NOT NULL DEFAULT 0", "pgid": "INTEGER",
                   "fingerprint": "TEXT"}


class StoreError(DashInputError):
    """The run store cannot be used as it is (read-only disk, corrupt database, full disk, locked).

    Attributes
    ----------
    kind
        ``"read_only"``, ``"corrupt"``, ``"full"``, ``"busy"`` or ``"other"``.
    home
        The store's folder.
    """

    def __init__(self, message: str, *, kind: str, home: Path) -> None:
        super().__init__(message)
        self.kind = kind
        self.home = Path(home)


def store_fault(exc: BaseException, home: str | os.PathLike) -> StoreError:
    """The :class:`StoreError` (kind and user-facing message with a way forward) for a database error."""
    home = Path(home)
    text = str(exc).lower()
    db = home / "runs.sqlite"
    if "readonly" in text or "read-only" in text or (
            "unable to open" in text and db.exists() and not os.access(home, os.W_OK)):
        return StoreError(
            f"The run store at {home} is on a read-only disk or folder, so new runs cannot be saved. You can open "
            f"it read-only to browse and download the runs it holds, or set {HOME_ENV} to a writable folder and "
            "restart the app.", kind="read_only", home=home)
    if "not a database" in text or "malformed" in text or "corrupt" in text or "file is encrypted" in text:
        return StoreError(
            f"The run database {db} is damaged ({exc}). Back it up and start a new one: the damaged file is kept "
            "as runs.sqlite.damaged-<time> and the runs' result folders stay on disk.", kind="corrupt", home=home)
    if "full" in text or "no space" in text:
        return StoreError(
            f"The disk holding the run store at {home} is full, so nothing can be saved. Free some space (for "
            "example delete old runs or uploads), then retry; until then the store can be opened read-only.",
            kind="full", home=home)
    if "locked" in text or "busy" in text:
        return StoreError(
            f"The run database {db} is busy (another process holds a lock for too long). Wait a moment and retry.",
            kind="busy", home=home)
    return StoreError(f"The run database {db} cannot be used: {exc}.", kind="other", home=home)


@contextmanager
def connect(db_path: Path, *, read_only: bool = False, busy_seconds: float = 30.0) -> Iterator[sqlite3.Connection]:
    """A short-lived connection (autocommit, WAL, 30 s busy timeout); database errors become :class:`StoreError`.

    With ``read_only`` the file is opened as immutable (works on a read-only disk,
    sees a consistent snapshot). ``busy_seconds`` is how long a write waits for another
    process's lock before giving up (:class:`StoreError` of kind ``"busy"``).
    """
    home = db_path.parent
    try:
        if read_only:
            con = sqlite3.connect(f"file:{db_path}?mode=ro&immutable=1", uri=True, timeout=busy_seconds,
                                  isolation_level=None)
        else:
            con = sqlite3.connect(db_path, timeout=busy_seconds, isolation_level=None)
    except sqlite3.Error as exc:
        raise store_fault(exc, home) from None
    try:
        con.row_factory = sqlite3.Row
        if not read_only:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
        con.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        yield con
    except sqlite3.Error as exc:
        raise store_fault(exc, home) from None
    finally:
        con.close()


def columns(con: sqlite3.Connection, table: str) -> set[str]:
    """Column names of ``table`` (empty if it does not exist)."""
    return {row[1] for row in con.execute(f"PRAGMA table_info({table})")}


def migrate(con: sqlite3.Connection) -> int:
    """Create the tables or upgrade an older store to :data:`SCHEMA_VERSION`; returns the version found.

    Each step is idempotent (a crash half-way leaves a store that the next call finishes).
    """
    found = int(con.execute("PRAGMA user_version").fetchone()[0])
    if found >= SCHEMA_VERSION:
        return found
    con.executescript(_V1)
    con.executescript(_V2_TABLES)
    have = columns(con, "runs")
    for name, sql_type in _V2_RUN_COLUMNS.items():
        if name not in have:
            con.execute(f"ALTER TABLE runs ADD COLUMN {name} {sql_type}")
    con.execute("CREATE INDEX IF NOT EXISTS runs_workspace ON runs (workspace_id, created)")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return found
