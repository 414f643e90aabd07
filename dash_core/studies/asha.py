"""Adaptive lambda search: ASHA (asynchronous successive halving) on Ray Tune.

A grid sweep (:func:`dash_core.studies.sweeps.run_sweep`) trains every
``(lambda_PPI, lambda_motif)`` point to the end. :func:`run_asha_search`
instead samples ``trials`` points, trains them as Ray Tune trials that report
their validation MSE after every epoch, and lets Tune's ASHA scheduler stop the
trials whose validation MSE is in the worse part of the trials that reached the
same epoch ("rung": ``grace_period``, ``grace_period * reduction_factor``,
...). The surviving trials train to the end exactly like a grid point, so the
results table (``out_dir/sweep.csv``) has the grid sweep's columns and the same
recommendation rule (:func:`dash_core.studies.selection.recommend`, by validation MSE along
every finished trial's pruning path) applies.

Search space
------------
``space="logit"`` (default): ``lambda = sigmoid(z)`` with ``z`` uniform on
``[logit(0.001), logit(0.999)]``: about a third of the values fall in
``[0.001, 0.1]``, a third in ``[0.1, 0.9]`` and a third in ``[0.9, 0.999]``, so the
density is highest near 0 and 1, where the paper's values lie (0.05, 0.95,
0.995; methods B.8). Exactly 0 (pure magnitude, IMP) and 1 (pure prior, BioPrune)
are not sampled. ``space="uniform"``: ``lambda`` uniform on ``[0, 1]``. Both
lambdas are sampled independently with ``numpy.random.default_rng(seed)`` and
rounded to 4 decimals, so the points of a search depend only on ``seed``,
``trials`` and ``space``.

What ASHA compares
------------------
Every epoch a trial reports ``val_mse`` = the best validation MSE so far
(the value its best checkpoint would be scored with, as in the grid's
``val_mse`` column), ``epoch_val_mse`` (this epoch's), ``sparsity`` (of the
current model) and ``epoch``; ASHA uses ``time_attr="epoch"`` and
``mode="min"`` on ``val_mse``. For DASH the lambdas only act at pruning events
(first at ``pruning.first_epoch``, then every ``pruning.interval`` epochs), so
the default grace period is ``first_epoch + interval`` epochs: before that,
trials of different lambdas are nearly identical and cannot be ranked.

Early-stopped trials
--------------------
When ASHA stops a trial, Ray Tune makes that trial's next ``tune.report`` raise
``SystemExit``; the progress callback turns it into a stop request, training
ends at once (no scoring, no run folder) and the trial's row gets
``status = "stopped"`` with its last reported ``val_mse``, ``sparsity`` and
``epochs_spent``; the other metrics are empty. Only ``status == "ok"`` rows
(trials that trained to the end or to their own early stopping) take part in the
selection.

Reproducibility: each trial's training is seeded (the same result as the grid
point with the same lambdas and seed), but which trials ASHA stops depends on
the order in which trials reach a rung. With ``max_concurrent=1`` trials run one
after another and the whole search is reproducible; with more concurrent trials
the stopped set can change with timing.

Ray is optional: it is imported only inside :func:`run_asha_search` and the trial function
(a deliberate lazy import: the rest of the package works without it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from dash_core.experiment import RunConfig, run_experiment, save_run
from dash_core.io.errors import DashInputError
from dash_core.pruning import STRATEGIES
from dash_core.stacking import plan_stacks, successive_halving
from dash_core.studies.datasets import DatasetSpec
from dash_core.studies.selection import DEFAULT_TOLERANCE, finalize_sweep
from dash_core.studies.table import (
    STUDY_FILE,
    is_missing,
    ordered_frame,
    plain_scalar,
    point_key,
    read_study_settings,
    result_row,
    write_csv_atomically,
    write_study_settings,
)

__all__ = [
    "ASHA_COLUMNS",
    "LAMBDA_SPACES",
    "run_asha_search",
    "run_halving_search",
    "sample_lambdas",
]

#: Search spaces of :func:`sample_lambdas`.
LAMBDA_SPACES: tuple[str, ...] = ("logit", "uniform")

#: Columns an ASHA table has in addition to the grid sweep's.
ASHA_COLUMNS: tuple[str, ...] = ("epochs_spent", "trial_id")

#: Smallest / largest lambda of the ``logit`` space.
_LOGIT_EPS = 1e-3
#: Decimals sampled lambdas are rounded to (keeps point keys short and unique).
_DECIMALS = 4

_RAY_INSTALL_HINT = "Install it with: pip install 'ray[tune]' (it is in requirements-dev.txt)."
_ROW_METRIC = "dash_row"


# ---------------------------------------------------------------------------------------------- sampling
def sample_lambdas(trials: int, *, seed: int = 0, space: Literal["logit", "uniform"] = "logit"
                   ) -> list[tuple[float, float]]:
    """Sample ``trials`` distinct ``(lambda_PPI, lambda_motif)`` pairs in [0, 1].

    Parameters
    ----------
    trials
        Number of pairs (>= 1).
    seed
        Seed of ``numpy.random.default_rng``.
    space
        ``"logit"``: sigmoid of a uniform value on ``[logit(0.001), logit(0.999)]``
        (dense near 0 and 1); ``"uniform"``: uniform on [0, 1].

    Returns
    -------
    list of (float, float)
        Pairs rounded to 4 decimals, no duplicates, in sampling order.

    Raises
    ------
    DashInputError
        ``trials < 1`` or an unknown space.
    """
    if not isinstance(trials, (int, np.integer)) or trials < 1:
        raise DashInputError(f"the number of trials must be a whole number >= 1, got {trials!r}.", source="--trials")
    if space not in LAMBDA_SPACES:
        raise DashInputError(f"unknown lambda space {space!r}; choose one of {', '.join(LAMBDA_SPACES)}.",
                             source="--lambda-space")
    rng = np.random.default_rng(int(seed))
    lo = math.log(_LOGIT_EPS / (1 - _LOGIT_EPS))
    out: list[tuple[float, float]] = []
    while len(out) < trials:
        if space == "logit":
            z = rng.uniform(lo, -lo, size=2)
            values = 1.0 / (1.0 + np.exp(-z))
        else:
            values = rng.uniform(0.0, 1.0, size=2)
        pair = (round(float(values[0]), _DECIMALS), round(float(values[1]), _DECIMALS))
        if pair not in out:
            out.append(pair)
    return out


# ---------------------------------------------------------------------------------------------- the trial
class _TrialStopped(BaseException):
    """Raised inside a trial when Ray Tune stops it (a BaseException so no ``except Exception`` swallows it)."""


def _asha_trial(config: dict[str, Any], *, dataset: dict[str, Any], base_config: dict[str, Any], strategy: str,
                seed: int, run_root: str) -> None:
    """Ray Tune function trainable: train one lambda point, report every epoch, report the row at the end.

    ``config["point"]`` holds ``lambda_ppi`` and ``lambda_motif``. Runs in a Ray
    worker; the run folder is written to ``run_root/<key>`` (shared storage on a
    cluster).
    """
    from ray import tune  # lazy: runs in a Ray worker, and Ray is optional

    t0 = time.perf_counter()
    lp = float(config["point"]["lambda_ppi"])
    lm = float(config["point"]["lambda_motif"])
    base = RunConfig.from_dict(base_config)
    cfg = dataclasses.replace(base, strategy=strategy, seed=int(seed),
                              pruning=dataclasses.replace(base.pruning, lambda_ppi=lp, lambda_motif=lm))
    key = point_key(strategy, lp, lm, seed)
    stop = {"requested": False}

    def progress(event) -> None:
        if stop["requested"]:
            raise _TrialStopped
        try:
            tune.report({"epoch": int(event.epoch), "val_mse": float(event.best_val_mse),
                         "epoch_val_mse": float(event.val_mse), "sparsity": float(event.sparsity),
                         "phase": str(event.phase)})
        except SystemExit:  # Ray Tune's way of ending a stopped trial's training thread
            stop["requested"] = True
            raise _TrialStopped from None

    ds, _ = DatasetSpec(**dataset).load()
    try:
        result = run_experiment(ds, cfg, progress=progress, should_stop=lambda: stop["requested"])
    except _TrialStopped:
        return
    run_dir = Path(run_root) / key
    save_run(result, run_dir)
    row = result_row(result, key=key, labels={"condition": "asha"}, run_dir=run_dir, started=t0)
    try:
        tune.report({"epoch": int(result.metrics["epochs"]), "val_mse": float(result.metrics["val_mse"]),
                     "sparsity": float(result.metrics["sparsity"]), _ROW_METRIC: json.dumps(row)})
    except SystemExit:  # stopped by the driver (should_stop) while reporting the final row
        return


# ---------------------------------------------------------------------------------------------- rows
def _trial_row(point: dict[str, float], last: dict[str, Any], error: str | None, *, strategy: str, seed: int,
               attempts: int, seconds: float | None, trial_id: str) -> dict[str, Any]:
    """The results-table row of one finished, stopped or failed trial (built in the driver)."""
    lp, lm = float(point["lambda_ppi"]), float(point["lambda_motif"])
    epoch = last.get("epoch")
    spent = int(epoch) if isinstance(epoch, (int, float)) and not is_missing(epoch) else 0
    if last.get(_ROW_METRIC) and error is None:
        row = json.loads(last[_ROW_METRIC])
        row["epochs_spent"] = int(row.get("epochs") or spent)
    else:
        row = {"key": point_key(strategy, lp, lm, seed), "status": "failed" if error else "stopped",
               "condition": "asha", "strategy": strategy, "seed": int(seed), "lambda_ppi": lp, "lambda_motif": lm,
               "sparsity": plain_scalar(last.get("sparsity")), "val_mse": plain_scalar(last.get("val_mse")),
               "epochs_spent": spent, "stop_reason": "error" if error else "asha", "run_dir": None,
               "job_seconds": None if seconds is None else round(float(seconds), 3), "error": error}
    row["attempts"] = int(attempts)
    row["trial_id"] = trial_id
    return row


# ---------------------------------------------------------------------------------------------- Ray
def _import_tune() -> tuple[Any, Any]:
    try:
        import ray  # lazy: Ray is optional
        from ray import tune
    except ImportError as exc:
        raise DashInputError(f"The ASHA search needs Ray Tune, which is not installed ({exc}). "
                             + _RAY_INSTALL_HINT, source="--search") from None
    return ray, tune


def _driver_pythonpath() -> str:
    """This process's ``sys.path`` as a PYTHONPATH, so local Ray workers import what the driver imports."""
    paths = [os.path.abspath(p or os.curdir) for p in sys.path]
    return os.pathsep.join(dict.fromkeys(p for p in paths if os.path.isdir(p)))


