"""Figures of the pathway analysis (methods A.6, G): pure plotly builders, testable without Streamlit.

* :func:`pathway_bar_figure` — top pathways of one run as horizontal bars of z,
  ``*`` marking Bonferroni-significant ones (the style of the DASH paper's figures 5/6).
* :func:`pathway_comparison_figure` — the same for several runs side by side.
* :func:`gene_influence_figure` — drill-down: the influence scores of one pathway's genes.
* :func:`influence_rank_figure` — all genes by influence, a pathway's members highlighted.
* :func:`gsea_figure` — normalised enrichment scores of preranked GSEA.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

SIGNIFICANT_COLOR = "#c0392b"
NOT_SIGNIFICANT_COLOR = "#95a5a6"
MEMBER_COLOR = "#2c7fb8"
OTHER_COLOR = "#d0d5db"


def _short(name: str, width: int = 38) -> str:
    name = str(name)
    return name if len(name) <= width else name[: width - 1] + "…"


def _top(table: pd.DataFrame, top: int, value: str) -> pd.DataFrame:
    if table is None or len(table) == 0 or value not in table.columns:
        return pd.DataFrame(columns=["pathway", value, "significant"])
    t = table.sort_values(value, ascending=False, kind="mergesort").head(top).copy()
    if "significant" not in t.columns:
        t["significant"] = False
    t["significant"] = t["significant"].astype(str).str.lower().isin(["true", "1"])
    return t.iloc[::-1]  # plotly draws the first category at the bottom


def _bars(t: pd.DataFrame, value: str) -> go.Bar:
    sig = t["significant"].to_numpy(dtype=bool)
    text = ["*" if s else "" for s in sig]
    hover = []
    for _, r in t.iterrows():
        parts = [f"<b>{r['pathway']}</b>", f"{value} = {float(r[value]):.3g}"]
        for col, label in (("n_in_data", "genes in model"), ("p_norm", "p (normal)"),
                           ("p_bonferroni", "Bonferroni p"), ("q_bh", "BH q"), ("p_perm", "p (permutation)")):
            if col in t.columns and pd.notna(r.get(col)):
                v = r[col]
                parts.append(f"{label}: {int(v)}" if col == "n_in_data" else f"{label}: {float(v):.3g}")
        hover.append("<br>".join(parts))
    return go.Bar(x=t[value].astype(float), y=[_short(p) for p in t["pathway"]], orientation="h",
                  marker_color=[SIGNIFICANT_COLOR if s else NOT_SIGNIFICANT_COLOR for s in sig],
                  text=text, textposition="outside", cliponaxis=False, hovertext=hover, hoverinfo="text",
                  showlegend=False)


def pathway_bar_figure(table: pd.DataFrame, *, top: int = 20, value: str = "z", title: str | None = None,
                       height: int | None = None) -> go.Figure:
    """Top pathways of one run as horizontal bars.

    Parameters
    ----------
    table
        A :func:`dash_core.pathways.permutation_test` (or ``module_test``) table.
    top
        Number of pathways shown (largest ``value`` first, at the top).
    value
        Column drawn as bar length (default ``"z"``).
    title
        Figure title.
    height
        Pixels; default grows with the number of bars.

    Returns
    -------
    plotly.graph_objects.Figure
        Bars in red with ``*`` where ``significant`` (Bonferroni), grey otherwise.
    """
    t = _top(table, top, value)
    fig = go.Figure(_bars(t, value)) if len(t) else go.Figure()
    fig.update_layout(height=height or max(260, 28 * len(t) + 110), margin=dict(l=10, r=30, t=50 if title else 20,
                                                                               b=40),
                      title=title, xaxis_title=f"{value}-score" if value == "z" else value, template="plotly_white",
                      bargap=0.25)
    if not len(t):
        fig.add_annotation(text="no pathway tested", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig


def pathway_comparison_figure(tables: Mapping[str, pd.DataFrame], *, top: int = 20, value: str = "z",
                              height: int | None = None) -> go.Figure:
    """Top pathways of several runs side by side (one panel per run, each with its own top list).

    Parameters
    ----------
    tables
        Run label -> pathway table (as for :func:`pathway_bar_figure`).
    top, value, height
        As in :func:`pathway_bar_figure`.
    """
    labels = list(tables)
    k = max(1, len(labels))
    fig = make_subplots(rows=1, cols=k, subplot_titles=[_short(lbl, 40) for lbl in labels] or [""],
                        horizontal_spacing=min(0.25, 0.6 / k) if k > 1 else 0.05)
    n_max = 0
    for i, lbl in enumerate(labels, start=1):
        t = _top(tables[lbl], top, value)
        n_max = max(n_max, len(t))
        if len(t):
            fig.add_trace(_bars(t, value), row=1, col=i)
        fig.update_xaxes(title_text=f"{value}-score" if value == "z" else value, row=1, col=i)
    fig.update_layout(height=height or max(280, 28 * n_max + 120), margin=dict(l=10, r=30, t=60, b=40),
                      template="plotly_white", bargap=0.25)
    return fig


def gene_influence_figure(influence: pd.Series, genes: Sequence[str], *, title: str | None = None,
                          height: int | None = None) -> go.Figure:
    """Influence scores of a pathway's genes (drill-down), largest first.

    Parameters
    ----------
    influence
        Influence score per gene (all modelled genes; used for the rank in the hover).
    genes
        The pathway's genes (those not in ``influence`` are skipped).
    """
    s = influence.astype(float)
    rank = s.rank(ascending=False, method="min").astype(int)
    members = [g for g in dict.fromkeys(genes) if g in s.index]
    t = s.loc[members].sort_values(ascending=True, kind="mergesort")
    hover = [f"<b>{g}</b><br>influence {v:.3g}<br>rank {rank[g]} of {len(s)}" for g, v in t.items()]
    fig = go.Figure(go.Bar(x=t.to_numpy(), y=list(t.index), orientation="h", marker_color=MEMBER_COLOR,
                           hovertext=hover, hoverinfo="text", showlegend=False))
    median = float(np.median(s.to_numpy())) if len(s) else 0.0
    fig.add_vline(x=median, line_dash="dot", line_color="#555")
    fig.add_annotation(x=median, y=1.0, xref="x", yref="paper", yanchor="bottom", showarrow=False,
                       text="median of all genes", font=dict(size=10, color="#555"))
    fig.update_layout(height=height or max(240, 24 * len(t) + 100), margin=dict(l=10, r=20, t=50 if title else 30,
                                                                              b=40),
                      title=title, xaxis_title="influence score", template="plotly_white")
    return fig


def influence_rank_figure(influence: pd.Series, members: Sequence[str] = (), *, title: str | None = None,
                          height: int = 320) -> go.Figure:
    """All genes ranked by influence (log scale), the members of one pathway highlighted."""
    s = influence.astype(float).sort_values(ascending=False, kind="mergesort")
    inside = np.isin(s.index.to_numpy(), list(members))
    x = np.arange(1, len(s) + 1)
    y = np.maximum(s.to_numpy(), np.nan_to_num(s[s > 0].min() / 2 if (s > 0).any() else 1e-12))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x[~inside], y=y[~inside], mode="markers", name="other genes",
                             marker=dict(color=OTHER_COLOR, size=6), text=s.index[~inside],
                             hovertemplate="%{text}<br>rank %{x}<br>influence %{y:.3g}<extra></extra>"))
    if inside.any():
        fig.add_trace(go.Scatter(x=x[inside], y=y[inside], mode="markers", name="pathway genes",
                                 marker=dict(color=SIGNIFICANT_COLOR, size=9, symbol="diamond"),
                                 text=s.index[inside],
                                 hovertemplate="%{text}<br>rank %{x}<br>influence %{y:.3g}<extra></extra>"))
    fig.update_layout(height=height, title=title, xaxis_title="rank (most influential first)",
                      yaxis_title="influence", yaxis_type="log", template="plotly_white",
                      margin=dict(l=10, r=10, t=50 if title else 20, b=40),
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    return fig


def gsea_figure(table: pd.DataFrame, *, top: int = 20, q_threshold: float = 0.25, title: str | None = None) -> go.Figure:
    """Normalised enrichment scores of preranked GSEA (positive NES only: enrichment among influential genes).

    Bars are red where the FDR q-value is below ``q_threshold`` (GSEA's customary 0.25), grey otherwise.
    """
    if table is None or len(table) == 0 or "nes" not in table.columns:
        t = pd.DataFrame(columns=["pathway", "nes", "q_fdr"])
    else:
        t = table[pd.to_numeric(table["nes"], errors="coerce") > 0].sort_values("nes", ascending=False).head(top)
        t = t.iloc[::-1]
    sig = pd.to_numeric(t.get("q_fdr", pd.Series(dtype=float)), errors="coerce").to_numpy() < q_threshold
    hover = [f"<b>{r.pathway}</b><br>NES {float(r.nes):.3g}<br>FDR q {float(r.q_fdr):.3g}" for r in t.itertuples()]
    fig = go.Figure(go.Bar(x=t["nes"].astype(float) if len(t) else [], y=[_short(p) for p in t["pathway"]],
                           orientation="h", marker_color=[SIGNIFICANT_COLOR if s else NOT_SIGNIFICANT_COLOR
                                                          for s in sig],
                           hovertext=hover, hoverinfo="text", showlegend=False))
    fig.update_layout(height=max(240, 28 * len(t) + 100), title=title, xaxis_title="NES", template="plotly_white",
                      margin=dict(l=10, r=20, t=50 if title else 20, b=40))
    if not len(t):
        fig.add_annotation(text="no positive enrichment", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig


__all__ = ["pathway_bar_figure", "pathway_comparison_figure", "gene_influence_figure", "influence_rank_figure",
           "gsea_figure", "SIGNIFICANT_COLOR", "NOT_SIGNIFICANT_COLOR"]
