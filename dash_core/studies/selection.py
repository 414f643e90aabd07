"""Choosing a model from a sweep by validation alone: pruning paths, Pareto front, recommendation, edge confidence.

Every run of a sweep records its pruning path (``path.csv``: one row per pruning
level with the level's best-validation checkpoint, see
:class:`dash_core.train.PathRecorder`). Over all runs this gives a table of
``(lambda_ppi, lambda_motif, seed, level) -> sparsity, val_mse`` points
(:func:`path_table`). From it:

* :func:`recommend` applies **the recommendation rule**, the same in the CLI
  (``sweep`` -> ``selection.json``), the app's lambda explorer and the ASHA search:
  average the seeds of each (lambda, level) point, find the lowest mean
  validation MSE, and recommend the **sparsest** point whose mean validation MSE
  is within ``tolerance`` (relative) of it. Gold-standard columns (BA, AUROC,
  AUPRC) are carried along for display and never read by the rule.
* :func:`pareto_front` marks the points no other point beats on both sparsity
  and validation MSE.
* :func:`edge_confidence` gives each edge of the recommended model the fraction
  of seeds whose model at the same lambda and level keeps it.

Default tolerance
-----------------
:data:`DEFAULT_TOLERANCE` = 0.05 (5 % above the best validation MSE). Measured on
SIM350-style data (350 genes, 5 % noise, seed 0, 200 epochs; ``benchmarks/bench_selection.py``):
two seeds at the same (lambda, level) differ by a median 5.9 % in validation MSE (90th
percentile 14.6 %), neighbouring levels by a median -0.8 % (90th percentile +3.2 %), and
leaving the plateau at high sparsity costs +6 % to +20 % per level. 5 % is the seed-to-seed
noise of the criterion: points closer to the best cannot be told apart by validation
(README, "Choosing a model").

Orientation: gene-level matrices are ``(n, n)``, row = regulator, column = target.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dash_core.audit import audit_models, referee_runs
from dash_core.experiment import export_level, load_level
from dash_core.io.errors import DashInputError

__all__ = [
    "DEFAULT_TOLERANCE",
    "POINT_COLUMNS",
    "Recommendation",
    "aggregate_points",
    "edge_confidence",
    "pareto_front",
    "path_table",
    "recommend",
]

#: Default relative tolerance of :func:`recommend` (see the module docstring for the measurement).
DEFAULT_TOLERANCE = 0.05

#: Columns identifying one lambda point (the seeds of a point are averaged).
POINT_COLUMNS: tuple[str, ...] = ("strategy", "lambda_ppi", "lambda_motif")

#: File a study run writes its pruning path to while it trains (:class:`dash_core.train.PathRecorder`).
LIVE_PATH_FILE = "path_live.csv"

#: Gold-standard columns: shown next to a point, never used to choose one.
GOLD_COLUMNS: tuple[str, ...] = ("balanced_accuracy", "auroc", "auprc")


def path_table(runs: pd.DataFrame, root=None) -> pd.DataFrame:
    """One row per (run, pruning level) of a sweep, read from each run's ``path.csv``.

    Parameters
    ----------
    runs
        Sweep rows (``sweep.csv``): ``status``, ``run_dir``, ``strategy``, ``seed``,
        ``lambda_ppi``, ``lambda_motif`` (rows whose status is not ``ok`` are skipped).
    root
        Folder that relative ``run_dir`` values are relative to.

    Returns
    -------
    pandas.DataFrame
        The ``path.csv`` columns (``level``, ``sparsity``, ``val_mse``, ``n_edges``, ...) plus
        ``key``, ``strategy``, ``seed``, ``lambda_ppi``, ``lambda_motif`` and ``run_dir``. Runs
        without a ``path.csv`` (saved before it existed) contribute their reported
        checkpoint as a single level from their own row.
    """
    frames = []
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    for rec in ok.to_dict("records"):
        run_dir = rec.get("run_dir")
        if not isinstance(run_dir, str) or not run_dir:
            continue
        folder = Path(run_dir) if root is None or Path(run_dir).is_absolute() else Path(root) / run_dir
        labels = {k: rec.get(k) for k in ("key", *POINT_COLUMNS, "seed")}
        if (folder / "path.csv").is_file():
            p = pd.read_csv(folder / "path.csv")
        else:
            p = pd.DataFrame([{"level": 0, "reported": True,
                               **{k: rec.get(k) for k in ("sparsity", "val_mse", *GOLD_COLUMNS, "test_mse")}}])
        frames.append(p.assign(**labels, run_dir=str(run_dir)))
    if not frames:
        return pd.DataFrame(columns=["key", *POINT_COLUMNS, "seed", "level", "sparsity", "val_mse", "run_dir"])
    return pd.concat(frames, ignore_index=True)


def live_path_table(study_dirs, finished: set[str] | None = None) -> pd.DataFrame:
    """Pruning paths so far of the runs still training in some study folders (``runs/*/path_live.csv``).

    Parameters
    ----------
    study_dirs
        Study folders (each with ``runs/<key>/``).
    finished
        ``run_dir`` values already in the finished table; their live files are skipped.

    Returns
    -------
    pandas.DataFrame
        The :func:`path_table` columns without gold-standard metrics, plus ``live = True``; empty
        when nothing is training. Each level's row is its best epoch so far.
    """
    frames = []
    done = {str(Path(d).resolve()) for d in finished or set()}
    for study in study_dirs:
        for f in sorted(Path(study).glob(f"runs/*/{LIVE_PATH_FILE}")):
            if str(f.parent.resolve()) in done:
                continue
            try:
                frames.append(pd.read_csv(f))
            except (OSError, ValueError, pd.errors.EmptyDataError):
                continue  # being replaced right now: next refresh
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).assign(live=True)


