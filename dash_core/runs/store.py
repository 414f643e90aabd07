"""The run store: every run's record in an embedded SQLite database plus an artifact folder.

Layout under the store's home (``$DASH_STUDIO_HOME``, default ``~/.dash_studio``)::

    runs.sqlite                 run records, progress log, text log (WAL mode, safe across processes)
    runs/<run_id>/              artifact folder of a run (metrics.json, edges.csv, model.pt, job.log, ...)
    runs/<run_id>/dataset/      the copy of the dataset the run was started on
    sessions/<session_id>/      per-browser-session uploads and datasets of the app

A run's ``status`` moves ``queued -> running -> completed | failed | cancelled``.
The process that runs a job records its PID and refreshes a heartbeat; whenever
a record is read, a ``queued``/``running`` run whose process is gone or whose
heartbeat is stale is turned into ``failed`` with an explanatory error, so a
crashed or killed job never shows as running forever.

The module also defines the *dataset folder* (:func:`save_dataset_dir`,
:func:`load_dataset_dir`): a dataset written as plain files (tidy expression CSV,
``source,target,weight`` networks, GMT gene sets) with a ``dataset.json``
manifest, which is how the app hands data to background jobs.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dash_core.io.errors import DashInputError, ValidationReport

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
    "dataset_files",
    "default_home",
    "load_dataset_dir",
    "read_manifest",
    "save_dataset_dir",
]

QUEUED = "queued"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
#: Statuses of a run whose process should be alive.
ACTIVE_STATUSES = (QUEUED, RUNNING)
#: Environment variable naming the store's home folder.
HOME_ENV = "DASH_STUDIO_HOME"
#: Name of the manifest file of a dataset folder.
DATASET_MANIFEST = "dataset.json"

_SESSION_RE = re.compile(r"^[0-9a-f]{16,64}$")
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")

_SCHEMA = """
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


def default_home() -> Path:
    """``$DASH_STUDIO_HOME`` if set, else ``~/.dash_studio``."""
    env = os.environ.get(HOME_ENV, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".dash_studio"


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def _plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars unwrapped, non-finite floats -> None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_plain(value), default=_json_default)


def _process_start_time(pid: int) -> str | None:
    """Start time of ``pid`` (Linux ``/proc``; None elsewhere), to detect PID reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return stat.rsplit(")", 1)[1].split()[19]
    except IndexError:
        return None


def pid_alive(pid: int | None, start: str | None = None) -> bool:
    """Whether process ``pid`` exists, is not a zombie, and (if known) started at ``start``.

    A zombie child of this process is reaped on the way.
    """
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    fields_ = stat.rsplit(")", 1)[1].split()
    if fields_ and fields_[0] in ("Z", "X"):
        try:
            os.waitpid(pid, os.WNOHANG)
        except (ChildProcessError, OSError):
            pass
        return False
    if start is not None and len(fields_) > 19 and fields_[19] != start:
        return False
    return True


@dataclass
class RunRecord:
    """One run as stored.

    Attributes
    ----------
    run_id, kind, label, status
        Identity, job kind (see :data:`dash_core.runs.jobs.JOB_KINDS`), user label and status.
    created, started, finished
        Unix times (None until reached).
    params
        The job's parameters (JSON).
    dataset_dir
        Dataset folder the job reads (a copy inside the run folder), or None.
    artifact_dir
        The run's artifact folder.
    parent_id
        The run that created this one (e.g. the sweep of a sweep point), or None.
    pid, heartbeat
        Process running the job and its last sign of life (Unix time).
    fraction, message
        Latest progress (fraction in [0, 1] or None when unknown).
    summary
        What the job returned (metrics), once finished.
    error
        User-facing error of a failed run.
    cancel_requested
        Whether the user asked the job to stop.
    """

    run_id: str
    kind: str
    label: str
    status: str
    created: float
    started: float | None = None
    finished: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    dataset_dir: str | None = None
    artifact_dir: str = ""
    parent_id: str | None = None
    pid: int | None = None
    pid_start: str | None = None
    heartbeat: float | None = None
    fraction: float | None = None
    message: str = ""
    summary: dict[str, Any] | None = None
    error: str | None = None
    cancel_requested: bool = False

    @property
    def path(self) -> Path:
        """The artifact folder as a :class:`~pathlib.Path`."""
        return Path(self.artifact_dir)

    @property
    def active(self) -> bool:
        """True while the run is queued or running."""
        return self.status in ACTIVE_STATUSES

    @property
    def display_name(self) -> str:
        """Label if set, else ``kind`` and the run id's time stamp."""
        return self.label or f"{self.kind} {self.run_id}"

    @property
    def elapsed(self) -> float | None:
        """Seconds from start to finish (or to now while active)."""
        if self.started is None:
            return None
        end = self.finished if self.finished is not None else time.time()
        return max(0.0, end - self.started)

    @property
    def metrics(self) -> dict[str, Any]:
        """``summary["metrics"]`` when present, else the flat summary (possibly empty)."""
        s = self.summary or {}
        m = s.get("metrics")
        return dict(m) if isinstance(m, Mapping) else {k: v for k, v in s.items() if not isinstance(v, (dict, list))}


