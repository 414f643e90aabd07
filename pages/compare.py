"""Compare runs: metrics side by side, settings, curves and positions on the sparsity–accuracy plane."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dash_core.metrics import METRIC_INFO
from dash_core.plots import compare_curves_figure, sparsity_accuracy_figure
from dash_core.pruning.display import strategy_label
from pages import _ui

st.title("Compare runs")
store = _ui.get_store()
runs = _ui.finished_train_runs(store)
if len(runs) < 1:
    st.info("No finished training runs yet. Train a few (e.g. unpruned PHOENIX and DASH on the demo) to compare them.")
    st.page_link(_ui.PAGES["train"], label="Train & prune", icon=":material/model_training:")
    st.stop()

choices = _ui.run_choices(runs)
picked = st.multiselect("Runs", list(choices), default=list(choices)[: min(3, len(choices))],
                        format_func=choices.get, key="cmp_runs", max_selections=10,
                        help="Pick two or more finished runs (sweep points included).")
if not picked:
    st.caption("Pick at least one run.")
    st.stop()

recs = [store.get(r) for r in picked]
points = pd.DataFrame([_ui.run_point(r) for r in recs])
labels = {r.run_id: r.display_name for r in recs}
# disambiguate equal labels
seen: dict[str, int] = {}
for rid, lab in labels.items():
    seen[lab] = seen.get(lab, 0) + 1
    if seen[lab] > 1:
        labels[rid] = f"{lab} ({rid[-6:]})"
points["label"] = points["run_id"].map(labels)

keys = [k for k in ("sparsity", "balanced_accuracy", "balanced_accuracy_offdiag", "auroc", "prior_auroc", "auprc",
                    "early_precision_ratio", "sign_agreement", "n_edges", "test_mse", "val_mse", "epochs",
                    "best_epoch", "wall_seconds") if k in points.columns and points[k].notna().any()]
table = pd.DataFrame({labels[row.run_id]: [_ui.format_metric(k, getattr(row, k, None)) for k in keys]
                      for row in points.itertuples(index=False)},
                     index=[METRIC_INFO.get(k, {}).get("label", k) for k in keys])
best = {}
for k in keys:
    hib = METRIC_INFO.get(k, {}).get("higher_is_better")
    vals = pd.to_numeric(points[k], errors="coerce")
    if hib is not None and vals.notna().sum() > 1:
        best[METRIC_INFO[k]["label"]] = labels[points.loc[vals.idxmax() if hib else vals.idxmin(), "run_id"]]

st.subheader("Metrics")
st.dataframe(table, column_config={"_index": st.column_config.TextColumn("metric", width="large")},
             height=35 * (len(keys) + 1) + 3)
if best:
    st.caption("Best per metric: " + "; ".join(f"{m}: **{r}**" for m, r in best.items()))
with st.expander("What the metrics mean"):
    for k in keys:
        info = METRIC_INFO.get(k)
        if info:
            st.markdown(f"- **{info['label']}** — {info['help']}")

st.subheader("Settings")
settings = pd.DataFrame({labels[r.run_id]: {
    "strategy": strategy_label(_ui.read_json(r.path / "config.json").get("strategy") or "?"),
    "model": _ui.read_json(r.path / "config.json").get("model", {}).get("model"),
    "hidden": _ui.read_json(r.path / "config.json").get("model", {}).get("hidden"),
    "λ_PPI": _ui.read_json(r.path / "config.json").get("pruning", {}).get("lambda_ppi"),
    "λ_motif": _ui.read_json(r.path / "config.json").get("pruning", {}).get("lambda_motif"),
    "seed": _ui.read_json(r.path / "config.json").get("seed"),
    "max epochs": _ui.read_json(r.path / "config.json").get("train", {}).get("max_epochs"),
} for r in recs}).astype(str)
st.dataframe(settings)

left, right = st.columns(2, gap="large")
with left:
    st.subheader("Sparsity–accuracy plane")
    st.plotly_chart(sparsity_accuracy_figure(points, color="label", hover=("strategy", "lambda_ppi", "lambda_motif",
                                                                             "seed")),
                    key="cmp_plane", config={"displaylogo": False})
with right:
    st.subheader("Training curves")
    col = st.radio("Quantity", ["val_mse", "sparsity"], horizontal=True, key="cmp_curve",
                   format_func=lambda c: "validation MSE" if c == "val_mse" else "sparsity",
                   help="Per-epoch history of each run.")
    hist = {}
    for r in recs:
        h = _ui.read_csv(r.path / "history.csv")
        if h is not None:
            hist[labels[r.run_id]] = h
    st.plotly_chart(compare_curves_figure(hist, col, log_y=col != "sparsity"), key="cmp_curves",
                    config={"displaylogo": False})
