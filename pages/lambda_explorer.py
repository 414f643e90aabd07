"""λ explorer: sweep λ_PPI × λ_motif in the background and read the sparsity–accuracy plane."""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from dash_core.experiment import RunConfig
from dash_core.io.errors import DashInputError
from dash_core.models import ModelConfig
from dash_core.pruning import STRATEGIES, PruningConfig
from dash_core.train import TrainConfig
from pages import _ui


def _executor_settings(workers: int) -> dict:
    """Local worker processes, or the Ray cluster named by ``DASH_STUDIO_RAY_ADDRESS`` (README "Scaling out")."""
    ray_address = os.environ.get("DASH_STUDIO_RAY_ADDRESS", "").strip() or None
    if ray_address is None:
        return {"kind": "local", "workers": workers, "threads_per_job": 1}
    gpus = float(os.environ.get("DASH_STUDIO_GPUS_PER_JOB", "0") or 0)
    return {"kind": "ray", "ray_address": ray_address, "workers": workers, "gpus_per_job": gpus, "threads_per_job": 1}


GRID = [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 0.995, 1.0]
st.title("λ explorer")
st.caption("DASH mixes each weight's magnitude with a prior score: λ_PPI for the input layers, λ_motif for the "
           "output layers (0 = magnitude only, i.e. IMP; 1 = prior only, i.e. BioPrune). A sweep trains one model "
           "per grid point and places it on the sparsity–accuracy plane next to baseline strategies.")
store = _ui.get_store()
sweeps = store.list_runs(kind="sweep")

with st.expander("Launch a sweep", expanded=not sweeps):
    dataset = _ui.require_dataset()
    if dataset is not None:
        names = STRATEGIES.names()
        c1, c2, c3 = st.columns(3)
        strategy = c1.selectbox("Swept strategy", names, index=names.index("dash") if "dash" in names else 0,
                                key="sw_strategy", help="The strategy whose λ values are varied (DASH).")
        grid_ppi = c2.multiselect("λ_PPI values", GRID, default=[0.0, 0.5, 0.95], key="sw_ppi",
                                  help="Prior weight of the input layers; the paper recommends "
                                       "{0, 0.05, 0.25, 0.5, 0.75, 0.95, 0.995}.")
        grid_motif = c3.multiselect("λ_motif values", GRID, default=[0.0, 0.05, 0.5], key="sw_motif",
                                    help="Prior weight of the output layers.")
        c1, c2, c3, c4 = st.columns(4)
        baselines = c1.multiselect("Baselines (one run per seed)", [n for n in names if n != strategy],
                                   default=[n for n in ("none", "imp") if n in names and n != strategy],
                                   key="sw_baselines",
                                   help="Other strategies trained once per seed at the base settings, for reference.")
        n_seeds = c2.number_input("Seeds per point", 1, 10, 1, key="sw_seeds",
                                  help="Repeat each point with seeds 0..k-1 (mean shown in the heatmap).")
        max_epochs = c3.number_input("Max epochs", 1, 2000, 60, key="sw_epochs",
                                     help="Per run. The paper trains up to 200; fewer epochs give a quick overview.")
        hidden = c4.number_input("Hidden units", 2, 400, 40, key="sw_hidden", help="Width of each model branch.")
        c1, c2, _ = st.columns(3)
        cpus = os.cpu_count() or 1
        workers = c1.slider("Parallel workers", 1, max(1, cpus), min(2, cpus), key="sw_workers",
                            help="Runs trained at the same time in separate processes (local executor).")
        patience = c2.number_input("Early-stopping patience", 0, 1000, 40, key="sw_patience",
                                   help="Epochs without a better validation MSE before a run stops (0 = never).")
        n_points = len(grid_ppi) * len(grid_motif) * int(n_seeds) + len(baselines) * int(n_seeds)
        st.caption(f"{n_points} runs in total.")
        if st.button("Launch sweep", type="primary", icon=":material/rocket_launch:", key="sw_launch",
                     disabled=not grid_ppi or not grid_motif,
                     help="Start the sweep as a background job; points appear below as they finish."):
            try:
                cfg = RunConfig(model=ModelConfig(hidden=int(hidden)),
                                train=TrainConfig(max_epochs=int(max_epochs), patience=int(patience)),
                                strategy=strategy, pruning=PruningConfig())
                cfg.train.validate()
            except DashInputError as exc:
                st.error(str(exc))
            else:
                params = {"config": cfg.to_dict(), "strategy": strategy,
                          "lambda_ppi_grid": sorted(grid_ppi), "lambda_motif_grid": sorted(grid_motif),
                          "seeds": list(range(int(n_seeds))), "baselines": baselines,
                          "executor": _executor_settings(int(workers))}
                rid = _ui.launch_job("sweep", params, label=f"{strategy} sweep {len(grid_ppi)}×{len(grid_motif)} "
                                                          f"on {dataset.name}")
                if rid:
                    st.session_state["sw_run"] = rid
                    st.rerun()