def aggregate_points(table: pd.DataFrame, *, complete_only: bool = True) -> pd.DataFrame:
    """Seed-averaged (lambda point, level) rows of a :func:`path_table`.

    Parameters
    ----------
    table
        Rows with the :data:`POINT_COLUMNS` present, ``seed``, ``level``, ``sparsity``, ``val_mse``.
    complete_only
        Keep only levels reached by every seed of their lambda point (a run that stopped
        early has no later levels, and a mean over fewer seeds is not comparable).

    Returns
    -------
    pandas.DataFrame
        One row per point and level: means of the numeric columns, ``val_mse_sd`` (over
        seeds), ``n_seeds`` and ``seeds`` (comma-separated).
    """
    if table.empty:
        return table.assign(n_seeds=[], seeds=[], val_mse_sd=[])
    df = table.copy()
    group = [c for c in POINT_COLUMNS if c in df.columns] + ["level"]
    for c in group:
        if df[c].isna().all():
            df[c] = "" if c == "strategy" else 0.0
    seed_col = df["seed"] if "seed" in df.columns else pd.Series(0, index=df.index)
    df["seed"] = pd.to_numeric(seed_col, errors="coerce").fillna(0).astype(int)
    numeric = [c for c in df.columns if c not in (*group, "seed") and pd.api.types.is_numeric_dtype(df[c])
               and df[c].dtype != bool]
    agg = df.groupby(group, sort=True, dropna=False)
    out = agg[numeric].mean().reset_index()
    out["val_mse_sd"] = agg["val_mse"].std(ddof=1).to_numpy() if "val_mse" in df.columns else np.nan
    out["n_seeds"] = agg["seed"].nunique().to_numpy()
    out["seeds"] = agg["seed"].apply(lambda s: ",".join(str(v) for v in sorted(set(s)))).to_numpy()
    if complete_only:
        point = [c for c in POINT_COLUMNS if c in out.columns]
        per_point = df.groupby(point, dropna=False)["seed"].nunique().rename("_all").reset_index()
        out = out.merge(per_point, on=point, how="left")
        out = out[out["n_seeds"] == out["_all"]].drop(columns="_all")
    return out.reset_index(drop=True)


