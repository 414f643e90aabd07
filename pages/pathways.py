"""Pathways: gene influence scores of trained models and gene-set tests (methods notes A.6, G).

Thin UI: the analysis is :mod:`dash_core.pathways` (run as the background job
``pathways``), the figures are :mod:`dash_core.plots.pathways`. Run-store access
is kept in the small helpers at the top of this file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import streamlit as st

from dash_core.io.errors import DashInputError
from dash_core.io.gmt import gene_set_coverage, read_gmt
from dash_core.labels import plain_columns
from dash_core.plots.pathways import (
    gene_influence_figure,
    gsea_figure,
    influence_rank_figure,
    pathway_comparison_figure,
)
from pages import _ui

JOB_KIND = "pathways"
_JOB_KEY = "pw_job"
TESTS = {
    "Influence sum (paper, G.1)": ("pathways", "z"),
    "Module coherence (influence within the set)": ("modules", "z"),
}
PLOT_CFG = {"displaylogo": False}


# ----------------------------------------------------------------------------- run-store access (few, isolated)
def trained_runs():
    return _ui.finished_train_runs(_ui.get_store())


def pathway_jobs():
    from dash_core.runs.store import CANCELLED, COMPLETED

    return [r for r in _ui.get_store().list_runs(kind=JOB_KIND, status=(COMPLETED, CANCELLED))
            if (r.path / "pathway_runs.json").is_file()]


def get_run(run_id: str):
    return _ui.get_store().find(run_id)


def run_genes(rec) -> list[str]:
    p = rec.path / "genes.txt"
    return [g for g in p.read_text().splitlines() if g] if p.is_file() else []


def dataset_gmt(rec) -> Path | None:
    folder = _ui.run_dataset_dir(rec)
    if folder is None:
        return None
    p = Path(folder) / "gene_sets.gmt"
    return p if p.is_file() else None


# ----------------------------------------------------------------------------- helpers
def _save_upload(data: bytes) -> Path:
    folder = _ui.session_dir() / "gene_sets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.gmt"
    if not path.is_file():
        path.write_bytes(data)
    return path


@st.cache_data(show_spinner=False, max_entries=16)
def _parse_gmt(path: str, mtime: float):
    sets, report = read_gmt(path)
    return sets, [(i.level, str(i.message)) for i in report.issues]


def _read_table(folder: Path, name: str) -> pd.DataFrame | None:
    df = _ui.read_csv(folder / f"{name}.csv")
    return df


def _download(df: pd.DataFrame | None, name: str, key: str, what: str) -> None:
    if df is None:
        return
    st.download_button(f"Download {name}", df.to_csv(index=False).encode(), file_name=name, mime="text/csv",
                       key=key, help=f"Save {what} as CSV.", icon=":material/download:")


# ----------------------------------------------------------------------------- page
st.title("Pathways")
st.caption("Which gene sets does a trained model rely on? **Influence scores**: start the learned ODE "
           "from random states, perturb one gene's start value and measure how much all other genes move. "
           "**Influence sum** (the DASH paper's test, G.1) ranks a gene set by the summed influence of its genes "
           "against random sets (permutations); it favours sets of strong regulators. **Module coherence** asks "
           "whether a set's genes drive each other — e.g. a regulator and its targets. gseapy (offline) adds "
           "preranked GSEA and over-representation of the top regulators and targets.")

tab_new, tab_res = st.tabs(["New analysis", "Results"])

with tab_new:
    runs = trained_runs()
    if not runs:
        st.info("No finished training run yet. Train a model on **Train & prune** first (the demo trains in "
                "seconds), then come back here.")
        st.page_link(_ui.PAGES["train"], label="Train & prune", icon=":material/model_training:")
    else:
        choices = _ui.run_choices(runs)
        ids = list(choices)
        selected = st.multiselect(
            "Trained runs", ids, default=ids[:1], format_func=choices.get, key="pw_runs",
            help="One or more finished training runs; their results are shown side by side. Runs must share "
                 "gene names with the gene sets.")
        first = get_run(selected[0]) if selected else None
        sources = ["Demo gene sets", "Gene sets of the run's dataset", "Upload a GMT file"]
        source = st.radio(
            "Gene sets", sources, horizontal=True, key="pw_source",
            help="Demo: the simulated regulons (REGULON_<regulator> = a regulator and its targets; the module "
                 "test should find them), co-regulation programs (PROGRAM_<regulator> = a regulator and the "
                 "regulators sharing targets with it; the influence test should find them) and random decoy sets "
                 "(neither test should). Dataset: the GMT stored with the run's dataset, if any. Upload: your own GMT file "
                 "(name<TAB>description<TAB>gene1<TAB>gene2...). Only local files are used — no internet.")
        gmt_path: Path | None = None
        if source == sources[0]:
            p = _ui.DEMO_DIR / "gene_sets.gmt"
            gmt_path = p if p.is_file() else None
            if gmt_path is None:
                st.warning("The demo gene-set file is missing from assets/demo; upload a GMT file instead.")
        elif source == sources[1]:
            gmt_path = dataset_gmt(first) if first is not None else None
            if first is not None and gmt_path is None:
                st.info("The first selected run's dataset has no gene sets; use the demo sets or upload a file.")
        else:
            up = st.file_uploader("GMT file", type=["gmt", "txt"], key="pw_upload",
                                  help="Tab-separated: set name, description, then the member genes; one set per "
                                       "line. Gene names must match the model's gene names.")
            if up is not None:
                gmt_path = _save_upload(up.getvalue())

        sets: dict[str, list[str]] | None = None
        if gmt_path is not None:
            try:
                sets, lines = _parse_gmt(str(gmt_path), gmt_path.stat().st_mtime)
                _ui.show_validation(lines)
            except DashInputError as exc:
                st.error(str(exc).replace(str(gmt_path.parent) + "/", ""), icon=":material/error:")
        if sets is not None and first is not None:
            cov = gene_set_coverage(sets, run_genes(first))
            n_ok = int((cov["n_in_data"] > 0).sum())
            st.caption(f"{len(sets)} gene sets; {n_ok} share genes with the model of **{first.display_name}**.")
            with st.expander("Coverage of the gene sets"):
                st.dataframe(cov, hide_index=True, column_config={
                    "fraction": st.column_config.ProgressColumn("fraction in model", min_value=0.0, max_value=1.0,
                                                                format="%.2f")})
            if n_ok == 0:
                st.error("No gene set shares a gene with the model: check that the GMT uses the same gene names.")

        with st.expander("Settings", expanded=False):
            c1, c2, c3 = st.columns(3)
            n_samples = c1.number_input(
                "Random starts N_s", 10, 2000, 200, step=10, key="pw_samples",
                help="Random start states per gene (DASH: 200, PHOENIX: 60). More starts = smoother scores, "
                     "proportionally slower.")
            start = c2.selectbox(
                "Start distribution", ["centered", "unit"], key="pw_start",
                format_func={"centered": "U(−½, ½) (reference)", "unit": "U(0, 1) (data range)"}.get,
                help="Where the random starts are drawn. The reference uses U(−½, ½), which lies outside the [0, 1] "
                     "range of the training data; U(0, 1) stays inside it.")
            seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="pw_seed",
                                   help="Seed of the random starts and of the permutations (results are reproducible).")
            c1, c2, c3 = st.columns(3)
            n_perm = c1.number_input(
                "Permutations B", 50, 100000, 500, step=50, key="pw_perm",
                help="Random gene-set draws for the null distribution (reference 500). For exact empirical "
                     "p-values that can pass Bonferroni, use at least 20 × the number of gene sets.")
            alpha = c2.number_input("Significance level", 0.001, 0.5, 0.05, step=0.01, format="%.3f", key="pw_alpha",
                                    help="Pathways with Bonferroni-corrected p (normal approximation) below this "
                                         "level are marked * in the charts.")
            top_k = c3.number_input("Top-k genes (gseapy)", 3, 500, 10, key="pw_topk",
                                    help="How many top regulators (by influence) and top targets (of the strongest "
                                         "learned edges) enter the over-representation test.")
            c1, c2 = st.columns(2)
            run_gsea = c1.checkbox("Also run gseapy", True, key="pw_gsea",
                                   help="Preranked GSEA on log(influence) and over-representation (hypergeometric) "
                                        "of the top-k genes, with the same local gene sets.")
            gsea_perm = c2.number_input("GSEA permutations", 100, 10000, 1000, step=100, key="pw_gsea_perm",
                                        help="Permutations of preranked GSEA (≥ 1000 recommended).")

        disabled = not selected or sets is None
        if st.button("Run pathway analysis", type="primary", key="pw_launch", disabled=disabled,
                     icon=":material/play_arrow:",
                     help="Starts a background job: influence scores for every selected run, then the tests. "
                          "You can leave the page; the job keeps running."):
            params = {
                "runs": [{"run_id": r, "label": get_run(r).display_name, "path": str(get_run(r).path)}
                         for r in selected],
                "gene_sets": str(gmt_path),
                "config": {"influence": {"n_samples": int(n_samples), "start": start, "seed": int(seed)},
                           "n_permutations": int(n_perm), "alpha": float(alpha), "top_k": int(top_k),
                           "run_gsea": bool(run_gsea), "gsea": {"permutation_num": int(gsea_perm), "seed": int(seed)},
                           "seed": int(seed)},
            }
            label = "pathways · " + ", ".join(get_run(r).display_name for r in selected)[:80]
            job = _ui.launch_job(JOB_KIND, params, label=label, with_dataset=False)
            if job is not None:
                st.session_state[_JOB_KEY] = job
                st.session_state["pw_result"] = job
                st.toast("Pathway analysis started.")
        job = st.session_state.get(_JOB_KEY)
        if job is not None and get_run(job) is not None:
            _ui.job_status_panel(job, show_curves=False, key="pw_live")
            rec = get_run(job)
            if rec is not None and not rec.active and rec.status == "completed":
                st.success("Done — see the **Results** tab.")

with tab_res:
    jobs = pathway_jobs()
    if not jobs:
        st.info("No pathway analysis has finished yet. Start one on the **New analysis** tab.")
    else:
        jchoices = _ui.run_choices(jobs)
        jids = list(jchoices)
        if st.session_state.get("pw_result") not in jchoices:
            st.session_state["pw_result"] = jids[0]
        job_id = st.selectbox("Analysis", jids, format_func=jchoices.get, key="pw_result",
                              help="Finished pathway analyses, newest first.")
        jrec = get_run(job_id)
        try:
            entries = json.loads((jrec.path / "pathway_runs.json").read_text())
        except (OSError, json.JSONDecodeError):
            entries = []
        entries = [e for e in entries if (Path(e["folder"]) / "pathways.csv").is_file()]
        if not entries:
            st.warning("This analysis has no result files.")
            st.stop()
        c1, c2 = st.columns([2, 1])
        test = c1.radio("Test", list(TESTS), horizontal=True, key="pw_test",
                        help="Influence sum: the paper's test (sum of influence scores vs random sets). Module "
                             "coherence: share of the set's influence that stays inside the set (our extension; "
                             "suits regulator + target sets).")
        top = c2.slider("Pathways shown", 5, 50, 20, key="pw_top",
                        help="Number of top pathways (by z-score) per run in the chart.")
        table_name, value = TESTS[test]
        tables = {e["label"]: _read_table(Path(e["folder"]), table_name) for e in entries}
        tables = {k: v for k, v in tables.items() if v is not None}
        st.plotly_chart(pathway_comparison_figure(tables, top=int(top), value=value), key="pw_chart",
                        config=PLOT_CFG)
        what = ("summed influence of its genes" if table_name == "pathways" else
                "share of its genes' influence that stays inside the set")
        st.caption(f"Bars: z-score of each gene set's {what} against random gene sets of the same size; red with * = "
                   "significant after Bonferroni correction of the normal-approximation p-value (the headline "
                   "p-value; the table also lists the permutation p-values).")
        if table_name == "pathways" and not any(bool(t["significant"].any()) for t in tables.values() if len(t)):
            st.info("No gene set is significant with the influence-sum test. Sets made of one regulator and its "
                    "targets (like the demo's regulons) rarely are: the targets themselves carry little influence. "
                    "Switch to **Module coherence** to ask whether a set's genes drive each other.")

        for i, e in enumerate(entries):
            folder = Path(e["folder"])
            t = tables.get(e["label"])
            with st.expander(f"Table: {e['label']}", expanded=len(entries) == 1):
                if t is not None:
                    st.dataframe(plain_columns(t), hide_index=True, key=f"pw_table_{i}")
                    _download(t, f"{table_name}_{e['run_id']}.csv", f"pw_dl_{i}", f"the {test} table")
                infl = _read_table(folder, "influence")
                _download(infl, f"influence_{e['run_id']}.csv", f"pw_dl_infl_{i}", "the influence scores")

        st.subheader("Drill-down")
        labels = [e["label"] for e in entries]
        c1, c2 = st.columns(2)
        which = c1.selectbox("Run", range(len(entries)), format_func=lambda k: labels[k], key="pw_dd_run",
                             help="The run whose influence scores are shown.")
        e = entries[int(which)]
        t = tables.get(e["label"])
        infl = _read_table(Path(e["folder"]), "influence")
        if t is not None and len(t) and infl is not None:
            pathway = c2.selectbox("Pathway", list(t["pathway"]), key="pw_dd_pathway",
                                   help="Gene set whose genes' influence scores are shown (listed by z-score).")
            row = t[t["pathway"] == pathway].iloc[0]
            members = [g for g in str(row.get("genes", "")).split(";") if g]
            scores = infl.set_index("gene")["influence"].astype(float)
            d1, d2 = st.columns(2)
            d1.plotly_chart(gene_influence_figure(scores, members, title=f"{pathway}: influence of its genes"),
                            key="pw_dd_bars", config=PLOT_CFG)
            d2.plotly_chart(influence_rank_figure(scores, members, title="All genes by influence"),
                            key="pw_dd_rank", config=PLOT_CFG)
            st.caption(f"z = {float(row['z']):.2f}, p (normal) = {float(row['p_norm']):.3g}, Bonferroni p = "
                       f"{float(row['p_bonferroni']):.3g}, permutation p = {float(row['p_perm']):.3g}, corrected "
                       f"permutation p = {float(row['p_corrected']):.3g}.")

        with st.expander("gseapy: preranked GSEA and over-representation"):
            gsea_tables = {name: _read_table(Path(e["folder"]), name)
                           for name in ("gsea_prerank", "enrich_regulators", "enrich_targets")}
            g = gsea_tables["gsea_prerank"]
            if g is None or not len(g):
                st.info("No gseapy results for this run (turned off, or no gene set of a usable size).")
            else:
                st.plotly_chart(gsea_figure(g, title="Preranked GSEA on log(influence)"), key="pw_gsea_fig",
                                config=PLOT_CFG)
                st.caption("Only positive NES (enrichment among the most influential genes) are shown; red = FDR "
                           "q < 0.25.")
            for name, df in gsea_tables.items():
                if df is not None and len(df):
                    st.markdown(f"**{name.replace('_', ' ')}**")
                    st.dataframe(plain_columns(df), hide_index=True, key=f"pw_gsea_{name}")
                    _download(df, f"{name}_{e['run_id']}.csv", f"pw_dl_{name}", f"the {name} table")
