"""The run store: every run's record in an embedded SQLite database plus an artifact folder.

Layout under the store's home (``$DASH_STUDIO_HOME``, default ``~/.dash_studio``)::

    runs.sqlite                 run records, progress log, text log, workspaces (WAL mode, safe across processes)
    runs/<run_id>/              artifact folder of a run (metrics.json, edges.csv, model.pt, job.log, ...)
    runs/<run_id>/dataset/      the copy of the dataset the run was started on
    workspaces/<workspace_id>/  uploads and datasets of one workspace (see :mod:`dash_core.runs.workspaces`)

A run's ``status`` moves ``queued -> running -> completed | failed | cancelled``.
The process that runs a job records its PID and refreshes a heartbeat; whenever
a record is read, a ``queued``/``running`` run whose process is gone is turned
into ``failed`` with an explanatory error (and what is left of its process
group is stopped), so a crashed or killed job never shows as running forever.
A run that is merely silent (heartbeat older than ``stale_after``: a suspended
laptop, a paused process) is failed as *stale*; if its process later reports
again or finishes, the run becomes running / completed again.

Responsibilities are split: :mod:`~dash_core.runs.records` (statuses,
:class:`RunRecord`), :mod:`~dash_core.runs.schema` (database, migrations,
faults), :mod:`~dash_core.runs.workspaces` (owners, share links) and
:mod:`~dash_core.runs.datasets` (dataset folders); this module re-exports their
public names for convenience.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import shutil
import signal
import sqlite3
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from dash_core.io.errors import DashInputError
from dash_core.runs.datasets import (
    DATASET_MANIFEST,
    dataset_files,
    folder_digest,
    load_dataset_dir,
    read_manifest,
    save_dataset_dir,
    validation_lines,
)
from dash_core.runs.records import (
    ACTIVE_STATUSES,
    CANCELLED,
    COMPLETED,
    FAILED,
    FINAL_STATUSES,
    QUEUED,
    RUNNING,
    RunRecord,
    _dumps,
    _process_start_time,
    pid_alive,
    process_state,
)
from dash_core.runs.schema import HOME_ENV, WORKSPACE_ENV, StoreError, connect, migrate

__all__ = [
    "ACTIVE_STATUSES",
    "CANCELLED",
    "COMPLETED",
    "DATASET_MANIFEST",
    "FAILED",
    "QUEUED",
    "RUNNING",
    "RunRecord",
    "RunStore",
    "StoreError",
    "dataset_files",
    "default_home",
    "pinned_workspace",
    "folder_digest",
    "load_dataset_dir",
    "pid_alive",
    "read_manifest",
    "save_dataset_dir",
    "validation_lines",
]

_RUN_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")
_WORKSPACE_RE = re.compile(r"^[A-Za-z0-9_-]{8,80}$")
#: Fields of :class:`RunRecord` (columns of ``runs`` that are not part of a record are dropped).
_RECORD_FIELDS = set(RunRecord.__dataclass_fields__)


def pinned_workspace() -> str | None:
    """The workspace named by ``$DASH_STUDIO_WORKSPACE`` (single-user installations), or None."""
    value = os.environ.get(WORKSPACE_ENV, "").strip()
    if value and not _WORKSPACE_RE.match(value):
        raise DashInputError(f"{WORKSPACE_ENV}={value!r} is not a valid workspace id: use 8-80 letters, digits, "
                             "'-' or '_'.")
    return value or None


def default_home() -> Path:
    """``$DASH_STUDIO_HOME`` if set, else ``~/.dash_studio``."""
    env = os.environ.get(HOME_ENV, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".dash_studio"


class RunStore:
    """SQLite-backed store of runs, their progress and artifacts.

    Parameters
    ----------
    home
        Folder holding ``runs.sqlite``, ``runs/`` and ``workspaces/``; default
        :func:`default_home`. Created if missing.
    stale_after
        Seconds without a heartbeat after which a running run is declared failed
        (a queued run whose process never reported is failed after the same time).
    read_only
        Open an existing store without writing anything (a read-only disk, a full
        disk): runs can be listed and read; every write raises :class:`StoreError`.

    Raises
    ------
    StoreError
        The store cannot be opened (read-only disk, damaged database, full disk),
        with a message saying what to do.

    Notes
    -----
    Every method opens its own short-lived connection, so one store object can
    be shared by threads, and several processes (the app, job processes, a
    second browser tab) can use the same database at once.
    """

    def __init__(self, home: str | os.PathLike | None = None, *, stale_after: float = 60.0,
                 read_only: bool = False) -> None:
        self.home = Path(home).expanduser() if home is not None else default_home()
        self.stale_after = float(stale_after)
        self.read_only = bool(read_only)
        if self.read_only:
            if not self.db_path.is_file():
                raise StoreError(f"There is no run store at {self.home} to open read-only.", kind="other",
                                 home=self.home)
            with self._connect() as con:
                con.execute("SELECT count(*) FROM runs").fetchone()
            return
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            self.runs_dir.mkdir(exist_ok=True)
            self.workspaces_dir.mkdir(exist_ok=True)
        except OSError as exc:
            if self.db_path.is_file():
                raise StoreError(
                    f"The run store at {self.home} cannot be written ({exc.strerror or exc}). Open it read-only to "
                    f"browse its runs, or set {HOME_ENV} to a writable folder.", kind="read_only",
                    home=self.home) from None
            raise StoreError(
                f"Cannot create the DASH Studio folder {self.home} ({exc.strerror or exc}). Set the environment "
                f"variable {HOME_ENV} to a writable folder.", kind="read_only", home=self.home,
            ) from None
        with self._connect() as con:
            migrate(con)

    # -- paths ---------------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.home / "runs.sqlite"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def workspaces_dir(self) -> Path:
        return self.home / "workspaces"

    def run_dir(self, run_id: str) -> Path:
        """The artifact folder of ``run_id`` (as recorded; ``runs/<run_id>`` by default)."""
        rec = self.find(run_id, reconcile=False)
        if rec is not None and rec.artifact_dir:
            return Path(rec.artifact_dir)
        return self.runs_dir / run_id

    @staticmethod
    def valid_workspace_id(workspace_id: str | None) -> bool:
        return bool(workspace_id) and bool(_WORKSPACE_RE.match(str(workspace_id)))

    def workspace_dir(self, workspace_id: str) -> Path:
        """Folder for a workspace's uploads and datasets (created).

        In a read-only store it lives in the system's temporary folder, so that
        the demo and uploads still work for browsing.
        """
        if not self.valid_workspace_id(workspace_id):
            raise DashInputError(f"Invalid workspace id {workspace_id!r}.")
        if self.read_only:
            path = Path(tempfile.gettempdir()) / "dash_studio_read_only" / workspace_id
        else:
            path = self.workspaces_dir / workspace_id
        self._make_dir(path, "workspace folder")
        return path

    def _make_dir(self, path: Path, what: str) -> None:
        """Create ``path`` (and parents); a failure is a :class:`StoreError` naming ``what`` ("run folder", ...)."""
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Cannot create the {what} {path} ({exc.strerror or exc}).",
                             kind="full" if getattr(exc, "errno", None) == 28 else "read_only",
                             home=self.home) from None

    # -- connection -------------------------------------------------------------------
    def _connect(self, busy_seconds: float = 30.0):
        return connect(self.db_path, read_only=self.read_only, busy_seconds=busy_seconds)

    @staticmethod
    def backup_damaged(home: str | os.PathLike) -> Path:
        """Move a damaged ``runs.sqlite`` (and its WAL files) aside as ``runs.sqlite.damaged-<time>``.

        The runs' artifact folders are left in place. Returns the backup path;
        a new store can then be opened on ``home``.
        """
        home = Path(home)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = home / f"runs.sqlite.damaged-{stamp}"
        for suffix in ("", "-wal", "-shm"):
            src = home / f"runs.sqlite{suffix}"
            if src.exists():
                os.replace(src, home / f"{backup.name}{suffix}")
        return backup

    # -- records ----------------------------------------------------------------------
    def create_run(
        self,
        kind: str,
        params: Mapping[str, Any] | None = None,
        *,
        label: str = "",
        dataset_dir: str | os.PathLike | None = None,
        parent_id: str | None = None,
        status: str = QUEUED,
        artifact_dir: str | os.PathLike | None = None,
        summary: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        workspace_id: str | None = None,
        fingerprint: str | None = None,
    ) -> RunRecord:
        """Insert a new run and create its artifact folder.

        Parameters
        ----------
        kind
            Job kind name.
        params
            JSON-serialisable parameters.
        label
            Short user-facing name.
        dataset_dir
            Dataset folder the run reads.
        parent_id
            Creating run (sweep -> its points).
        status
            Initial status (``queued``; ``completed`` to register finished work).
        artifact_dir
            Existing folder to use instead of ``runs/<run_id>``.
        summary
            Initial summary (for runs registered as completed).
        run_id
            Explicit id (letters, digits, ``_.-``); default: time stamp + kind + random suffix.
        workspace_id
            Owner of the run; default: the parent's workspace (a sweep's points belong to the sweep's owner),
            else the pinned workspace (:func:`pinned_workspace`), else none.
        fingerprint
            Digest identifying the job (see :func:`dash_core.runs.jobs.job_fingerprint`).
        """
        if self.read_only:
            raise StoreError(f"The run store at {self.home} is open read-only: new runs cannot be saved.",
                             kind="read_only", home=self.home)
        if status not in (*ACTIVE_STATUSES, *FINAL_STATUSES):
            raise ValueError(f"unknown status {status!r}")
        if run_id is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            safe_kind = re.sub(r"[^A-Za-z0-9_]", "", kind)[:20] or "run"
            run_id = f"{stamp}-{safe_kind}-{secrets.token_hex(3)}"
        if not _RUN_ID_RE.match(run_id):
            raise DashInputError(f"Invalid run id {run_id!r}: use letters, digits, '_', '.' and '-'.")
        if workspace_id is None and parent_id is not None:
            parent = self.find(parent_id, reconcile=False)
            workspace_id = parent.workspace_id if parent is not None else None
        if workspace_id is None:
            workspace_id = pinned_workspace()
        folder = Path(artifact_dir) if artifact_dir is not None else self.runs_dir / run_id
        self._make_dir(folder, "run folder")
        now = time.time()
        finished = now if status in (COMPLETED, FAILED, CANCELLED) else None
        with self._connect() as con:
            con.execute(
                "INSERT INTO runs (run_id, kind, label, status, created, started, finished, params, dataset_dir, "
                "artifact_dir, parent_id, fraction, summary, workspace_id, fingerprint) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, kind, label, status, now, finished, finished, _dumps(dict(params or {})),
                 str(dataset_dir) if dataset_dir is not None else None, str(folder), parent_id,
                 1.0 if status == COMPLETED else None, _dumps(dict(summary)) if summary is not None else None,
                 workspace_id, fingerprint),
            )
        return self.get(run_id)

    def _row_to_record(self, row: sqlite3.Row) -> RunRecord:
        d = {k: v for k, v in dict(row).items() if k in _RECORD_FIELDS}
        d["params"] = json.loads(d["params"] or "{}")
        d["summary"] = json.loads(d["summary"]) if d["summary"] else None
        d["cancel_requested"] = bool(d["cancel_requested"])
        d["stale"] = bool(d.get("stale"))
        d["message"] = d["message"] or ""
        d["artifact_dir"] = d["artifact_dir"] or str(self.runs_dir / d["run_id"])
        return RunRecord(**d)

    def find(self, run_id: str, *, reconcile: bool = True) -> RunRecord | None:
        """The run ``run_id`` or None; stale active runs are failed first (see class notes)."""
        with self._connect() as con:
            row = con.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        rec = self._row_to_record(row)
        if reconcile and rec.active and self._reconcile(rec):
            return self.find(run_id, reconcile=False)
        return rec

    def get(self, run_id: str) -> RunRecord:
        """The run ``run_id``; :class:`DashInputError` if unknown."""
        rec = self.find(run_id)
        if rec is None:
            raise DashInputError(f"There is no run {run_id!r} in the run store at {self.home}.")
        return rec

    def list_runs(
        self,
        *,
        kind: str | None = None,
        status: str | tuple[str, ...] | None = None,
        parent_id: str | None = None,
        top_level: bool = False,
        limit: int | None = None,
        workspace_id: str | None = None,
    ) -> list[RunRecord]:
        """Runs, newest first, optionally filtered.

        Parameters
        ----------
        kind
            Only this job kind.
        status
            Only these statuses (checked after stale runs were failed).
        parent_id
            Only children of this run.
        top_level
            Only runs without a parent.
        limit
            At most this many records.
        workspace_id
            Only runs of this workspace.
        """
        where, args = [], []
        if workspace_id is not None:
            where.append("workspace_id = ?")
            args.append(workspace_id)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if parent_id is not None:
            where.append("parent_id = ?")
            args.append(parent_id)
        if top_level:
            where.append("parent_id IS NULL")
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY created DESC"
        if limit is not None and status is None:
            sql += f" LIMIT {int(limit)}"
        with self._connect() as con:
            rows = con.execute(sql, args).fetchall()
        out = []
        for row in rows:
            rec = self._row_to_record(row)
            if rec.active and self._reconcile(rec):
                rec = self.find(rec.run_id, reconcile=False) or rec
            out.append(rec)
        if status is not None:
            wanted = (status,) if isinstance(status, str) else tuple(status)
            out = [r for r in out if r.status in wanted]
        return out[:limit] if limit is not None else out

    def active_runs(self, *, workspace_id: str | None = None) -> list[RunRecord]:
        """Queued and running runs (after failing stale ones), newest first."""
        return self.list_runs(status=ACTIVE_STATUSES, workspace_id=workspace_id)

    # -- liveness -----------------------------------------------------------------------
    def _reconcile(self, rec: RunRecord) -> bool:
        """Fail ``rec`` if its process is gone or silent; return True if it changed.

        A dead job's process group (its worker processes) is killed on the way. A
        silent run is failed as *stale* (it may come back, see :meth:`heartbeat`); a
        job whose process is stopped (``SIGSTOP``, Ctrl-Z) is left running: it is
        paused, not lost.
        """
        if self.read_only:
            return False
        try:
            return self._reconcile_now(rec)
        except StoreError as exc:
            if exc.kind == "busy":  # e.g. a job paused while it held the write lock: try again on the next read
                return False
            raise

    def _reconcile_now(self, rec: RunRecord) -> bool:
        now = time.time()
        reason = None
        stale = 0
        if rec.pid is not None and not pid_alive(rec.pid, rec.pid_start):
            reason = (f"The job process (PID {rec.pid}) ended without reporting a result: it crashed or was "
                      "killed (for example out of memory, or the machine restarted).")
            kill_group(rec.pgid)
        elif rec.status == RUNNING and rec.heartbeat is not None and now - rec.heartbeat > self.stale_after:
            if rec.pid is not None and process_state(rec.pid) in ("T", "t"):
                if not rec.message.startswith("paused"):
                    with self._connect(busy_seconds=2.0) as con:
                        con.execute("UPDATE runs SET message = ? WHERE run_id = ?",
                                    ("paused: the job's process is stopped; it continues when resumed (SIGCONT)",
                                     rec.run_id))
                    return True
                return False
            reason = (f"The job stopped sending heartbeats {now - rec.heartbeat:.0f} s ago; its process is hung, "
                      "paused (e.g. a suspended computer) or runs where this store cannot see it. If it reports "
                      "again, the run continues and its results are kept.")
            stale = 1
        elif rec.pid is None and now - rec.created > self.stale_after:
            reason = "The job never started (no process picked it up)."
        if reason is None:
            return False
        tail = self._log_tail(rec)
        if tail:
            reason += f"\nLast lines of job.log:\n{tail}"
        with self._connect(busy_seconds=2.0) as con:
            cur = con.execute(
                "UPDATE runs SET status = ?, error = ?, finished = ?, stale = ? WHERE run_id = ? AND status IN (?, ?)",
                (FAILED, reason, now, stale, rec.run_id, *ACTIVE_STATUSES),
            )
        return cur.rowcount > 0

    @staticmethod
    def _log_tail(rec: RunRecord, lines: int = 6) -> str:
        log = Path(rec.artifact_dir) / "job.log"
        try:
            text = log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    # -- state transitions ------------------------------------------------------------------
    def set_pid(self, run_id: str, pid: int, *, pgid: int | None = None) -> None:
        """Record the PID (and process group) of the process started for ``run_id`` (still queued)."""
        with self._connect() as con:
            con.execute("UPDATE runs SET pid = ?, pid_start = ?, pgid = COALESCE(?, pgid) WHERE run_id = ?",
                        (int(pid), _process_start_time(int(pid)), pgid, run_id))

    def mark_running(self, run_id: str, pid: int | None = None) -> bool:
        """Queued -> running, recording the PID and a first heartbeat; False if not queued any more."""
        pid = os.getpid() if pid is None else int(pid)
        now = time.time()
        with self._connect() as con:
            cur = con.execute(
                "UPDATE runs SET status = ?, started = ?, pid = ?, pid_start = ?, heartbeat = ?, pgid = ? "
                "WHERE run_id = ? AND status = ?",
                (RUNNING, now, pid, _process_start_time(pid), now, _pgid(pid), run_id, QUEUED),
            )
        return cur.rowcount > 0

    def heartbeat(self, run_id: str) -> None:
        """Refresh the heartbeat of a running run; a run failed as stale becomes running again."""
        with self._connect() as con:
            self._beat(con, run_id, time.time())

    @staticmethod
    def _beat(con: sqlite3.Connection, run_id: str, now: float) -> None:
        con.execute("UPDATE runs SET heartbeat = ?, message = CASE WHEN message LIKE 'paused:%' THEN '' ELSE message END "
                    "WHERE run_id = ? AND status = ?", (now, run_id, RUNNING))
        con.execute("UPDATE runs SET status = ?, heartbeat = ?, error = NULL, finished = NULL, stale = 0 "
                    "WHERE run_id = ? AND status = ? AND stale = 1", (RUNNING, now, run_id, FAILED))

    def append_progress(self, run_id: str, fraction: float | None = None, message: str = "",
                        values: Mapping[str, Any] | None = None) -> None:
        """Append one progress entry and update the run's latest fraction/message and heartbeat."""
        if fraction is not None:
            fraction = float(min(1.0, max(0.0, fraction))) if math.isfinite(fraction) else None
        now = time.time()
        with self._connect() as con:
            con.execute("INSERT INTO progress (run_id, time, fraction, message, payload) VALUES (?,?,?,?,?)",
                        (run_id, now, fraction, message, _dumps(dict(values or {}))))
            self._beat(con, run_id, now)
            if fraction is None:
                con.execute("UPDATE runs SET message = ? WHERE run_id = ?", (message, run_id))
            else:
                con.execute("UPDATE runs SET fraction = ?, message = ? WHERE run_id = ?", (fraction, message, run_id))

    def progress(self, run_id: str, *, since: int = 0) -> pd.DataFrame:
        """The progress log of ``run_id``: one row per entry.

        Columns ``seq, time, fraction, message`` plus one column per reported
        value (e.g. ``epoch, train_loss, val_mse, sparsity, eta_seconds`` for
        training). Entries with ``seq > since`` only.
        """
        with self._connect() as con:
            rows = con.execute("SELECT seq, time, fraction, message, payload FROM progress WHERE run_id = ? AND seq > ? "
                               "ORDER BY seq", (run_id, int(since))).fetchall()
        records = []
        for r in rows:
            payload = json.loads(r["payload"] or "{}")
            rec = {k: v for k, v in payload.items() if k not in ("seq", "time", "fraction", "message")}
            rec.update(seq=r["seq"], time=r["time"], fraction=r["fraction"], message=r["message"])
            records.append(rec)
        base = ["seq", "time", "fraction", "message"]
        if not records:
            return pd.DataFrame(columns=base)
        df = pd.DataFrame.from_records(records)
        return df[base + [c for c in df.columns if c not in base]]

    def append_log(self, run_id: str, text: str) -> None:
        """Append a line of text to the run's log."""
        with self._connect() as con:
            con.execute("INSERT INTO logs (run_id, time, text) VALUES (?,?,?)", (run_id, time.time(), str(text)))

    def logs(self, run_id: str) -> list[str]:
        """The run's log lines, oldest first."""
        with self._connect() as con:
            rows = con.execute("SELECT text FROM logs WHERE run_id = ? ORDER BY seq", (run_id,)).fetchall()
        return [r["text"] for r in rows]

    def request_cancel(self, run_id: str) -> bool:
        """Ask an active run to stop (its job polls :meth:`cancel_requested`); False if not active."""
        with self._connect() as con:
            cur = con.execute("UPDATE runs SET cancel_requested = 1 WHERE run_id = ? AND status IN (?, ?)",
                              (run_id, *ACTIVE_STATUSES))
        return cur.rowcount > 0

    def cancel_requested(self, run_id: str) -> bool:
        with self._connect() as con:
            row = con.execute("SELECT cancel_requested FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return bool(row and row["cancel_requested"])

    def finish(self, run_id: str, summary: Mapping[str, Any] | None, *, status: str = COMPLETED,
               error: str | None = None) -> bool:
        """End an active run with ``status`` (completed, cancelled or failed); False if it had already ended.

        A run failed as stale (silent for a while) still takes its real outcome.
        """
        if status not in (COMPLETED, CANCELLED, FAILED):
            raise ValueError(f"finish() needs a final status, got {status!r}")
        with self._connect() as con:
            cur = con.execute(
                "UPDATE runs SET status = ?, summary = ?, error = ?, finished = ?, stale = 0, "
                "fraction = CASE WHEN ? = 'completed' THEN 1.0 ELSE fraction END "
                "WHERE run_id = ? AND (status IN (?, ?) OR (status = ? AND stale = 1))",
                (status, _dumps(dict(summary)) if summary is not None else None, error, time.time(), status, run_id,
                 *ACTIVE_STATUSES, FAILED),
            )
        return cur.rowcount > 0

    def fail(self, run_id: str, error: str) -> bool:
        """End an active run as failed with a user-facing ``error``."""
        return self.finish(run_id, None, status=FAILED, error=error)

    def set_params(self, run_id: str, params: Mapping[str, Any], *, dataset_dir: str | None = None) -> None:
        """Replace the parameters (and dataset folder) of a run before its job starts."""
        with self._connect() as con:
            con.execute("UPDATE runs SET params = ?, dataset_dir = ? WHERE run_id = ?",
                        (_dumps(dict(params)), dataset_dir, run_id))

    def set_label(self, run_id: str, label: str) -> None:
        with self._connect() as con:
            con.execute("UPDATE runs SET label = ? WHERE run_id = ?", (label, run_id))

    def update_summary(self, run_id: str, summary: Mapping[str, Any]) -> None:
        """Replace the summary of a run (any status)."""
        with self._connect() as con:
            con.execute("UPDATE runs SET summary = ? WHERE run_id = ?", (_dumps(dict(summary)), run_id))

    def delete_run(self, run_id: str) -> None:
        """Remove a finished run, its children, their log entries and artifact folders inside the store."""
        rec = self.get(run_id)
        if rec.active:
            raise DashInputError(f"Run {run_id} is still {rec.status}; cancel it before deleting it.")
        for child in self.list_runs(parent_id=run_id):
            self.delete_run(child.run_id)
        with self._connect() as con:
            con.execute("DELETE FROM progress WHERE run_id = ?", (run_id,))
            con.execute("DELETE FROM logs WHERE run_id = ?", (run_id,))
            con.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            con.execute("DELETE FROM shares WHERE run_id = ?", (run_id,))
        folder = Path(rec.artifact_dir).resolve()
        if folder.is_dir() and self.home.resolve() in folder.parents:
            shutil.rmtree(folder, ignore_errors=True)



def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def kill_group(pgid: int | None, sig: int = signal.SIGKILL) -> bool:
    """Send ``sig`` to process group ``pgid`` (a job and its workers); False if there was none.

    Never signals this process's own group (a job run in-process, e.g. in tests).
    """
    if not pgid or pgid <= 1:
        return False
    try:
        if pgid == os.getpgrp():
            return False
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError, OSError):
        return False
    return True
