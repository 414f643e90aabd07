"""λ explorer: sweep λ_PPI × λ_motif in the background and read the sparsity–accuracy plane."""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from dash_core.experiment import RunConfig
from dash_core.io.errors import DashInputError
from dash_core.labels import plain_columns
from dash_core.models import ModelConfig
from dash_core.pruning import STRATEGIES, PruningConfig
from dash_core.pruning.display import strategy_label
from dash_core.studies.selection import DEFAULT_TOLERANCE, aggregate_points, live_path_table, path_table, recommend
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
           "per grid point; every run records its whole pruning path, so each λ point becomes a sparsity–accuracy curve. "
           "The recommended model is chosen by validation error alone.")
store = _ui.get_store()
sweeps = store.list_runs(kind="sweep")

with st.expander("Launch a sweep", expanded=not sweeps):
    dataset = _ui.require_dataset()
    if dataset is not None:
        names = STRATEGIES.names()
        c1, c2, c3 = st.columns(3)
        strategy = c1.selectbox("Swept strategy", names, index=names.index("dash") if "dash" in names else 0,
                                key="sw_strategy", format_func=strategy_label,
                                help="The strategy whose λ values are varied (DASH).")
        grid_ppi = c2.multiselect("λ_PPI values", GRID, default=[0.0, 0.5, 0.95], key="sw_ppi",
                                  help="Prior weight of the input layers; the paper recommends "
                                       "{0, 0.05, 0.25, 0.5, 0.75, 0.95, 0.995}.")
        grid_motif = c3.multiselect("λ_motif values", GRID, default=[0.0, 0.05, 0.5], key="sw_motif",
                                    help="Prior weight of the output layers.")
        c1, c2, c3, c4 = st.columns(4)
        baselines = c1.multiselect("Baselines (one run per seed)", [n for n in names if n != strategy],
                                   default=[n for n in ("none", "imp") if n in names and n != strategy],
                                   key="sw_baselines", format_func=strategy_label,
                                   help="Other strategies trained once per seed at the base settings, for reference. "
                                        "The unpruned baseline (none) also referees the recommended model's prior "
                                        "audit: it judges edges by the data alone.")
        n_seeds = c2.number_input("Seeds per point", 1, 10, 3, key="sw_seeds",
                                  help="Repeat each point with seeds 0..k-1: curves and the recommendation average "
                                       "the seeds, and each edge of the recommended model gets a confidence (the "
                                       "share of seeds that keep it). At least 2 for edge confidence.")
        max_epochs = c3.number_input("Max epochs", 1, 2000, 60, key="sw_epochs",
                                     help="Per run. The paper trains up to 200; fewer epochs give a quick overview.")
        hidden = c4.number_input("Hidden units", 2, 400, 40, key="sw_hidden", help="Width of each model branch.")
        c1, c2, _ = st.columns(3)
        cpus = os.cpu_count() or 1
        workers = c1.slider("Parallel workers", 1, max(1, cpus), min(2, cpus), key="sw_workers",
                            help="Runs trained at the same time in separate processes (local executor).")
        patience = c2.number_input("Early-stopping patience", 0, 1000, 0, key="sw_patience",
                                   help="Epochs without a better validation MSE before a run stops. 0 (default) = "
                                        "never: every run follows the whole pruning schedule, so each curve reaches "
                                        "the high sparsities the recommendation can choose from.")
        tolerance = c3.slider("Recommendation tolerance", 0.0, 0.30, DEFAULT_TOLERANCE, step=0.01, key="sw_tol",
                              format="%.2f",
                              help="The sweep recommends the sparsest (λ, pruning level) whose validation MSE, "
                                   "averaged over seeds, is within this fraction of the best. No gold standard is "
                                   "used. You can change it below after the sweep, too.")
        n_points = len(grid_ppi) * len(grid_motif) * int(n_seeds) + len(baselines) * int(n_seeds)
        st.caption(f"{n_points} runs in total." + ("" if "none" in baselines else
                   " Without the unpruned baseline (none), the prior audit is refereed by the recommended DASH "
                   "seeds themselves, which favour their prior."))
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
                          "executor": _executor_settings(int(workers)), "tolerance": float(tolerance)}
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