def pareto_front(points: pd.DataFrame, *, x: str = "sparsity", y: str = "val_mse", y_lower_is_better: bool = True
                 ) -> pd.Series:
    """Mark the Pareto-optimal points: no other point is at least as sparse and at least as accurate, and better in one.

    Parameters
    ----------
    points
        Rows with columns ``x`` (higher is better) and ``y``.
    y_lower_is_better
        True for an error (validation MSE), False for a score (balanced accuracy).

    Returns
    -------
    pandas.Series of bool
        Aligned with ``points``; rows with a missing value are never on the front.
    """
    xs = pd.to_numeric(points[x], errors="coerce").to_numpy(dtype=float)
    ys = pd.to_numeric(points[y], errors="coerce").to_numpy(dtype=float)
    if not y_lower_is_better:
        ys = -ys
    ok = np.isfinite(xs) & np.isfinite(ys)
    front = np.zeros(len(points), dtype=bool)
    # sweep by decreasing sparsity (ties: best y first); a point is on the front if it beats every sparser one on y
    order = sorted(np.flatnonzero(ok), key=lambda i: (-xs[i], ys[i]))
    best_y = math.inf
    for i in order:
        if ys[i] < best_y:
            front[i] = True
            best_y = ys[i]
    return pd.Series(front, index=points.index, name="pareto")


@dataclass
class Recommendation:
    """The model :func:`recommend` picks, with what is needed to find and explain it.

    Attributes
    ----------
    strategy, lambda_ppi, lambda_motif, level
        The chosen point: lambda values and pruning level.
    sparsity, val_mse
        Seed means at that point.
    best_val_mse, tolerance
        Lowest seed-averaged validation MSE of all points and the relative tolerance:
        eligible points have ``val_mse <= best_val_mse * (1 + tolerance)``.
    n_seeds, seeds
        Seeds averaged at the point.
    seed, key, source_run_dir
        The seed whose model at this point has the lowest validation MSE (the model
        reported; its run key and folder).
    members
        ``run_dir`` of every seed's run at this point (for edge confidence).
    n_points, n_eligible
        Points compared and points within the tolerance.
    rule
        The rule in words.
    """

    strategy: str
    lambda_ppi: float
    lambda_motif: float
    level: int
    sparsity: float
    val_mse: float
    best_val_mse: float
    tolerance: float
    n_seeds: int
    seeds: str
    seed: int
    key: str
    source_run_dir: str
    members: list[str] = field(default_factory=list)
    n_points: int = 0
    n_eligible: int = 0
    rule: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def recommend(table: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE, *, strategy: str | None = None
              ) -> Recommendation:
    """The recommendation rule: the sparsest point within ``tolerance`` of the best validation MSE.

    Parameters
    ----------
    table
        A :func:`path_table` (one row per run and level; ``val_mse`` and ``sparsity``
        needed; gold-standard columns are ignored).
    tolerance
        Relative tolerance >= 0: a point is eligible when its seed-averaged validation
        MSE is at most ``(1 + tolerance)`` times the lowest one.
    strategy
        Only consider this strategy's rows (e.g. ``"dash"``, leaving baselines out).

    Returns
    -------
    Recommendation

    Raises
    ------
    DashInputError
        Negative tolerance or no point with a validation MSE.
    """
    tol = float(tolerance)
    if not (tol >= 0 and math.isfinite(tol)):
        raise DashInputError(f"the tolerance must be a number >= 0 (a fraction: 0.05 = 5 %), got {tolerance}.",
                             source="--tolerance")
    rows = table
    if strategy is not None and "strategy" in table.columns:
        rows = table[table["strategy"] == strategy]
    rows = rows[pd.to_numeric(rows.get("val_mse"), errors="coerce").notna()] if len(rows) else rows
    if rows is not None and len(rows) and "seed" not in rows.columns:
        rows = rows.assign(seed=0)
    if rows is None or rows.empty:
        raise DashInputError("no finished run with a validation MSE to recommend from.")
    pts = aggregate_points(rows.drop(columns=[c for c in GOLD_COLUMNS if c in rows.columns]))
    if pts.empty:  # no level reached by every seed: fall back to every (point, level) average
        pts = aggregate_points(rows.drop(columns=[c for c in GOLD_COLUMNS if c in rows.columns]),
                               complete_only=False)
    # compare like with like: points averaged over as many seeds as the best-covered point (a sweep still running
    # or with failed runs has points with fewer seeds, whose means are noisier)
    pts = pts[pts["n_seeds"] == pts["n_seeds"].max()]
    best = float(pts["val_mse"].min())
    limit = best * (1.0 + tol)
    eligible = pts[pts["val_mse"] <= limit + 1e-15 * abs(limit)]
    chosen = eligible.sort_values(["sparsity", "val_mse"], ascending=[False, True], kind="stable").iloc[0]
    point = {c: chosen[c] for c in POINT_COLUMNS if c in chosen.index}
    mask = rows["level"] == chosen["level"]
    for c, v in point.items():
        mask &= (rows[c] == v) | (rows[c].isna() & pd.isna(v))
    members = rows[mask].sort_values(["val_mse", "seed"], kind="stable")
    top = members.iloc[0]
    rule = (f"sparsest (lambda, level) point whose validation MSE, averaged over {int(chosen['n_seeds'])} seed(s), "
            f"is within {tol:.0%} of the best ({best:.4g}); {len(eligible)} of {len(pts)} points qualify")
    return Recommendation(
        strategy=str(point.get("strategy", "") or ""), lambda_ppi=float(point.get("lambda_ppi", np.nan)),
        lambda_motif=float(point.get("lambda_motif", np.nan)), level=int(chosen["level"]),
        sparsity=float(chosen["sparsity"]), val_mse=float(chosen["val_mse"]), best_val_mse=best, tolerance=tol,
        n_seeds=int(chosen["n_seeds"]), seeds=str(chosen["seeds"]), seed=int(top["seed"]),
        key=str(top.get("key", "")), source_run_dir=str(top["run_dir"]),
        members=[str(v) for v in members["run_dir"]], n_points=int(len(pts)), n_eligible=int(len(eligible)),
        rule=rule)


