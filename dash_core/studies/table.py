"""One run of a study and the study's results table.

* :func:`run_point` is the job function of sweeps and benchmarks (one run: load,
  train, save, return a flat row); :func:`result_row` builds that row and is shared
  with the adaptive search (:mod:`dash_core.studies.asha`).
* :class:`ResultTable` is the resumable ``sweep.csv`` / ``benchmark.csv``:
  rewritten atomically after every finished run.
* :func:`check_study_folder` writes ``study.json`` or refuses to mix studies.
* :func:`run_study` hands the unfinished jobs to an executor and reports progress.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dash_core.config import changed_keys
from dash_core.experiment import METRIC_KEYS, RunConfig, RunResult, run_experiment, run_experiments, save_run
from dash_core.io.errors import DashInputError
from dash_core.runs.executors import CANCELLED, ExecutorConfig, Job, JobResult, run_jobs
from dash_core.stacking import max_auto_stack, split_group, stack_key
from dash_core.studies.datasets import DatasetSpec

__all__ = [
    "LEAD_COLUMNS",
    "STUDY_FILE",
    "TAIL_COLUMNS",
    "PointProgress",
    "ResultTable",
    "check_study_folder",
    "is_missing",
    "normalised_config",
    "ordered_frame",
    "plain_scalar",
    "point_key",
    "read_study_settings",
    "result_row",
    "run_point",
    "run_study",
    "write_csv_atomically",
    "write_study_settings",
]

#: First columns of every results table.
LEAD_COLUMNS = ["key", "status", "condition", "strategy", "seed", "lambda_ppi", "lambda_motif"]
#: Last columns of every results table.
TAIL_COLUMNS = ["run_dir", "job_seconds", "attempts", "error"]
#: The settings file of a study folder.
STUDY_FILE = "study.json"


def _fmt_lambda(v: float) -> str:
    return format(float(v), "g")


def point_key(strategy: str, lambda_ppi: float, lambda_motif: float, seed: int) -> str:
    """Stable key (and run-folder name) of one sweep point, e.g. ``dash_ppi0.5_motif0.05_seed0``."""
    return f"{strategy}_ppi{_fmt_lambda(lambda_ppi)}_motif{_fmt_lambda(lambda_motif)}_seed{int(seed)}"


def plain_scalar(v: Any) -> Any:
    """numpy scalars -> Python scalars; NaN / inf -> None (for CSV and JSON rows)."""
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def is_missing(v: Any) -> bool:
    """None or NaN."""
    return v is None or (isinstance(v, float) and math.isnan(v))


def result_row(result: RunResult, *, key: str, labels: dict[str, Any], run_dir: str | Path,
               started: float) -> dict[str, Any]:
    """The flat results-table row of a finished run.

    ``key, status="ok"``, the labels, strategy, seed, lambdas, every metric
    (:data:`dash_core.experiment.METRIC_KEYS`), the scalar details
    (``val_mse``, ``test_mse_true``, ``seconds_per_epoch``, ...), ``run_dir`` and
    ``job_seconds`` (seconds since ``started``, a :func:`time.perf_counter` value).
    """
    cfg = result.config
    row: dict[str, Any] = {"key": key, "status": "ok", **labels, "strategy": cfg.strategy, "seed": cfg.seed,
                           "lambda_ppi": cfg.pruning.lambda_ppi, "lambda_motif": cfg.pruning.lambda_motif}
    for k, v in {**result.metrics, **result.details}.items():
        v = plain_scalar(v)
        if v is None or isinstance(v, (int, float, str, bool)):
            row.setdefault(k, v)
    row["run_dir"] = str(run_dir)
    row["job_seconds"] = round(time.perf_counter() - started, 3)
    return row


def run_point(*, key: str, dataset: dict[str, Any], config: dict[str, Any], run_dir: str,
              labels: dict[str, Any]) -> dict[str, Any]:
    """Job function of sweeps and benchmarks: load data, train, save the run, return its row.

    Parameters
    ----------
    key
        The job's key (first column of the row).
    dataset
        :meth:`DatasetSpec.to_dict` of the data.
    config
        :meth:`dash_core.experiment.RunConfig.to_dict` of the run.
    run_dir
        Folder the run is written to (:func:`dash_core.experiment.save_run`).
    labels
        Columns copied into the row (condition, ...).

    Returns
    -------
    dict
        The row of :func:`result_row`.
    """
    t0 = time.perf_counter()
    ds, _ = DatasetSpec(**dataset).load()
    cfg = RunConfig.from_dict(config)
    result = run_experiment(ds, cfg, live_path=live_path(key, cfg, run_dir))
    save_run(result, run_dir)
    _drop_live_path(run_dir)
    return result_row(result, key=key, labels=labels, run_dir=run_dir, started=t0)


def live_path(key: str, config: RunConfig, run_dir) -> tuple[Path, dict[str, Any]]:
    """Where a study run writes its pruning path while it trains, and the labels of its rows (as in ``path_table``)."""
    from dash_core.studies.selection import LIVE_PATH_FILE

    return Path(run_dir) / LIVE_PATH_FILE, {
        "key": key, "strategy": config.strategy, "lambda_ppi": config.pruning.lambda_ppi,
        "lambda_motif": config.pruning.lambda_motif, "seed": config.seed, "run_dir": str(run_dir)}


def _drop_live_path(run_dir) -> None:
    from dash_core.studies.selection import LIVE_PATH_FILE

    (Path(run_dir) / LIVE_PATH_FILE).unlink(missing_ok=True)


def failed_row(point: dict[str, Any], error: str | None, *, seconds: float, attempts: int) -> dict[str, Any]:
    """The row of a run that failed (``point``: the kwargs of its :func:`run_point` job)."""
    cfg = point["config"]
    return {"key": point["key"], "status": "failed", **point["labels"], "strategy": cfg.get("strategy"),
            "seed": cfg.get("seed"), "lambda_ppi": cfg.get("pruning", {}).get("lambda_ppi"),
            "lambda_motif": cfg.get("pruning", {}).get("lambda_motif"), "run_dir": point["run_dir"],
            "job_seconds": round(seconds, 3), "attempts": attempts, "error": error}


def run_points(*, points: list[dict[str, Any]], stack_size: int | None = None) -> list[dict[str, Any]]:
    """Job function of a stack: several :func:`run_point` runs on one dataset, trained as stacked models.

    ``points`` are the kwargs of the runs' :func:`run_point` jobs (same dataset). The runs are trained with
    :func:`dash_core.experiment.run_experiments` (at most ``stack_size`` per stack; None: from the memory), each
    is saved to its run folder, and the rows come back in input order; a run that failed gets a ``failed`` row
    and the others are kept. ``job_seconds`` of a row is its share of the job's time.
    """
    t0 = time.perf_counter()
    ds, _ = DatasetSpec(**points[0]["dataset"]).load()
    configs = [RunConfig.from_dict(p["config"]) for p in points]
    results = run_experiments(ds, configs, stack_size=stack_size,
                              live_paths=[live_path(p["key"], c, p["run_dir"]) for p, c in zip(points, configs)])
    rows = []
    for p, res in zip(points, results):
        _drop_live_path(p["run_dir"])
        if isinstance(res, BaseException):
            rows.append(failed_row(p, f"{type(res).__name__}: {res}", seconds=0.0, attempts=1))
            continue
        save_run(res, p["run_dir"])
        rows.append(result_row(res, key=p["key"], labels=p["labels"], run_dir=p["run_dir"], started=t0))
    share = round((time.perf_counter() - t0) / max(1, len(points)), 3)
    for row in rows:
        row["job_seconds"] = share
    return rows


def stack_jobs(jobs: list[Job], executor: ExecutorConfig) -> tuple[list[Job], dict[str, list[Job]]]:
    """Group :func:`run_point` jobs into stacked jobs (:func:`run_points`): the executor distributes stacks.

    Runs on the same dataset whose configurations can share a stack (:func:`dash_core.stacking.stack_key`)
    are grouped; a group is cut into at least as many stacks as there are workers (when it has enough runs)
    and at most ``executor.stack_size`` runs per stack (None: :func:`~dash_core.stacking.max_auto_stack`; the
    job itself then splits further by memory). ``stack_size=1`` keeps one job per run.

    Returns
    -------
    jobs, members
        The jobs to run (a single-run group stays a plain :func:`run_point` job) and, per stacked job key, the
        run jobs it holds.
    """
    if executor.stack_size == 1:
        return list(jobs), {}
    workers = executor.workers or ((os.cpu_count() or 1) if executor.kind == "local" else 1)
    groups: dict[tuple, list[Job]] = {}
    out: list[Job] = []
    for job in jobs:
        if job.func is not run_point:
            out.append(job)
            continue
        key = (json.dumps(job.kwargs["dataset"], sort_keys=True, default=str),
               stack_key(RunConfig.from_dict(job.kwargs["config"])), job.gpus)
        groups.setdefault(key, []).append(job)
    members: dict[str, list[Job]] = {}
    for group in groups.values():
        cap = executor.stack_size or max_auto_stack(RunConfig.from_dict(group[0].kwargs["config"]).train.device)
        for part in split_group(group, cap, workers):
            if len(part) == 1:
                out.append(part[0])
                continue
            key = f"stack:{part[0].key}+{len(part) - 1}"
            members[key] = part
            out.append(Job(key=key, func=run_points, gpus=part[0].gpus,
                           kwargs={"points": [j.kwargs for j in part], "stack_size": executor.stack_size}))
    return out, members


def ordered_frame(rows: list[dict[str, Any]], *, extra_tail: Sequence[str] = ()) -> pd.DataFrame:
    """Rows as a frame: :data:`LEAD_COLUMNS`, metrics, ``val_mse``, other columns, ``extra_tail``, :data:`TAIL_COLUMNS`."""
    df = pd.DataFrame(rows)
    metrics = list(dict.fromkeys([*METRIC_KEYS, "val_mse"]))
    if df.empty:
        return pd.DataFrame(columns=list(dict.fromkeys([*LEAD_COLUMNS, *metrics, *extra_tail, *TAIL_COLUMNS])))
    for c in [*LEAD_COLUMNS, *extra_tail, *TAIL_COLUMNS]:
        if c not in df.columns:
            df[c] = None
    lead = [c for c in [*LEAD_COLUMNS, *metrics] if c in df.columns]
    tail = [*extra_tail, *(c for c in TAIL_COLUMNS if c in df.columns)]
    middle = [c for c in df.columns if c not in lead and c not in tail]
    return df[lead + middle + tail]


def write_csv_atomically(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` through a temporary file, so a reader never sees half a table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)


class ResultTable:
    """A study's results CSV: one row per key, rewritten atomically after every finished job."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[str, dict[str, Any]] = {}
        if path.exists() and path.stat().st_size > 0:
            try:
                df = pd.read_csv(path, dtype={"key": str, "status": str, "error": str})
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
                raise DashInputError(f"cannot read the results table ({exc}); delete or move it to start over.",
                                     source=str(path)) from None
            if "key" not in df.columns or "status" not in df.columns:
                raise DashInputError("this results table has no key/status columns; it was not written by a "
                                     "DASH Studio study. Choose another --out folder.", source=str(path))
            for rec in df.to_dict("records"):
                self.rows[str(rec["key"])] = {k: (None if is_missing(v) else v) for k, v in rec.items()}

    def done(self, key: str) -> bool:
        row = self.rows.get(key)
        return row is not None and row.get("status") == "ok"

    def put(self, row: dict[str, Any]) -> None:
        self.rows[str(row["key"])] = row
        self.write()

    def frame(self, keys: Sequence[str] | None = None) -> pd.DataFrame:
        rows = list(self.rows.values()) if keys is None else [self.rows[k] for k in keys if k in self.rows]
        return ordered_frame(rows)

    def write(self) -> None:
        write_csv_atomically(self.frame(), self.path)