def _sweep_paths(rec) -> pd.DataFrame:
    """Pruning-path rows of a sweep: finished runs (``paths.csv``, appended as runs finish; for older sweeps
    each point's ``path.csv``) and, while the sweep runs, the path so far of every run still training
    (``live`` = True; per epoch, also inside a stack whose other members are still training)."""
    paths = _ui.read_csv(rec.path / "paths.csv")
    pts = _ui.read_csv(rec.path / "points.csv")
    if paths is None and pts is not None and "run_dir" in pts.columns:
        paths = path_table(pts)
    if rec.active:
        done = set(paths["run_dir"].astype(str)) if paths is not None and "run_dir" in paths.columns else set()
        live = live_path_table(sorted((rec.path / "points").glob("*")), finished=done)
        if len(live):
            paths = live if paths is None or paths.empty else pd.concat([paths, live], ignore_index=True)
    if paths is None or paths.empty:
        return pd.DataFrame()
    paths = paths.copy()
    paths["live"] = paths["live"].eq(True) if "live" in paths.columns else False
    if pts is not None and {"run_dir", "run_id"} <= set(pts.columns):
        ids = dict(zip(pts["run_dir"].astype(str), pts["run_id"], strict=False))
        paths["run_id"] = paths["run_dir"].astype(str).map(ids)
    return paths


def _open_recommended(rec, swept: str, tol: float) -> None:
    """Open the recommended model of sweep ``rec`` in Results, writing it first if the tolerance changed."""
    summary = (rec.summary or {}).get("recommended") or {}
    if summary.get("run_id") and abs(float(summary.get("tolerance", -1)) - tol) < 1e-9 \
            and store.find(summary["run_id"]) is not None:
        _ui.open_results(summary["run_id"])
        return
    from dash_core.audit import REFEREE_STRATEGY
    from dash_core.runs.jobs import register_recommended
    from dash_core.studies.selection import finalize_sweep

    ds_dir = _ui.run_dataset_dir(rec)
    sweep_dir = rec.path / "points" / swept
    table = _ui.read_csv(sweep_dir / "sweep.csv")
    if ds_dir is None or table is None:
        st.error("The sweep's data or results table is missing; the model cannot be written.")
        return
    try:
        with st.spinner("Writing the recommended model (edge confidence, prior audit)…"):
            dataset = _ui.load_dir_cached(ds_dir)[0]
            selection = finalize_sweep(sweep_dir, table, dataset, tolerance=tol, strategy=swept,
                                       referee_dir=rec.path / "points" / REFEREE_STRATEGY)
            run_id = register_recommended(store, rec.run_id, sweep_dir, selection)
    except DashInputError as exc:
        st.error(str(exc))
        return
    _ui.open_results(run_id)


def _open_level(rec, run_id: str, level) -> None:
    """Open pruning level ``level`` of run ``run_id`` (a point of sweep ``rec``) in Results.

    The reported checkpoint opens the run itself; any other level is written once from the run's
    ``path.pt`` (no retraining) and registered next to it.
    """
    from dash_core.runs.jobs import register_level

    try:
        level = int(float(level))
    except (TypeError, ValueError):
        _ui.open_results(run_id)
        return
    ds_dir = _ui.run_dataset_dir(rec)
    try:
        with st.spinner(f"Writing pruning level {level} (scores, edges)…"):
            dataset = _ui.load_dir_cached(ds_dir)[0] if ds_dir is not None else None
            target = register_level(store, run_id, level, dataset)
    except DashInputError as exc:
        st.error(str(exc))
        return
    _ui.open_results(target)


