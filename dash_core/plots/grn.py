"""Figure builders for gene-regulatory-network results (plotly figures, pyvis HTML).

Pure functions: data in, figure out; no Streamlit. Conventions:

* gene-level matrices are ``(n, n)`` with row = regulator, column = target,
  drawn with regulators on the y axis (top to bottom) and targets on the x axis;
* networks are long ``source, target, weight`` tables (source = regulator);
* expression of a trajectory is ``(T, n)``: row = time point, column = gene.
"""

from __future__ import annotations

import html as html_lib
import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dash_core.network import classify_edges, top_edges
from dash_core.studies.selection import pareto_front

__all__ = [
    "ACTIVATION_COLOR",
    "FP_COLOR",
    "REPRESSION_COLOR",
    "TP_COLOR",
    "compare_curves_figure",
    "fitted_trajectories_figure",
    "lambda_heatmap_figure",
    "lambda_mixing_figure",
    "network_heatmaps_figure",
    "network_html",
    "plane_metric",
    "sparsity_accuracy_figure",
    "strip_remote_resources",
    "training_curves_figure",
    "trajectories_figure",
]

ACTIVATION_COLOR = "#2166ac"
REPRESSION_COLOR = "#b2182b"
TP_COLOR = "#1a9850"
FP_COLOR = "#f46d43"
REGULATOR_COLOR = "#fdb863"
TARGET_COLOR = "#b2abd2"
#: Diverging scale for signed matrices: repression red, activation blue, white at 0.
SIGNED_SCALE = [[0.0, REPRESSION_COLOR], [0.5, "#f7f7f7"], [1.0, ACTIVATION_COLOR]]
_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf"]

#: Y metrics of the sparsity-accuracy plane, in order of preference: (column, label, higher is better).
PLANE_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("balanced_accuracy", "Balanced accuracy", True),
    ("auprc", "AUPRC", True),
    ("val_mse", "Validation MSE", False),
    ("test_mse", "Test MSE", False),
)


def _layout(fig: go.Figure, *, height: int, title: str | None = None, legend_below: bool = False) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 70, "r": 30, "t": 60 if title else 40, "b": 60},
        template="plotly_white",
        font={"size": 13},
        title={"text": title, "x": 0.01, "xanchor": "left"} if title else None,
    )
    if legend_below:
        fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0.0},
                          margin={"l": 70, "r": 30, "t": 60 if title else 40, "b": 100})
    return fig


def _epoch_ticks(fig: go.Figure, epochs) -> None:
    """Whole-number epoch ticks (no 1.5 epochs on short runs)."""
    values = pd.to_numeric(pd.Series(epochs), errors="coerce").dropna()
    if len(values) and values.max() - values.min() <= 12:
        fig.update_xaxes(dtick=1, tick0=int(values.min()))
    else:
        fig.update_xaxes(tickformat="d")


# ----------------------------------------------------------------------------- trajectories
def trajectories_figure(expression, trajectories: Sequence[int], genes: Sequence[str], *,
                        height: int = 360) -> go.Figure:
    """Observed expression of a few genes in a few trajectories (one panel per trajectory).

    Parameters
    ----------
    expression
        :class:`dash_core.data.ExpressionData`; each trajectory's values are ``(T, n)``.
    trajectories
        Indices of the trajectories to draw (at most 4 panels are drawn).
    genes
        Gene names to draw (columns of the expression).

    Returns
    -------
    plotly.graph_objects.Figure
        Lines with markers, x = time, y = expression; one colour per gene.
    """
    idx = [int(i) for i in trajectories][:4] or [0]
    pos = {g: i for i, g in enumerate(expression.genes)}
    genes = [g for g in genes if g in pos]
    titles = [expression.trajectories[i].name for i in idx]
    fig = make_subplots(rows=1, cols=len(idx), shared_yaxes=True, subplot_titles=titles, horizontal_spacing=0.04)
    for c, ti in enumerate(idx, start=1):
        tr = expression.trajectories[ti]
        for k, g in enumerate(genes):
            fig.add_trace(go.Scatter(x=tr.times, y=tr.values[:, pos[g]], mode="lines+markers", name=g,
                                     legendgroup=g, showlegend=c == 1,
                                     line={"color": _PALETTE[k % len(_PALETTE)]},
                                     hovertemplate=f"{g}<br>t=%{{x}}<br>x=%{{y:.3f}}<extra>{tr.name}</extra>"),
                          row=1, col=c)
        fig.update_xaxes(title_text="time", row=1, col=c)
    fig.update_yaxes(title_text="expression", row=1, col=1)
    return _layout(fig, height=height)