def read_study_settings(out_dir: Path) -> dict[str, Any] | None:
    """The ``study.json`` of a folder, or None when absent or unreadable."""
    path = Path(out_dir) / STUDY_FILE
    if not path.exists():
        return None
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return old if isinstance(old, dict) else None


def write_study_settings(out_dir: Path, settings: dict[str, Any]) -> None:
    """Write ``study.json`` (plain JSON values) into ``out_dir`` (created if needed)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / STUDY_FILE).write_text(json.dumps(json.loads(json.dumps(settings)), indent=2), encoding="utf-8")


def check_study_folder(out_dir: Path, settings: dict[str, Any]) -> None:
    """Write ``study.json`` or refuse to resume a study made with other settings."""
    plain = json.loads(json.dumps(settings))
    old = read_study_settings(out_dir)
    if old is not None and old != plain:
        diff = sorted(changed_keys(old, plain))
        raise DashInputError(
            f"this folder holds a study made with other settings (differing: {', '.join(diff[:8])}). Its rows "
            "would not be comparable: choose a new --out folder, or delete the folder to start over.",
            source=str(out_dir))
    write_study_settings(out_dir, plain)


def normalised_config(cfg: RunConfig, *, keep_lambdas: bool = False) -> dict[str, Any]:
    """The config without what varies inside a study (strategy, seed and, for sweeps, the lambdas)."""
    d = cfg.to_dict()
    d.pop("strategy", None)
    d.pop("seed", None)
    if keep_lambdas:
        return d
    d.get("pruning", {}).pop("lambda_ppi", None)
    d.get("pruning", {}).pop("lambda_motif", None)
    return d


@dataclass(frozen=True)
class PointProgress:
    """Progress of a study, handed to ``on_point`` after every finished run.

    Attributes
    ----------
    done
        Runs with a final result, including ``resumed`` ones.
    total
        Runs of the study.
    resumed
        Runs found finished in the results table (not run again).
    failed
        Runs that failed in this invocation.
    elapsed_s
        Seconds since this invocation started running jobs.
    eta_s
        Estimated seconds left (None before the first run finishes).
    """

    done: int
    total: int
    resumed: int
    failed: int
    elapsed_s: float
    eta_s: float | None


def run_study(jobs: list[Job], table: ResultTable, executor: ExecutorConfig,
              on_point: Callable[[dict[str, Any], PointProgress], None] | None,
              should_stop: Callable[[], bool] | None) -> pd.DataFrame:
    """Run the jobs of ``jobs`` not yet ``ok`` in ``table``; store every finished row; return the study's rows.

    Jobs are :func:`run_point` jobs; compatible ones are trained in stacks (:func:`stack_jobs`, one job per
    stack; ``executor.stack_size=1`` turns that off). Failed runs get a ``status="failed"`` row with
    their error; runs cancelled through ``should_stop`` are returned with
    ``status="cancelled"`` (not stored, so they run on the next invocation).
    """
    todo = [j for j in jobs if not table.done(j.key)]
    resumed = len(jobs) - len(todo)
    t0 = time.perf_counter()
    counts = {"done": 0, "failed": 0}
    labels_of = {j.key: j.kwargs for j in jobs}
    to_run, stacks = stack_jobs(todo, executor)

    def put(row: dict[str, Any]) -> None:
        table.put(row)
        counts["done"] += 1
        if row.get("status") != "ok":
            counts["failed"] += 1
        if on_point is not None:
            elapsed = time.perf_counter() - t0
            left = len(todo) - counts["done"]
            eta = elapsed / counts["done"] * left
            on_point(row, PointProgress(resumed + counts["done"], len(jobs), resumed, counts["failed"],
                                        elapsed, eta))

    def on_result(res: JobResult) -> None:
        members = [j.key for j in stacks[res.key]] if res.key in stacks else [res.key]
        if res.ok:
            for row in (res.value if res.key in stacks else [res.value]):
                put({**row, "attempts": res.attempts})
        elif res.error != CANCELLED:
            for key in members:
                put(failed_row(labels_of[key], res.error, seconds=res.seconds / len(members),
                               attempts=res.attempts))

    results = run_jobs(to_run, executor, on_result=on_result, should_stop=should_stop) if to_run else []
    df = table.frame([j.key for j in jobs])
    cancelled = [k for r in results if not r.ok and r.error == CANCELLED
                 for k in ([j.key for j in stacks[r.key]] if r.key in stacks else [r.key])]
    if cancelled:
        extra = pd.DataFrame({"key": cancelled, "status": "cancelled"})
        df = pd.concat([df, extra], ignore_index=True) if len(df) else extra
    return df.reset_index(drop=True)
