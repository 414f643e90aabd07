"""Data: upload and validate expression + networks, or simulate; inspect the active dataset."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import streamlit as st

from dash_core.io.errors import DashInputError, ValidationReport
from pages import _ui

st.title("Data")
st.caption("Load expression time series with a prior network (and optionally a PPI network, a gold standard, a test "
           "set and gene sets), or simulate a dataset with a known true network. Files are checked before anything "
           "is replaced: a file that cannot be used shows what is wrong and keeps the current dataset.")

tab_upload, tab_sim = st.tabs(["Upload files", "Simulate"])


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[-80:] or "file"


def _handle_upload(files: dict, fmt: str, h5ad=None) -> None:
    from dash_core.io import load_dataset, read_expression

    if files.get("expression") is None:
        st.error("Choose an expression file first (tidy CSV/TSV or PHOENIX format).", icon=":material/error:")
        return
    folder = _ui.session_dir() / "uploads" / time.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, up in files.items():
        if up is not None:
            path = folder / f"{key}__{_safe_name(up.name)}"
            path.write_bytes(up.getvalue())
            paths[key] = path
    prefix = str(folder) + "/"
    try:
        expression = paths["expression"]
        report = ValidationReport()
        if fmt != "auto":
            expression, rep = read_expression(paths["expression"], genes=paths.get("genes"), fmt=fmt, h5ad=h5ad)
            report.extend(rep)
        name = re.sub(r"\.(csv|tsv|txt|gz|h5ad)$", "", files["expression"].name, flags=re.I) or "dataset"
        dataset, rep = load_dataset(expression, paths.get("prior"), genes=paths.get("genes"), ppi=paths.get("ppi"),
                                    truth=paths.get("truth"), test_expression=paths.get("test_expression"),
                                    validation_expression=paths.get("validation_expression"), h5ad=h5ad, name=name)
        report.extend(rep)
        gmt = paths.get("gene_sets")
        if gmt is not None:
            try:
                from dash_core.io.gmt import read_gmt
            except ImportError:
                read_gmt = None
            if read_gmt is not None:
                sets, rep = read_gmt(gmt)
                report.extend(rep)
        report = _ui.clean_report(report, prefix)
        _ui.activate_dataset(dataset, gene_sets_file=gmt, source="upload", report=report,
                             description=f"Uploaded {files['expression'].name}")
    except DashInputError as exc:
        st.error(f"{str(exc).replace(prefix, '')}\n\nThe previously loaded dataset is unchanged.",
                 icon=":material/error:")
        return
    except Exception as exc:  # noqa: BLE001 - any unreadable upload is reported, never as a traceback
        st.error(f"The files could not be read ({type(exc).__name__}: {str(exc).replace(prefix, '')}). "
                 "The previously loaded dataset is unchanged.", icon=":material/error:")
        return
    st.success(f"Loaded **{dataset.name}**: {dataset.n_genes} genes, {dataset.expression.n_trajectories} "
               "trajectories.", icon=":material/check_circle:")


with tab_upload:
    with st.form("upload_form", border=True):
        c1, c2 = st.columns(2)
        with c1:
            f_expr = st.file_uploader(
                "Expression time series", type=["csv", "tsv", "txt", "gz", "h5ad"], key="up_expression",
                help="Tidy table with columns trajectory, time, then one column per gene (CSV or TSV); or the "
                     "PHOENIX format (genes as rows, one block per trajectory, time row last) with a gene-name file; "
                     "or single cells as AnnData (.h5ad), binned along a time column (options below).")
            f_genes = st.file_uploader(
                "Gene names (PHOENIX format only)", type=["csv", "tsv", "txt"], key="up_genes",
                help="One gene name per line, in the row order of a PHOENIX expression file or an unlabelled matrix.")
            fmt = st.radio("Expression format", ["auto", "tidy", "phoenix", "h5ad"], horizontal=True, key="up_fmt",
                           help="'auto' recognises the format from the file; choose one if the detection is wrong.")
            with st.expander("AnnData (.h5ad) options"):
                h_time = st.text_input("Time column (obs)", key="up_h5ad_time",
                                       help="obs column with each cell's time, e.g. dpt_pseudotime.")
                h_traj = st.text_input("Trajectory column (obs, optional)", key="up_h5ad_traj",
                                       help="obs column splitting cells into lineages / donors; empty = one trajectory.")
                h_bins = st.number_input("Time points per trajectory", 2, 1000, 20, key="up_h5ad_bins",
                                         help="Cells are ordered by time and averaged in this many bins of equal size.")
                h_layer = st.text_input("Layer (optional)", key="up_h5ad_layer", help="Read this layer instead of X.")
            f_val = st.file_uploader(
                "Validation series (optional)", type=["csv", "tsv", "txt", "gz", "h5ad"], key="up_val",
                help="A separate series of the same genes (e.g. a second replicate). It chooses the reported "
                     "checkpoint; without it, blocks of time (few trajectories) or whole trajectories are held out.")
            f_test = st.file_uploader(
                "Test trajectories (optional)", type=["csv", "tsv", "txt", "gz"], key="up_test",
                help="Held-out trajectories of the same genes, used only for the test MSE.")
        with c2:
            f_prior = st.file_uploader(
                "Prior network (TF → target)", type=["csv", "tsv", "txt", "gz"], key="up_prior",
                help="Edge table source,target[,weight or sign] (source = regulator) or a square regulator × target "
                     "matrix. Needed by the prior-informed strategies (DASH, BioPrune, PINN+MP, unpruned PHOENIX).")
            f_ppi = st.file_uploader(
                "PPI network (optional)", type=["csv", "tsv", "txt", "gz"], key="up_ppi",
                help="Protein–protein interactions among the regulators (symmetric). Without it DASH uses the "
                     "co-regulation |P||P|ᵀ of the prior.")
            f_truth = st.file_uploader(
                "Gold standard (optional)", type=["csv", "tsv", "txt", "gz"], key="up_truth",
                help="Known true edges (e.g. ChIP-seq); enables balanced accuracy, AUROC/AUPRC and TP/FP colouring.")
            f_gmt = st.file_uploader(
                "Gene sets (optional, GMT)", type=["gmt", "txt"], key="up_gmt",
                help="Gene sets for the pathway analysis: name, description, genes — tab-separated, one set per line.")
        submitted = st.form_submit_button("Validate and load", type="primary", icon=":material/upload:",
                                          help="Check the files and, if they can be used, make them the active "
                                               "dataset.")
    if submitted:
        from dash_core.io import H5adOptions

        h5ad = H5adOptions(time_key=h_time.strip() or None, trajectory_key=h_traj.strip() or None,
                           bins=int(h_bins), layer=h_layer.strip() or None)
        _handle_upload({"expression": f_expr, "genes": f_genes, "prior": f_prior, "ppi": f_ppi, "truth": f_truth,
                        "test_expression": f_test, "validation_expression": f_val, "gene_sets": f_gmt}, fmt, h5ad)
    st.caption("No files at hand? Load the real yeast cell-cycle set (500 genes, 24 time points, a validation "
               "series and a motif prior; Pramila et al. 2006 via PHOENIX, MIT).")
    _ui.load_button("Load yeast cell-cycle data", _ui.load_yeast_demo, icon=":material/biotech:", key="data_load_yeast",
                    help="The bundled files of assets/yeast_demo, as published; the Train page proposes the yeast "
                         "preset.", what="The yeast data", success="Loaded the yeast cell-cycle data.")

with tab_sim:
    st.markdown("Simulate a SIM350-style network with a known true network: inputs, internal regulators and "
                "targets with Hill-type dynamics, noisy observations and a prior with some edges moved.")
    with st.form("sim_form"):
        c1, c2, c3 = st.columns(3)
        n_genes = c1.slider("Genes", 10, 350, 48, step=2, key="sim_genes",
                            help="Network size; inputs, regulators and edges scale with SIM350's proportions.")
        n_traj = c2.slider("Trajectories", 4, 150, 40, key="sim_traj",
                           help="Training + validation time courses (SIM350: 150). A separate test set of a quarter "
                                "of this size is simulated too.")
        noise = c3.slider("Noise σ", 0.0, 0.2, 0.025, step=0.005, format="%.3f", key="sim_noise",
                          help="Standard deviation of the Gaussian observation noise (0.025 = the paper's 5% noise).")
        c4, c5, c6 = st.columns(3)
        tie = c4.checkbox("Tie prior corruption to noise", value=True, key="sim_tie",
                          help="As in SIM350: the share of prior edges moved at random is σ / 0.5.")
        corruption = c5.slider("Prior corruption", 0.0, 1.0, 0.05, step=0.01, key="sim_corr", disabled=tie,
                               help="Share of the true edges that are moved to random wrong places in the prior.")
        seed = c6.number_input("Seed", 0, 10_000, 0, key="sim_seed",
                               help="Same seed and settings give exactly the same data.")
        go = st.form_submit_button("Simulate", type="primary", icon=":material/science:",
                                   help="Simulate and make the result the active dataset.")
    if go:
        from dash_core.simulate import SimulationConfig, simulate

        try:
            cfg = SimulationConfig.scaled(int(n_genes), n_trajectories=int(n_traj),
                                          n_test_trajectories=max(2, int(n_traj) // 4), noise_sigma=float(noise),
                                          prior_corruption=None if tie else float(corruption), seed=int(seed),
                                          name=f"sim{int(n_genes)}_s{int(seed)}")
            with st.spinner("Simulating…"):
                sim = simulate(cfg)
            _ui.activate_dataset(sim.dataset, gene_sets=sim.gene_sets, source="simulation",
                                 description=f"Simulated {cfg.n_genes} genes, {cfg.n_edges} true edges, "
                                             f"{cfg.n_trajectories} trajectories, noise σ = {cfg.noise_sigma}.")
            st.success(f"Simulated {cfg.n_genes} genes ({cfg.n_edges} true edges) × {cfg.n_trajectories} "
                       "trajectories.", icon=":material/check_circle:")
        except DashInputError as exc:
            st.error(str(exc), icon=":material/error:")

st.divider()
st.header("Active dataset")
dataset = _ui.require_dataset()
if dataset is not None:
    from dash_core.io import orientation_preview
    from dash_core.plots import trajectories_figure

    man = _ui.active_manifest() or {}
    lo, hi = dataset.expression.value_range()
    c = st.columns(4)
    c[0].metric("Genes", dataset.n_genes, help="Genes measured in every trajectory (the model's gene index).")
    c[1].metric("Trajectories", dataset.expression.n_trajectories,
                help="Time courses used for training and validation.")
    c[2].metric("Observations", dataset.expression.n_observations, help="Time points summed over trajectories.")
    c[3].metric("Value range", f"{lo:.3g} – {hi:.3g}", help="Smallest and largest expression value; the models "
                "expect values roughly in [0, 1].")
    if man.get("description"):
        st.caption(man["description"])

    st.subheader("Validation report")
    lines = [tuple(x) for x in man.get("validation", [])]
    if lines:
        _ui.show_validation(lines)
    else:
        st.caption("No problems were found.")

    if lo < -0.5 or hi > 1.5:
        st.warning(f"Expression values range from {lo:.4g} to {hi:.4g}, far outside [0, 1]. The models expect "
                   "values near [0, 1]; min-max scaling maps the smallest value to 0 and the largest to 1.",
                   icon=":material/straighten:")
        if st.button("Scale to [0, 1]", key="minmax", icon=":material/straighten:",
                     help="Min-max scale all expression values (test set with the same range) and make the scaled "
                          "data the active dataset."):
            from dash_core.io import minmax_scale_dataset

            scaled, (a, b) = minmax_scale_dataset(dataset)
            _ui.activate_dataset(scaled, source=(man.get("source") or "upload") + ", min-max scaled",
                                 gene_sets_file=(_ui.active_dataset_dir() / "gene_sets.gmt")
                                 if "gene_sets" in man.get("files", {}) else None,
                                 description=f"{man.get('description', '')} Min-max scaled from [{a:.4g}, {b:.4g}].")
            st.rerun()

    st.subheader("Networks")
    cov = man.get("coverage") or {}
    nets = {k: getattr(dataset, k) for k in ("prior", "ppi", "truth") if getattr(dataset, k) is not None}
    if not nets:
        st.info("No prior network was given: only the data-driven strategies (IMP, L0, C-NODE, PathReg, SynFlow, "
                "SparseFlow) can be trained.")
    else:
        names = {"prior": "Prior", "ppi": "PPI", "truth": "Gold standard"}
        rows = []
        for k, edges in nets.items():
            cv = cov.get(k, {})
            rows.append({"network": names[k], "edges used": len(edges),
                         "edges in file": cv.get("n_edges", len(edges)),
                         "network genes in data": f"{cv.get('n_in_data', '—')} of {cv.get('n_prior_genes', '—')}",
                         "data genes covered": f"{100 * cv.get('fraction_data_genes_in_prior', np.nan):.0f}%"
                         if cv else "—",
                         "activating": int((edges["weight"] > 0).sum()),
                         "repressing": int((edges["weight"] < 0).sum())})
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        kind = st.radio("Orientation preview of", list(nets), format_func=lambda k: names[k], horizontal=True,
                        key="orient_kind", help="Check that rows are regulators and columns are targets: a TF's "
                                                "row should hold its targets.")
        prev = orientation_preview(nets[kind], dataset.genes, k=8)
        st.caption(f"First 8 genes: **rows = regulator (source)**, **columns = target**; entry = weight of "
                   f"regulator → target (0 = no edge). {names[kind]}, {len(nets[kind])} edges.")
        st.dataframe(prev.style.format("{:g}"))
        with st.expander("Edge list (regulator → target)"):
            st.dataframe(nets[kind].rename(columns={"source": "regulator (source)", "target": "target"}),
                         hide_index=True, height=240)

    st.subheader("Trajectories")
    ex = dataset.expression
    names_tr = [t.name for t in ex.trajectories]
    c1, c2 = st.columns([1, 2])
    chosen_tr = c1.multiselect("Trajectories", names_tr, default=names_tr[:2], max_selections=4, key="traj_pick",
                               help="Up to four time courses, one panel each.")
    variances = np.var(np.concatenate([t.values for t in ex.trajectories]), axis=0)
    default_genes = [ex.genes[i] for i in np.argsort(-variances)[:4]]
    chosen_genes = c2.multiselect("Genes", ex.genes, default=default_genes, max_selections=10, key="gene_pick",
                                  help="Genes to plot (default: the four with the largest variance).")
    if chosen_tr and chosen_genes:
        idx = [names_tr.index(n) for n in chosen_tr]
        st.plotly_chart(trajectories_figure(ex, idx, chosen_genes), key="traj_fig", config={"displaylogo": False})
    else:
        st.caption("Pick at least one trajectory and one gene.")
