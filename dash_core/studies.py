"""Studies: lambda sweeps and the paper benchmark (methods B.8, F.1, J).

A study is a list of independent runs handed to an executor
(:func:`dash_core.runs.executors.run_jobs`). Every run is one
:func:`dash_core.experiment.run_experiment` call made by the module-level job
function :func:`run_point`, which loads the data from files (a
:class:`DatasetSpec`), trains, writes the run folder with
:func:`~dash_core.experiment.save_run` and returns one flat row of numbers.

Results table and resuming
--------------------------
Each finished run becomes a row of the study's results table
(``DIR/sweep.csv`` or ``DIR/benchmark.csv``), written to disk as soon as the run
finishes, so that an interrupted study resumes where it stopped: keys whose row
has ``status == "ok"`` are not run again; failed runs are stored with
``status == "failed"`` and their error, and are retried on the next invocation.
``DIR/study.json`` records the settings of the study; resuming into a folder
made with other settings (another dataset, model or training options) is
refused, because the old rows would not be comparable.

Layout of ``DIR``::

    study.json            settings of the study
    sweep.csv             (sweep) one row per strategy x lambda point x seed
    benchmark.csv         (benchmark) one row per condition x strategy x seed
    summary.csv / .md     (benchmark) mean +- sd over seeds, next to the paper's values
    runs/<key>/           metrics.json, edges.csv, history.csv, config.json, model.pt
    data/<condition>/seed<k>/   (benchmark presets) the simulated data of each seed

Gene-level matrices in the run folders follow the package convention: row =
regulator, column = target.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dash_core.io.errors import DashInputError
from dash_core.runs.executors import CANCELLED, ExecutorConfig, Job, JobResult, run_jobs

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time (torch)
    from dash_core.data import Dataset
    from dash_core.experiment import RunConfig
    from dash_core.simulate import SimulationConfig

__all__ = [
    "BENCHMARK_PRESETS",
    "DEFAULT_LAMBDA_GRID",
    "PAPER_SIM350",
    "PAPER_SIM350_LABELS",
    "SELECT_CRITERIA",
    "SUMMARY_METRICS",
    "BenchmarkTables",
    "Condition",
    "DatasetSpec",
    "PointProgress",
    "benchmark_conditions",
    "benchmark_jobs",
    "parse_grid",
    "parse_seeds",
    "pivot_sweep",
    "point_key",
    "prepare_benchmark_data",
    "register",
    "run_benchmark",
    "run_point",
    "run_sweep",
    "select_point",
    "summarize_benchmark",
    "summary_markdown",
    "sweep_jobs",
]

#: The lambda grid recommended by methods B.8 for each of lambda_PPI and lambda_motif.
DEFAULT_LAMBDA_GRID: tuple[float, ...] = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 0.995)

#: Selection criteria of :func:`select_point`: column -> True when higher is better.
SELECT_CRITERIA: dict[str, bool] = {"val_mse": False, "balanced_accuracy": True, "auprc": True}

#: Methods F.1 (SIM350, 5 % noise): strategy -> (sparsity, balanced accuracy), as fractions.
#: Read off the DASH paper's figure, so approximate; SparseFlow's sparsity is from F.2
#: (no balanced accuracy was reported); SynFlow has no reported values.
PAPER_SIM350: dict[str, tuple[float | None, float | None]] = {
    "none": (0.099, 0.587),
    "cnode": (0.062, 0.558),
    "l0": (0.338, 0.549),
    "pathreg": (0.566, 0.619),
    "imp": (0.960, 0.713),
    "pinn_mp": (0.871, 0.823),
    "bioprune": (0.835, 0.877),
    "dash": (0.946, 0.906),
    "sparseflow": (0.96, None),
}

#: Method names as printed in the paper, by strategy name.
PAPER_SIM350_LABELS: dict[str, str] = {
    "none": "PHOENIX (unpruned)",
    "cnode": "C-NODE",
    "l0": "L0",
    "pathreg": "PathReg",
    "imp": "IMP",
    "pinn_mp": "PINN+MP",
    "bioprune": "BioPrune",
    "dash": "DASH",
    "synflow": "SynFlow",
    "sparseflow": "SparseFlow",
}

#: Columns summarised (mean +- sd over seeds) by :func:`summarize_benchmark`.
SUMMARY_METRICS: tuple[str, ...] = ("sparsity", "balanced_accuracy", "auroc", "auprc", "test_mse", "epochs",
                                    "wall_seconds", "seconds_per_epoch")

#: Benchmark presets (methods F.1, E.4, E.5 / paper Table 6).
BENCHMARK_PRESETS: tuple[str, ...] = ("sim350", "noise", "prior-corruption")

#: Noise levels of the ``noise`` preset in paper percent (sigma = percent / 100 * 0.5, methods E.4).
NOISE_PERCENTS: tuple[float, ...] = (0.0, 5.0, 10.0, 20.0)

#: Prior corruption fractions of the ``prior-corruption`` preset (paper Table 6, noise-free expression).
PRIOR_CORRUPTIONS: tuple[float, ...] = (0.0, 0.2, 0.4)

_LEAD_COLUMNS = ["key", "status", "condition", "strategy", "seed", "lambda_ppi", "lambda_motif"]
_TAIL_COLUMNS = ["run_dir", "job_seconds", "attempts", "error"]
_STUDY_FILE = "study.json"


# ---------------------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class DatasetSpec:
    """Where a study's data comes from: file paths, or a simulation to regenerate.

    A spec is small and picklable, so it travels to worker processes and Ray
    tasks, which load the data themselves (:meth:`load`).

    Attributes
    ----------
    expression
        Training (+ validation) expression file (tidy CSV/TSV or PHOENIX format).
    prior, ppi, truth
        Network files (``source,target[,weight]`` tables or square matrices);
        prior and truth are regulator x target, ppi is symmetric.
    genes
        Gene-name file for PHOENIX-format expression / unlabelled matrices.
    test_expression
        Held-out test trajectories (noisy, as observed).
    test_expression_clean
        Noise-free version of ``test_expression`` (simulations) for the "true" MSE.
    simulation
        Instead of files: a :meth:`dash_core.simulate.SimulationConfig.to_dict`
        dict; :meth:`load` re-simulates it (deterministic for a fixed seed).
    minmax_scale
        Min-max scale expression to [0, 1] with the training range (test sets too).
    name
        Dataset label.
    """

    expression: str | None = None
    prior: str | None = None
    ppi: str | None = None
    truth: str | None = None
    genes: str | None = None
    test_expression: str | None = None
    test_expression_clean: str | None = None
    simulation: dict | None = None
    minmax_scale: bool = False
    name: str | None = None

    def __post_init__(self) -> None:
        if self.simulation is None and self.expression is None:
            raise DashInputError("A dataset needs an expression file (or a simulation config).")
        if self.simulation is not None and self.expression is not None:
            raise DashInputError("A dataset is either files or a simulation config, not both.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (inverse: ``DatasetSpec(**d)``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_simulation_dir(cls, folder, *, name: str | None = None) -> DatasetSpec:
        """Spec of a folder written by :func:`dash_core.simulate.write_simulation` (absolute paths)."""
        root = Path(folder).resolve()

        def opt(fname: str) -> str | None:
            p = root / fname
            return str(p) if p.exists() else None

        if opt("expression.csv") is None:
            raise DashInputError(f"{root} holds no expression.csv; is it a folder written by `simulate`?")
        return cls(expression=opt("expression.csv"), prior=opt("prior.csv"), ppi=opt("ppi.csv"),
                   truth=opt("truth.csv"), test_expression=opt("test_expression.csv"),
                   test_expression_clean=opt("test_expression_clean.csv"), name=name or root.name)

    @classmethod
    def from_args(cls, args: argparse.Namespace, *, genes_attr: str = "genes") -> DatasetSpec:
        """Spec of the input-file options of the CLI (paths made absolute)."""

        def absolute(v: str | None) -> str | None:
            return None if v is None else str(Path(v).resolve())

        return cls(expression=absolute(args.expression), prior=absolute(getattr(args, "prior", None)),
                   ppi=absolute(getattr(args, "ppi", None)), truth=absolute(getattr(args, "truth", None)),
                   genes=absolute(getattr(args, genes_attr, None)),
                   test_expression=absolute(getattr(args, "test_expression", None)),
                   minmax_scale=bool(getattr(args, "minmax_scale", False)))

    def load(self) -> tuple[Dataset, list[str]]:
        """Read (or simulate) the dataset.

        Returns
        -------
        (Dataset, list of str)
            The aligned dataset and the validation messages (warnings and
            notes) worth showing to the user.
        """
        if self.simulation is not None:
            from dash_core.simulate import SimulationConfig, simulate

            return simulate(SimulationConfig.from_dict(dict(self.simulation))).dataset, []
        from dash_core.io import load_dataset, read_expression

        dataset, report = load_dataset(self.expression, self.prior, genes=self.genes, ppi=self.ppi,
                                       truth=self.truth, test_expression=self.test_expression, name=self.name)
        messages = [str(i) for i in report.issues if i.level != "info"]
        if self.test_expression_clean is not None:
            clean, _ = read_expression(self.test_expression_clean, genes=self.genes)
            dataset.test_expression_clean = _reorder_genes(clean, dataset.genes, self.test_expression_clean)
        if self.minmax_scale:
            messages.append(_minmax_in_place(dataset))
        return dataset, messages


def _reorder_genes(expr, genes: list[str], source: str):
    from dash_core.data import ExpressionData, Trajectory

    index = {g: i for i, g in enumerate(expr.genes)}
    missing = [g for g in genes if g not in index]
    if missing:
        raise DashInputError(f"{len(missing)} training gene(s) are missing, e.g. {missing[:3]}; the file must "
                             "hold every gene of the training expression.", source=source)
    cols = np.array([index[g] for g in genes])
    return ExpressionData(list(genes), [Trajectory(t.name, t.times, t.values[:, cols]) for t in expr.trajectories])


def _minmax_in_place(dataset) -> str:
    from dash_core.data import ExpressionData, Trajectory
    from dash_core.io import minmax_scale

    expr, (lo, hi) = minmax_scale(dataset.expression)
    dataset.expression = expr

    def scale(e):
        if e is None:
            return None
        return ExpressionData(e.genes, [Trajectory(t.name, t.times, (t.values - lo) / (hi - lo))
                                        for t in e.trajectories])

    dataset.test_expression = scale(dataset.test_expression)
    dataset.test_expression_clean = scale(dataset.test_expression_clean)
    return f"[info] expression min-max scaled from [{lo:.4g}, {hi:.4g}] to [0, 1]"


# ---------------------------------------------------------------------------------------------- parsing
def parse_grid(text: str | Sequence[float], option: str = "--lambda-ppi-grid") -> tuple[float, ...]:
    """Parse a comma-separated list of lambda values in [0, 1].

    Parameters
    ----------
    text
        ``"0,0.05,0.5"`` (or a sequence of numbers).
    option
        Name of the option, used in error messages.

    Returns
    -------
    tuple of float
        The values in the given order, duplicates dropped.

    Raises
    ------
    DashInputError
        Empty list, an empty item, a non-number, or a value outside [0, 1].
    """
    items = [s.strip() for s in text.split(",")] if isinstance(text, str) else list(text)
    if not items or items == [""]:
        raise DashInputError("the grid is empty; give comma-separated values in [0, 1], e.g. 0,0.05,0.5.",
                             source=option)
    out: list[float] = []
    for pos, item in enumerate(items, start=1):
        if isinstance(item, str) and item == "":
            raise DashInputError(f"item {pos} of the list is empty (two commas in a row, or a trailing comma?); "
                                 "give comma-separated values such as 0,0.05,0.5.", source=option)
        try:
            v = float(item)
        except (TypeError, ValueError):
            raise DashInputError(f"{item!r} (item {pos}) is not a number; give comma-separated values in [0, 1], "
                                 "e.g. 0,0.05,0.5.", source=option) from None
        if not (0.0 <= v <= 1.0):
            raise DashInputError(f"{item!r} (item {pos}) is outside [0, 1]; lambda values are convex weights "
                                 "between 0 and 1.", source=option)
        if v not in out:
            out.append(v)
    return tuple(out)


def parse_seeds(text: str | Sequence[int], option: str = "--seeds", *, count_form: bool = False) -> tuple[int, ...]:
    """Parse seeds: ``"0,1,2"`` -> (0, 1, 2); with ``count_form`` a single number K means seeds 0..K-1.

    Raises
    ------
    DashInputError
        Empty list, a non-integer or a negative seed, or K < 1.
    """
    items = [s.strip() for s in text.split(",")] if isinstance(text, str) else list(text)
    if not items or items == [""]:
        raise DashInputError("no seeds given; give comma-separated whole numbers such as 0,1,2.", source=option)
    seeds: list[int] = []
    for pos, item in enumerate(items, start=1):
        try:
            v = int(item)
        except (TypeError, ValueError):
            raise DashInputError(f"{item!r} (item {pos}) is not a whole number.", source=option) from None
        if v < 0:
            raise DashInputError(f"seed {v} is negative; seeds are whole numbers >= 0.", source=option)
        if v not in seeds:
            seeds.append(v)
    if count_form and isinstance(text, str) and "," not in text:
        if seeds[0] < 1:
            raise DashInputError("the number of seeds must be at least 1 (or give a list such as 0,1,2).",
                                 source=option)
        return tuple(range(seeds[0]))
    return tuple(seeds)


def _parse_strategies(text: str | Sequence[str] | None, option: str = "--strategies") -> list[str]:
    from dash_core.pruning import STRATEGIES

    if text is None or (isinstance(text, str) and text.strip().lower() in ("", "all")):
        return STRATEGIES.names()
    names = [s.strip() for s in text.split(",")] if isinstance(text, str) else [str(s) for s in text]
    unknown = [s for s in names if s not in STRATEGIES]
    if unknown or not names:
        raise DashInputError(f"unknown strategy {', '.join(unknown) or '(empty)'}; registered strategies: "
                             f"{', '.join(STRATEGIES.names())} (see `python -m dash_core strategies`).", source=option)
    return list(dict.fromkeys(names))


# ---------------------------------------------------------------------------------------------- the job
def _fmt_lambda(v: float) -> str:
    return format(float(v), "g")


def point_key(strategy: str, lambda_ppi: float, lambda_motif: float, seed: int) -> str:
    """Stable key (and run-folder name) of one sweep point, e.g. ``dash_ppi0.5_motif0.05_seed0``."""
    return f"{strategy}_ppi{_fmt_lambda(lambda_ppi)}_motif{_fmt_lambda(lambda_motif)}_seed{int(seed)}"


def _scalar(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


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
        Columns copied into the row (condition, lambdas, ...).

    Returns
    -------
    dict
        Flat row: ``key, status="ok"``, the labels, strategy, seed, lambdas,
        every metric (:data:`dash_core.experiment.METRIC_KEYS`), the scalar
        details (``val_mse``, ``test_mse_true``, ``seconds_per_epoch``, ...),
        ``run_dir`` and ``job_seconds`` (loading + training + saving).
    """
    from dash_core.experiment import RunConfig, run_experiment, save_run

    t0 = time.perf_counter()
    ds, _ = DatasetSpec(**dataset).load()
    cfg = RunConfig.from_dict(config)
    result = run_experiment(ds, cfg)
    save_run(result, run_dir)
    row: dict[str, Any] = {"key": key, "status": "ok", **labels, "strategy": cfg.strategy, "seed": cfg.seed,
                           "lambda_ppi": cfg.pruning.lambda_ppi, "lambda_motif": cfg.pruning.lambda_motif}
    for k, v in {**result.metrics, **result.details}.items():
        v = _scalar(v)
        if v is None or isinstance(v, (int, float, str, bool)):
            row.setdefault(k, v)
    row["run_dir"] = str(run_dir)
    row["job_seconds"] = round(time.perf_counter() - t0, 3)
    return row


