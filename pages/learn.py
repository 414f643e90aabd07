"""Learn: a guided walkthrough on the demo — priors, λ, and why pruning helps interpretability."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dash_core.metrics import balanced_accuracy
from dash_core.network import classify_edges, edges_to_matrix, gene_order
from dash_core.plots import lambda_mixing_figure, network_heatmaps_figure
from pages import _ui

st.title("Learn")
st.markdown(
    "**Pruning gene-regulatory models with prior knowledge.** This walkthrough uses the **demo** (48 simulated genes whose true network is known). Each step has a small "
    "control with an explanation next to it; nothing here starts long computations unless you press a button.")


@st.cache_data(show_spinner=False, max_entries=24)
def _demo(corruption: float | None):
    from dash_core.simulate import SimulationConfig, simulate

    sim = simulate(SimulationConfig.demo(prior_corruption=corruption))
    ds = sim.dataset
    return list(ds.genes), ds.prior, ds.truth


st.header("1 · What is a prior?")
c_ctrl, c_text = st.columns([1, 2], gap="large")
with c_ctrl:
    corr = st.slider("Prior corruption", 0.0, 1.0, 0.05, step=0.05, key="learn_corr",
                     help="Share of the true edges moved to random wrong places when the prior is built.")
with c_text:
    st.markdown(
        "A **prior** is what is already believed about who regulates whom — e.g. transcription-factor binding "
        "motifs in promoters, or ChIP-seq peaks. It is a regulator × target table of edges, usually incomplete and "
        "partly wrong. Move the slider to see how a prior degrades as more of its edges are misplaced: the models "
        "use it as a hint, and DASH also uses it to decide which weights to keep.")
genes, prior, truth = _demo(float(corr))
tagged = classify_edges(prior, truth)
n_tp = int((tagged["status"] == "TP").sum())
P, A = edges_to_matrix(prior, genes), edges_to_matrix(truth, genes)
m1, m2, m3 = st.columns(3)
m1.metric("Prior edges", len(prior), help="Edges listed in the prior.")
m2.metric("Of them true", f"{n_tp} ({n_tp / max(1, len(prior)):.0%})",
          help="Prior edges that are also in the true network.")
m3.metric("Balanced accuracy of the prior", f"{balanced_accuracy(P, A):.3f}",
          help="How well the prior alone recovers the true network (0.5 = chance, 1 = perfect).")
st.plotly_chart(network_heatmaps_figure({"True network": A, "Prior": P}, genes, gene_order(A, genes), height=380),
                key="learn_prior", config={"displaylogo": False})

st.header("2 · What does λ do?")
c_ctrl, c_text = st.columns([1, 2], gap="large")
with c_ctrl:
    lam = st.slider("λ (prior weight)", 0.0, 1.0, 0.5, step=0.05, key="learn_lambda",
                    help="0 = keep the largest weights (magnitude pruning, IMP); 1 = keep what the prior supports "
                         "(BioPrune); in between = DASH.")
    amount = st.slider("Share pruned", 0.1, 0.9, 0.7, step=0.1, key="learn_amount",
                       help="Fraction of the weights removed in this pruning event (the SIM schedule starts with 70%).")
with c_text:
    st.markdown(
        "At every pruning event DASH scores each weight by **Ω = λ · prior score + (1 − λ) · |weight|** (both "
        "normalised) and removes the lowest-scoring ones. The toy example below has 6 hidden units × 8 genes; the "
        "prior supports genes 0–2 only. With λ = 0 the largest weights survive wherever they are; raising λ moves "
        "the surviving weights onto the genes the prior supports. λ_PPI sets this for the input layers, λ_motif for "
        "the output layers. This toy mixes the two scores as a convex weight (the option *normalize prior term*). "
        "The default, like the authors' released code, leaves the prior score un-normalised: its scale then drifts "
        "from event to event, so in practice the prior decides first and the weight size breaks ties — the setting "
        "for which the paper's λ values were tuned.")
rng = np.random.default_rng(7)
magnitude = np.abs(rng.normal(size=(6, 8)))
prior_score = np.zeros((6, 8))
prior_score[:, :3] = 1.0 + rng.uniform(0, 0.3, size=(6, 3))
st.plotly_chart(lambda_mixing_figure(magnitude, prior_score, float(lam), float(amount)), key="learn_mix",
                config={"displaylogo": False})

st.header("3 · Why does pruning help interpretability?")
st.markdown(
    f"A dense model connects every gene to every other: with {len(genes)} genes its effect matrix E has up to "
    f"{len(genes) ** 2:,} non-zero entries, while the true demo network has {len(truth)} edges. Such a 'hairball' "
    "fits the data but cannot be read. Pruning removes most weights; if the right ones are kept (that is what the "
    "prior helps with), E becomes a short list of regulator → target edges you can check, plot and test.")
store = _ui.get_store()
own = st.session_state.get("learn_runs", [])
c1, c2 = st.columns([1, 2], gap="large")
with c1:
    epochs = st.number_input("Epochs for the two quick runs", 1, 200, 30, key="learn_epochs",
                             help="More epochs give better models but take longer (about a second per epoch here).")
    from dash_core.pruning import PruningConfig

    sched = PruningConfig()
    events = 0 if epochs < sched.first_epoch else 1 + (int(epochs) - sched.first_epoch) // sched.interval
    kept = (1 - sched.first_amount) * (1 - sched.amount) ** max(0, events - 1)
    too_short = events == 0
    if too_short:
        st.error(f"With {int(epochs)} epochs DASH never prunes: its first pruning event is at epoch "
                 f"{sched.first_epoch}. Choose at least {sched.first_epoch + 2 * sched.interval} epochs for this "
                 "lesson.", icon=":material/block:")
    elif events < 3:
        st.warning(f"With {int(epochs)} epochs DASH prunes only {events} time{'s' if events > 1 else ''} (at most "
                   f"{1 - kept:.0%} of the weights removed), so the two networks will differ less than in the paper. "
                   f"{sched.first_epoch + 2 * sched.interval} or more epochs show the lesson better.",
                   icon=":material/warning:")
    if st.button("Train unpruned PHOENIX and DASH on the demo", type="primary", key="learn_go",
                 icon=":material/play_arrow:", disabled=too_short,
                 help="Loads the demo if needed and starts two background runs with the same settings except the "
                      "strategy."):
        from dash_core.experiment import RunConfig
        from dash_core.models import ModelConfig
        from dash_core.pruning import STRATEGIES
        from dash_core.train import TrainConfig

        man = _ui.active_manifest()
        if man is None or man.get("source") != "demo":
            _ui.load_demo()
        ids = []
        for strat in [s for s in ("none", "dash") if s in STRATEGIES]:
            cfg = RunConfig(model=ModelConfig(hidden=16), train=TrainConfig(max_epochs=int(epochs)), strategy=strat)
            rid = _ui.launch_job("train", {"config": cfg.to_dict()}, label=f"Learn: {strat} ({int(epochs)} epochs)")
            if rid:
                ids.append(rid)
        st.session_state["learn_runs"] = ids
        own = ids
with c2:
    st.markdown(
        "The two runs share data, model size and seed; only the strategy differs. When both are done, compare the "
        "number of edges and the balanced accuracy — DASH should keep far fewer edges and more of them true.")
if own:
    for rid in own:
        _ui.job_status_panel(rid, show_curves=False, key=f"learn_{rid}")
    done = [store.find(r) for r in own]
    done = [r for r in done if r is not None and r.status == "completed" and r.summary]
    if len(done) == len(own):
        cols = st.columns(len(done))
        for col, r in zip(cols, done):
            m = r.metrics
            col.metric(r.display_name, f"{r.summary.get('n_edges', '—')} edges",
                       help="Non-zero entries of the effect matrix E.")
            col.caption(f"sparsity {_ui.format_metric('sparsity', m.get('sparsity'))} · balanced accuracy "
                        f"{_ui.format_metric('balanced_accuracy', m.get('balanced_accuracy'))}")
        st.page_link(_ui.PAGES["compare"], label="Compare them in detail", icon=":material/compare:")

st.header("Next steps")
st.page_link(_ui.PAGES["lambda"], label="Sweep λ on the λ explorer and find the sparse-and-accurate corner",
             icon=":material/scatter_plot:")
st.page_link(_ui.PAGES["data"], label="Bring your own data on the Data page", icon=":material/dataset:")