def _start_ray(ray: Any, ray_address: str | None, cpus_per_trial: float) -> bool:
    """Connect to (or start) Ray unless it is already initialised; True when this call started it.

    A local Ray gets all of this machine's CPUs (concurrency is capped by the search, not by Ray).
    """
    if ray.is_initialized():
        return False
    if ray_address is None:
        cpus = os.cpu_count() or 1
        if cpus_per_trial > cpus:
            raise DashInputError(f"a trial reserves {cpus_per_trial:g} CPUs but this machine has {cpus}; lower "
                                 "the CPUs per trial or give the address of a Ray cluster.", source="--ray-address")
        ray.init(address="local", num_cpus=cpus, include_dashboard=False,
                 runtime_env={"env_vars": {"PYTHONPATH": _driver_pythonpath()}}, log_to_driver=False)
        return True
    try:
        ray.init(address=ray_address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise DashInputError(f"Could not connect to the Ray cluster at {ray_address!r}: {exc}. Check that it is "
                             "running ('ray status' on the head node) and the address is right.",
                             source="--ray-address") from None
    return True


def _check_folder(root: Path, settings: dict[str, Any]) -> None:
    """Refuse to write into a grid study's folder; (re)write ``study.json`` of an ASHA search."""
    if (root / STUDY_FILE).exists():
        old = read_study_settings(root)
        if old is None or old.get("kind") != "asha":
            raise DashInputError("this folder holds another study (a grid sweep or benchmark); its sweep.csv would "
                                 "be overwritten. Choose a new --out folder for the ASHA search.", source=str(root))
    write_study_settings(root, settings)


# ---------------------------------------------------------------------------------------------- public API
def run_asha_search(dataset_spec: DatasetSpec, base_config: RunConfig, *, trials: int, strategy: str = "dash",
                    out_dir, max_epochs: int | None = None, grace_period: int | None = None,
                    reduction_factor: float = 3.0, seed: int = 0, space: Literal["logit", "uniform"] = "logit",
                    ray_address: str | None = None, cpus_per_trial: float = 1.0, gpus_per_trial: float = 0.0,
                    max_concurrent: int | None = None, max_retries: int = 1,
                    tolerance: float | None = None,
                    on_trial: Callable[[dict[str, Any]], None] | None = None,
                    should_stop: Callable[[], bool] | None = None) -> pd.DataFrame:
    """Adaptive lambda search with Ray Tune's ASHA scheduler on the validation MSE.

    Parameters
    ----------
    dataset_spec
        The data (files or a simulation config); every trial loads it itself.
    base_config
        Model, training and pruning settings; strategy, seed and the lambdas are
        set per trial.
    trials
        Number of sampled ``(lambda_PPI, lambda_motif)`` points (:func:`sample_lambdas`).
    strategy
        Strategy whose lambdas are searched (``dash``; any registered name works,
        the lambdas are simply ignored by strategies that do not use them).
    out_dir
        Search folder: ``sweep.csv`` (one row per trial), ``selection.json``,
        ``study.json``, ``runs/<key>/`` (finished trials) and ``tune/`` (Ray Tune's
        experiment folder).
    max_epochs
        Epochs of a trial that is never stopped (default ``base_config.train.max_epochs``).
    grace_period
        Epochs every trial trains before it can be stopped (first rung). Default
        ``pruning.first_epoch + pruning.interval`` (after the second pruning event),
        capped at ``max_epochs``.
    reduction_factor
        ASHA's eta: rungs at ``grace_period * eta**k``; at each rung a trial
        continues only if its ``val_mse`` is in the best ``1/eta`` of the trials
        recorded there so far.
    seed
        Seeds the lambda sampling and every trial's training.
    space
        ``"logit"`` (dense near 0 and 1; default) or ``"uniform"``; see the module docstring.
    ray_address
        A running Ray cluster (``"auto"``, ``"ray://head:10001"``); None uses the
        Ray already initialised in this process or starts a local one (shut down
        afterwards).
    cpus_per_trial, gpus_per_trial
        Resources reserved per trial (``gpus_per_trial`` may be fractional).
    max_concurrent
        Trials running at the same time (default: as many as the resources allow).
        1 makes the search reproducible (see the module docstring).
    max_retries
        A trial that raises is restarted this many times before it is reported failed.
    tolerance
        Relative tolerance of the recommendation rule among the ``ok`` trials
        (:func:`dash_core.studies.selection.finalize_sweep`; default
        :data:`dash_core.studies.selection.DEFAULT_TOLERANCE`).
    on_trial
        Called in this process with each trial's row as soon as the trial ends
        (while Tune runs, this process's stdout is redirected to stderr).
    should_stop
        Polled by Tune; True ends the search (running trials are stopped and
        reported ``stopped``).

    Returns
    -------
    pandas.DataFrame
        One row per trial (the grid sweep's columns, ``status`` ``ok`` /
        ``stopped`` / ``failed``, plus ``epochs_spent`` and ``trial_id``), also
        written to ``out_dir/sweep.csv``. ``df.attrs["selection"]`` holds the
        selected point (a dict, also in ``selection.json``; None when no trial
        finished) and ``df.attrs["epochs_spent"]`` the total epochs trained.

    Raises
    ------
    DashInputError
        Ray Tune missing, bad settings, an unknown strategy, or a folder of another study.
    """
    epochs, grace, tolerance = _search_settings(base_config, strategy=strategy, tolerance=tolerance,
                                                max_epochs=max_epochs, grace_period=grace_period,
                                                reduction_factor=reduction_factor)
    if not cpus_per_trial > 0 or not gpus_per_trial >= 0:
        raise DashInputError(f"cpus_per_trial must be > 0 and gpus_per_trial >= 0, got {cpus_per_trial} and "
                             f"{gpus_per_trial}.", source="--gpus-per-job")
    if max_concurrent is not None and max_concurrent < 1:
        raise DashInputError(f"max_concurrent must be at least 1, got {max_concurrent}.", source="--workers")
    if not isinstance(max_retries, int) or max_retries < 0:
        raise DashInputError(f"max_retries must be a whole number >= 0, got {max_retries!r}.")
    points = sample_lambdas(trials, seed=seed, space=space)
    ray, tune = _import_tune()

    root = Path(out_dir).resolve()
    base = dataclasses.replace(base_config, train=dataclasses.replace(base_config.train, max_epochs=epochs))
    settings = {"kind": "asha", "dataset": dataset_spec.to_dict(), "config": base.to_dict(), "strategy": strategy,
                "trials": int(trials), "seed": int(seed), "space": space, "grace_period": grace,
                "reduction_factor": float(reduction_factor), "max_concurrent": max_concurrent}
    _check_folder(root, settings)
    table_path = root / "sweep.csv"
    rows: dict[str, dict[str, Any]] = {}
    t_start = time.perf_counter()

    def finish(trial: Any, error: str | None) -> None:
        point = trial.config["point"]
        last = dict(trial.last_result or {})
        seconds = last.get("time_total_s")
        seconds = float(seconds) if isinstance(seconds, (int, float)) else None
        row = _trial_row(point, last, error, strategy=strategy, seed=seed,
                         attempts=int(trial.num_failures) + (0 if error else 1), seconds=seconds,
                         trial_id=str(trial.trial_id))
        rows[row["key"]] = row
        write_csv_atomically(ordered_frame(list(rows.values()), extra_tail=ASHA_COLUMNS), table_path)
        if on_trial is not None:
            on_trial(row)

    class _Rows(tune.Callback):
        def on_trial_complete(self, iteration, trials, trial, **info):  # noqa: ARG002 - Tune's signature
            finish(trial, None)

        def on_trial_error(self, iteration, trials, trial, **info):  # noqa: ARG002 - Tune's signature
            finish(trial, _trial_error(trial))

    class _StopAll(tune.Stopper):
        def __call__(self, trial_id, result):  # noqa: ARG002 - Tune's signature
            return False

        def stop_all(self):
            return should_stop is not None and bool(should_stop())

    started_here = _start_ray(ray, ray_address, float(cpus_per_trial))
    try:
        from ray.tune.schedulers import ASHAScheduler  # lazy: Ray is optional
        from ray.tune.search import BasicVariantGenerator

        trainable = tune.with_parameters(_asha_trial, dataset=dataset_spec.to_dict(), base_config=base.to_dict(),
                                         strategy=strategy, seed=int(seed), run_root=str(root / "runs"))
        trainable = tune.with_resources(trainable, {"cpu": float(cpus_per_trial), "gpu": float(gpus_per_trial)})
        # stop_last_trials=False: a trial is never stopped for reaching max_t; it ends by itself after
        # max_epochs (or its own early stopping) and can report its final row.
        scheduler = ASHAScheduler(time_attr="epoch", max_t=epochs, grace_period=grace,
                                  reduction_factor=float(reduction_factor), brackets=1, stop_last_trials=False)
        space_spec = {"point": tune.grid_search([{"lambda_ppi": a, "lambda_motif": b} for a, b in points])}
        tuner = tune.Tuner(
            trainable,
            param_space=space_spec,
            tune_config=tune.TuneConfig(metric="val_mse", mode="min", scheduler=scheduler, num_samples=1,
                                        search_alg=BasicVariantGenerator(max_concurrent=int(max_concurrent or 0),
                                                                         random_state=int(seed)),
                                        reuse_actors=False),
            run_config=tune.RunConfig(name="asha", storage_path=str(root / "tune"), verbose=0,
                                      stop=_StopAll(), callbacks=[_Rows()],
                                      failure_config=tune.FailureConfig(max_failures=int(max_retries)),
                                      checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False)),
        )
        with contextlib.redirect_stdout(sys.stderr):  # Tune's banner; stdout is the caller's
            grid = tuner.fit()
        for result in grid:  # trials the callbacks did not see (e.g. never started before a stop)
            point = (result.config or {}).get("point")
            if point is None:
                continue
            key = point_key(strategy, point["lambda_ppi"], point["lambda_motif"], seed)
            if key not in rows:
                err = None if result.error is None else f"{type(result.error).__name__}: {result.error}"
                last = dict(result.metrics or {})
                rows[key] = _trial_row(point, last, err, strategy=strategy, seed=seed, attempts=1,
                                       seconds=last.get("time_total_s"), trial_id=str(last.get("trial_id", "")))
    finally:
        if started_here:
            ray.shutdown()

    return _finish_search(rows, points, strategy=strategy, seed=seed, root=root, dataset_spec=dataset_spec,
                          tolerance=tolerance, epochs=epochs, t_start=t_start)