# ---------------------------------------------------------------------------------------------- storage
class _ResultTable:
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
                self.rows[str(rec["key"])] = {k: (None if _is_missing(v) else v) for k, v in rec.items()}

    def done(self, key: str) -> bool:
        row = self.rows.get(key)
        return row is not None and row.get("status") == "ok"

    def put(self, row: dict[str, Any]) -> None:
        self.rows[str(row["key"])] = row
        self.write()

    def frame(self, keys: Sequence[str] | None = None) -> pd.DataFrame:
        rows = list(self.rows.values()) if keys is None else [self.rows[k] for k in keys if k in self.rows]
        return _ordered_frame(rows)

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        self.frame().to_csv(tmp, index=False)
        os.replace(tmp, self.path)


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _ordered_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    from dash_core.experiment import METRIC_KEYS

    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=[*_LEAD_COLUMNS, *METRIC_KEYS, *_TAIL_COLUMNS])
    for c in [*_LEAD_COLUMNS, *_TAIL_COLUMNS]:
        if c not in df.columns:
            df[c] = None
    lead = [c for c in [*_LEAD_COLUMNS, *METRIC_KEYS] if c in df.columns]
    tail = [c for c in _TAIL_COLUMNS if c in df.columns]
    middle = [c for c in df.columns if c not in lead and c not in tail]
    return df[lead + middle + tail]


