"""The paper's benchmark (methods F.1, E.4, E.5): every strategy x seed on simulated or user data.

:func:`run_benchmark` simulates the data of a preset once per seed
(:func:`prepare_benchmark_data`), runs one job per condition x strategy x seed
(:func:`benchmark_jobs`), and summarises mean ± sd over seeds next to the paper's
values (:func:`summarize_benchmark`, :func:`summary_markdown`). Files:
``DIR/benchmark.csv`` (resumable), ``DIR/summary.csv``, ``DIR/summary.md``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dash_core.experiment import RunConfig
from dash_core.io.errors import DashInputError
from dash_core.pruning import STRATEGIES, StrategySettings
from dash_core.runs.executors import ExecutorConfig, Job
from dash_core.simulate import SimulationConfig, simulate, write_simulation
from dash_core.studies.datasets import DatasetSpec
from dash_core.studies.inputs import parse_seeds, parse_strategies
from dash_core.studies.table import (
    PointProgress,
    ResultTable,
    check_study_folder,
    is_missing,
    normalised_config,
    run_point,
    run_study,
)

__all__ = [
    "BENCHMARK_PRESETS",
    "NOISE_PERCENTS",
    "PAPER_SIM350",
    "PAPER_SIM350_LABELS",
    "PRIOR_CORRUPTIONS",
    "STRATEGY_SETTING_NAMES",
    "SUMMARY_METRICS",
    "BenchmarkTables",
    "Condition",
    "benchmark_conditions",
    "benchmark_jobs",
    "prepare_benchmark_data",
    "run_benchmark",
    "strategy_config",
    "summarize_benchmark",
    "summary_markdown",
]

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
SUMMARY_METRICS: tuple[str, ...] = ("sparsity", "balanced_accuracy", "auroc", "prior_auroc", "auprc", "test_mse",
                                    "test_mse_persistence", "epochs", "wall_seconds", "seconds_per_epoch")

#: Benchmark presets (methods F.1, E.4, E.5 / paper Table 6).
BENCHMARK_PRESETS: tuple[str, ...] = ("sim350", "noise", "prior-corruption")

#: Noise levels of the ``noise`` preset in paper percent (sigma = percent / 100 * 0.5, methods E.4).
NOISE_PERCENTS: tuple[float, ...] = (0.0, 5.0, 10.0, 20.0)

#: Prior corruption fractions of the ``prior-corruption`` preset (paper Table 6, noise-free expression).
PRIOR_CORRUPTIONS: tuple[float, ...] = (0.0, 0.2, 0.4)


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


#: Run settings a strategy's :class:`~dash_core.pruning.StrategySettings` may set (``keep`` names).
STRATEGY_SETTING_NAMES: tuple[str, ...] = ("solver", "multiplier_grad", "schedule")


def strategy_config(base_config: RunConfig, strategy: str, *, keep: Collection[str] = ()) -> RunConfig:
    """``base_config`` for ``strategy`` with the run settings the spec gives it (methods C, the registry's
    :class:`~dash_core.pruning.StrategySettings`), except those named in ``keep`` (set by the user).

    Parameters
    ----------
    base_config
        Shared model, training and pruning settings.
    strategy
        A registered strategy name.
    keep
        Names of :data:`STRATEGY_SETTING_NAMES` to leave as in ``base_config`` (explicit options win).

    Returns
    -------
    RunConfig
        With ``strategy`` set and, where the registry gives one and it is not kept, the strategy's
        solver, gene-multiplier gradient and schedule fields.
    """
    unknown = set(keep) - set(STRATEGY_SETTING_NAMES)
    if unknown:
        raise DashInputError(f"unknown strategy setting(s) {', '.join(sorted(unknown))}; known: "
                             f"{', '.join(STRATEGY_SETTING_NAMES)}.")
    settings: StrategySettings = STRATEGIES.get(strategy).extra.get("settings") or StrategySettings()
    cfg = dataclasses.replace(base_config, strategy=strategy)
    if settings.solver is not None and "solver" not in keep:
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, solver=settings.solver))
    if settings.multiplier_grad is not None and "multiplier_grad" not in keep:
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, multiplier_grad=settings.multiplier_grad))
    if settings.schedule and "schedule" not in keep:
        cfg = dataclasses.replace(cfg, pruning=dataclasses.replace(cfg.pruning, **dict(settings.schedule)))
    return cfg


def benchmark_jobs(specs: dict[tuple[str, int], DatasetSpec], strategies: Sequence[str], base_config: RunConfig,
                   out_dir, *, strategy_settings: bool = True, keep: Collection[str] = ()) -> list[Job]:
    """One job per condition x strategy x seed (key ``<condition>_<strategy>_seed<k>``).

    Every strategy runs with its own defaults on top of ``base_config``
    (model, training, pruning options) and, with ``strategy_settings``, the run
    settings the spec gives it (:func:`strategy_config`; ``keep``: those the user
    set). The seed of the data is also the training seed.
    """
    root = Path(out_dir).resolve()
    jobs = []
    for (cond, seed), spec in specs.items():
        for strat in strategies:
            key = f"{cond}_{strat}_seed{seed}"
            cfg = (strategy_config(base_config, strat, keep=keep) if strategy_settings
                   else dataclasses.replace(base_config, strategy=strat))
            cfg = dataclasses.replace(cfg, seed=int(seed))
            labels = {"condition": cond, "solver": cfg.train.solver.method,
                      "multiplier_grad": cfg.model.multiplier_grad}
            jobs.append(Job(key=key, func=run_point,
                            kwargs={"key": key, "dataset": spec.to_dict(), "config": cfg.to_dict(),
                                    "run_dir": str(root / "runs" / key), "labels": labels}))
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
                  noise_percents: Sequence[float] | None = None, strategy_settings: bool = True,
                  keep: Collection[str] = (),
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
    strategy_settings
        Run every strategy with the settings the spec gives it (solver, gene-multiplier gradient,
        schedule; :func:`strategy_config`), default True; False: ``base_config`` for all.
    keep
        Settings the user set explicitly (names of :data:`STRATEGY_SETTING_NAMES`): not overridden.
    on_point, should_stop
        See :func:`dash_core.studies.sweeps.run_sweep`.

    Returns
    -------
    BenchmarkTables
        Also written: ``benchmark.csv``, ``summary.csv``, ``summary.md``.
    """
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
            names = parse_strategies(list(strategies))
        if data.prior is None:
            needs = [n for n in names if STRATEGIES.get(n).extra.get("uses_prior")]
            if needs:
                raise DashInputError(f"strategies {', '.join(needs)} use a prior network; give --prior or leave "
                                     "them out of --strategies.", source="--strategies")
        if not names:
            raise DashInputError("no strategy left to run.", source="--strategies")
    else:
        conditions = benchmark_conditions(preset, noise_percents=noise_percents)
        names = parse_strategies(None if strategies is None else list(strategies))
    settings = {"kind": "benchmark", "preset": preset, "n_genes": n_genes,
                "conditions": [dataclasses.asdict(c) for c in conditions],
                "dataset": None if data is None else data.to_dict(),
                "config": normalised_config(base_config, keep_lambdas=True),
                "strategy_settings": bool(strategy_settings), "keep": sorted(keep)}
    check_study_folder(root, settings)
    if data is not None:
        specs = {("data", int(s)): data for s in seeds}
    else:
        specs = prepare_benchmark_data(conditions, seeds, root, n_genes=n_genes)
    jobs = benchmark_jobs(specs, names, base_config, root, strategy_settings=strategy_settings, keep=keep)
    df = run_study(jobs, ResultTable(root / "benchmark.csv"), executor, on_point, should_stop)
    summary = summarize_benchmark(df, conditions=conditions)
    applied = {n: _settings_line(n, base_config, strategy_settings, keep) for n in names}
    md = summary_markdown(summary, conditions=conditions, n_genes=n_genes if data is None else None,
                          settings=applied)
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
    if mean is None or is_missing(mean):
        return "–"
    text = format(mean * scale, fmt)
    if sd is not None and not is_missing(sd):
        text += " ± " + format(sd * scale, fmt)
    return text


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _settings_line(strategy: str, base_config: RunConfig, applied: bool, keep: Collection[str]) -> str:
    """What a strategy ran with beyond ``base_config``: its spec settings, or "shared settings"."""
    if not applied:
        return "shared settings"
    settings: StrategySettings = STRATEGIES.get(strategy).extra.get("settings") or StrategySettings()
    kept = [k for k in keep if getattr(settings, k, None)]
    text = settings.describe()
    if settings.note:
        text += f" — {settings.note}"
    if kept:
        text += f" (overridden by your --{', --'.join(k.replace('_', '-') for k in kept)})"
    return text