def _search_settings(base_config: RunConfig, *, strategy: str, tolerance: float | None,
                     max_epochs: int | None, grace_period: int | None, reduction_factor: float
                     ) -> tuple[int, int, float]:
    """Check the settings shared by both searches; return ``(max_epochs, grace_period, tolerance)``."""
    STRATEGIES.get(strategy)
    tolerance = DEFAULT_TOLERANCE if tolerance is None else float(tolerance)
    if not tolerance >= 0:
        raise DashInputError(f"the tolerance must be >= 0, got {tolerance}.", source="--tolerance")
    epochs = int(base_config.train.max_epochs if max_epochs is None else max_epochs)
    if epochs < 1:
        raise DashInputError(f"max_epochs must be at least 1, got {epochs}.", source="--max-epochs")
    if grace_period is None:
        grace_period = base_config.pruning.first_epoch + base_config.pruning.interval
    grace = min(int(grace_period), epochs)
    if grace < 1:
        raise DashInputError(f"grace_period must be at least 1 epoch, got {grace_period}.", source="--grace-period")
    if not reduction_factor > 1:
        raise DashInputError(f"reduction_factor must be > 1, got {reduction_factor}.", source="--reduction-factor")
    return epochs, grace, tolerance


def _finish_search(rows: dict[str, dict[str, Any]], points: list[tuple[float, float]], *, strategy: str, seed: int,
                   root: Path, dataset_spec: DatasetSpec, tolerance: float, epochs: int, t_start: float
                   ) -> pd.DataFrame:
    """Write ``sweep.csv`` (trials in sampling order) and ``selection.json`` (the recommended model of the
    finished trials, :func:`dash_core.studies.selection.finalize_sweep`); the table with its attrs."""
    table_path = root / "sweep.csv"
    order = {point_key(strategy, a, b, seed): i for i, (a, b) in enumerate(points)}
    df = ordered_frame(sorted(rows.values(), key=lambda r: order.get(r["key"], len(order))), extra_tail=ASHA_COLUMNS)
    write_csv_atomically(df, table_path)
    selection: dict[str, Any] | None = None
    if (df["status"] == "ok").any():
        dataset, _ = dataset_spec.load()
        selection = finalize_sweep(root, df, dataset, dataset_spec=dataset_spec.to_dict(), tolerance=tolerance,
                                   strategy=strategy)
    spent = int(pd.to_numeric(df["epochs_spent"], errors="coerce").fillna(0).sum()) if len(df) else 0
    search = {"epochs_spent": spent, "trials": int(len(df)),
              "n_ok": int((df["status"] == "ok").sum()), "n_stopped": int((df["status"] == "stopped").sum()),
              "n_failed": int((df["status"] == "failed").sum()), "max_epochs": epochs,
              "wall_seconds": round(time.perf_counter() - t_start, 3)}
    (root / "selection.json").write_text(json.dumps({**(selection or {}), "search": search}, indent=2,
                                                    default=str), encoding="utf-8")
    df.attrs["selection"] = selection
    df.attrs["epochs_spent"] = spent
    return df