def _check_study(out_dir: Path, settings: dict[str, Any]) -> None:
    """Write ``study.json`` or refuse to resume a study made with other settings."""
    path = out_dir / _STUDY_FILE
    plain = json.loads(json.dumps(settings))
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            old = None
        if isinstance(old, dict) and old != plain:
            diff = sorted(_diff_keys(old, plain))
            raise DashInputError(
                f"this folder holds a study made with other settings (differing: {', '.join(diff[:8])}). Its rows "
                "would not be comparable: choose a new --out folder, or delete the folder to start over.",
                source=str(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plain, indent=2), encoding="utf-8")


def _diff_keys(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b)):
            out += _diff_keys(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    return [] if a == b else [prefix.rstrip(".") or "(all)"]


def _normalised_config(cfg: RunConfig, *, keep_lambdas: bool = False) -> dict[str, Any]:
    """The config without what varies inside a study (strategy, seed and, for sweeps, the lambdas)."""
    d = cfg.to_dict()
    d.pop("strategy", None)
    d.pop("seed", None)
    if keep_lambdas:
        return d
    d.get("pruning", {}).pop("lambda_ppi", None)
    d.get("pruning", {}).pop("lambda_motif", None)
    return d


# ---------------------------------------------------------------------------------------------- running
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


def _run_study(jobs: list[Job], table: _ResultTable, executor: ExecutorConfig,
               on_point: Callable[[dict[str, Any], PointProgress], None] | None,
               should_stop: Callable[[], bool] | None) -> pd.DataFrame:
    todo = [j for j in jobs if not table.done(j.key)]
    resumed = len(jobs) - len(todo)
    t0 = time.perf_counter()
    counts = {"done": 0, "failed": 0}
    labels_of = {j.key: j.kwargs for j in jobs}

    def on_result(res: JobResult) -> None:
        if res.ok:
            row = dict(res.value)
            row["attempts"] = res.attempts
        else:
            kw = labels_of[res.key]
            cfg = kw["config"]
            row = {"key": res.key, "status": "failed", **kw["labels"], "strategy": cfg.get("strategy"),
                   "seed": cfg.get("seed"), "lambda_ppi": cfg.get("pruning", {}).get("lambda_ppi"),
                   "lambda_motif": cfg.get("pruning", {}).get("lambda_motif"), "run_dir": kw["run_dir"],
                   "job_seconds": round(res.seconds, 3), "attempts": res.attempts, "error": res.error}
            counts["failed"] += 1
        table.put(row)
        counts["done"] += 1
        if on_point is not None:
            elapsed = time.perf_counter() - t0
            left = len(todo) - counts["done"]
            eta = elapsed / counts["done"] * left
            on_point(row, PointProgress(resumed + counts["done"], len(jobs), resumed, counts["failed"],
                                        elapsed, eta))

    results = run_jobs(todo, executor, on_result=on_result, should_stop=should_stop) if todo else []
    df = table.frame([j.key for j in jobs])
    cancelled = [r.key for r in results if not r.ok and r.error == CANCELLED]
    if cancelled:
        extra = pd.DataFrame({"key": cancelled, "status": "cancelled"})
        df = pd.concat([df, extra], ignore_index=True) if len(df) else extra
    return df.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- sweep
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
    from dash_core.pruning import STRATEGIES

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
              should_stop: Callable[[], bool] | None = None) -> pd.DataFrame:
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

    Returns
    -------
    pandas.DataFrame
        One row per point of this grid (also the resumed ones), columns
        ``key, status, condition, strategy, seed, lambda_ppi, lambda_motif``,
        the metrics, ``val_mse`` and the other details, ``run_dir``,
        ``job_seconds``, ``attempts``, ``error``.
    """
    root = Path(out_dir)
    _check_study(root, {"kind": "sweep", "dataset": dataset_spec.to_dict(),
                        "config": _normalised_config(base_config)})
    jobs = sweep_jobs(dataset_spec, base_config, lambda_ppi_grid, lambda_motif_grid, strategy=strategy,
                      seeds=seeds, out_dir=root)
    return _run_study(jobs, _ResultTable(root / "sweep.csv"), executor, on_point, should_stop)


def _aggregate_points(df: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per (strategy, lambda_ppi, lambda_motif) point; adds ``n_seeds``."""
    group = [c for c in ("condition", "strategy", "lambda_ppi", "lambda_motif") if c in df.columns]
    if not group or "seed" not in df.columns:
        out = df.copy()
        out["n_seeds"] = 1
        return out
    numeric = [c for c in df.columns if c not in group and pd.api.types.is_numeric_dtype(df[c]) and c != "seed"]
    agg = df.groupby(group, dropna=False, sort=False)
    out = agg[numeric].mean().reset_index() if numeric else agg.size().reset_index()[group]
    out["n_seeds"] = agg.size().to_numpy()
    if "key" in df.columns:
        out["key"] = agg["key"].apply(lambda s: ",".join(str(v) for v in s)).to_numpy()
    out["seeds"] = agg["seed"].apply(lambda s: ",".join(str(int(v)) for v in s)).to_numpy()
    return out


