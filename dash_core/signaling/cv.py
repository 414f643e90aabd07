"""Cross-validation of signaling models: leave-one-condition-out (LEMBAS's protocol) or K-fold.

Every fold trains one model on the other conditions with the same settings and seed and
predicts its held-out conditions. Reported, as LEMBAS reports it: the **pooled** Pearson r
over all held-out condition x TF values, the per-fold r (for leave-one-out: across the TFs of
the one held-out condition) and the per-TF r across held-out conditions; next to them the
baseline that predicts each TF by its mean over the fold's training conditions (what the
model must beat) and two linear baselines of the ligand inputs (:func:`ridge_baseline`: ridge
regression on the ligand amounts, additive and with pairwise products), which say how much of
the held-out signal a model without any network already predicts.

Folds of one job are trained together as a stack (:mod:`dash_core.signaling.stack`);
jobs run on the executor (:mod:`dash_core.runs.executors`). Each finished fold is written
to ``DIR/folds/fold_NNN/`` and the run can be resumed: finished folds are not redone.

Matrices: ligand inputs are ``(C, L)`` (row = condition, column = ligand), TF tables
``(C, T)`` (row = condition, column = TF).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from dash_core.config import guard_settings_file
from dash_core.io.errors import DashInputError
from dash_core.runs.executors import ExecutorConfig, Job, run_jobs
from dash_core.signaling.config import SignalingConfig
from dash_core.signaling.data import SignalingData
from dash_core.signaling.stack import ModelStack, pearson, predict_stack, train_stack
from dash_core.signaling.train import build_model, data_tensors, resolve_device, save_checkpoint, validation_split

FOLDS_FILE = "cv.csv"
SUMMARY_FILE = "summary.json"
PREDICTIONS_FILE = "predictions.csv"
PER_TF_FILE = "per_tf.csv"
SETTINGS_FILE = "cv_settings.json"
PLOT_FILE = "predicted_vs_measured.html"
FOLDS_DIR = "folds"


@dataclass(frozen=True)
class CVConfig:
    """Settings of a cross-validation run.

    Attributes
    ----------
    folds
        ``"loo"`` (leave one condition out: as many folds as conditions) or a number K >= 2
        of folds (conditions shuffled with ``split_seed`` and cut into K near-equal parts).
    stack_size
        Folds trained together in one stack (0 = all folds of a job). On CPU a stack
        saves little per model (the sparse products scale with the number of models), so
        the default is 1: every fold is written as soon as it is done. On a GPU use 0.
    split_seed
        Seed of the K-fold partition (leave-one-out needs none).
    train
        Training settings; ``train.seed`` seeds every fold's initialisation and noise, and
        ``train.test_size`` is ignored (the fold decides what is held out).
    """

    folds: str | int = "loo"
    stack_size: int = 1
    split_seed: int = 0
    train: SignalingConfig = field(default_factory=SignalingConfig)

    def __post_init__(self) -> None:
        if isinstance(self.folds, str) and self.folds != "loo":
            raise DashInputError(f"folds must be 'loo' or a number of folds >= 2, not {self.folds!r}.")
        if not isinstance(self.folds, str) and int(self.folds) < 2:
            raise DashInputError("A K-fold cross-validation needs K >= 2.")
        if self.stack_size < 0:
            raise DashInputError("stack_size must be >= 0 (0 = all folds of a job in one stack).")

    def identity(self) -> dict[str, Any]:
        """What must match for a run to be resumed in the same folder."""
        train = asdict(self.train)
        for key in ("device", "backend", "eval_every", "test_size"):
            train.pop(key, None)
        return {"folds": self.folds, "split_seed": self.split_seed, "train": train}


def parse_folds(text: str | int) -> str | int:
    """``"loo"`` or a whole number >= 2 (from the command line)."""
    if isinstance(text, int):
        return text
    t = str(text).strip().lower()
    if t in ("loo", "leave-one-out"):
        return "loo"
    try:
        k = int(t)
    except ValueError:
        raise DashInputError(f"--folds must be 'loo' or a whole number >= 2, not {text!r}.") from None
    if k < 2:
        raise DashInputError("--folds must be 'loo' or a whole number >= 2.")
    return k


def make_folds(n_conditions: int, folds: str | int, seed: int = 0) -> list[np.ndarray]:
    """Held-out condition indices of each fold.

    ``"loo"``: fold i holds out condition i. K: a seeded permutation cut into K parts of
    near-equal size (each condition is held out exactly once).
    """
    if n_conditions < 2:
        raise DashInputError("Cross-validation needs at least 2 conditions.")
    if folds == "loo":
        return [np.array([i]) for i in range(n_conditions)]
    k = int(folds)
    if k > n_conditions:
        raise DashInputError(f"{k} folds but only {n_conditions} conditions; use --folds loo or fewer folds.")
    perm = np.random.default_rng(seed).permutation(n_conditions)
    return [np.sort(part) for part in np.array_split(perm, k)]


def fold_folder(out_dir: str | os.PathLike, fold: int) -> Path:
    return Path(out_dir) / FOLDS_DIR / f"fold_{fold:03d}"


def run_cv_stack(
    data: SignalingData,
    config: SignalingConfig,
    folds: Sequence[tuple[int, Sequence[int]]],
    out_dir: str,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """Train the given folds as one stack and write each fold's files (one executor job).

    Parameters
    ----------
    folds
        ``(fold number, held-out condition indices)`` pairs.
    out_dir
        The run folder; fold files go to ``folds/fold_NNN/`` (``metrics.json``,
        ``predictions.csv`` of the held-out conditions, ``baseline.csv``, ``history.csv`` and the
        fold's model: ``model.pt`` + ``config.json``, see :func:`dash_core.signaling.train.load_checkpoint`).

    Returns
    -------
    list of dict
        One ``cv.csv`` row per fold.
    """
    if threads:
        torch.set_num_threads(int(threads))
    device = resolve_device(config.device)
    x, y = data_tensors(data, device)
    c = data.n_conditions
    tests = [np.asarray(t, dtype=np.int64) for _, t in folds]
    trains = [np.setdiff1d(np.arange(c), t) for t in tests]
    vals = [validation_split(tr, config.validation_size, config.seed, fold) for tr, (fold, _) in zip(trains, folds)]
    trains = [np.setdiff1d(tr, v) for tr, v in zip(trains, vals)]
    models = [build_model(data, config, device=device) for _ in folds]
    stack = ModelStack(models, config)
    start = time.perf_counter()
    histories, metrics = train_stack(
        stack, x, y, train_sets=trains, test_sets=tests, seeds=[int(config.seed)] * len(folds), val_sets=vals
    )
    pred = predict_stack(stack, x).cpu().numpy()
    seconds = time.perf_counter() - start
    stack.write_back(models)
    rows = []
    names = data.conditions
    truth = data.tfs.to_numpy(dtype=float)
    for i, (fold, _held) in enumerate(folds):
        folder = fold_folder(out_dir, fold)
        folder.mkdir(parents=True, exist_ok=True)
        held = pd.DataFrame(pred[i][tests[i]], index=pd.Index([names[j] for j in tests[i]], name="condition"), columns=data.tfs.columns)
        baseline = truth[trains[i]].mean(axis=0)
        row = {
            "fold": int(fold),
            "test_conditions": ";".join(held.index),
            "n_test": int(len(tests[i])),
            "n_train": int(len(trains[i])),
            "test_pearson": pearson(held.to_numpy(), truth[tests[i]]),
            "test_mse": float(np.mean((held.to_numpy() - truth[tests[i]]) ** 2)),
            "baseline_pearson": pearson(np.tile(baseline, (len(tests[i]), 1)), truth[tests[i]]),
            "train_pearson": metrics[i]["train_pearson"],
            "train_mse": metrics[i]["train_mse"],
            "n_val": int(len(vals[i])),
            "val_conditions": ";".join(names[j] for j in vals[i]),
            "val_pearson": metrics[i].get("val_pearson_last", float("nan")),
            "val_pearson_best": metrics[i].get("val_pearson_best", float("nan")),
            "best_epoch": int(metrics[i].get("best_epoch", config.epochs)),
            "checkpoint": config.checkpoint,
            "epochs": int(config.epochs),
            "final_steps": int(histories[i]["steps"].iloc[-1]),
            "final_spectral_radius": float(histories[i]["spectral_radius"].iloc[-1]),
            "seconds": seconds / len(folds),
            "stack_size": len(folds),
        }
        held.to_csv(folder / PREDICTIONS_FILE, float_format="%.6g")
        histories[i].to_csv(folder / "history.csv", index=False)
        base = pd.DataFrame(np.tile(baseline, (len(tests[i]), 1)), index=held.index, columns=data.tfs.columns)
        base.to_csv(folder / "baseline.csv", float_format="%.6g")
        save_checkpoint(folder, models[i], config, extra={"fold": int(fold), "test_conditions": list(held.index)})
        (folder / "metrics.json").write_text(json.dumps(_finite(row), indent=2))
        rows.append(row)
    return rows


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}


def _done_folds(out: Path) -> dict[int, dict[str, Any]]:
    done = {}
    root = out / FOLDS_DIR
    if not root.exists():
        return done
    for folder in sorted(root.glob("fold_*")):
        m, p = folder / "metrics.json", folder / PREDICTIONS_FILE
        if m.exists() and p.exists():
            try:
                row = json.loads(m.read_text())
            except json.JSONDecodeError:
                continue
            done[int(row["fold"])] = row
    return done


@dataclass
class CVResult:
    """Outcome of :func:`run_cv`.

    Attributes
    ----------
    folds
        ``cv.csv``: one row per finished fold.
    predictions
        Held-out predictions of the finished folds (condition x TF) with a ``fold`` column.
    per_tf
        ``per_tf.csv``: per TF, r and MSE across held-out conditions (NaN below 3 conditions).
    summary
        ``summary.json`` contents.
    failed
        ``(job key, error)`` of jobs that failed.
    """

    folds: pd.DataFrame
    predictions: pd.DataFrame
    per_tf: pd.DataFrame
    summary: dict[str, Any]
    failed: list[tuple[str, str]]
    out_dir: Path


def unseen_ligands(data: SignalingData, held_out: Sequence[str]) -> list[str]:
    """Ligands present (> 0) in a held-out condition but in none of the other conditions.

    A model cannot learn such a ligand's effect from the training conditions; LEMBAS's macrophage
    cross-validation leaves these conditions out of its test folds (20 of 23: not GC, IL10, IL13).
    """
    lig = data.ligands
    held = lig.index.isin(list(held_out))
    seen_elsewhere = (lig.loc[~held] > 0).any(axis=0)
    present = (lig.loc[held] > 0).any(axis=0)
    return [str(c) for c in lig.columns if present[c] and not seen_elsewhere[c]]


#: Ridge penalties searched by the linear baselines (chosen per fold by leave-one-out on its training conditions).
RIDGE_ALPHAS = tuple(np.logspace(-3, 2, 11))


def ligand_features(x: np.ndarray, pairwise: bool) -> np.ndarray:
    """``(C, L)`` ligand amounts, plus (``pairwise``) the ``L (L - 1) / 2`` products of every ligand pair."""
    x = np.asarray(x, dtype=float)
    if not pairwise or x.shape[1] < 2:
        return x
    a, b = np.triu_indices(x.shape[1], k=1)
    return np.hstack([x, x[:, a] * x[:, b]])


def ridge_baseline(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, *, pairwise: bool = False) -> np.ndarray:
    """Linear baseline of a fold: ridge regression of the TF activities on the ligand amounts.

    One penalty for all TFs, chosen from :data:`RIDGE_ALPHAS` by (efficient) leave-one-out over the
    fold's *training* conditions only (scikit-learn ``RidgeCV``); with an intercept. ``pairwise``
    adds the product of every ligand pair (a first-order interaction model). Measured on the
    macrophage data, LEMBAS's 20 folds: pooled r 0.596 additive, 0.663 with pairs (mean baseline 0.261).

    Parameters
    ----------
    x_train, x_test
        ``(C, L)`` ligand amounts (row = condition, column = ligand).
    y_train
        ``(C, T)`` TF activities of the training conditions (row = condition, column = TF).

    Returns
    -------
    numpy.ndarray
        ``(C_test, T)`` predictions.
    """
    from sklearn.linear_model import RidgeCV  # lazy: only summaries need it

    xt = ligand_features(x_train, pairwise)
    if len(xt) < 3:  # too few conditions to choose a penalty: the training mean
        return np.tile(np.asarray(y_train, dtype=float).mean(axis=0), (len(x_test), 1))
    model = RidgeCV(alphas=RIDGE_ALPHAS).fit(xt, np.asarray(y_train, dtype=float))
    return model.predict(ligand_features(x_test, pairwise))


def _linear_baselines(data: SignalingData, rows: list[dict[str, Any]]) -> dict[str, dict[int, np.ndarray]]:
    """Held-out predictions of both ridge baselines per fold (trained on the fold's training conditions: all but
    its test and validation conditions, as the model)."""
    x = data.ligands.to_numpy(dtype=float)
    y = data.tfs.to_numpy(dtype=float)
    position = {name: i for i, name in enumerate(data.conditions)}
    out: dict[str, dict[int, np.ndarray]] = {"ridge": {}, "ridge_pairwise": {}}
    for row in rows:
        test = [position[c] for c in str(row["test_conditions"]).split(";") if c in position]
        val = [position[c] for c in str(row.get("val_conditions") or "").split(";") if c in position]
        train = np.setdiff1d(np.arange(len(x)), np.array(test + val, dtype=np.int64))
        for name, pairwise in (("ridge", False), ("ridge_pairwise", True)):
            out[name][int(row["fold"])] = ridge_baseline(x[train], y[train], x[test], pairwise=pairwise)
    return out


def summarise(data: SignalingData, out_dir: str | os.PathLike, n_folds: int, extra: dict[str, Any] | None = None) -> CVResult:
    """Collect the finished folds of ``out_dir`` into ``cv.csv``, ``predictions.csv``, ``per_tf.csv``
    and ``summary.json`` (pooled over every held-out condition x TF value; ``pooled_pearson_seen_ligands``
    leaves out folds whose held-out ligands occur in no training condition, as LEMBAS's protocol does)."""
    out = Path(out_dir)
    done = _done_folds(out)
    rows = [done[k] for k in sorted(done)]
    for row in rows:
        row["unseen_ligands"] = ";".join(unseen_ligands(data, str(row["test_conditions"]).split(";")))
    preds, bases = [], []
    for k in sorted(done):
        folder = fold_folder(out, k)
        p = pd.read_csv(folder / PREDICTIONS_FILE, index_col=0)
        p.insert(0, "fold", k)
        preds.append(p)
        if (folder / "baseline.csv").exists():
            bases.append(pd.read_csv(folder / "baseline.csv", index_col=0))
    tfs = list(data.tfs.columns)
    predictions = pd.concat(preds) if preds else pd.DataFrame(columns=["fold", *tfs])
    truth = data.tfs.loc[predictions.index, tfs].to_numpy(dtype=float) if preds else np.zeros((0, len(tfs)))
    pred_values = predictions[tfs].to_numpy(dtype=float) if preds else np.zeros((0, len(tfs)))
    per_tf = pd.DataFrame(
        {
            "tf": tfs,
            "pearson": [pearson(pred_values[:, j], truth[:, j]) if len(truth) >= 3 else float("nan") for j in range(len(tfs))],
            "mse": [float(np.mean((pred_values[:, j] - truth[:, j]) ** 2)) if len(truth) else float("nan") for j in range(len(tfs))],
            "measured_sd": [float(truth[:, j].std()) if len(truth) else float("nan") for j in range(len(tfs))],
        }
    )
    seen = [k for k in sorted(done) if not done[k]["unseen_ligands"]]
    seen_rows = predictions["fold"].isin(seen).to_numpy() if preds else np.zeros(0, dtype=bool)
    linear = _linear_baselines(data, rows)
    linear_pooled: dict[str, float | None] = {}
    for name, per_fold in linear.items():
        for row in rows:
            row[f"{name}_pearson"] = pearson(per_fold[int(row["fold"])], data.tfs.loc[str(row["test_conditions"]).split(";"), tfs].to_numpy(dtype=float))
        values = np.concatenate([per_fold[k] for k in sorted(done)]) if preds else np.zeros((0, len(tfs)))
        linear_pooled[f"{name}_pooled_pearson"] = pearson(values, truth) if len(truth) else None
        linear_pooled[f"{name}_pooled_pearson_seen_ligands"] = (
            pearson(values[seen_rows], truth[seen_rows]) if seen_rows.any() else None)
    table = pd.DataFrame(rows)
    summary: dict[str, Any] = {
        "pooled_pearson": pearson(pred_values, truth) if len(truth) else None,
        "pooled_pearson_seen_ligands": pearson(pred_values[seen_rows], truth[seen_rows]) if seen_rows.any() else None,
        "folds_seen_ligands": len(seen),
        "mean_fold_pearson": float(np.nanmean(table["test_pearson"].astype(float))) if len(table) else None,
        "mean_fold_val_pearson": (
            float(np.nanmean(table["val_pearson"].astype(float)))
            if "val_pearson" in table and table["val_pearson"].astype(float).notna().any()
            else None
        ),
        "pooled_mse": float(np.mean((pred_values - truth) ** 2)) if len(truth) else None,
        "baseline_pooled_pearson": pearson(pd.concat(bases)[tfs].to_numpy(dtype=float), truth) if bases and len(bases) == len(preds) else None,
        **linear_pooled,
        "median_tf_pearson": float(np.nanmedian(per_tf["pearson"])) if per_tf["pearson"].notna().any() else None,
        "folds": int(len(table)),
        "folds_total": int(n_folds),
        "complete": bool(len(table) == n_folds),
        "held_out_values": int(truth.size),
        "wall_seconds": float(table["seconds"].sum()) if len(table) else 0.0,
    }
    if extra:
        summary.update(extra)
    summary = _finite(summary)
    if len(table):
        table.sort_values("fold").to_csv(out / FOLDS_FILE, index=False)
        predictions.to_csv(out / PREDICTIONS_FILE, float_format="%.6g")
        per_tf.to_csv(out / PER_TF_FILE, index=False)
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
    return CVResult(table, predictions, per_tf, summary, [], out)


def folds_to_run(n_folds: int, out_dir: str | os.PathLike, only: Sequence[int] | None = None) -> list[int]:
    """The fold numbers a :func:`run_cv` call would train now: ``only`` (default: all ``n_folds``) less the folds
    already finished in ``out_dir`` (a resumed run skips them).

    Raises
    ------
    DashInputError
        ``only`` names a fold that does not exist.
    """
    if only is not None:
        bad = sorted(set(int(i) for i in only) - set(range(n_folds)))
        if bad:
            raise DashInputError(f"Fold number(s) {bad} do not exist: this cross-validation has folds 0-{n_folds - 1}.")
    chosen = range(n_folds) if only is None else sorted({int(i) for i in only})
    done = _done_folds(Path(out_dir))
    return [i for i in chosen if i not in done]


def run_cv(
    data: SignalingData,
    config: CVConfig,
    out_dir: str | os.PathLike,
    *,
    executor: Any = None,
    on_fold: Callable[[int, int, dict[str, Any] | None, str | None], None] | None = None,
    only: Sequence[int] | None = None,
) -> CVResult:
    """Run (or resume) a cross-validation and write its tables and plot.

    Parameters
    ----------
    data
        Validated PKN, ligand and TF tables.
    config
        Folds, stacking and training settings.
    out_dir
        Output folder (created); folds already finished there are kept.
    executor
        :class:`dash_core.runs.executors.ExecutorConfig` (default: local, 1 worker = in process).
        The remaining folds are dealt round-robin to ``workers`` jobs, cut into stacks of
        ``stack_size``.
    on_fold
        Called after each finished fold as ``on_fold(done, total, row_or_None, error_or_None)``.
    only
        Fold numbers (0-based) to run; the others are left to other invocations sharing ``out_dir``
        (the summary covers every finished fold). None = all.

    Returns
    -------
    CVResult
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    guard_settings_file(out / SETTINGS_FILE, config.identity(), asdict(config), what="a cross-validation")
    executor = executor or ExecutorConfig()
    folds = make_folds(data.n_conditions, config.folds, config.split_seed)
    pending = set(folds_to_run(len(folds), out, only))
    todo = [(i, f) for i, f in enumerate(folds) if i in pending]
    workers = max(1, int(getattr(executor, "workers", 1)))
    groups = [todo[w::workers] for w in range(workers)]
    size = config.stack_size
    jobs = []
    train = replace(config.train, test_size=0)
    for group in groups:
        step = size if size > 0 else max(1, len(group))
        for j in range(0, len(group), step):
            part = group[j : j + step]
            jobs.append(
                Job(
                    key="folds=" + ",".join(str(i) for i, _ in part),
                    func=run_cv_stack,
                    kwargs={"data": data, "config": train, "folds": [(i, f.tolist()) for i, f in part], "out_dir": str(out)},
                )
            )
    failed: list[tuple[str, str]] = []
    total = len(todo)
    counter = {"done": 0}
    start = time.perf_counter()
    extra = {"preset_loss": config.train.loss_variant, "epochs": config.train.epochs, "seed": config.train.seed, "fold_scheme": config.folds}

    def on_result(res) -> None:
        if res.ok:
            for row in res.value:
                counter["done"] += 1
                if on_fold is not None:
                    on_fold(counter["done"], total, row, None)
            summarise(data, out, len(folds), extra)
        else:
            failed.append((res.key, str(res.error)))
            if on_fold is not None:
                on_fold(counter["done"], total, None, str(res.error))

    if jobs:
        run_jobs(jobs, executor, on_result=on_result)
    extra["last_invocation_seconds"] = time.perf_counter() - start
    result = summarise(data, out, len(folds), extra)
    if len(result.predictions):
        from dash_core.signaling.plots import cv_scatter  # lazy: plotly, only for the finished summary

        cv_scatter(result.predictions, data.tfs, result.summary).write_html(out / PLOT_FILE, include_plotlyjs="directory")
    result.failed = failed
    return result