frames = []
if sel is not None:
    rec = store.get(sel)
    if rec.active or rec.status == "failed":
        _ui.job_status_panel(sel, show_curves=False, key="sweep_live")

    @st.fragment(run_every=3.0 if rec.active else None)
    def _curves() -> None:
        """Curves, Pareto front and recommendation; refreshed every 3 s while the sweep runs."""
        rec = store.get(sel)
        swept = rec.params.get("strategy") or "dash"
        paths = _sweep_paths(rec)
        if len(paths):
            from dash_core.plots import path_curves_figure

            gold = [m for m in ("balanced_accuracy", "auroc", "auprc")
                    if m in paths.columns and pd.to_numeric(paths[m], errors="coerce").notna().any()]
            axes = [*gold, "val_mse", *(["test_mse"] if "test_mse" in paths.columns else [])]
            names = {"balanced_accuracy": "balanced accuracy (gold standard)", "auroc": "AUROC (gold standard)",
                     "auprc": "AUPRC (gold standard)", "val_mse": "validation MSE", "test_mse": "test MSE"}
            c1, c2 = st.columns([3, 2])
            metric = c1.radio("Accuracy axis", axes, horizontal=True, key="sw_path_metric", format_func=names.get,
                              help="Gold-standard metrics are shown for reading only; the recommendation never uses "
                                   "them. Without a gold standard the axis is the validation MSE.")
            tol = c2.slider("Tolerance of the recommendation", 0.0, 0.30,
                            float(rec.params.get("tolerance", DEFAULT_TOLERANCE)), step=0.01, key=f"sw_view_tol_{sel}",
                            help="Recommended = the sparsest (λ, level) whose seed-averaged validation MSE is within "
                                 "this fraction of the best. Default 5 % (README, 'Choosing a model').")
            curves = aggregate_points(paths, complete_only=False)
            if "run_id" in paths.columns:  # a run to open per curve point: the first seed's
                first = paths.dropna(subset=["run_id"]).drop_duplicates(["strategy", "lambda_ppi", "lambda_motif",
                                                                          "level"])
                curves = curves.merge(first[["strategy", "lambda_ppi", "lambda_motif", "level", "run_id"]],
                                      on=["strategy", "lambda_ppi", "lambda_motif", "level"], how="left")
            best = None
            finished = paths[~paths["live"]]  # the recommendation compares finished runs only
            try:
                best = recommend(finished, tol, strategy=swept if (finished["strategy"] == swept).any() else None)
            except DashInputError:
                best = None
            left, right = st.columns([3, 2], gap="large")
            with left:
                st.markdown("**Sparsity–accuracy curves** (one per λ point and baseline; seeds averaged) — click a point "
                            "to open that pruning level's checkpoint (first seed) in Results")
                fig = path_curves_figure(curves, metric=metric, recommended=None if best is None else {
                    "lambda_ppi": best.lambda_ppi, "lambda_motif": best.lambda_motif, "level": best.level,
                    "sparsity": best.sparsity, **({"val_mse": best.val_mse} if metric == "val_mse" else {})})
                event = st.plotly_chart(fig, key="sw_paths", on_select="rerun", selection_mode="points",
                                        config={"displaylogo": False})
                n_live = paths.loc[paths["live"], "run_dir"].nunique()
                if n_live:
                    st.caption(f"{n_live} run(s) still training: their curves grow as they train (each level's best "
                               "validation MSE so far); a point opens once its run has finished.")
                picked = [p for p in (event.selection.points if event else []) if p.get("customdata")]
                if picked and str(picked[0]["customdata"][0]) not in ("", "nan", "None"):
                    run_id = str(picked[0]["customdata"][0])
                    token = (run_id, picked[0].get("x"), picked[0].get("y"))
                    if st.session_state.get("sw_last_path_pick") != token and store.find(run_id) is not None:
                        st.session_state["sw_last_path_pick"] = token
                        _open_level(rec, run_id, picked[0]["customdata"][1])
            with right:
                if best is None:
                    st.info("No recommendation yet: it needs at least one finished run of the swept strategy.")
                else:
                    st.markdown(f"**Recommended** ★ λ = ({best.lambda_ppi:g}, {best.lambda_motif:g}), pruning level "
                                f"{best.level}")
                    st.metric("Sparsity", f"{best.sparsity:.1%}", help="Mean over the seeds at this λ and level.")
                    st.metric("Validation MSE", f"{best.val_mse:.4g}",
                              delta=f"{best.val_mse / best.best_val_mse - 1:+.1%} vs best", delta_color="off",
                              help=f"The best seed-averaged validation MSE of all points is {best.best_val_mse:.4g}.")
                    st.caption(f"Rule: {best.rule}." + (" Provisional: the sweep is still running." if rec.active
                                                         else ""))
                    row = paths[(paths["strategy"] == best.strategy) & (paths["lambda_ppi"] == best.lambda_ppi)
                                & (paths["lambda_motif"] == best.lambda_motif) & (paths["level"] == best.level)]
                    shown = {m: pd.to_numeric(row[m], errors="coerce").mean() for m in gold}
                    if any(pd.notna(v) for v in shown.values()):
                        st.caption("Scored afterwards against the gold standard (not used to choose): "
                                   + ", ".join(f"{names[m].split(' (')[0]} {v:.3f}" for m, v in shown.items()
                                               if pd.notna(v)))
                    if st.button("Open the recommended model in Results", type="primary", icon=":material/star:",
                                 key="sw_open_rec", disabled=rec.active,
                                 help="Opens the recommended checkpoint with its per-edge confidence over seeds and the "
                                      "prior audit." + (" Available when the sweep has finished." if rec.active else "")):
                        _open_recommended(rec, swept, tol)

    _curves()

frames = []
if sel is not None:
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
        st.markdown("**Reported checkpoint of each run** (its best validation epoch) — click a point to open the run")
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
        table = points[show].copy()
        if "strategy" in table.columns:
            table["strategy"] = table["strategy"].map(lambda s: strategy_label(s) if isinstance(s, str) else s)
        st.dataframe(plain_columns(table), hide_index=True)
elif sel is not None:
    st.caption("No finished points yet; they appear here as the runs complete.")

