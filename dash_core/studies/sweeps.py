"""Lambda grid sweeps (methods B.8): one run per (lambda_PPI, lambda_motif, seed) point.

Rows go to ``DIR/sweep.csv`` as runs finish (resumable; see :mod:`dash_core.studies`).
Recommend a model by validation alone with :func:`dash_core.studies.selection.finalize_sweep` (``tolerance``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from dash_core.data import Dataset
from dash_core.experiment import RunConfig
from dash_core.io.errors import DashInputError
from dash_core.pruning import STRATEGIES
from dash_core.runs.executors import ExecutorConfig, Job
from dash_core.studies.datasets import DatasetSpec
from dash_core.studies.inputs import parse_grid, parse_seeds
from dash_core.studies.selection import finalize_sweep
from dash_core.studies.table import (
    PointProgress,
    ResultTable,
    check_study_folder,
    normalised_config,
    point_key,
    run_point,
    run_study,
)

__all__ = ["DEFAULT_LAMBDA_GRID", "pivot_sweep", "run_sweep", "sweep_jobs"]

#: The lambda grid recommended by methods B.8 for each of lambda_PPI and lambda_motif.
DEFAULT_LAMBDA_GRID: tuple[float, ...] = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 0.995)


def sweep_jobs(dataset_spec: DatasetSpec, base_config: RunConfig, lambda_ppi_grid: Sequence[float],
               lambda_motif_grid: Sequence[float], *, strategy: str = "dash", seeds: Sequence[int] = (0,),
               out_dir) -> list[Job]:
    """One job per (lambda_PPI, lambda_motif, seed) point of a sweep.

    Parameters
    ----------
    dataset_spec
        The data, as file paths or a simulation config (picklable).
    base_config
        Model and training settings; strategy, lambdas and seed are set per point.
    lambda_ppi_grid, lambda_motif_grid
        Values in [0, 1] (see :func:`parse_grid`).
    strategy
        A name in :data:`dash_core.pruning.STRATEGIES`.
    seeds
        Seeds of each point (initialisation, split, pruning).
    out_dir
        Study folder; runs are written to ``out_dir/runs/<key>/``.

    Returns
    -------
    list of Job
        ``Job(key=point_key(...), func=run_point, kwargs=...)`` in grid order
        (lambda_PPI outer, lambda_motif, seed inner).
    """
    STRATEGIES.get(strategy)  # clear error for an unknown name
    ppi = parse_grid(list(lambda_ppi_grid), "lambda_ppi_grid")
    motif = parse_grid(list(lambda_motif_grid), "lambda_motif_grid")
    seeds = parse_seeds(list(seeds))
    root = Path(out_dir).resolve()
    jobs = []
    for lp in ppi:
        for lm in motif:
            for s in seeds:
                cfg = dataclasses.replace(base_config, strategy=strategy, seed=int(s),
                                          pruning=dataclasses.replace(base_config.pruning, lambda_ppi=lp,
                                                                      lambda_motif=lm))
                key = point_key(strategy, lp, lm, s)
                jobs.append(Job(key=key, func=run_point,
                                kwargs={"key": key, "dataset": dataset_spec.to_dict(), "config": cfg.to_dict(),
                                        "run_dir": str(root / "runs" / key), "labels": {"condition": "sweep"}}))
    return jobs


def run_sweep(dataset_spec: DatasetSpec, base_config: RunConfig, lambda_ppi_grid: Sequence[float],
              lambda_motif_grid: Sequence[float], *, strategy: str = "dash", seeds: Sequence[int] = (0,),
              out_dir, executor: ExecutorConfig = ExecutorConfig(),
              on_point: Callable[[dict[str, Any], PointProgress], None] | None = None,
              should_stop: Callable[[], bool] | None = None, tolerance: float | None = None,
              dataset: Dataset | None = None, referee_dir=None) -> pd.DataFrame:
    """Train one model per lambda grid point and collect the metrics (methods B.8).

    Rows are written to ``out_dir/sweep.csv`` as each run finishes; points
    already there with ``status == "ok"`` are not run again, failed ones are
    retried (see the module docstring).

    Parameters
    ----------
    dataset_spec, base_config, lambda_ppi_grid, lambda_motif_grid, strategy, seeds, out_dir
        See :func:`sweep_jobs`.
    executor
        How the runs are executed (in-process, process pool, Ray).
    on_point
        Called in this process after every finished run with its row and a
        :class:`PointProgress`.
    should_stop
        Cancellation poll; unfinished points are returned with status ``cancelled``.
    tolerance
        Recommend a model by validation alone when the runs are done
        (:func:`dash_core.studies.selection.finalize_sweep`: ``out_dir/selection.json`` and the model in
        ``out_dir/recommended/``) with this relative tolerance; None (default) skips it.
    dataset
        ``dataset_spec`` already loaded (the CLI loads it once to show its warnings); None: loaded here when the
        selection needs it.
    referee_dir
        Study folder of the unpruned baseline runs (strategy ``none``, same seeds) that referee the
        recommended model's prior audit (see :func:`~dash_core.studies.selection.finalize_sweep`).

    Returns
    -------
    pandas.DataFrame
        One row per point of this grid (also the resumed ones), columns
        ``key, status, condition, strategy, seed, lambda_ppi, lambda_motif``,
        the metrics, ``val_mse`` and the other details, ``run_dir``,
        ``job_seconds``, ``attempts``, ``error``.
    """
    root = Path(out_dir)
    check_study_folder(root, {"kind": "sweep", "dataset": dataset_spec.to_dict(),
                        "config": normalised_config(base_config)})
    jobs = sweep_jobs(dataset_spec, base_config, lambda_ppi_grid, lambda_motif_grid, strategy=strategy,
                      seeds=seeds, out_dir=root)
    df = run_study(jobs, ResultTable(root / "sweep.csv"), executor, on_point, should_stop)
    df.attrs["selection"] = None
    if tolerance is not None and len(df) and (df["status"] == "ok").any():
        if dataset is None:
            dataset, _ = dataset_spec.load()
        df.attrs["selection"] = finalize_sweep(root, df, dataset, dataset_spec=dataset_spec.to_dict(),
                                               tolerance=tolerance, strategy=strategy, referee_dir=referee_dir)
    return df



def pivot_sweep(df: pd.DataFrame, metric: str = "val_mse") -> pd.DataFrame:
    """Grid view of a sweep: rows = lambda_PPI, columns = lambda_motif, values = ``metric`` (mean over seeds)."""
    ok = df[df["status"] == "ok"] if "status" in df.columns else df
    if metric not in ok.columns:
        raise DashInputError(f"the sweep table has no {metric!r} column.")
    vals = ok.assign(**{metric: pd.to_numeric(ok[metric], errors="coerce")})
    return vals.pivot_table(index="lambda_ppi", columns="lambda_motif", values=metric, aggfunc="mean")