def select_point(df: pd.DataFrame, criterion: str = "val_mse", min_sparsity: float = 0.9) -> pd.Series:
    """The sweep point the paper would call "DASH found optimal lambda".

    Among the points whose sparsity is at least ``min_sparsity``, take the one
    with the best ``criterion``. Several seeds of a point are averaged first.
    If no point is sparse enough, the best point over all points is returned
    and ``selection_note`` says so.

    Parameters
    ----------
    df
        Sweep rows (:func:`run_sweep`); rows whose ``status`` is not ``"ok"`` are ignored.
    criterion
        ``"val_mse"`` (lowest; needs no ground truth; default),
        ``"balanced_accuracy"`` or ``"auprc"`` (highest; need a truth network).
    min_sparsity
        Smallest acceptable sparsity in [0, 1].

    Returns
    -------
    pandas.Series
        The selected point (seed-averaged columns) plus ``n_seeds``,
        ``qualified`` (sparsity requirement met) and ``selection_note``.

    Raises
    ------
    DashInputError
        Unknown criterion, no finished point, or a truth-based criterion without truth values.
    """
    if criterion not in SELECT_CRITERIA:
        raise DashInputError(f"unknown selection criterion {criterion!r}; choose one of "
                             f"{', '.join(SELECT_CRITERIA)}.", source="--select")
    if not 0.0 <= float(min_sparsity) <= 1.0:
        raise DashInputError(f"min_sparsity must be in [0, 1], got {min_sparsity}.", source="--min-sparsity")
    ok = df[df["status"] == "ok"] if "status" in df.columns else df
    if ok.empty:
        raise DashInputError("no finished sweep point to select from (all failed or none ran yet).")
    for col in (criterion, "sparsity"):
        if col not in ok.columns:
            raise DashInputError(f"the sweep table has no {col!r} column.")
    ok = ok.assign(**{c: pd.to_numeric(ok[c], errors="coerce") for c in (criterion, "sparsity")})
    points = _aggregate_points(ok)
    if points[criterion].isna().all():
        hint = " It needs a ground-truth network (--truth)." if criterion != "val_mse" else ""
        raise DashInputError(f"no point has a value for {criterion!r}.{hint} Use --select val_mse without a truth.",
                             source="--select")
    points = points[points[criterion].notna()]
    higher = SELECT_CRITERIA[criterion]
    qualified = points[points["sparsity"] >= float(min_sparsity) - 1e-12]
    pool = qualified if len(qualified) else points
    order = pool.sort_values([criterion, "sparsity"], ascending=[not higher, False], kind="stable")
    best = order.iloc[0].copy()
    word = "highest" if higher else "lowest"
    if len(qualified):
        note = (f"{word} {criterion} among {len(qualified)} of {len(points)} points with sparsity >= "
                f"{min_sparsity:g}")
    else:
        top = points.sort_values("sparsity", ascending=False).iloc[0]
        note = (f"no point reached sparsity >= {min_sparsity:g} (highest: {top['sparsity']:.3f}); selected the "
                f"{word} {criterion} over all {len(points)} points instead. Lower --min-sparsity or extend the grid "
                "towards larger lambda values / more epochs.")
    best["qualified"] = bool(len(qualified))
    best["selection_note"] = note
    return best


def pivot_sweep(df: pd.DataFrame, metric: str = "val_mse") -> pd.DataFrame:
    """Grid view of a sweep: rows = lambda_PPI, columns = lambda_motif, values = ``metric`` (mean over seeds)."""
    ok = df[df["status"] == "ok"] if "status" in df.columns else df
    if metric not in ok.columns:
        raise DashInputError(f"the sweep table has no {metric!r} column.")
    vals = ok.assign(**{metric: pd.to_numeric(ok[metric], errors="coerce")})
    return vals.pivot_table(index="lambda_ppi", columns="lambda_motif", values=metric, aggfunc="mean")


# ---------------------------------------------------------------------------------------------- benchmark
@dataclass(frozen=True)
class Condition:
    """One data condition of a benchmark.

    Attributes
    ----------
    name
        Short name used in keys and folders (``noise5``, ``prior20``, ``data``).
    noise_sigma
        Observation noise sigma (methods E.4); None for user data.
    prior_corruption
        Fraction of prior edges moved (E.5); None ties it to the noise (sigma / 0.5).
    description
        Human-readable label for tables.
    """

    name: str
    noise_sigma: float | None = None
    prior_corruption: float | None = None
    description: str = ""

    @property
    def paper_comparable(self) -> bool:
        """True for SIM350's main setting (5 % noise, tied corruption): methods F.1 applies."""
        return self.noise_sigma is not None and abs(self.noise_sigma - 0.025) < 1e-12 and (
            self.prior_corruption is None or abs(self.prior_corruption - 0.05) < 1e-12)