def fitted_trajectories_figure(times: np.ndarray, observed: np.ndarray, fit_times: np.ndarray, fitted: np.ndarray,
                               genes: Sequence[str], *, title: str | None = None, height: int = 380) -> go.Figure:
    """Observed points and the model's integrated trajectory for a few genes.

    Parameters
    ----------
    times
        ``(T,)`` observation times.
    observed
        ``(T, k)`` observed values of the ``k`` genes (row = time point).
    fit_times
        ``(S,)`` times of the fitted curve.
    fitted
        ``(S, k)`` model trajectory started from the first observation.
    genes
        The ``k`` gene names (column order of ``observed`` / ``fitted``).
    """
    fig = go.Figure()
    for k, g in enumerate(genes):
        color = _PALETTE[k % len(_PALETTE)]
        fig.add_trace(go.Scatter(x=fit_times, y=fitted[:, k], mode="lines", name=f"{g} (model)", legendgroup=g,
                                 line={"color": color},
                                 hovertemplate=f"{g} model<br>t=%{{x:.2f}}<br>x=%{{y:.3f}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=times, y=observed[:, k], mode="markers", name=f"{g} (observed)", legendgroup=g,
                                 marker={"color": color, "size": 9, "symbol": "circle-open", "line": {"width": 2}},
                                 hovertemplate=f"{g} observed<br>t=%{{x}}<br>x=%{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(title_text="time")
    fig.update_yaxes(title_text="expression")
    return _layout(fig, height=height, title=title)


# ----------------------------------------------------------------------------- training curves
def training_curves_figure(history: pd.DataFrame, *, height: int = 330) -> go.Figure:
    """Loss curves (log scale) and sparsity over epochs, side by side.

    Parameters
    ----------
    history
        One row per epoch with ``epoch`` and any of ``train_loss`` / ``train_mse``,
        ``val_mse``, ``best_val_mse``, ``sparsity`` (fraction) - the trainer's
        history or the live progress log.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Sparsity"), horizontal_spacing=0.12)
    h = history.copy()
    if "epoch" not in h.columns:
        h["epoch"] = np.arange(1, len(h) + 1)
    h = h[h["epoch"].notna()]
    for col, name, dash in (("train_loss", "training loss", None), ("train_mse", "training MSE", None),
                            ("val_mse", "validation MSE", None), ("best_val_mse", "best validation MSE", "dot")):
        if col in h.columns and h[col].notna().any():
            if col == "train_mse" and "train_loss" in h.columns:
                continue
            fig.add_trace(go.Scatter(x=h["epoch"], y=h[col], mode="lines", name=name, line={"dash": dash}),
                          row=1, col=1)
    if "sparsity" in h.columns and h["sparsity"].notna().any():
        fig.add_trace(go.Scatter(x=h["epoch"], y=h["sparsity"], mode="lines", name="sparsity",
                                 line={"color": "#555555"}, showlegend=False), row=1, col=2)
    fig.update_yaxes(type="log", title_text="MSE / loss", row=1, col=1)
    fig.update_yaxes(title_text="pruned share of weights", tickformat=".0%", range=[0, 1], row=1, col=2)
    fig.update_xaxes(title_text="epoch", row=1, col=1)
    fig.update_xaxes(title_text="epoch", row=1, col=2)
    _epoch_ticks(fig, h["epoch"])
    return _layout(fig, height=height, legend_below=True)


def compare_curves_figure(histories: Mapping[str, pd.DataFrame], column: str = "val_mse", *,
                          log_y: bool = True, height: int = 340) -> go.Figure:
    """One line per run of ``column`` over epochs (e.g. validation MSE or sparsity).

    Parameters
    ----------
    histories
        Run label -> history table with ``epoch`` and ``column``.
    column
        The quantity to draw.
    log_y
        Logarithmic y axis (losses).
    """
    fig = go.Figure()
    epochs = []
    for k, (label, h) in enumerate(histories.items()):
        if column not in h.columns or "epoch" not in h.columns:
            continue
        epochs.extend(h["epoch"].tolist())
        fig.add_trace(go.Scatter(x=h["epoch"], y=h[column], mode="lines", name=label,
                                 line={"color": _PALETTE[k % len(_PALETTE)]}))
    fig.update_xaxes(title_text="epoch")
    _epoch_ticks(fig, epochs)
    title = column.replace("_", " ")
    if column == "sparsity":
        fig.update_yaxes(title_text="sparsity", tickformat=".0%", range=[0, 1])
    else:
        fig.update_yaxes(title_text=title, type="log" if log_y else "linear")
    return _layout(fig, height=height, legend_below=True)


# ----------------------------------------------------------------------------- heatmaps
def _scaled(matrix: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """``sign(m) * (|m| / max|m|) ** gamma``: gamma < 1 lifts weak edges so that they stay visible."""
    m = np.asarray(matrix, dtype=np.float64)
    top = float(np.max(np.abs(m))) if m.size else 0.0
    if top <= 0:
        return m
    return np.sign(m) * (np.abs(m) / top) ** gamma


def network_heatmaps_figure(matrices: Mapping[str, np.ndarray], genes: Sequence[str], order: Sequence[int] | None = None,
                            *, height: int = 480, max_labels: int = 60, regulators_only: bool = False,
                            gamma: float = 1.0) -> go.Figure:
    """Side-by-side heatmaps of regulator x target matrices in one gene order (the paper's Figure 3).

    Parameters
    ----------
    matrices
        Panel title -> ``(n, n)`` matrix (row = regulator, column = target), e.g.
        ``{"Ground truth": A, "Prior": P, "Inferred E": E}``.
    genes
        The ``n`` gene names.
    order
        Display order (indices into ``genes``), e.g. :func:`dash_core.network.gene_order`;
        the same for rows and columns of every panel.
    max_labels
        Gene names are shown as tick labels up to this many genes.
    regulators_only
        Keep only the rows of genes that regulate something in at least one panel
        (columns keep every gene): a network of a few regulators is not a thin
        band in a square of empty rows.
    gamma
        Colour = ``sign * (|value| / max) ** gamma``; 0.5 makes edges 100x weaker
        than the strongest still visible (one tenth of the colour), 1 is linear.

    Returns
    -------
    plotly.graph_objects.Figure
        One panel per matrix with linked zoom; each panel is scaled by its largest
        ``|value|`` (colour -1..1: red repression, blue activation) and the hover
        shows the raw value.
    """
    genes = [str(g) for g in genes]
    order = list(range(len(genes))) if order is None else [int(i) for i in order]
    names = [genes[i] for i in order]
    rows = order
    if regulators_only:
        active = np.zeros(len(genes), dtype=bool)
        for mat in matrices.values():
            active |= np.any(np.asarray(mat) != 0, axis=1)
        rows = [i for i in order if active[i]] or order
    row_names = [genes[i] for i in rows]
    titles = list(matrices)
    fig = make_subplots(rows=1, cols=max(1, len(titles)), shared_yaxes=True, subplot_titles=titles,
                        horizontal_spacing=0.02)
    for c, title in enumerate(titles, start=1):
        m = np.asarray(matrices[title], dtype=np.float64)[np.ix_(rows, order)]
        fig.add_trace(go.Heatmap(
            z=_scaled(m, gamma), x=names, y=row_names, customdata=m, zmin=-1, zmax=1, colorscale=SIGNED_SCALE,
            showscale=c == len(titles), colorbar={"title": {"text": "effect<br>(share of<br>strongest)"
                                                             if gamma == 1 else "effect<br>(√ scale)"}, "len": 0.8},
            hovertemplate="regulator %{y} → target %{x}<br>value %{customdata:.4g}<extra>" + title + "</extra>",
            xgap=0, ygap=0), row=1, col=c)
        fig.update_xaxes(title_text="target", row=1, col=c)
    show = len(genes) <= max_labels
    fig.update_xaxes(matches="x", showticklabels=show, tickfont={"size": 8}, tickangle=-90, showgrid=False,
                     constrain="domain")
    fig.update_yaxes(matches="y", autorange="reversed", showticklabels=False, showgrid=False,
                     constrain="domain" if not regulators_only else None)
    fig.update_yaxes(title_text="regulator", showticklabels=len(rows) <= max_labels, tickfont={"size": 9},
                     row=1, col=1)
    fig.update_layout(height=height, margin={"l": 70, "r": 20, "t": 40, "b": 80}, template="plotly_white")
    return fig


# ----------------------------------------------------------------------------- sparsity-accuracy plane
def plane_metric(points: pd.DataFrame, preferred: str | None = None) -> tuple[str, str, bool]:
    """The y metric of the sparsity-accuracy plane: ``(column, label, higher_is_better)``.

    ``preferred`` if it has values, else balanced accuracy, AUPRC (when a gold
    standard exists), validation MSE, test MSE - the first with any value.
    """
    table = {c: (c, label, hib) for c, label, hib in PLANE_METRICS}
    cands = ([table.get(preferred, (preferred, preferred, True))] if preferred else []) + list(PLANE_METRICS)
    for col, label, hib in cands:
        if col in points.columns and pd.to_numeric(points[col], errors="coerce").notna().any():
            return col, label, hib
    return "balanced_accuracy", "Balanced accuracy", True


def sparsity_accuracy_figure(points: pd.DataFrame, *, metric: str | None = None, color: str = "strategy",
                             hover: Sequence[str] = ("lambda_ppi", "lambda_motif", "seed", "label"),
                             height: int = 480, chance: float | None = None) -> go.Figure:
    """The sparsity-accuracy plane (the DASH paper's Figure 2).

    Parameters
    ----------
    points
        One row per run: ``sparsity`` (fraction), the y metric, the ``color``
        column, optional ``run_id`` (kept as customdata for click-to-open) and the
        ``hover`` columns (λ values, seed, label).
    metric
        Y column; default :func:`plane_metric` (balanced accuracy, AUPRC, validation MSE).
    color
        Column whose values get one colour each (missing -> one group).
    chance
        Horizontal guide; default 0.5 for balanced accuracy, else the median.

    Returns
    -------
    plotly.graph_objects.Figure
        x = sparsity, y = metric ("better" is always up: MSE axes are reversed),
        dashed quadrant guides and the "sparse and accurate" corner marked.
        Each point's ``customdata[0]`` is its ``run_id`` ("" if unknown).
    """
    col, label, hib = plane_metric(points, metric)
    df = points.copy()
    df["sparsity"] = pd.to_numeric(df.get("sparsity"), errors="coerce")
    df[col] = pd.to_numeric(df.get(col), errors="coerce")
    df = df[df["sparsity"].notna() & df[col].notna()]
    if color not in df.columns:
        df[color] = "runs"
    df[color] = df[color].fillna("runs").astype(str)
    hover = [h for h in hover if h in df.columns and h != color]
    fig = go.Figure()
    for k, (group, sub) in enumerate(df.groupby(color, sort=True)):
        run_ids = sub["run_id"].fillna("").astype(str) if "run_id" in sub.columns else pd.Series([""] * len(sub))
        custom = np.column_stack([run_ids.to_numpy(), *[sub[h].astype(object).to_numpy() for h in hover]]) \
            if len(sub) else None
        extra = "".join(f"<br>{h.replace('lambda_', 'λ_')}: %{{customdata[{i + 1}]}}" for i, h in enumerate(hover))
        fig.add_trace(go.Scatter(
            x=sub["sparsity"], y=sub[col], mode="markers", name=group, customdata=custom,
            marker={"size": 11, "color": _PALETTE[k % len(_PALETTE)], "line": {"width": 1, "color": "white"},
                    "opacity": 0.9},
            hovertemplate=f"<b>{group}</b><br>sparsity %{{x:.1%}}<br>{label} %{{y:.4g}}{extra}<extra></extra>"))
    if chance is None:
        chance = 0.5 if col == "balanced_accuracy" else (float(df[col].median()) if len(df) else None)
    fig.add_vline(x=0.5, line={"dash": "dash", "color": "#999999", "width": 1})
    if chance is not None and math.isfinite(chance):
        fig.add_hline(y=chance, line={"dash": "dash", "color": "#999999", "width": 1},
                      annotation_text="chance" if col == "balanced_accuracy" else "median",
                      annotation_position="bottom left", annotation_font_color="#777777")
    fig.add_annotation(x=1.0, y=1.0, xref="paper", yref="paper", xanchor="right", yanchor="top",
                       text="sparse and accurate", showarrow=False, font={"color": TP_COLOR, "size": 12},
                       bgcolor="rgba(26,152,80,0.08)")
    fig.update_xaxes(title_text="sparsity (share of weights pruned) →", tickformat=".0%", range=[-0.03, 1.03])
    ytitle = f"{label} ↑" if hib else f"{label} (lower is better, axis reversed) ↑"
    if col == "balanced_accuracy":
        lo = min(0.45, float(df[col].min()) - 0.02) if len(df) else 0.45
        fig.update_yaxes(title_text=ytitle, range=[lo, 1.0], autorange=False)
    else:
        fig.update_yaxes(title_text=ytitle, autorange="reversed" if not hib else True)
    fig.update_layout(clickmode="event+select", dragmode="zoom")
    return _layout(fig, height=height, legend_below=True)


def path_curves_figure(points: pd.DataFrame, *, metric: str = "val_mse", recommended: Mapping | None = None,
                       height: int = 500) -> go.Figure:
    """Sparsity-accuracy curves along the pruning path: one line per strategy and λ point, the Pareto front on top.

    Parameters
    ----------
    points
        Seed-averaged ``(strategy, lambda_ppi, lambda_motif, level)`` rows
        (:func:`dash_core.studies.selection.aggregate_points`): ``sparsity``, the ``metric``
        column, ``n_seeds`` and optionally ``run_id`` (customdata[0], for click-to-open).
    metric
        Y column: ``val_mse`` (default; no gold standard needed), ``test_mse``,
        ``balanced_accuracy``, ``auroc`` or ``auprc``.
    recommended
        The recommended point (``lambda_ppi``, ``lambda_motif``, ``sparsity`` and the
        metric's value, or ``level``), drawn as a star.

    Returns
    -------
    plotly.graph_objects.Figure
        x = sparsity, y = metric ("better" is up: error axes reversed); the Pareto
        front over all (λ, level) points (no point is both sparser and better) as a
        dashed step line.
    """
    labels = {c: (lab, hib) for c, lab, hib in PLANE_METRICS}
    labels.update(auroc=("AUROC", True))
    label, hib = labels.get(metric, (metric, True))
    df = points.copy()
    df["sparsity"] = pd.to_numeric(df.get("sparsity"), errors="coerce")
    df[metric] = pd.to_numeric(df.get(metric), errors="coerce")
    df = df[df["sparsity"].notna() & df[metric].notna()]
    fig = go.Figure()
    if "strategy" not in df.columns:
        df["strategy"] = "runs"
    for c in ("lambda_ppi", "lambda_motif"):
        if c not in df.columns:
            df[c] = np.nan
    groups = list(df.groupby(["strategy", "lambda_ppi", "lambda_motif"], dropna=False, sort=True))
    for k, ((strat, lp, lm), sub) in enumerate(groups):
        sub = sub.sort_values("sparsity")
        name = f"{strat} λ=({lp:g}, {lm:g})" if pd.notna(lp) and strat == "dash" else str(strat)
        runs = sub["run_id"].fillna("").astype(str) if "run_id" in sub.columns else pd.Series([""] * len(sub))
        seeds = sub["n_seeds"] if "n_seeds" in sub.columns else pd.Series([1] * len(sub))
        level = sub["level"] if "level" in sub.columns else pd.Series([0] * len(sub))
        fig.add_trace(go.Scatter(
            x=sub["sparsity"], y=sub[metric], mode="lines+markers", name=name,
            customdata=np.column_stack([runs.to_numpy(), level.to_numpy(), seeds.to_numpy()]),
            line={"width": 1.5, "color": _PALETTE[k % len(_PALETTE)]}, marker={"size": 6},
            hovertemplate=(f"<b>{name}</b><br>pruning level %{{customdata[1]}}<br>sparsity %{{x:.1%}}<br>"
                           f"{label} %{{y:.4g}}<br>seeds averaged: %{{customdata[2]}}<extra></extra>")))
    if len(df):
        front = df[pareto_front(df, y=metric, y_lower_is_better=not hib)].sort_values("sparsity")
        fig.add_trace(go.Scatter(x=front["sparsity"], y=front[metric], mode="lines", name="Pareto front",
                                 line={"dash": "dash", "color": "#222222", "width": 2, "shape": "hv"},
                                 hoverinfo="skip"))
    if recommended is not None:
        rx = recommended.get("sparsity")
        ry = recommended.get(metric)
        if ry is None and len(df):
            hit = df[(df["lambda_ppi"] == recommended.get("lambda_ppi"))
                     & (df["lambda_motif"] == recommended.get("lambda_motif"))
                     & (df.get("level", -1) == recommended.get("level"))]
            ry = float(hit[metric].iloc[0]) if len(hit) else None
        if rx is not None and ry is not None:
            fig.add_trace(go.Scatter(
                x=[rx], y=[ry], mode="markers", name="recommended",
                marker={"symbol": "star", "size": 20, "color": "#ffd700", "line": {"width": 1.5, "color": "#222"}},
                hovertemplate="<b>recommended</b><br>sparsity %{x:.1%}<br>" + label + " %{y:.4g}<extra></extra>"))
    fig.update_xaxes(title_text="sparsity (share of weights pruned) →", tickformat=".0%")
    ytitle = f"{label} ↑" if hib else f"{label} (lower is better, axis reversed) ↑"
    fig.update_yaxes(title_text=ytitle, autorange=True if hib else "reversed")
    fig.update_layout(clickmode="event+select")
    return _layout(fig, height=height, legend_below=True)


def lambda_heatmap_figure(points: pd.DataFrame, *, metric: str | None = None, height: int = 420) -> go.Figure:
    """Mean metric over the λ_PPI x λ_motif grid (averaged over seeds).

    Parameters
    ----------
    points
        Rows with ``lambda_ppi``, ``lambda_motif`` and the metric column.
    metric
        Column to show; default :func:`plane_metric`.

    Returns
    -------
    plotly.graph_objects.Figure
        Rows = λ_PPI (input layers), columns = λ_motif (output layers), cells
        annotated with the value; a brighter cell is better (MSE scale reversed).
    """
    col, label, hib = plane_metric(points, metric)
    df = points.copy()
    for c in ("lambda_ppi", "lambda_motif", col):
        df[c] = pd.to_numeric(df.get(c), errors="coerce")
    df = df.dropna(subset=["lambda_ppi", "lambda_motif", col])
    table = df.pivot_table(index="lambda_ppi", columns="lambda_motif", values=col, aggfunc="mean").sort_index()
    table = table.reindex(sorted(table.columns), axis=1)
    xs = [f"{v:g}" for v in table.columns]
    ys = [f"{v:g}" for v in table.index]
    z = table.to_numpy(dtype=np.float64)
    text = [[("" if not np.isfinite(v) else f"{v:.3g}") for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        z=z, x=xs, y=ys, text=text, texttemplate="%{text}", colorscale="Viridis", reversescale=not hib,
        colorbar={"title": {"text": label}},
        hovertemplate="λ_PPI %{y}<br>λ_motif %{x}<br>" + label + " %{z:.4g}<extra></extra>"))
    fig.update_xaxes(title_text="λ_motif (output layers)", type="category")
    fig.update_yaxes(title_text="λ_PPI (input layers)", type="category")
    return _layout(fig, height=height)


def lambda_mixing_figure(magnitude: np.ndarray, prior_score: np.ndarray, lam: float, amount: float, *,
                         height: int = 300) -> go.Figure:
    """Teaching figure: how λ mixes a data score and a prior score before pruning (methods B.4).

    Shows ``Ω = λ·N(prior) + (1 − λ)·N(magnitude)`` (``N`` normalises to sum 1) for a
    small weight matrix and marks the ``round(amount · size)`` entries with the
    smallest ``Ω`` - the ones a pruning event would remove.

    Parameters
    ----------
    magnitude, prior_score
        Non-negative matrices of the same shape (rows = hidden units, columns = genes).
    lam
        Weight of the prior term in [0, 1].
    amount
        Fraction of entries pruned.
    """
    m = np.abs(np.asarray(magnitude, dtype=np.float64))
    p = np.abs(np.asarray(prior_score, dtype=np.float64))
    mn = m / m.sum() if m.sum() > 0 else m
    pn = p / p.sum() if p.sum() > 0 else p
    omega = lam * pn + (1 - lam) * mn
    k = int(round(amount * omega.size))
    pruned = np.zeros(omega.size, dtype=bool)
    pruned[np.argsort(omega.ravel(), kind="stable")[:k]] = True
    pruned = pruned.reshape(omega.shape)
    titles = ("data score |W|", "prior score", f"combined Ω (λ = {lam:.2f}); ✕ = pruned")
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.06)
    for c, z in enumerate((mn, pn, omega), start=1):
        fig.add_trace(go.Heatmap(z=z, colorscale="Blues", showscale=False,
                                 hovertemplate="unit %{y}, gene %{x}<br>score %{z:.3f}<extra></extra>"), row=1, col=c)
    ys, xs = np.nonzero(pruned)
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="text", text=["✕"] * len(xs), textfont={"color": REPRESSION_COLOR,
                                                                                   "size": 16},
                             hoverinfo="skip", showlegend=False), row=1, col=3)
    fig.update_yaxes(autorange="reversed", title_text="hidden unit", row=1, col=1)
    for c in (1, 2, 3):
        fig.update_xaxes(title_text="gene", row=1, col=c)
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, height=height)


# ----------------------------------------------------------------------------- network view
_REMOTE_TAG = re.compile(
    r"<link\b[^>]*\bhref\s*=\s*[\"'][^\"']*[\"'][^>]*>"
    r"|<script\b[^>]*\bsrc\s*=\s*[\"'][^\"']*[\"'][^>]*>\s*</script>",
    flags=re.IGNORECASE | re.DOTALL,
)


def strip_remote_resources(page: str) -> str:
    """Remove ``<link href=...>`` and ``<script src=...></script>`` tags (remote or relative files).

    pyvis with ``cdn_resources="in_line"`` inlines vis-network but still links
    Bootstrap from a CDN and a local ``node_modules`` path; without them the page
    works offline.
    """
    return _REMOTE_TAG.sub("", page)


def network_html(edges: pd.DataFrame, *, truth: pd.DataFrame | None = None, top_k: int = 60,
                 color_by: str = "sign", height_px: int = 560, physics: bool = True) -> str:
    """Interactive network of the strongest edges as a self-contained HTML page (pyvis, offline).

    Parameters
    ----------
    edges
        ``source, target, weight`` (source = regulator), e.g. a run's ``edges.csv``.
    truth
        Optional gold standard; edges are then classified with
        :func:`dash_core.network.classify_edges` (tooltips, FP edges dashed).
    top_k
        Number of edges with the largest ``|weight|`` to draw.
    color_by
        ``"sign"``: blue activation / red repression; ``"status"``: green true
        positive / orange false positive (needs ``truth``).
    height_px
        Canvas height.
    physics
        Keep the force layout running after the first layout (nodes keep moving
        when dragged); False freezes the nodes once laid out.

    Returns
    -------
    str
        HTML without any external ``<link>``/``<script>`` reference.
    """
    from pyvis.network import Network  # lazy: only the interactive network view needs pyvis (+ jinja2)


    top = top_edges(edges[["source", "target", "weight"]], int(top_k))
    if truth is not None and len(top):
        top = classify_edges(top, truth)
    if color_by == "status" and "status" not in top.columns:
        color_by = "sign"
    net = Network(height=f"{int(height_px)}px", width="100%", directed=True, cdn_resources="in_line",
                  bgcolor="#ffffff", font_color="#222222")
    regulators = set(top["source"].astype(str))
    nodes = list(dict.fromkeys([*top["source"].astype(str), *top["target"].astype(str)]))
    out_deg = top["source"].astype(str).value_counts().to_dict()
    for g in nodes:
        is_reg = g in regulators
        net.add_node(g, label=g, title=f"{g}: {'regulator' if is_reg else 'target'}, {out_deg.get(g, 0)} drawn targets",
                     color=REGULATOR_COLOR if is_reg else TARGET_COLOR, shape="dot",
                     size=12 + 3 * min(out_deg.get(g, 0), 8))
    wmax = float(np.max(np.abs(top["weight"]))) if len(top) else 1.0
    for row in top.itertuples(index=False):
        w = float(row.weight)
        status = getattr(row, "status", None)
        if color_by == "status":
            color = TP_COLOR if status == "TP" else FP_COLOR
        else:
            color = ACTIVATION_COLOR if w > 0 else REPRESSION_COLOR
        kind = "activation" if w > 0 else "repression"
        tip = f"{row.source} → {row.target}: {kind}, effect {w:.4g}" + (f" ({status})" if status else "")
        net.add_edge(str(row.source), str(row.target), value=abs(w) / wmax if wmax > 0 else 1.0, color=color,
                     title=tip, dashes=bool(status == "FP"), arrows="to")
    net.set_options(
        '{"physics": {"enabled": true, "solver": "forceAtlas2Based",'
        ' "forceAtlas2Based": {"gravitationalConstant": -60, "springLength": 90, "avoidOverlap": 0.4},'
        ' "stabilization": {"enabled": true, "iterations": 400, "fit": true}},'
        ' "edges": {"smooth": {"type": "continuous"}, "scaling": {"min": 1, "max": 6}},'
        ' "interaction": {"hover": true, "navigationButtons": false, "zoomView": true}}')
    page = net.generate_html(notebook=False)
    page = strip_remote_resources(page)
    # lay out once, then fit the drawing into view (and freeze it unless live physics is wanted)
    freeze = "" if physics else "network.setOptions({physics: {enabled: false}});"
    # re-fit when the frame changes size, e.g. when it was drawn in a hidden tab and becomes visible
    settle = ('<script type="text/javascript">(function () { var done = false;'
              ' function settle() { if (done) { return; } done = true; ' + freeze + ' network.fit(); }'
              ' network.once("stabilizationIterationsDone", settle); setTimeout(settle, 2500);'
              ' var box = document.getElementById("mynetwork"); var last = "";'
              ' if (window.ResizeObserver && box) { new ResizeObserver(function () {'
              '   var size = box.clientWidth + "x" + box.clientHeight;'
              '   if (size !== last && box.clientWidth > 0) { last = size; network.redraw(); network.fit(); }'
              ' }).observe(box); } })();</script>')
    page = page.replace("</body>", settle + "</body>", 1) if "</body>" in page else page + settle
    legend = _network_legend(color_by, truth is not None)
    return page.replace("<body>", "<body>" + legend, 1) if "<body>" in page else legend + page


def _network_legend(color_by: str, has_truth: bool) -> str:
    items = ([(TP_COLOR, "true positive"), (FP_COLOR, "false positive")] if color_by == "status"
             else [(ACTIVATION_COLOR, "activation"), (REPRESSION_COLOR, "repression")])
    parts = [f'<span style="display:inline-block;width:22px;height:3px;background:{c};vertical-align:middle;'
             f'margin:0 4px 0 10px"></span>{html_lib.escape(t)}' for c, t in items]
    parts += [f'<span style="display:inline-block;width:11px;height:11px;border-radius:50%;background:{REGULATOR_COLOR};'
              f'vertical-align:middle;margin:0 4px 0 14px"></span>regulator',
              f'<span style="display:inline-block;width:11px;height:11px;border-radius:50%;background:{TARGET_COLOR};'
              f'vertical-align:middle;margin:0 4px 0 10px"></span>target']
    if has_truth and color_by == "sign":
        parts.append('<span style="margin-left:14px">dashed = not in the gold standard</span>')
    return ('<div id="dash-legend" style="font-family:sans-serif;font-size:13px;padding:4px 0 6px 0;color:#333">'
            + "".join(parts) + "</div>")