class RunStore:
    """SQLite-backed store of runs, their progress and artifacts.

    Parameters
    ----------
    home
        Folder holding ``runs.sqlite``, ``runs/`` and ``sessions/``; default
        :func:`default_home`. Created if missing.
    stale_after
        Seconds without a heartbeat after which a running run is declared failed
        (a queued run whose process never reported is failed after the same time).

    Notes
    -----
    Every method opens its own short-lived connection, so one store object can
    be shared by threads, and several processes (the app, job processes, a
    second browser tab) can use the same database at once.
    """

    def __init__(self, home: str | os.PathLike | None = None, *, stale_after: float = 60.0) -> None:
        self.home = Path(home).expanduser() if home is not None else default_home()
        self.stale_after = float(stale_after)
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            self.runs_dir.mkdir(exist_ok=True)
            self.sessions_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise DashInputError(
                f"Cannot create the DASH Studio folder {self.home} ({exc.strerror or exc}). Set the environment "
                f"variable {HOME_ENV} to a writable folder."
            ) from None
        with self._connect() as con:
            con.executescript(_SCHEMA)

    # -- paths ---------------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.home / "runs.sqlite"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def sessions_dir(self) -> Path:
        return self.home / "sessions"

    def run_dir(self, run_id: str) -> Path:
        """The artifact folder of ``run_id`` (as recorded; ``runs/<run_id>`` by default)."""
        rec = self.find(run_id, reconcile=False)
        if rec is not None and rec.artifact_dir:
            return Path(rec.artifact_dir)
        return self.runs_dir / run_id

    @staticmethod
    def new_session_id() -> str:
        """A fresh random browser-session id (32 hex characters)."""
        return secrets.token_hex(16)

    @staticmethod
    def valid_session_id(session_id: str | None) -> bool:
        return bool(session_id) and bool(_SESSION_RE.match(str(session_id)))

    def session_dir(self, session_id: str) -> Path:
        """Per-session folder for uploads and datasets (created); ``session_id`` must be hex."""
        if not self.valid_session_id(session_id):
            raise DashInputError(f"Invalid session id {session_id!r}.")
        path = self.sessions_dir / session_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- connection -------------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("PRAGMA busy_timeout=30000")
            yield con
        finally:
            con.close()

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
        """
        if status not in (QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED):
            raise ValueError(f"unknown status {status!r}")
        if run_id is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            safe_kind = re.sub(r"[^A-Za-z0-9_]", "", kind)[:20] or "run"
            run_id = f"{stamp}-{safe_kind}-{secrets.token_hex(3)}"
        if not _RUN_ID_RE.match(run_id):
            raise DashInputError(f"Invalid run id {run_id!r}: use letters, digits, '_', '.' and '-'.")
        folder = Path(artifact_dir) if artifact_dir is not None else self.runs_dir / run_id
        folder.mkdir(parents=True, exist_ok=True)
        now = time.time()
        finished = now if status in (COMPLETED, FAILED, CANCELLED) else None
        with self._connect() as con:
            con.execute(
                "INSERT INTO runs (run_id, kind, label, status, created, started, finished, params, dataset_dir, "
                "artifact_dir, parent_id, fraction, summary) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, kind, label, status, now, finished, finished, _dumps(dict(params or {})),
                 str(dataset_dir) if dataset_dir is not None else None, str(folder), parent_id,
                 1.0 if status == COMPLETED else None, _dumps(dict(summary)) if summary is not None else None),
            )
        return self.get(run_id)

    def _row_to_record(self, row: sqlite3.Row) -> RunRecord:
        d = dict(row)
        d["params"] = json.loads(d["params"] or "{}")
        d["summary"] = json.loads(d["summary"]) if d["summary"] else None
        d["cancel_requested"] = bool(d["cancel_requested"])
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
        """
        where, args = [], []
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

    def active_runs(self) -> list[RunRecord]:
        """Queued and running runs (after failing stale ones), newest first."""
        return self.list_runs(status=ACTIVE_STATUSES)

    # -- liveness -----------------------------------------------------------------------
    def _reconcile(self, rec: RunRecord) -> bool:
        """Fail ``rec`` if its process is gone or silent; return True if it changed."""
        now = time.time()
        reason = None
        if rec.pid is not None and not pid_alive(rec.pid, rec.pid_start):
            reason = (f"The job process (PID {rec.pid}) ended without reporting a result: it crashed or was "
                      "killed (for example out of memory, or the machine restarted).")
        elif rec.status == RUNNING and rec.heartbeat is not None and now - rec.heartbeat > self.stale_after:
            reason = (f"The job stopped sending heartbeats {now - rec.heartbeat:.0f} s ago; its process is hung or "
                      "runs where this store cannot see it.")
        elif rec.pid is None and now - rec.created > self.stale_after:
            reason = "The job never started (no process picked it up)."
        if reason is None:
            return False
        tail = self._log_tail(rec)
        if tail:
            reason += f"\nLast lines of job.log:\n{tail}"
        with self._connect() as con:
            cur = con.execute(
                "UPDATE runs SET status = ?, error = ?, finished = ? WHERE run_id = ? AND status IN (?, ?)",
                (FAILED, reason, now, rec.run_id, *ACTIVE_STATUSES),
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
    def set_pid(self, run_id: str, pid: int) -> None:
        """Record the PID of the process started for ``run_id`` (still queued)."""
        with self._connect() as con:
            con.execute("UPDATE runs SET pid = ?, pid_start = ? WHERE run_id = ?",
                        (int(pid), _process_start_time(int(pid)), run_id))

    def mark_running(self, run_id: str, pid: int | None = None) -> bool:
        """Queued -> running, recording the PID and a first heartbeat; False if not queued any more."""
        pid = os.getpid() if pid is None else int(pid)
        now = time.time()
        with self._connect() as con:
            cur = con.execute(
                "UPDATE runs SET status = ?, started = ?, pid = ?, pid_start = ?, heartbeat = ? "
                "WHERE run_id = ? AND status = ?",
                (RUNNING, now, pid, _process_start_time(pid), now, run_id, QUEUED),
            )
        return cur.rowcount > 0

    def heartbeat(self, run_id: str) -> None:
        """Refresh the heartbeat of a running run."""
        with self._connect() as con:
            con.execute("UPDATE runs SET heartbeat = ? WHERE run_id = ? AND status = ?", (time.time(), run_id, RUNNING))

    def append_progress(self, run_id: str, fraction: float | None = None, message: str = "",
                        values: Mapping[str, Any] | None = None) -> None:
        """Append one progress entry and update the run's latest fraction/message and heartbeat."""
        if fraction is not None:
            fraction = float(min(1.0, max(0.0, fraction))) if math.isfinite(fraction) else None
        now = time.time()
        with self._connect() as con:
            con.execute("INSERT INTO progress (run_id, time, fraction, message, payload) VALUES (?,?,?,?,?)",
                        (run_id, now, fraction, message, _dumps(dict(values or {}))))
            if fraction is None:
                con.execute("UPDATE runs SET message = ?, heartbeat = ? WHERE run_id = ?", (message, now, run_id))
            else:
                con.execute("UPDATE runs SET fraction = ?, message = ?, heartbeat = ? WHERE run_id = ?",
                            (fraction, message, now, run_id))

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
        """End an active run with ``status`` (completed, cancelled or failed); False if it had already ended."""
        if status not in (COMPLETED, CANCELLED, FAILED):
            raise ValueError(f"finish() needs a final status, got {status!r}")
        with self._connect() as con:
            cur = con.execute(
                "UPDATE runs SET status = ?, summary = ?, error = ?, finished = ?, "
                "fraction = CASE WHEN ? = 'completed' THEN 1.0 ELSE fraction END "
                "WHERE run_id = ? AND status IN (?, ?)",
                (status, _dumps(dict(summary)) if summary is not None else None, error, time.time(), status, run_id,
                 *ACTIVE_STATUSES),
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
        folder = Path(rec.artifact_dir).resolve()
        if folder.is_dir() and self.home.resolve() in folder.parents:
            shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------------------------- dataset folders
_NETWORK_KEYS = ("prior", "ppi", "truth")


def save_dataset_dir(dataset, folder: str | os.PathLike, *, gene_sets: Mapping[str, list[str]] | None = None,
                     gene_sets_file: str | os.PathLike | None = None, source: str = "",
                     description: str = "", report: ValidationReport | None = None) -> Path:
    """Write ``dataset`` as a dataset folder readable by :func:`load_dataset_dir`.

    Files: ``expression.csv``, ``test_expression.csv`` and ``test_expression_clean.csv``
    (tidy ``trajectory, time, <genes...>``), ``prior.csv``, ``ppi.csv``, ``truth.csv``
    (``source, target, weight``, source = regulator), ``gene_sets.gmt`` and the
    manifest ``dataset.json`` (name, source, sizes, file names). The folder's
    content depends only on the data (no time stamps), so equal data give equal
    files (see :func:`folder_digest`).

    Parameters
    ----------
    dataset
        A :class:`dash_core.data.Dataset`.
    folder
        Target folder (created).
    gene_sets
        Optional gene sets ``name -> genes`` (e.g. the simulator's modules).
    gene_sets_file
        Optional GMT file copied as ``gene_sets.gmt`` (instead of ``gene_sets``).
    source
        Where the data came from (``"demo"``, ``"upload"``, ``"simulation"``).
    description
        One line for the user.
    report
        Validation findings of the original files (kept in the manifest as
        ``validation``, since the written files are already aligned).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    from dash_core.simulate import write_gmt

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    dataset.expression.to_tidy().to_csv(out / "expression.csv", index=False)
    files["expression"] = "expression.csv"
    for key in ("test_expression", "test_expression_clean"):
        expr = getattr(dataset, key, None)
        if expr is not None:
            expr.to_tidy().to_csv(out / f"{key}.csv", index=False)
            files[key] = f"{key}.csv"
    for key in _NETWORK_KEYS:
        table = getattr(dataset, key)
        if table is not None:
            table[["source", "target", "weight"]].to_csv(out / f"{key}.csv", index=False)
            files[key] = f"{key}.csv"
    if gene_sets_file is not None:
        shutil.copyfile(gene_sets_file, out / "gene_sets.gmt")
        files["gene_sets"] = "gene_sets.gmt"
    elif gene_sets:
        write_gmt(dict(gene_sets), out / "gene_sets.gmt")
        files["gene_sets"] = "gene_sets.gmt"
    lo, hi = dataset.expression.value_range()
    manifest = {
        "name": dataset.name,
        "source": source,
        "description": description,
        "n_genes": dataset.expression.n_genes,
        "n_trajectories": dataset.expression.n_trajectories,
        "n_observations": dataset.expression.n_observations,
        "value_range": [lo, hi],
        "files": files,
        "coverage": _plain(dataset.metadata.get("coverage", {})),
        "original_sources": _plain(dataset.metadata.get("sources", {})),
        "validation": validation_lines(report) if report is not None else [],
    }
    (out / DATASET_MANIFEST).write_text(json.dumps(_plain(manifest), indent=2, default=_json_default))
    return out


def read_manifest(folder: str | os.PathLike) -> dict[str, Any]:
    """The ``dataset.json`` manifest of a dataset folder."""
    path = Path(folder) / DATASET_MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DashInputError(f"{folder} is not a dataset folder (no {DATASET_MANIFEST}).") from None
    except json.JSONDecodeError as exc:
        raise DashInputError(f"The dataset manifest is not valid JSON ({exc}).", source=str(path)) from None


def dataset_files(folder: str | os.PathLike) -> dict[str, Path]:
    """Paths of a dataset folder's files, keyed ``expression, test_expression, test_expression_clean, prior, ppi,
    truth, gene_sets`` (only those present)."""
    folder = Path(folder)
    return {k: folder / v for k, v in read_manifest(folder).get("files", {}).items()}


def load_dataset_dir(folder: str | os.PathLike):
    """Read a dataset folder with :func:`dash_core.io.load_dataset`.

    Returns
    -------
    (dash_core.data.Dataset, ValidationReport)
        Networks are ``source, target, weight`` tables aligned to the expression genes.
    """
    from dash_core.io import load_dataset

    manifest = read_manifest(folder)
    files = dataset_files(folder)
    if "expression" not in files:
        raise DashInputError(f"The dataset folder {folder} lists no expression file.")
    dataset, report = load_dataset(
        files["expression"],
        files.get("prior"),
        ppi=files.get("ppi"),
        truth=files.get("truth"),
        test_expression=files.get("test_expression"),
        name=manifest.get("name") or None,
    )
    if "test_expression_clean" in files and dataset.test_expression is not None:
        from dash_core.data import ExpressionData, Trajectory
        from dash_core.io import read_expression

        clean, _ = read_expression(files["test_expression_clean"])
        pos = {g: i for i, g in enumerate(clean.genes)}
        if all(g in pos for g in dataset.genes):
            idx = [pos[g] for g in dataset.genes]
            dataset.test_expression_clean = ExpressionData(
                list(dataset.genes), [Trajectory(t.name, t.times, t.values[:, idx]) for t in clean.trajectories])
    dataset.metadata["dataset_dir"] = str(Path(folder))
    dataset.metadata["source"] = manifest.get("source", "")
    return dataset, report


def folder_digest(folder: str | os.PathLike) -> str:
    """Short SHA-256 digest of the files in ``folder`` (names and contents), for content-addressed copies."""
    h = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            h.update(path.relative_to(folder).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def validation_lines(report: ValidationReport) -> list[tuple[str, str]]:
    """``(level, text)`` pairs of a report, errors first, for display."""
    order = {"error": 0, "warning": 1, "info": 2}
    return [(i.level, (f"{i.source}: " if i.source else "") + i.message)
            for i in sorted(report.issues, key=lambda i: order.get(i.level, 3))]