def _noise_condition(percent: float) -> Condition:
    sigma = round(percent / 100.0 * 0.5, 10)
    return Condition(f"noise{percent:g}", sigma, None,
                     f"{percent:g}% noise (sigma = {sigma:g}), prior corruption {percent:g}% (tied)")


def benchmark_conditions(preset: str, *, noise_percents: Sequence[float] | None = None) -> list[Condition]:
    """Data conditions of a preset.

    ``sim350``: 5 % noise with the matching (5 %) corrupted prior; ``noise``:
    0/5/10/20 % noise (sigma = 0, 0.025, 0.05, 0.1; methods E.4), prior
    corruption tied; ``prior-corruption``: 0/20/40 % corrupted prior with
    noise-free expression (paper Table 6).
    """
    if preset == "sim350":
        return [_noise_condition(5.0)]
    if preset == "noise":
        percents = NOISE_PERCENTS if noise_percents is None else tuple(noise_percents)
        for p in percents:
            if not 0 <= float(p) <= 100:
                raise DashInputError(f"noise level {p}% is outside 0-100%.", source="--noise-levels")
        return [_noise_condition(float(p)) for p in percents]
    if preset == "prior-corruption":
        return [Condition(f"prior{round(c * 100):d}", 0.0, c,
                          f"noise-free expression, {c:.0%} of prior edges moved") for c in PRIOR_CORRUPTIONS]
    raise DashInputError(f"unknown benchmark preset {preset!r}; choose one of {', '.join(BENCHMARK_PRESETS)}.",
                         source="--preset")


def _simulation_config(cond: Condition, seed: int, n_genes: int | None) -> SimulationConfig:
    from dash_core.simulate import SimulationConfig

    overrides: dict[str, Any] = {"seed": int(seed), "noise_sigma": float(cond.noise_sigma or 0.0),
                                 "prior_corruption": cond.prior_corruption}
    if n_genes is None or int(n_genes) == 350:
        return SimulationConfig.sim350(**overrides)
    return SimulationConfig.scaled(int(n_genes), **overrides)


def prepare_benchmark_data(conditions: Sequence[Condition], seeds: Sequence[int], out_dir, *,
                           n_genes: int | None = None) -> dict[tuple[str, int], DatasetSpec]:
    """Simulate (once) and write the data of every condition and seed.

    Files go to ``out_dir/data/<condition>/seed<k>/`` (:func:`dash_core.simulate.write_simulation`);
    an existing folder whose ``simulation_config.json`` matches is reused.
    The seed drives the network, the noise draw and the prior corruption.

    Returns
    -------
    dict
        ``(condition name, seed) -> DatasetSpec`` with absolute paths.
    """
    from dash_core.simulate import simulate, write_simulation

    specs = {}
    for cond in conditions:
        for s in seeds:
            cfg = _simulation_config(cond, s, n_genes)
            folder = Path(out_dir).resolve() / "data" / cond.name / f"seed{int(s)}"
            cfg_file = folder / "simulation_config.json"
            current = None
            if cfg_file.exists():
                try:
                    current = json.loads(cfg_file.read_text(encoding="utf-8"))
                except (OSError, json.JSONDecodeError):
                    current = None
            if current != cfg.to_dict() or not (folder / "expression.csv").exists():
                write_simulation(simulate(cfg), folder)
            specs[(cond.name, int(s))] = DatasetSpec.from_simulation_dir(folder, name=f"{cond.name}-seed{int(s)}")
    return specs


def benchmark_jobs(specs: dict[tuple[str, int], DatasetSpec], strategies: Sequence[str], base_config: RunConfig,
                   out_dir) -> list[Job]:
    """One job per condition x strategy x seed (key ``<condition>_<strategy>_seed<k>``).

    Every strategy runs with its own defaults on top of ``base_config``
    (model, training, pruning options); the seed of the data is also the
    training seed.
    """
    root = Path(out_dir).resolve()
    jobs = []
    for (cond, seed), spec in specs.items():
        for strat in strategies:
            key = f"{cond}_{strat}_seed{seed}"
            cfg = dataclasses.replace(base_config, strategy=strat, seed=int(seed))
            jobs.append(Job(key=key, func=run_point,
                            kwargs={"key": key, "dataset": spec.to_dict(), "config": cfg.to_dict(),
                                    "run_dir": str(root / "runs" / key), "labels": {"condition": cond}}))
    return jobs


@dataclass
class BenchmarkTables:
    """Outputs of :func:`run_benchmark`.

    Attributes
    ----------
    results
        One row per condition x strategy x seed (``benchmark.csv``).
    summary
        Mean and sd over seeds per condition x strategy with the paper's values (``summary.csv``).
    markdown
        ``summary.md``: the summary and the per-strategy wall time as Markdown tables.
    paths
        Files written.
    wall_seconds
        Wall time of this invocation.
    """

    results: pd.DataFrame
    summary: pd.DataFrame
    markdown: str
    paths: dict[str, Path] = field(default_factory=dict)
    wall_seconds: float = 0.0


