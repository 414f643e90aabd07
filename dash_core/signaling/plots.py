"""Plotly figure builders for signaling models and the self-pruning study (pure functions).

Inputs are the tables written by :mod:`dash_core.signaling.selfprune` and
:mod:`dash_core.signaling.train` (``selfprune.csv`` rows, ``models/*/edges.csv`` etc.,
concatenated with :func:`dash_core.signaling.selfprune.load_model_tables`). Edge tables
are ``source, target`` (edge ``source -> target``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dash_core.labels import plain
from dash_core.signaling.selfprune import pooled_abs_weights

SET_LABELS = {"spurious": "spurious (𝒮)", "pkn_known": "PKN, known sign", "pkn_unknown": "PKN, unknown sign", "pkn": "PKN (𝒫)"}
SET_COLORS = {"spurious": "#d62728", "pkn_known": "#1f77b4", "pkn_unknown": "#2ca02c", "pkn": "#1f77b4"}

DEFAULT_HEATMAP_READOUTS = (
    "share_spurious_below_median",
    "share_pkn_below_median",
    "share_pkn_unknown_below_median",
    "share_spurious_below_median_signed",
    "share_pkn_below_median_signed",
    "share_spurious_below_median_ckpt_mean",
    "share_pkn_below_median_ckpt_mean",
)


def _l2_label(v: float) -> str:
    return f"{v:g}"


def readout_heatmap(
    table: pd.DataFrame,
    readouts: Sequence[str] = DEFAULT_HEATMAP_READOUTS,
    *,
    center: float = 50.0,
    title: str = "Self-pruning readouts (mean over seeds, %)",
) -> go.Figure:
    """Heatmap of readouts (columns) over L2 levels (rows), averaged over seeds.

    Parameters
    ----------
    table
        ``selfprune.csv`` rows (one per model, with ``l2`` and the readout columns).
    readouts
        Columns to show (missing ones are skipped).
    center
        Value at the middle of the diverging colour scale (50 = the R1 null).
    """
    cols = [c for c in readouts if c in table]
    fig = go.Figure()
    if table.empty or not cols:
        fig.update_layout(title=title + " (no results yet)")
        return fig
    mean = table.groupby("l2")[cols].mean().sort_index()
    z = mean.to_numpy(dtype=float)
    span = float(np.nanmax(np.abs(z - center))) if np.isfinite(z).any() else 1.0
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=["<br>".join(textwrap.wrap(plain(c), 24)) for c in cols],
            y=[_l2_label(v) for v in mean.index],
            colorscale="RdBu_r",
            zmid=center,
            zmin=center - span,
            zmax=center + span,
            text=np.round(z, 1),
            texttemplate="%{text}",
            colorbar={"title": "%"},
            hovertemplate="L2 %{y}<br>%{x}: %{z:.1f}%<extra></extra>",
        )
    )
    fig.update_layout(title=title, xaxis_title="readout", yaxis_title="λ_L2", yaxis_type="category")
    return fig


def weight_ecdf_figure(edges: pd.DataFrame, *, column: str = "weight_mid", split_pkn: bool = True) -> go.Figure:
    """|W| ECDFs of PKN and spurious edges on a log x-axis, one panel per L2 level (R3).

    Parameters
    ----------
    edges
        Concatenated ``edges.csv`` tables with ``l2, seed, sign, spurious`` and the weight ``column``.
    column
        ``weight_mid`` (the middle checkpoint, as in I.3) or ``weight_final``.
    split_pkn
        Show known-sign and unknown-sign PKN edges separately (else one PKN curve).
    """
    long = pooled_abs_weights(edges, column) if not edges.empty else pd.DataFrame(columns=["l2", "seed", "set", "abs_weight"])
    if not split_pkn and not long.empty:
        long = long.assign(set=np.where(long["set"] == "spurious", "spurious", "pkn"))
    levels = sorted(long["l2"].unique()) if not long.empty else []
    fig = make_subplots(rows=1, cols=max(1, len(levels)), subplot_titles=[f"λ_L2 = {_l2_label(v)}" for v in levels], shared_yaxes=True)
    positive = long.loc[long["abs_weight"] > 0, "abs_weight"] if not long.empty else pd.Series(dtype=float)
    floor = float(positive.min()) / 10 if len(positive) else 1e-12
    for j, l2 in enumerate(levels, start=1):
        sub = long[np.isclose(long["l2"], l2)]
        for name in ("pkn", "pkn_known", "pkn_unknown", "spurious"):
            vals = np.sort(np.maximum(sub.loc[sub["set"] == name, "abs_weight"].to_numpy(dtype=float), floor))
            if vals.size == 0:
                continue
            fig.add_trace(
                go.Scatter(
                    x=vals,
                    y=np.arange(1, vals.size + 1) / vals.size,
                    mode="lines",
                    line={"shape": "hv", "color": SET_COLORS[name]},
                    name=SET_LABELS[name],
                    legendgroup=name,
                    showlegend=j == 1,
                ),
                row=1,
                col=j,
            )
        fig.update_xaxes(type="log", title_text="|W|", row=1, col=j)
    fig.update_yaxes(title_text="ECDF", row=1, col=1)
    fig.update_layout(title="|W| distributions, pooled over seeds")
    return fig


def pruning_curve_figure(pruning: pd.DataFrame, *, marks: Sequence[float] = (0.25, 0.5, 0.75)) -> go.Figure:
    """Mean prediction MAE (vs. unpruned) as weights are zeroed smallest-first, one line per L2 (R4).

    Parameters
    ----------
    pruning
        Concatenated ``pruning.csv`` tables with ``l2, seed, n_zeroed, fraction_zeroed, mae``.
    marks
        Fractions of edges removed marked by vertical lines.
    """
    fig = go.Figure()
    if not pruning.empty:
        for l2, grp in pruning.groupby("l2"):
            mean = grp.groupby("n_zeroed")[["fraction_zeroed", "mae"]].mean().reset_index()
            fig.add_trace(go.Scatter(x=mean["fraction_zeroed"], y=mean["mae"], mode="lines+markers", name=f"λ_L2 = {_l2_label(l2)}"))
    for m in marks:
        fig.add_vline(x=m, line_dash="dot", line_color="gray", annotation_text=f"{int(m * 100)}%")
    fig.update_layout(
        title="Magnitude pruning: prediction change", xaxis_title="fraction of weights zeroed (smallest |W| first)",
        yaxis_title="MAE vs. unpruned predictions",
    )
    return fig


def checkpoint_share_figure(trace: pd.DataFrame, *, signed: bool = False) -> go.Figure:
    """Share of spurious and PKN edges below the median |W| at each checkpoint, mean over seeds (R1)."""
    suffix = "_signed" if signed else ""
    fig = go.Figure()
    if not trace.empty:
        ck = trace[trace["checkpoint"].astype(bool)]
        for l2, grp in ck.groupby("l2"):
            mean = grp.groupby("epoch").mean(numeric_only=True).reset_index()
            for name, dash in (("spurious", "solid"), ("pkn", "dash"), ("pkn_unknown", "dot")):
                col = f"share_{name}_below_median{suffix}"
                if col in mean:
                    fig.add_trace(
                        go.Scatter(x=mean["epoch"], y=mean[col], mode="lines+markers", line={"dash": dash},
                                   name=f"{SET_LABELS[name if name != 'pkn' else 'pkn']}, λ_L2 = {_l2_label(l2)}")
                    )
    fig.add_hline(y=50, line_dash="dot", line_color="gray")
    fig.update_layout(title="Share below the median |W| during training" + (" (signed)" if signed else ""),
                      xaxis_title="epoch", yaxis_title="% of edges below the median")
    return fig


def training_curve_figure(history: pd.DataFrame) -> go.Figure:
    """Training loss, training MSE and test MSE per epoch (log y) from a ``history.csv`` table."""
    fig = go.Figure()
    for col, name in (("loss", "loss"), ("mse", "train MSE"), ("test_mse", "test MSE")):
        if col in history:
            h = history[["epoch", col]].dropna()
            fig.add_trace(go.Scatter(x=h["epoch"], y=h[col], mode="lines" if col != "test_mse" else "lines+markers", name=name))
    fig.update_layout(title="Training curves", xaxis_title="epoch", yaxis_title="value", yaxis_type="log")
    return fig


def prediction_scatter(predictions: pd.DataFrame, data: pd.DataFrame, *, title: str = "TF activity: predicted vs. measured") -> go.Figure:
    """Predicted against measured TF activities; one colour per value of the ``split`` column.

    Parameters
    ----------
    predictions
        ``conditions x TFs`` with a ``split`` column (``train``/``test`` as written by
        ``signaling train``, or any labels).
    data
        ``conditions x TFs`` measured activities.
    """
    fig = go.Figure()
    tfs = [c for c in predictions.columns if c not in ("split", "fold") and c in data.columns]
    splits = [s for s in ("train", "test") if s in set(predictions["split"])]
    splits += [s for s in pd.unique(predictions["split"]) if s not in splits]
    for split in splits:
        mask = (predictions["split"] == split).to_numpy()
        if not mask.any():
            continue
        part = predictions.loc[mask, tfs]
        fig.add_trace(
            go.Scatter(
                x=data.loc[part.index, tfs].to_numpy().ravel(),
                y=part.to_numpy(dtype=float).ravel(),
                mode="markers",
                name=str(split),
                text=[f"{c} / {t}" for c in part.index for t in tfs],
                marker={"size": 5, "opacity": 0.6},
            )
        )
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "gray"}, showlegend=False))
    fig.update_layout(title=title, xaxis_title="measured", yaxis_title="predicted")
    return fig


def cv_scatter(predictions: pd.DataFrame, data: pd.DataFrame, summary: dict) -> go.Figure:
    """Held-out predictions of a cross-validation against the measured values (pooled r in the title).

    Parameters
    ----------
    predictions
        Held-out ``conditions x TFs`` (``predictions.csv`` of ``signaling cv``; a ``fold`` column is ignored).
    data
        ``conditions x TFs`` measured activities.
    summary
        ``summary.json`` contents (``pooled_pearson``, ``folds``, ``folds_total``, ``baseline_pooled_pearson``).
    """
    table = predictions.drop(columns=[c for c in ("fold",) if c in predictions.columns]).copy()
    table.insert(0, "split", "held out")
    r = summary.get("pooled_pearson")
    base = summary.get("baseline_pooled_pearson")
    title = (
        f"Cross-validation, held-out conditions ({summary.get('folds')} of {summary.get('folds_total')} folds): "
        f"pooled r = {r:.3f}" if r is not None else "Cross-validation"
    )
    if base is not None:
        title += f" (training-mean baseline {base:.3f}"
        ridge = summary.get("ridge_pooled_pearson")
        title += f", linear {ridge:.3f})" if ridge is not None else ")"
    return prediction_scatter(table, data, title=title)


def network_edge_table(
    edges: pd.DataFrame,
    *,
    weight_column: str = "weight_final",
    spurious: pd.DataFrame | None = None,
    min_abs_weight: float = 0.0,
) -> pd.DataFrame:
    """Edge table for the pyvis network view.

    Parameters
    ----------
    edges
        ``source, target`` plus ``weight_column`` (or ``weight``) and optionally ``sign`` and
        ``spurious`` columns (e.g. one model's ``edges.csv`` or ``SignalingModel.edge_table()``).
    spurious
        Optional ``source, target`` table of injected edges (sets the flag when ``edges`` lacks it).
    min_abs_weight
        Drop edges with smaller |weight|.

    Returns
    -------
    pandas.DataFrame
        ``source, target, weight, abs_weight, sign, spurious, effect`` (effect = activating /
        inhibiting / zero from the learned weight's sign), sorted by decreasing |weight|.
    """
    col = weight_column if weight_column in edges else "weight"
    out = pd.DataFrame({"source": edges["source"].astype(str), "target": edges["target"].astype(str)})
    out["weight"] = edges[col].to_numpy(dtype=float)
    out["abs_weight"] = out["weight"].abs()
    out["sign"] = edges["sign"].to_numpy(dtype=int) if "sign" in edges else 0
    if "spurious" in edges:
        out["spurious"] = edges["spurious"].astype(bool).to_numpy()
    elif spurious is not None and len(spurious):
        keys = set(zip(spurious["source"].astype(str), spurious["target"].astype(str)))
        out["spurious"] = [(s, t) in keys for s, t in zip(out["source"], out["target"])]
    else:
        out["spurious"] = False
    out["effect"] = np.where(out["weight"] > 0, "activating", np.where(out["weight"] < 0, "inhibiting", "zero"))
    out = out[out["abs_weight"] >= min_abs_weight]
    return out.sort_values("abs_weight", ascending=False).reset_index(drop=True)