def level_effects(run_dirs: Sequence, level: int) -> tuple[list[np.ndarray], list[str]]:
    """Effect matrices E (row = regulator, column = target) of pruning level ``level`` of several runs.

    Raises
    ------
    DashInputError
        A run without that level, or runs with different gene orders.
    """
    effects, genes = [], None
    for d in run_dirs:
        model, _, g = load_level(d, level)
        if genes is None:
            genes = list(g)
        elif list(g) != genes:
            raise DashInputError("the runs have different gene orders; edge confidence compares runs on one dataset.",
                                 source=str(d))
        effects.append(model.effect_array())
    return effects, genes or []


def strongest_edges(effect: np.ndarray, n_keep: int) -> np.ndarray:
    """Boolean ``(n, n)`` mask of the ``n_keep`` largest off-diagonal ``|E|`` entries (non-zero ones only).

    Used to compare a dense (unpruned) model with a pruned one at the same density.
    """
    e = np.abs(np.asarray(effect, dtype=float))
    n = e.shape[0]
    flat = np.where(np.eye(n, dtype=bool), 0.0, e).ravel()
    mask = np.zeros(flat.size, dtype=bool)
    k = int(min(max(n_keep, 0), np.count_nonzero(flat)))
    if k:
        mask[np.argpartition(-flat, k - 1)[:k]] = True
    return mask.reshape(e.shape)


def edge_confidence(effects: Sequence[np.ndarray], *, n_keep: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-edge agreement of several models (seeds) at the same lambda and level.

    Parameters
    ----------
    effects
        ``(n, n)`` effect matrices, row = regulator, column = target, one per seed.
    n_keep
        None (default): an edge is kept by a model when it is non-zero. A number: when it is
        among the model's ``n_keep`` strongest off-diagonal edges (:func:`strongest_edges`; for
        dense, unpruned models compared at a pruned model's edge count).

    Returns
    -------
    confidence
        ``(n, n)``: fraction of the models that keep the edge.
    support
        ``(n, n)``: mean over the models of ``|E_ij|`` divided by the mean non-zero ``|E|`` of
        that model (0 where pruned): how strong the edge is relative to a typical kept edge.
    """
    if not effects:
        raise DashInputError("edge confidence needs at least one model.")
    if n_keep is None:
        kept = np.mean([e != 0 for e in effects], axis=0)
    else:
        kept = np.mean([strongest_edges(e, n_keep) for e in effects], axis=0)
    rel = []
    for e in effects:
        nz = np.abs(e[e != 0])
        rel.append(np.abs(e) / nz.mean() if nz.size else np.zeros_like(e))
    return kept, np.mean(rel, axis=0)


def write_selection(out_dir, rec: Recommendation, *, run_dir: str, extra: dict[str, Any] | None = None) -> Path:
    """Write ``out_dir/selection.json``: the recommended point, the rule and the model's folder (relative)."""
    out = Path(out_dir)
    data = {"lambda_ppi": rec.lambda_ppi, "lambda_motif": rec.lambda_motif, "sparsity": rec.sparsity,
            "run_dir": run_dir, **rec.to_dict(), **(extra or {})}
    data = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in data.items()}
    path = out / "selection.json"
    path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    return path