sweeps = store.list_runs(kind="sweep")
if not sweeps:
    st.info("No sweep yet. Launch one above; single runs from Train & prune can also be shown on the plane.")
choices = _ui.run_choices(sweeps)
c1, c2 = st.columns([3, 2])
sel = None
if sweeps:
    if st.session_state.get("sw_run") not in choices:
        st.session_state["sw_run"] = sweeps[0].run_id
    sel = c1.selectbox("Sweep", list(choices), format_func=choices.get, key="sw_run",
                       help="Sweeps of this store, newest first.")
with_singles = c2.checkbox("Also show single training runs", value=not sweeps, key="sw_singles",
                           help="Add the finished runs from Train & prune as extra points.")

frames = []
if sel is not None:
    rec = store.get(sel)
    if rec.active:
        _ui.job_status_panel(sel, show_curves=False, key="sweep_live")
    elif rec.status == "failed":
        _ui.job_status_panel(sel, show_curves=False, key="sweep_live")
    pts = _ui.read_csv(rec.path / "points.csv")
    if pts is None:
        prog = store.progress(sel)
        pts = prog[prog["sparsity"].notna()] if "sparsity" in prog.columns else pd.DataFrame()
    if len(pts):
        pts = pts.copy()
        if "label" not in pts.columns:
            pts["label"] = ""
        frames.append(pts)
if with_singles:
    singles = [_ui.run_point(r) for r in _ui.finished_train_runs(store) if r.parent_id is None]
    if singles:
        frames.append(pd.DataFrame(singles))
points = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

if len(points) and "sparsity" in points.columns:
    from dash_core.plots import lambda_heatmap_figure, plane_metric, sparsity_accuracy_figure

    available = [m for m in ("balanced_accuracy", "auprc", "val_mse", "test_mse")
                 if m in points.columns and pd.to_numeric(points[m], errors="coerce").notna().any()]
    default_metric = plane_metric(points)[0]
    metric = st.radio("Accuracy axis", available, index=available.index(default_metric)
                      if default_metric in available else 0, horizontal=True, key="sw_metric",
                      format_func=lambda m: {"balanced_accuracy": "balanced accuracy", "auprc": "AUPRC",
                                             "val_mse": "validation MSE", "test_mse": "test MSE"}[m],
                      help="Balanced accuracy / AUPRC need a gold standard; without one, validation MSE is used.")
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown("**Sparsity–accuracy plane** — click a point to open the run in Results")
        fig = sparsity_accuracy_figure(points, metric=metric)
        event = st.plotly_chart(fig, key="sw_plane", on_select="rerun", selection_mode="points",
                                config={"displaylogo": False})
        picked = [p for p in (event.selection.points if event else []) if p.get("customdata")]
        if picked:
            run_id = str(picked[0]["customdata"][0])
            token = (run_id, picked[0].get("x"), picked[0].get("y"))
            if run_id and st.session_state.get("sw_last_pick") != token:
                st.session_state["sw_last_pick"] = token
                if store.find(run_id) is not None:
                    _ui.open_results(run_id)
            elif not run_id:
                st.caption("This point has no saved run to open.")
    with right:
        grid_pts = points
        if sel is not None and "strategy" in points.columns:
            swept = store.get(sel).params.get("strategy")
            grid_pts = points[points["strategy"] == swept] if swept else points
        if {"lambda_ppi", "lambda_motif"} <= set(grid_pts.columns) and grid_pts["lambda_ppi"].notna().any():
            st.markdown("**Metric over the λ grid** (mean over seeds)")
            st.plotly_chart(lambda_heatmap_figure(grid_pts, metric=metric), key="sw_heat",
                            config={"displaylogo": False})
    with st.expander("Points table"):
        show = [c for c in ("strategy", "lambda_ppi", "lambda_motif", "seed", "sparsity", "balanced_accuracy",
                            "auprc", "val_mse", "test_mse", "epochs", "status", "label", "run_id")
                if c in points.columns]
        st.dataframe(points[show], hide_index=True)
elif sel is not None:
    st.caption("No finished points yet; they appear here as the runs complete.")

