"""Home: what DASH Studio does, one-click demo, links into the workflow."""

from __future__ import annotations

import streamlit as st

from pages import _ui

st.title("DASH Studio")
st.markdown(
    "DASH Studio learns **gene regulatory networks** from time-series expression data with neural ODEs "
    "(PHOENIX) whose effect matrix says which regulator drives which target. "
    "It **prunes** these models with prior knowledge (DASH: known TF→target motifs and protein interactions) "
    "so that only a small, readable network remains while the fit stays good. "
    "You can load the demo or your own data, train and compare pruning strategies, explore the λ trade-off, "
    "and inspect and download the resulting networks."
)

left, right = st.columns([1, 1], gap="large")
with left:
    st.subheader("Start with the demo")
    st.caption("48 simulated genes with a known true network, a slightly wrong prior, a PPI-like "
               "co-regulation table and matching gene sets — everything needed for every page.")
    if _ui.load_button("Load demo dataset", _ui.load_demo, primary=True, icon=":material/play_arrow:", key="load_demo",
                       help="Load the bundled demo (assets/demo: expression, prior, truth, PPI, gene sets) as the "
                            "active dataset of this browser session.", what="The demo"):
        st.session_state["home_demo_loaded"] = True
    st.caption("Or real data: the yeast cell cycle (500 genes, 24 time points and a second series for validation, "
               "a motif prior; Pramila et al. 2006, from the PHOENIX paper), loaded with the paper's yeast settings.")
    _ui.load_button("Load yeast cell-cycle data", _ui.load_yeast_demo, icon=":material/biotech:", key="load_yeast_demo",
                    help="Load the bundled real yeast set (assets/yeast_demo, files as published) with the 'yeast' "
                         "preset proposed on the Train page.", what="The yeast data")
    man = _ui.active_manifest()
    if man is not None:
        st.success(f"Active dataset: **{man.get('name')}** — {man.get('n_genes')} genes, "
                   f"{man.get('n_trajectories')} trajectories.", icon=":material/check_circle:")
        st.page_link(_ui.PAGES["train"], label="Next: train and prune a model", icon=":material/arrow_forward:")

with right:
    st.subheader("Workflow")
    st.page_link(_ui.PAGES["data"], label="1 · Data — upload, validate or simulate", icon=":material/dataset:")
    st.page_link(_ui.PAGES["train"], label="2 · Train & prune — launch a background run",
                 icon=":material/model_training:")
    st.page_link(_ui.PAGES["lambda"], label="3 · λ explorer — sweep the prior weights", icon=":material/scatter_plot:")
    st.page_link(_ui.PAGES["results"], label="4 · Results — metrics, heatmaps, network, downloads",
                 icon=":material/insights:")
    st.page_link(_ui.PAGES["compare"], label="5 · Compare runs", icon=":material/compare:")
    st.page_link(_ui.PAGES["learn"], label="New here? The guided walkthrough", icon=":material/school:")

runs = _ui.get_store().list_runs(top_level=True, limit=5)
if runs:
    st.subheader("Recent runs")
    for r in runs:
        c1, c2 = st.columns([4, 1])
        c1.markdown(f"{_ui.STATUS_ICONS.get(r.status, '')} **{r.display_name}** · {r.kind} · {r.status}")
        if r.kind == "train" and r.status in ("completed", "cancelled") and c2.button(
                "Open", key=f"home_open_{r.run_id}", help="Show this run on the Results page."):
            _ui.open_results(r.run_id)