#: Folder (inside a sweep's output folder) holding the recommended model.
RECOMMENDED_DIR = "recommended"
#: Folder (inside a CLI sweep's output folder) holding the unpruned runs that referee the prior audit.
REFEREE_DIR = "baseline_none"


def finalize_sweep(out_dir, runs: pd.DataFrame, dataset, *, dataset_spec: dict[str, Any] | None = None,
                   tolerance: float = DEFAULT_TOLERANCE, strategy: str | None = None,
                   referee_dir=None) -> dict[str, Any]:
    """Recommend a model from a finished (or partly finished) sweep and write it out.

    Applies :func:`recommend` to the runs' pruning paths, writes the chosen seed's checkpoint
    at the chosen level as a run folder ``out_dir/recommended/`` (``edges.csv`` with a
    ``confidence`` and a ``support`` column over the seeds, ``metrics.json``, ``model.pt``,
    ``members.json``, ``prior_audit.csv`` when the data has a prior) and
    ``out_dir/selection.json`` (``run_dir`` relative to ``out_dir``). The gold-standard metrics
    of the recommended model (if the data has a truth) are scored after the choice, for display.

    Parameters
    ----------
    out_dir
        The sweep's folder.
    runs
        Sweep rows (``sweep.csv``).
    dataset
        The sweep's :class:`~dash_core.data.Dataset` (to score the exported level).
    dataset_spec
        :meth:`dash_core.studies.DatasetSpec.to_dict`, recorded in ``members.json`` (audit later).
    tolerance, strategy
        See :func:`recommend`.
    referee_dir
        A study folder holding the sweep's unpruned baseline runs (strategy ``none``): those of the
        recommended seeds referee the prior audit (:func:`dash_core.audit.audit_models`); None or
        no such runs: the recommended seeds referee themselves, and ``selection.json`` says so
        (``audit_referee``).

    Returns
    -------
    dict
        The content of ``selection.json``.
    """
    out = Path(out_dir)
    table = path_table(runs, root=out)
    rec = recommend(table, tolerance, strategy=strategy)
    folder = out / RECOMMENDED_DIR
    export_level(rec.source_run_dir if Path(rec.source_run_dir).is_absolute() else out / rec.source_run_dir,
                 rec.level, dataset, folder)
    members = [m if Path(m).is_absolute() else str(out / m) for m in rec.members]
    effects, genes = level_effects(members, rec.level)
    conf, support = edge_confidence(effects)
    edges = pd.read_csv(folder / "edges.csv")
    if len(edges):
        index = {g: i for i, g in enumerate(genes)}
        i = edges["source"].astype(str).map(index).to_numpy()
        j = edges["target"].astype(str).map(index).to_numpy()
        edges["confidence"] = conf[i, j]
        edges["support"] = support[i, j]
    else:
        edges = edges.assign(confidence=[], support=[])
    edges.to_csv(folder / "edges.csv", index=False)
    # run folders relative to the recommended folder, so the sweep folder can be moved as a whole
    relative = [os.path.relpath(m, folder) for m in members]
    prior = dataset.prior_matrix()
    n_audit = info = None
    if np.any(prior):
        seeds = [int(s) for s in str(rec.seeds).split(",") if s.strip()]
        referee = referee_runs(referee_dir, seeds) if referee_dir is not None else {}
        audit, info = audit_models(prior, effects, genes, referee=list(referee.values()), referee_seeds=list(referee),
                                   base=folder)
        audit.to_csv(folder / "prior_audit.csv", index=False)
        n_audit = audit["category"].value_counts().to_dict()
    (folder / "members.json").write_text(json.dumps(
        {"level": rec.level, "runs": relative, "dataset": dataset_spec, "audit": info}, indent=2), encoding="utf-8")
    scored = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    extra = {"metrics": scored, "audit": n_audit, "audit_referee": None if info is None else info["note"],
             "n_confident_edges": int(np.sum(conf >= 1.0 - 1e-12)), "n_edges": int(len(edges))}
    write_selection(out, rec, run_dir=RECOMMENDED_DIR, extra=extra)
    return json.loads((out / "selection.json").read_text(encoding="utf-8"))