def run_benchmark(preset: str | None, seeds: Sequence[int], out_dir, strategies: Sequence[str] | None = None,
                  executor: ExecutorConfig = ExecutorConfig(), data: DatasetSpec | None = None, *,
                  base_config: RunConfig | None = None, n_genes: int | None = None,
                  noise_percents: Sequence[float] | None = None,
                  on_point: Callable[[dict[str, Any], PointProgress], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> BenchmarkTables:
    """Run every strategy on the benchmark data and summarise (methods F.1, deliverables 4-5).

    Parameters
    ----------
    preset
        ``"sim350"``, ``"noise"`` or ``"prior-corruption"`` (see :func:`benchmark_conditions`);
        None with ``data``.
    seeds
        One simulation per seed (network, noise, prior corruption) and the same seed for training.
    out_dir
        Study folder (see the module docstring); resumable.
    strategies
        Strategy names; default every registered strategy (with user data
        without a prior: every strategy that does not use one).
    executor
        How the runs are executed.
    data
        User data instead of a preset (condition ``data``; seeds cover training only).
    base_config
        Model and training settings shared by all runs (default :class:`RunConfig`).
    n_genes
        Simulate this many genes instead of 350 (counts scaled, quick version).
    noise_percents
        ``noise`` preset: the paper noise levels in percent (default 0, 5, 10, 20).
    on_point, should_stop
        See :func:`run_sweep`.

    Returns
    -------
    BenchmarkTables
        Also written: ``benchmark.csv``, ``summary.csv``, ``summary.md``.
    """
    from dash_core.experiment import RunConfig
    from dash_core.pruning import STRATEGIES

    t0 = time.perf_counter()
    root = Path(out_dir)
    base_config = base_config or RunConfig()
    seeds = parse_seeds(list(seeds))
    if (preset is None) == (data is None):
        raise DashInputError("give either a benchmark preset or your own data (--expression ...), not both "
                             "and not neither.", source="--preset")
    if data is not None:
        conditions = [Condition("data", None, None, data.name or Path(data.expression or "data").stem)]
        if strategies is None:
            names = STRATEGIES.names()
            if data.prior is None:
                names = [n for n in names if not STRATEGIES.get(n).extra.get("uses_prior")]
        else:
            names = _parse_strategies(list(strategies))
        if data.prior is None:
            needs = [n for n in names if STRATEGIES.get(n).extra.get("uses_prior")]
            if needs:
                raise DashInputError(f"strategies {', '.join(needs)} use a prior network; give --prior or leave "
                                     "them out of --strategies.", source="--strategies")
        if not names:
            raise DashInputError("no strategy left to run.", source="--strategies")
    else:
        conditions = benchmark_conditions(preset, noise_percents=noise_percents)
        names = _parse_strategies(None if strategies is None else list(strategies))
    settings = {"kind": "benchmark", "preset": preset, "n_genes": n_genes,
                "conditions": [dataclasses.asdict(c) for c in conditions],
                "dataset": None if data is None else data.to_dict(),
                "config": _normalised_config(base_config, keep_lambdas=True)}
    _check_study(root, settings)
    if data is not None:
        specs = {("data", int(s)): data for s in seeds}
    else:
        specs = prepare_benchmark_data(conditions, seeds, root, n_genes=n_genes)
    jobs = benchmark_jobs(specs, names, base_config, root)
    df = _run_study(jobs, _ResultTable(root / "benchmark.csv"), executor, on_point, should_stop)
    summary = summarize_benchmark(df, conditions=conditions)
    md = summary_markdown(summary, conditions=conditions, n_genes=n_genes if data is None else None)
    paths = {"benchmark": root / "benchmark.csv", "summary": root / "summary.csv", "summary_md": root / "summary.md"}
    summary.to_csv(paths["summary"], index=False)
    paths["summary_md"].write_text(md, encoding="utf-8")
    return BenchmarkTables(df, summary, md, paths, round(time.perf_counter() - t0, 3))


def summarize_benchmark(df: pd.DataFrame, *, conditions: Sequence[Condition] | None = None,
                        metrics: Sequence[str] = SUMMARY_METRICS) -> pd.DataFrame:
    """Mean and sd (ddof = 1) over seeds per condition x strategy, next to the paper's values.

    Parameters
    ----------
    df
        Benchmark rows (``condition, strategy, seed, status`` and metric columns).
    conditions
        To mark the paper-comparable condition (default: a condition named ``noise5``).
    metrics
        Columns to summarise; missing ones are skipped.

    Returns
    -------
    pandas.DataFrame
        ``condition, strategy, n_runs, n_failed``, ``<metric>_mean`` and
        ``<metric>_sd`` per metric (sd is NaN for a single run),
        ``total_wall_seconds``, ``paper_sparsity``, ``paper_balanced_accuracy``
        (methods F.1; NaN where not reported or not comparable).
    """
    comparable = ({c.name for c in conditions if c.paper_comparable} if conditions is not None else {"noise5"})
    if df.empty or "strategy" not in df.columns:
        return pd.DataFrame(columns=["condition", "strategy", "n_runs", "n_failed"])
    d = df.copy()
    if "condition" not in d.columns:
        d["condition"] = "data"
    if "status" not in d.columns:
        d["status"] = "ok"
    rows = []
    for (cond, strat), g in d.groupby(["condition", "strategy"], sort=False):
        ok = g[g["status"] == "ok"]
        row: dict[str, Any] = {"condition": cond, "strategy": strat, "n_runs": int(len(ok)),
                               "n_failed": int((g["status"] == "failed").sum())}
        for m in metrics:
            if m not in ok.columns:
                continue
            vals = pd.to_numeric(ok[m], errors="coerce").dropna()
            row[f"{m}_mean"] = float(vals.mean()) if len(vals) else np.nan
            row[f"{m}_sd"] = float(vals.std(ddof=1)) if len(vals) > 1 else np.nan
        if "wall_seconds" in ok.columns:
            row["total_wall_seconds"] = float(pd.to_numeric(ok["wall_seconds"], errors="coerce").sum())
        paper = PAPER_SIM350.get(str(strat)) if cond in comparable else None
        row["paper_sparsity"] = np.nan if paper is None or paper[0] is None else paper[0]
        row["paper_balanced_accuracy"] = np.nan if paper is None or paper[1] is None else paper[1]
        rows.append(row)
    return pd.DataFrame(rows)


def _mean_sd(row: pd.Series, m: str, fmt: str, scale: float = 1.0) -> str:
    mean, sd = row.get(f"{m}_mean"), row.get(f"{m}_sd")
    if mean is None or _is_missing(mean):
        return "–"
    text = format(mean * scale, fmt)
    if sd is not None and not _is_missing(sd):
        text += " ± " + format(sd * scale, fmt)
    return text


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def summary_markdown(summary: pd.DataFrame, *, conditions: Sequence[Condition] | None = None,
                     n_genes: int | None = None) -> str:
    """Markdown report of :func:`summarize_benchmark`: one table per condition plus wall time per strategy.

    Values are mean ± sd over seeds (only the mean for a single seed);
    sparsity and balanced accuracy in percent, with the paper's F.1 values
    in the last columns for the comparable condition.
    """
    descr = {c.name: c.description for c in conditions or []}
    comparable = {c.name for c in conditions or [] if c.paper_comparable}
    genes = 350 if n_genes is None else n_genes
    out = ["# Benchmark summary", "",
           "Mean ± sd over seeds (sd omitted for one seed). Sparsity and balanced accuracy (BA) in %; "
           "test MSE is one-step-ahead on the noisy test set. Paper values: methods F.1 (DASH paper, SIM350 at "
           "5% noise; read off a figure, approximate)."]
    if summary.empty:
        return "\n".join([*out, "", "No finished runs yet."]) + "\n"
    for cond, g in summary.groupby("condition", sort=False):
        title = f"## {cond}" + (f": {descr[cond]}" if descr.get(cond) else "")
        if cond in comparable and n_genes is not None and genes != 350:
            title += f" ({genes} genes; the paper used 350)"
        header = ["Strategy", "Runs", "Sparsity %", "BA %", "AUROC", "AUPRC", "Test MSE", "Epochs", "Wall s",
                  "s/epoch"]
        show_paper = cond in comparable
        if show_paper:
            header += ["Paper sparsity %", "Paper BA %"]
        rows = []
        for _, r in g.iterrows():
            runs = f"{int(r['n_runs'])}" + (f" ({int(r['n_failed'])} failed)" if r.get("n_failed") else "")
            cells = [PAPER_SIM350_LABELS.get(r["strategy"], r["strategy"]) + f" (`{r['strategy']}`)", runs,
                     _mean_sd(r, "sparsity", ".1f", 100), _mean_sd(r, "balanced_accuracy", ".1f", 100),
                     _mean_sd(r, "auroc", ".3f"), _mean_sd(r, "auprc", ".3f"), _mean_sd(r, "test_mse", ".2e"),
                     _mean_sd(r, "epochs", ".0f"), _mean_sd(r, "wall_seconds", ".0f"),
                     _mean_sd(r, "seconds_per_epoch", ".2f")]
            if show_paper:
                cells += ["–" if _is_missing(r["paper_sparsity"]) else f"{100 * r['paper_sparsity']:.1f}",
                          "–" if _is_missing(r["paper_balanced_accuracy"])
                          else f"{100 * r['paper_balanced_accuracy']:.1f}"]
            rows.append(cells)
        out += ["", title, "", _md_table(header, rows)]
    if "wall_seconds_mean" in summary.columns:
        wall = summary.groupby("strategy", sort=False).agg(
            runs=("n_runs", "sum"), total=("total_wall_seconds", "sum"),
            per_run=("wall_seconds_mean", "mean"), per_epoch=("seconds_per_epoch_mean", "mean")).reset_index()
        rows = [[str(r["strategy"]), str(int(r["runs"])), f"{r['per_run']:.1f}", f"{r['per_epoch']:.3f}",
                 f"{r['total']:.0f}"] for _, r in wall.iterrows()]
        out += ["", "## Wall time per strategy", "",
                _md_table(["Strategy", "Runs", "Mean s / run", "Mean s / epoch", "Total s"], rows)]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------- CLI
def _eprint(*a: Any) -> None:
    print(*a, file=sys.stderr, flush=True)


def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def _progress_printer(label: str) -> Callable[[dict[str, Any], PointProgress], None]:
    def show(row: dict[str, Any], p: PointProgress) -> None:
        if row.get("status") == "ok":
            bits = [f"{k} {row[k]:.4g}" for k in ("val_mse", "sparsity", "balanced_accuracy")
                    if isinstance(row.get(k), (int, float)) and not _is_missing(row.get(k))]
            what = ", ".join(bits)
        else:
            what = "FAILED: " + str(row.get("error", "")).splitlines()[0]
        resumed = f" ({p.resumed} resumed)" if p.resumed else ""
        _eprint(f"[{label}] {p.done}/{p.total} done{resumed} | {row['key']}: {what} | elapsed "
                f"{_duration(p.elapsed_s)}, ETA {_duration(p.eta_s)}")

    return show


def _cmd_sweep(args: argparse.Namespace) -> int:
    from dash_core.cli import run_config_from_args
    from dash_core.pruning import STRATEGIES
    from dash_core.runs.executors import executor_config_from_args

    if args.seed is not None:
        raise DashInputError("sweep seeds are set with --seeds (a list such as 0,1), not --seed.", source="--seed")
    if getattr(args, "search", "grid") == "asha":
        from dash_core.tune import run_search_from_args

        spec = DatasetSpec.from_args(args)
        _, messages = spec.load()
        for m in messages:
            _eprint(m)
        return run_search_from_args(args, spec, run_config_from_args(args))
    if args.lambda_ppi_grid is None or args.lambda_motif_grid is None:
        raise DashInputError("give --lambda-ppi-grid and --lambda-motif-grid (or use --search asha --trials N).",
                             source="--lambda-ppi-grid")
    ppi = parse_grid(args.lambda_ppi_grid, "--lambda-ppi-grid")
    motif = parse_grid(args.lambda_motif_grid, "--lambda-motif-grid")
    seeds = parse_seeds(args.seeds, "--seeds")
    if args.select != "val_mse" and not args.truth:
        raise DashInputError(f"--select {args.select} scores against a ground truth; give --truth or use "
                             "--select val_mse.", source="--select")
    strategy = args.strategy or "dash"
    STRATEGIES.get(strategy)
    cfg = run_config_from_args(args)
    executor = executor_config_from_args(args)
    spec = DatasetSpec.from_args(args)
    _, messages = spec.load()  # validate once here, with the warnings shown to the user
    for m in messages:
        _eprint(m)
    total = len(ppi) * len(motif) * len(seeds)
    _eprint(f"[sweep] {strategy}: {len(ppi)} x {len(motif)} lambda points x {len(seeds)} seed(s) = {total} runs "
            f"-> {args.out}/sweep.csv ({executor.kind}, {executor.workers or 'auto'} worker(s))")
    df = run_sweep(spec, cfg, ppi, motif, strategy=strategy, seeds=seeds, out_dir=args.out, executor=executor,
                   on_point=_progress_printer("sweep"))
    n_ok = int((df["status"] == "ok").sum()) if len(df) else 0
    n_failed = int((df["status"] == "failed").sum()) if len(df) else 0
    _eprint(f"[sweep] finished: {n_ok} ok, {n_failed} failed" + (" (run the same command again to retry them)"
                                                                  if n_failed else ""))
    if n_ok == 0:
        raise DashInputError("no sweep point finished; see the error column of sweep.csv.", source=args.out)
    best = select_point(df, args.select, args.min_sparsity)
    print(f"Selected lambda_ppi = {best['lambda_ppi']:g}, lambda_motif = {best['lambda_motif']:g} "
          f"({best['selection_note']}; {int(best['n_seeds'])} seed(s))")
    cols = [c for c in ("sparsity", "val_mse", "test_mse", "balanced_accuracy", "auroc", "auprc", "epochs")
            if c in best.index and not _is_missing(best[c])]
    print("  " + ", ".join(f"{c} = {best[c]:.4g}" for c in cols))
    if int(best["n_seeds"]) == 1 and "key" in best.index:
        print(f"  run folder: {Path(args.out) / 'runs' / str(best['key'])}")
    return 0


def _cmd_benchmark(args: argparse.Namespace) -> int:
    from dash_core.cli import run_config_from_args
    from dash_core.runs.executors import executor_config_from_args

    if args.strategy is not None:
        raise DashInputError("benchmark runs several strategies; use --strategies a,b,... instead of --strategy.",
                             source="--strategy")
    if args.seed is not None:
        raise DashInputError("benchmark seeds are set with --seeds (a count K or a list such as 0,1,2), not --seed.",
                             source="--seed")
    if args.expression is not None and args.preset is not None:
        raise DashInputError("give either --preset or your own data (--expression ...), not both.", source="--preset")
    if args.expression is None and any(getattr(args, k) for k in ("prior", "truth", "ppi", "test_expression")):
        raise DashInputError("--prior/--truth/--ppi/--test-expression need --expression.", source="--expression")
    if args.expression is not None and args.genes is not None:
        raise DashInputError("--genes N sets the size of simulated data; with your own data leave it out "
                             "(use --gene-names for a gene-name file).", source="--genes")
    seeds = parse_seeds(args.seeds, "--seeds", count_form=True)
    strategies = None if args.strategies is None else _parse_strategies(args.strategies)
    noise = None if args.noise_levels is None else _parse_percents(args.noise_levels)
    if noise is not None and (args.preset or "sim350") != "noise":
        raise DashInputError("--noise-levels is used with --preset noise only.", source="--noise-levels")
    cfg = run_config_from_args(args)
    executor = executor_config_from_args(args)
    data = None
    preset = None
    if args.expression is not None:
        data = DatasetSpec.from_args(args, genes_attr="gene_names")
        _, messages = data.load()
        for m in messages:
            _eprint(m)
    else:
        preset = args.preset or "sim350"
    _eprint(f"[benchmark] {preset or 'your data'}: seeds {','.join(map(str, seeds))}, strategies "
            f"{', '.join(strategies) if strategies else 'all registered'} -> {args.out} "
            f"({executor.kind}, {executor.workers or 'auto'} worker(s))")
    tables = run_benchmark(preset, seeds, args.out, strategies, executor, data, base_config=cfg, n_genes=args.genes,
                           noise_percents=noise, on_point=_progress_printer("benchmark"))
    print(tables.markdown)
    n_failed = int((tables.results["status"] == "failed").sum()) if len(tables.results) else 0
    _eprint(f"[benchmark] wrote {tables.paths['benchmark']}, {tables.paths['summary']}, {tables.paths['summary_md']} "
            f"in {_duration(tables.wall_seconds)}" + (f"; {n_failed} run(s) failed (run again to retry)"
                                                     if n_failed else ""))
    return 0


def _parse_percents(text: str) -> tuple[float, ...]:
    out = []
    for item in [s.strip() for s in text.split(",")]:
        try:
            v = float(item.rstrip("%"))
        except ValueError:
            raise DashInputError(f"{item!r} is not a number (noise levels are percentages such as 0,5,10,20).",
                                 source="--noise-levels") from None
        if not 0 <= v <= 100:
            raise DashInputError(f"{item!r} is outside 0-100 %.", source="--noise-levels")
        out.append(v)
    return tuple(dict.fromkeys(out))


def register(subparsers) -> None:
    """Add the ``sweep`` and ``benchmark`` subcommands to the CLI."""
    from dash_core.cli import add_data_arguments, add_run_arguments, existing_file, fraction, positive_int
    from dash_core.runs.executors import add_executor_arguments

    p = subparsers.add_parser(
        "sweep", help="train one model per (lambda_PPI, lambda_motif) grid point and pick the best",
        description="Lambda sweep (methods B.8): one run per grid point and seed, written to OUT/sweep.csv as "
                    "they finish (rerun the same command to resume or retry failed points). The selected point is "
                    "the best by --select among points with sparsity >= --min-sparsity (the paper's 'DASH found "
                    "optimal lambda'). Criteria: val_mse (default; lowest validation MSE, needs no ground truth), "
                    "balanced_accuracy or auprc (highest; need --truth). --strategy defaults to dash here; "
                    "--seed is replaced by --seeds.")
    add_data_arguments(p)
    g = p.add_argument_group("sweep")
    g.add_argument("--lambda-ppi-grid", default=None, metavar="LIST",
                   help="comma-separated lambda_PPI values in [0, 1], e.g. 0,0.05,0.25,0.5,0.75,0.95,0.995")
    g.add_argument("--lambda-motif-grid", default=None, metavar="LIST",
                   help="comma-separated lambda_motif values in [0, 1]")
    g.add_argument("--seeds", default="0", metavar="LIST", help="comma-separated seeds per point (default 0)")
    g.add_argument("--select", choices=list(SELECT_CRITERIA), default="val_mse",
                   help="selection criterion: val_mse (default, no truth needed), balanced_accuracy or auprc "
                        "(need --truth)")
    g.add_argument("--min-sparsity", type=fraction, default=0.9, dest="min_sparsity",
                   help="only points at least this sparse are eligible (default 0.9)")
    g.add_argument("--out", required=True, help="study folder (sweep.csv, runs/<point>/)")
    add_run_arguments(p)
    add_executor_arguments(p)
    from dash_core.tune import register_search_arguments

    register_search_arguments(p)
    p.set_defaults(func=_cmd_sweep)

    p = subparsers.add_parser(
        "benchmark", help="run every pruning strategy on simulated or your data; mean ± sd vs the paper",
        description="Benchmark (methods F.1): every registered strategy (or --strategies) x seeds on a preset's "
                    "simulated data or on your files. Writes OUT/benchmark.csv (one row per run, resumable), "
                    "OUT/summary.csv and OUT/summary.md (mean ± sd over seeds, the paper's values, wall time per "
                    "strategy). Presets: sim350 = 350 genes, 5% noise with the matching 5% corrupted prior; "
                    "noise = 0/5/10/20% noise (sigma 0, 0.025, 0.05, 0.1), prior corruption tied; "
                    "prior-corruption = 0/20/40% corrupted prior with noise-free expression (paper Table 6). "
                    "Model, training and pruning options apply to every strategy.")
    g = p.add_argument_group("benchmark")
    g.add_argument("--preset", choices=list(BENCHMARK_PRESETS), default=None,
                   help="simulated benchmark (default sim350 when no --expression is given)")
    g.add_argument("--seeds", default="3", metavar="K|LIST",
                   help="number of seeds K (seeds 0..K-1) or a list such as 0,1,2 (default 3). Each seed is one "
                        "simulation (network, noise, prior corruption) and the training seed")
    g.add_argument("--strategies", default=None, metavar="LIST",
                   help="comma-separated strategy names (default: all registered; see `python -m dash_core "
                        "strategies`)")
    g.add_argument("--genes", type=positive_int, default=None, metavar="N",
                   help="simulate N genes instead of 350 (counts scaled; a quicker, smaller benchmark)")
    g.add_argument("--noise-levels", default=None, metavar="LIST", dest="noise_levels",
                   help="--preset noise: paper noise levels in percent (default 0,5,10,20; 2.5 is also in E.4)")
    g.add_argument("--out", required=True, help="study folder")
    d = p.add_argument_group("your data (instead of a preset)")
    d.add_argument("--expression", type=existing_file, help="expression time series (tidy or PHOENIX format)")
    d.add_argument("--prior", type=existing_file, help="prior TF->target network (needed by prior-based strategies)")
    d.add_argument("--truth", type=existing_file, help="gold-standard network for BA / AUROC / AUPRC")
    d.add_argument("--ppi", type=existing_file, help="optional PPI network")
    d.add_argument("--test-expression", type=existing_file, help="held-out test trajectories")
    d.add_argument("--gene-names", type=existing_file, dest="gene_names",
                   help="gene-name file for PHOENIX-format expression / unlabelled matrices")
    d.add_argument("--minmax-scale", action="store_true", help="min-max scale expression to [0, 1]")
    add_run_arguments(p)
    add_executor_arguments(p)
    p.set_defaults(func=_cmd_benchmark)
