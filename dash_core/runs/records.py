"""Run records: the statuses a run goes through, :class:`RunRecord`, JSON helpers and process liveness.

Shared by the run store (:mod:`dash_core.runs.store`), the job runner
(:mod:`dash_core.runs.jobs`) and the app; no database access here.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ACTIVE_STATUSES",
    "CANCELLED",
    "COMPLETED",
    "FAILED",
    "FINAL_STATUSES",
    "QUEUED",
    "RUNNING",
    "RunRecord",
    "pid_alive",
    "process_state",
]

QUEUED = "queued"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
#: Statuses of a run whose process should be alive.
ACTIVE_STATUSES = (QUEUED, RUNNING)
#: Statuses of a run that has ended.
FINAL_STATUSES = (COMPLETED, FAILED, CANCELLED)


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



def process_state(pid: int) -> str | None:
    """One-letter state of ``pid`` from ``/proc`` (``R``, ``S``, ``T`` = stopped, ``Z`` = zombie...), None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields_ = stat.rsplit(")", 1)[1].split()
    return fields_[0] if fields_ else None


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
    workspace_id
        The workspace that owns the run (None: created outside the app, e.g. by the CLI).
    stale
        True for a run failed because it went silent; it becomes running again if its process reports.
    pgid
        Process group of the job (the job and all its workers), stopped together.
    fingerprint
        Digest of the job's kind, parameters and data (equal for the same job launched twice), or None.
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
    workspace_id: str | None = None
    stale: bool = False
    pgid: int | None = None
    fingerprint: str | None = None

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
