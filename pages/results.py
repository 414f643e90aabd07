"""Results of one run: metric cards, truth | prior | E heatmaps, fitted trajectories, network view, downloads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from dash_core.io.errors import DashInputError
from dash_core.network import edges_to_matrix, gene_order, reconstruction_error, to_graphml_string
from dash_core.plots import (
    fitted_trajectories_figure,
    network_heatmaps_figure,
    network_html,
    training_curves_figure,
)
from dash_core.pruning.display import strategy_label
from pages import _ui

st.title("Results")
store = _ui.get_store()
runs = _ui.finished_train_runs(store)
if not runs:
    st.info("No finished training run yet. Launch one on **Train & prune** (a few epochs on the demo take seconds).")
    st.page_link(_ui.PAGES["train"], label="Train & prune", icon=":material/model_training:")
    st.stop()

choices = _ui.run_choices(runs)
wanted = _ui.pop_results_request()
ids = list(choices)
if wanted in choices:
    st.session_state["res_run"] = wanted
elif st.session_state.get("res_run") not in choices:
    st.session_state["res_run"] = ids[0]
run_id = st.selectbox("Run", ids, format_func=choices.get, key="res_run",
                      help="Finished training runs, newest first (sweep points included).")
rec = store.get(run_id)
if store.owns(rec):
    _ui.manage_run(rec)
else:
    st.info("You are viewing a run shared with you (read-only).", icon=":material/share:")
folder = rec.path
metrics = _ui.read_json(folder / "metrics.json")
detail = _ui.read_json(folder / "metrics_detail.json")
cfg = _ui.read_json(folder / "config.json")
genes = [g for g in (folder / "genes.txt").read_text().splitlines() if g] if (folder / "genes.txt").is_file() else []
edges = _ui.read_csv(folder / "edges.csv")
if edges is None:
    edges = pd.DataFrame(columns=["source", "target", "weight"])

pr = cfg.get("pruning", {})
st.caption(f"Strategy **{strategy_label(cfg.get('strategy', '?'))}** · dataset **{_ui.run_dataset_name(rec) or '?'}** · model {cfg.get('model', {}).get('model', '?')} "
           f"(h = {cfg.get('model', {}).get('hidden', '?')}) · λ = ({pr.get('lambda_ppi', '?')}, "
           f"{pr.get('lambda_motif', '?')}) · seed {cfg.get('seed', '?')} · {metrics.get('epochs', '?')} epochs "
           f"(best {metrics.get('best_epoch', '?')}), stopped: {detail.get('stop_reason', '?')}"
           + (" · cancelled early" if rec.status == "cancelled" else ""))
min_sp = float(cfg.get("train", {}).get("checkpoint_min_sparsity") or 0.0)
if min_sp > 0 and detail.get("min_sparsity_reached") is False:
    st.warning(f"The run never reached the requested minimum sparsity {min_sp:g}; the model shown is the best "
               "validation epoch overall. Train longer or prune more per event.", icon=":material/warning:")
if detail.get("edges_in_table") is not None and detail.get("n_edges") and detail["edges_in_table"] < detail["n_edges"]:
    st.info(f"The network has {int(detail['n_edges']):,} non-zero edges; the edge table and the views below hold the "
            f"{int(detail['edges_in_table']):,} strongest. The model file keeps the whole network.",
            icon=":material/info:")
all_metrics = {**detail, **metrics}
if metrics.get("did_not_learn"):
    st.error("**This model did not learn to predict the data.** " + "; ".join(detail.get("verdict_reasons") or [])
             + ". " + (detail.get("verdict_advice") or ""), icon=":material/report:")
_ui.metric_cards(all_metrics, ["sparsity", "balanced_accuracy", "auroc", "prior_auroc", "auprc",
                               "early_precision_ratio", "n_edges", "test_mse", "val_mse"])


def _baseline_rows(m: dict) -> list[dict]:
    """Each model number beside its baseline: "no change" for MSEs, the prior alone for network scores."""
    rows = []

    def add(what, model, base, base_name, lower_better):
        if model is None or base is None:
            return
        better = model < base if lower_better else model > base
        rows.append({"measure": what, "model": f"{model:.4g}", "baseline": f"{base:.4g}", "baseline is": base_name,
                     "model better?": "yes" if better else "no"})

    add("validation MSE", m.get("val_mse"), m.get("val_mse_persistence"), '"no change"', True)
    add("test MSE", m.get("test_mse"), m.get("test_mse_persistence"), '"no change"', True)
    for key, name in (("auroc", "AUROC"), ("auprc", "AUPRC"), ("balanced_accuracy", "balanced accuracy")):
        add(name, m.get(key), m.get(f"prior_{key}"), "the prior alone", False)
        add(f"{name}, {m.get('gs_regulators')} gold-standard regulators only", m.get(f"{key}_gs_regulators"),
            m.get(f"prior_{key}_gs_regulators"), "the prior alone", False)
    return rows


_rows = _baseline_rows(all_metrics)
if _rows:
    with st.expander("Model vs baselines", expanded=bool(metrics.get("did_not_learn"))):
        st.caption("A model has learned dynamics only if it predicts the next observation better than \"no change\" "
                   "(persistence), and it has learned network structure beyond the prior only if it ranks edges "
                   "better than the prior alone. Gold-standard-regulator rows restrict scoring to the regulators the "
                   "gold standard covers (e.g. the TFs of a ChIP-seq study).")
        st.dataframe(pd.DataFrame(_rows), hide_index=True)
        if detail.get("validation_split"):
            st.caption(f"Validation: {detail['validation_split']}. Time: {detail.get('time_note', 'as given')}.")

ds_dir = _ui.run_dataset_dir(rec)
dataset = None
if ds_dir is not None:
    try:
        dataset = _ui.load_dir_cached(ds_dir)[0]
    except DashInputError as exc:
        st.warning(f"The run's dataset could not be read ({exc}); heatmaps and trajectories are limited.")
if dataset is not None and list(dataset.genes) != genes and genes:
    st.warning("The run's gene order differs from its dataset; networks are aligned by gene name.")
if not genes and dataset is not None:
    genes = list(dataset.genes)

E = edges_to_matrix(edges, genes) if genes else np.zeros((0, 0))
truth = edges_to_matrix(dataset.truth, genes) if dataset is not None and dataset.truth is not None else None
prior = edges_to_matrix(dataset.prior, genes) if dataset is not None and dataset.prior is not None else None

has_confidence = "confidence" in edges.columns
audit_path = folder / "prior_audit.csv"
net_edges = edges
if has_confidence:
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    min_conf = c1.slider("Minimum edge confidence", 0.0, 1.0, 0.0, step=0.05, key="res_min_conf",
                         help="Confidence = share of the seeds whose model at the same λ and pruning level keeps "
                              "the edge (1 = every seed). Filters the edge table and the network view.")
    net_edges = edges[edges["confidence"] >= min_conf - 1e-9]
    c2.caption(f"{len(net_edges):,} of {len(edges):,} edges have confidence ≥ {min_conf:.2f}.")
tab_heat, tab_edges, tab_traj, tab_net, tab_train, tab_conf, tab_dl = st.tabs(
    ["Network heatmaps", "Edge table", "Fitted trajectories", "Network view", "Training curves",
     "Confidence & prior audit", "Downloads"])

with tab_edges:
    from pages._edges import edge_table_panel

    edge_table_panel(net_edges, dataset.truth if dataset is not None else None, key="res_edges")

with tab_heat:
    reference = truth if truth is not None else prior
    order = gene_order(reference if reference is not None else E, genes) if genes else []
    mats = {}
    if truth is not None:
        mats["Ground truth"] = truth
    if prior is not None:
        mats["Prior"] = prior
    mats["Inferred effect matrix E"] = E
    st.caption("Rows = regulators (genes that regulate something in any panel), columns = targets, in the same "
               "order in every panel (regulators first, by number of targets). Blue = activation, red = repression; "
               "the colour follows the square root of the effect's share of the panel's strongest, so weak edges "
               "stay visible. Hover for the raw value; drag to zoom (all panels follow), double-click to reset.")
    if genes:
        n_rows = int(np.logical_or.reduce([np.any(np.asarray(m) != 0, axis=1) for m in mats.values()]).sum())
        st.plotly_chart(network_heatmaps_figure(mats, genes, order, regulators_only=True, gamma=0.5,
                                                height=int(min(520, max(260, 150 + 14 * n_rows)))),
                        key="res_heatmaps", config={"displaylogo": False})
        rows = []
        for name, ref in (("ground truth", truth), ("prior", prior)):
            if ref is not None:
                err = reconstruction_error(E, ref)
                rows.append({"E compared with": name, "mismatched pairs": err["n_mismatch"],
                             "mismatch share": f"{err['mismatch_fraction']:.2%}", "extra edges in E": err["n_extra"],
                             "missing edges": err["n_missing"], "sign Frobenius": round(err["sign_frobenius"], 2)})
        if rows:
            st.markdown("**Reconstruction error** (support of E against the reference network)")
            st.dataframe(pd.DataFrame(rows), hide_index=True)
    else:
        st.info("This run has no gene list.")


@st.cache_resource(show_spinner=False, max_entries=4)
def _checkpoint(path: str, mtime: float):
    from dash_core.experiment import load_checkpoint

    return load_checkpoint(path, device="cpu")


with tab_traj:
    ck = folder / "model.pt"
    if dataset is None or not ck.is_file():
        st.info("The checkpoint or the dataset of this run is not available.")
    else:
        import torch

        from dash_core.integrate import integrate
        from dash_core.timescale import scale_time

        # the time unit the model was trained in (pseudotime read by its order, ...)
        timed = scale_time(dataset, cfg.get("time_scale", "none"))[0]
        sets = {"training data": timed.expression}
        if timed.validation_expression is not None:
            sets["validation series"] = timed.validation_expression
        if timed.test_expression is not None:
            sets = {"test set": timed.test_expression, **sets}
        c1, c2, c3 = st.columns([1, 1, 2])
        which = c1.selectbox("Trajectories from", list(sets), key="res_traj_set",
                             help="Held-out test trajectories show how well the model generalises.")
        expr = sets[which]
        tnames = [t.name for t in expr.trajectories]
        tname = c2.selectbox("Trajectory", tnames, key=f"res_traj_{which}",
                             help="The model is integrated from this trajectory's first observation.")
        top = edges["source"].astype(str).value_counts().index.tolist() if len(edges) else []
        targets = [g for g in edges["target"].astype(str).tolist() if g not in top][:3] if len(edges) else []
        default = [g for g in (targets + top) if g in expr.genes][:4] or list(expr.genes[:4])
        chosen = c3.multiselect("Genes", expr.genes, default=default, max_selections=8, key="res_traj_genes",
                                help="Genes to compare (default: strongly regulated targets and top regulators).")
        try:
            model, run_cfg, ck_genes = _checkpoint(str(ck), ck.stat().st_mtime)
        except DashInputError as exc:
            st.error(str(exc))
            model = None
        if model is not None and chosen:
            tr = expr.trajectories[tnames.index(tname)]
            pos = {g: i for i, g in enumerate(expr.genes)}
            mpos = {g: i for i, g in enumerate(ck_genes)}
            x0 = torch.as_tensor(tr.values[0][[pos[g] for g in ck_genes]], dtype=torch.float32)[None, :]
            span = float(tr.times[-1] - tr.times[0])
            taus = torch.linspace(0.0, 1.0, 80, dtype=torch.float32)
            with torch.no_grad():
                path = integrate(model, x0, torch.tensor([span]), taus, run_cfg.train.solver)[:, 0, :].numpy()
            fit_t = tr.times[0] + taus.numpy() * span
            obs = tr.values[:, [pos[g] for g in chosen]]
            fit = path[:, [mpos[g] for g in chosen]]
            st.plotly_chart(fitted_trajectories_figure(tr.times, obs, fit_t, fit, chosen,
                                                       title=f"{tname}: model (lines) vs observed (circles)"),
                            key="res_fit", config={"displaylogo": False})
            st.caption("The line is one continuous integration of the learned ODE from the first observed state; "
                       "training uses one-step-ahead fits between consecutive points, so long-range drift is "
                       "expected for short runs.")

with tab_net:
    c1, c2, c3 = st.columns([2, 2, 1])
    n_e = len(net_edges)
    top_k = n_e
    if n_e > 5:
        top_k = c1.slider("Edges shown", 5, min(300, n_e), min(60, n_e), key="res_topk",
                          help="The strongest edges by |effect| are drawn.")
    modes = ["sign", "status"] if truth is not None else ["sign"]
    color_by = c2.radio("Colour edges by", modes, horizontal=True, key="res_color",
                        format_func=lambda m: "sign (activation / repression)" if m == "sign"
                        else "gold standard (TP / FP)",
                        help="Sign of the learned effect, or whether the edge is in the gold standard.")
    physics = c3.checkbox("Physics layout", value=True, key="res_physics",
                          help="Let nodes settle with a force layout; switch off to freeze them.")
    if len(net_edges) == 0:
        st.info("No edge to draw (everything was pruned, or the confidence filter removed every edge).")
    else:
        page = network_html(net_edges, truth=dataset.truth if dataset is not None else None, top_k=int(top_k),
                            color_by=color_by, physics=physics)
        if hasattr(st, "iframe"):
            st.iframe(page, height=620)
        else:  # Streamlit < 1.50
            components.html(page, height=620, scrolling=False)
        st.caption("Orange nodes regulate at least one drawn edge; purple nodes are targets only. Drag nodes, "
                   "scroll to zoom, hover an edge for its effect.")

with tab_train:
    hist = _ui.read_csv(folder / "history.csv")
    if hist is None or hist.empty:
        st.info("No training history was saved for this run.")
    else:
        st.plotly_chart(training_curves_figure(hist), key="res_hist", config={"displaylogo": False})

with tab_conf:
    if not has_confidence:
        st.info("Edge confidence needs several seeds at one λ and pruning level: open the **recommended model** of a "
                "λ-explorer sweep (or `python -m dash_core sweep --seeds 0,1,2`), whose edges carry the share of "
                "seeds that keep them.")
    else:
        import plotly.graph_objects as go

        counts = edges["confidence"].round(3).value_counts().sort_index()
        fig = go.Figure(go.Bar(x=counts.index, y=counts.to_numpy(), marker_color="#1f77b4",
                               hovertemplate="confidence %{x:.2f}: %{y} edges<extra></extra>"))
        fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                          title="Edge confidence (share of seeds keeping the edge)",
                          xaxis_title="confidence", yaxis_title="edges")
        st.plotly_chart(fig, key="res_conf_hist", config={"displaylogo": False})
        st.caption(f"{int((edges['confidence'] >= 1 - 1e-9).sum()):,} of {len(edges):,} edges are kept by every "
                   "seed. Filter the edge table and the network view with the confidence slider above the tabs.")
    audit = _ui.read_csv(audit_path)
    if audit is None and (folder / "members.json").is_file() and st.button(
            "Run the prior audit", key="res_run_audit", help="Compare the prior with the seeds' models (seconds)."):
        from dash_core.audit import audit_run

        try:
            audit, _ = audit_run(folder)
        except DashInputError as exc:
            st.error(str(exc))
    if audit is not None:
        from dash_core.audit import CATEGORIES

        st.markdown("**Prior audit** — which prior edges the data supports")
        from dash_core.audit import referee_note

        info = _ui.read_json(folder / "members.json").get("audit")
        refereed = bool(info) and info.get("referee") == "unpruned"
        (st.info if refereed else st.warning)(referee_note(info), icon=":material/gavel:")
        who = "referee runs" if refereed else "seeds"
        counts = audit["category"].value_counts()
        cols = st.columns(len(CATEGORIES))
        helps = {"unsupported prior": f"In the prior, but dropped by most {who}: the data does not need it.",
                 "new, data-supported": f"Absent from the prior (or a low prior score) but kept by every {who[:-1]}, "
                                        "and as strongly supported as the prior edges the data confirms (support "
                                        "at least their 10th percentile).",
                 "confirmed prior": f"In the prior and kept by most {who}."}
        for col, cat in zip(cols, CATEGORIES):
            col.metric(cat, f"{int(counts.get(cat, 0)):,}", help=helps[cat])
        cat = st.segmented_control("Show", list(CATEGORIES), default=CATEGORIES[0], key="res_audit_cat") \
            if hasattr(st, "segmented_control") else st.radio("Show", list(CATEGORIES), key="res_audit_cat")
        view = audit[audit["category"] == cat] if cat else audit
        st.dataframe(view, hide_index=True, height=320)
        st.caption(f"doubt = 1 / (1 + support); support = |E| relative to a typical kept edge, averaged over the "
                   f"{who} (0 where pruned); confidence = share of the {who} keeping the edge. Rows: regulator "
                   "(source) → target.")
        st.download_button("Prior audit (CSV)", audit.to_csv(index=False), file_name=f"{run_id}_prior_audit.csv",
                           mime="text/csv", key="dl_audit", help="All three groups, with confidence and support.")
    elif not (folder / "members.json").is_file():
        st.caption("The prior audit is computed for the recommended model of a sweep (`python -m dash_core audit "
                   "--run DIR` works on any run folder).")

with tab_dl:
    st.caption("Everything needed to reuse or re-create the run; the network is regulator (source) → target.")
    c = st.columns(5)
    c[0].download_button("Edges (CSV)", edges.to_csv(index=False), file_name=f"{run_id}_edges.csv", mime="text/csv",
                         key="dl_edges", help="source, target, weight: every non-zero entry of E.")
    try:
        graphml = to_graphml_string(edges, truth=dataset.truth if dataset is not None else None)
    except Exception as exc:  # noqa: BLE001 - export problems are shown, not raised
        graphml = None
        st.warning(f"GraphML export failed: {exc}")
    if graphml is not None:
        c[1].download_button("Network (GraphML)", graphml, file_name=f"{run_id}.graphml",
                             mime="application/graphml+xml", key="dl_graphml",
                             help="Directed graph for Cytoscape (File > Import > Network from File).")
    c[2].download_button("Metrics (JSON)", json.dumps(all_metrics, indent=2), file_name=f"{run_id}_metrics.json",
                         mime="application/json", key="dl_metrics", help="All metrics and details of the run.")
    c[3].download_button("Config (JSON)", json.dumps(cfg, indent=2), file_name=f"{run_id}_config.json",
                         mime="application/json", key="dl_config",
                         help="The run's configuration; re-create the run with `python -m dash_core train --config`.")
    ck_path = Path(folder / "model.pt")
    if ck_path.is_file():
        c[4].download_button("Checkpoint (.pt)", ck_path.read_bytes(), file_name=f"{run_id}_model.pt",
                             mime="application/octet-stream", key="dl_ckpt",
                             help="Model weights and masks; load with dash_core.experiment.load_checkpoint.")