def _trial_error(trial: Any) -> str:
    """The error of a failed trial as ``"Type: message"`` plus a few traceback lines."""
    text = None
    try:
        err = trial.get_error()
        text = None if err is None else str(err)
    except Exception:  # noqa: BLE001 - fall back to the error file
        text = None
    if not text:
        path = getattr(trial, "error_file", None)
        if path and Path(path).exists():
            text = Path(path).read_text(encoding="utf-8", errors="replace")
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    if not lines:
        return "RuntimeError: the trial failed without an error message"
    # Ray wraps the worker's traceback; its last line names the exception ("pkg.mod.Type: message").
    # Put "Type: message" first, as the executors do, followed by the last traceback lines.
    last = lines[-1].strip()
    name, sep, message = last.partition(": ")
    head = f"{name.rsplit('.', 1)[-1]}: {message}" if sep and " " not in name else last
    return head + "\n" + "\n".join(lines[-12:])


def run_halving_search(dataset_spec: DatasetSpec, base_config: RunConfig, *, trials: int, strategy: str = "dash",
                       out_dir, max_epochs: int | None = None, grace_period: int | None = None,
                       reduction_factor: float = 3.0, seed: int = 0, space: Literal["logit", "uniform"] = "logit",
                       stack_size: int | None = None, tolerance: float | None = None,
                       on_trial: Callable[[dict[str, Any]], None] | None = None,
                       should_stop: Callable[[], bool] | None = None) -> pd.DataFrame:
    """The adaptive lambda search of :func:`run_asha_search` as successive halving on stacked models (no Ray).

    The same ``trials`` sampled points, rungs (``grace_period * reduction_factor**k``) and table: the trials
    train together as one stacked model (:func:`dash_core.stacking.successive_halving`); at each rung the
    trials that reached it are ranked by their best validation MSE so far and only the best
    ``ceil(m / reduction_factor)`` go on, the others leave the stack (``status = "stopped"``, no run folder).
    Synchronous, so the whole search is reproducible. ``stack_size`` caps K (None: from the available memory);
    with more trials than fit, the trials are split into stacks searched one after the other, each halving
    on its own.

    Returns the table (also ``out_dir/sweep.csv``) with ``df.attrs["selection"]`` and
    ``df.attrs["epochs_spent"]`` as :func:`run_asha_search`.
    """
    epochs, grace, tolerance = _search_settings(base_config, strategy=strategy, tolerance=tolerance,
                                     max_epochs=max_epochs, grace_period=grace_period,
                                     reduction_factor=reduction_factor)
    points = sample_lambdas(trials, seed=seed, space=space)
    root = Path(out_dir).resolve()
    base = dataclasses.replace(base_config, strategy=strategy, seed=int(seed),
                               train=dataclasses.replace(base_config.train, max_epochs=epochs))
    settings = {"kind": "halving", "dataset": dataset_spec.to_dict(), "config": base.to_dict(), "strategy": strategy,
                "trials": int(trials), "seed": int(seed), "space": space, "grace_period": grace,
                "reduction_factor": float(reduction_factor)}
    _check_folder(root, settings)
    t_start = time.perf_counter()
    ds, _ = dataset_spec.load()
    configs = [dataclasses.replace(base, pruning=dataclasses.replace(base.pruning, lambda_ppi=a, lambda_motif=b))
               for a, b in points]
    rows: dict[str, dict[str, Any]] = {}
    for group in plan_stacks(ds, configs, stack_size=stack_size):
        t0 = time.perf_counter()
        outcome = successive_halving(ds, [configs[i] for i in group], grace_period=grace,
                                     reduction_factor=float(reduction_factor), should_stop=should_stop)
        share = round((time.perf_counter() - t0) / len(group), 3)
        for i, out in zip(group, outcome):
            lp, lm = points[i]
            key = point_key(strategy, lp, lm, seed)
            res = out["result"]
            if isinstance(res, BaseException):
                row = {"key": key, "status": "failed", "condition": "halving", "strategy": strategy, "seed": int(seed),
                       "lambda_ppi": lp, "lambda_motif": lm, "epochs_spent": 0, "stop_reason": "error",
                       "run_dir": None, "job_seconds": share, "error": f"{type(res).__name__}: {res}"}
            elif out["stopped_at"] is not None:
                row = {"key": key, "status": "stopped", "condition": "halving", "strategy": strategy,
                       "seed": int(seed), "lambda_ppi": lp, "lambda_motif": lm,
                       "sparsity": plain_scalar(res.history["sparsity"].iloc[-1]),
                       "val_mse": plain_scalar(out["best_val_at_stop"]), "epochs_spent": int(out["stopped_at"]),
                       "stop_reason": "halving", "run_dir": None, "job_seconds": share, "error": None}
            else:
                run_dir = root / "runs" / key
                save_run(res, run_dir)
                row = result_row(res, key=key, labels={"condition": "halving"}, run_dir=run_dir, started=t0)
                row["epochs_spent"] = int(res.metrics["epochs"])
                row["job_seconds"] = share
            row["attempts"] = 1
            row["trial_id"] = f"stack{group[0]}_{i}"
            rows[key] = row
            if on_trial is not None:
                on_trial(row)
    return _finish_search(rows, points, strategy=strategy, seed=seed, root=root, dataset_spec=dataset_spec,
                          tolerance=tolerance, epochs=epochs, t_start=t_start)
