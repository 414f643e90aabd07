"""Choosing a point of a sweep table (the paper's "DASH found optimal lambda").

The default criterion, validation MSE, needs no ground truth; truth-based criteria
(balanced accuracy, AUPRC) are for simulated data only and say so in their errors.
"""

from __future__ import annotations

import pandas as pd

from dash_core.io.errors import DashInputError

__all__ = ["SELECT_CRITERIA", "aggregate_points", "select_point"]

#: Selection criteria of :func:`select_point`: column -> True when higher is better.
SELECT_CRITERIA: dict[str, bool] = {"val_mse": False, "balanced_accuracy": True, "auprc": True}


def aggregate_points(df: pd.DataFrame) -> pd.DataFrame:
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
    points = aggregate_points(ok)
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