def summary_markdown(summary: pd.DataFrame, *, conditions: Sequence[Condition] | None = None,
                     n_genes: int | None = None, settings: dict[str, str] | None = None) -> str:
    """Markdown report of :func:`summarize_benchmark`: one table per condition plus wall time per strategy.

    Values are mean ± sd over seeds (only the mean for a single seed);
    sparsity and balanced accuracy in percent, with the paper's F.1 values
    in the last columns for the comparable condition. ``settings``
    (strategy -> line) adds the per-strategy run settings.
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
        header = ["Strategy", "Runs", "Sparsity %", "BA %", "AUROC", "Prior-alone AUROC", "AUPRC", "Test MSE",
                  "Epochs", "Wall s", "s/epoch"]
        show_paper = cond in comparable
        if show_paper:
            header += ["Paper sparsity %", "Paper BA %"]
        rows = []
        for _, r in g.iterrows():
            runs = f"{int(r['n_runs'])}" + (f" ({int(r['n_failed'])} failed)" if r.get("n_failed") else "")
            cells = [PAPER_SIM350_LABELS.get(r["strategy"], r["strategy"]) + f" (`{r['strategy']}`)", runs,
                     _mean_sd(r, "sparsity", ".1f", 100), _mean_sd(r, "balanced_accuracy", ".1f", 100),
                     _mean_sd(r, "auroc", ".3f"), _mean_sd(r, "prior_auroc", ".3f"), _mean_sd(r, "auprc", ".3f"),
                     _mean_sd(r, "test_mse", ".2e"),
                     _mean_sd(r, "epochs", ".0f"), _mean_sd(r, "wall_seconds", ".0f"),
                     _mean_sd(r, "seconds_per_epoch", ".2f")]
            if show_paper:
                cells += ["–" if is_missing(r["paper_sparsity"]) else f"{100 * r['paper_sparsity']:.1f}",
                          "–" if is_missing(r["paper_balanced_accuracy"])
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
    if settings:
        out += ["", "## Per-strategy run settings", "",
                _md_table(["Strategy", "Settings (beyond the shared ones)"],
                          [[f"`{k}`", v] for k, v in settings.items()])]
    return "\n".join(out) + "\n"
