"""Train & prune: choose model, strategy, λ and schedule; launch a background run and watch it live."""

from __future__ import annotations

import dataclasses
import typing

import streamlit as st

from dash_core.experiment import RunConfig
from dash_core.integrate import SolverConfig
from dash_core.io.errors import DashInputError
from dash_core.models import MODELS, ModelConfig
from dash_core.presets import PRESETS, apply_preset, describe_presets
from dash_core.pruning import STRATEGIES, PruningConfig
from dash_core.pruning.display import strategy_display, strategy_label
from pages import _ui

st.title("Train & prune")
dataset = _ui.require_dataset()
if dataset is None:
    st.stop()

_SHOWN = {"lambda_ppi", "lambda_motif", "first_epoch", "first_amount", "interval", "amount"}

# Presets: the papers' settings per kind of data; they set the defaults of the controls below.
_manifest = _ui.active_manifest() or {}
_preset_names = ["(none)", *PRESETS.names()]
_suggested = _manifest.get("preset")
preset = st.selectbox(
    "Preset", _preset_names, index=_preset_names.index(_suggested) if _suggested in _preset_names else 0,
    key=f"tr_preset_{_suggested}",
    help="The papers' settings for a kind of data (model size, learning rate, epochs, batching, pruning schedule, "
         "λ). They fill in the controls below; anything you change there overrides the preset.")
preset = None if preset == "(none)" else preset
if preset:
    info = next(d for d in describe_presets() if d["name"] == preset)
    st.caption(f"**{preset}**: {info['description']}. *Source: {info['citation']}.*")
    with st.expander("What this preset changes"):
        st.table({"setting": list(info["settings"]), "value": [str(v) for v in info["settings"].values()]})
    if _suggested == preset:
        st.caption("Proposed for this dataset.")
_BASE = apply_preset(RunConfig(), preset)
_DEF_P = _BASE.pruning
_DEF_T = _BASE.train
if st.session_state.get("tr_preset_applied", "(unset)") != preset:
    # a new preset: forget the controls' values, so that they start again from the preset's settings
    for _key in [k for k in st.session_state if str(k).startswith(("tr_", "adv_")) and k not in (
            "tr_preset_applied", f"tr_preset_{_suggested}", "tr_model", "tr_strategy", "tr_seed", "tr_device")]:
        del st.session_state[_key]
    st.session_state["tr_preset_applied"] = preset


@st.cache_resource(show_spinner=False)
def _gpu() -> str | None:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def _advanced_pruning_widgets(strategy: str) -> dict:
    """One widget per PruningConfig field that ``strategy`` reads (others keep their defaults)."""
    from dash_core.cli.args import field_docs

    hints = typing.get_type_hints(PruningConfig)
    docs = field_docs(PruningConfig)
    wanted = set(strategy_display(strategy).options) - _SHOWN
    values = {}
    fields = [f for f in dataclasses.fields(PruningConfig) if f.name in wanted]
    if not fields:
        st.caption("This strategy has no further options.")
        return values
    cols = st.columns(3)
    for i, f in enumerate(fields):
        tp, default, col = hints[f.name], getattr(_DEF_P, f.name), cols[i % 3]
        label = f.name.replace("_", " ").capitalize()
        tip = f"{docs.get(f.name, '')}. Default: {default!r}.".lstrip(". ")
        key = f"adv_{f.name}"
        if tp is bool:
            values[f.name] = col.checkbox(label, value=default, key=key, help=tip)
        elif typing.get_origin(tp) is typing.Literal:
            opts = list(typing.get_args(tp))
            values[f.name] = col.selectbox(label, opts, index=opts.index(default), key=key, help=tip)
        elif tp is int:
            values[f.name] = int(col.number_input(label, value=int(default), step=1, key=key, help=tip))
        elif tp is float:
            values[f.name] = float(col.number_input(label, value=float(default), format="%.6g", key=key, help=tip))
    return values


st.caption(f"Dataset **{dataset.name}**: {dataset.n_genes} genes, {dataset.expression.n_trajectories} trajectories"
           + ("" if dataset.prior is not None else " — no prior network"))

c_model, c_strat = st.columns(2, gap="large")
with c_model:
    st.subheader("Model")
    model_name = st.selectbox("Base model", MODELS.names(), key="tr_model",
                              format_func=lambda n: n.upper() if n == "mlp" else n.capitalize(),
                              help="\n\n".join(f"**{e.name}**: {e.description} ({e.citation})" for e in MODELS.entries()))
    st.caption(MODELS.get(model_name).description)
    hidden = st.number_input("Hidden units per branch", 2, 400, 50 if model_name == "mlp" else _BASE.model.hidden,
                             step=1, key=f"tr_hidden_{model_name}",
                             help="Width h of each branch (SIM350: 40; the MLP ablation uses 50). Smaller is faster.")
with c_strat:
    st.subheader("Pruning strategy")
    names = STRATEGIES.names()
    strategy = st.selectbox("Strategy", names, index=names.index("dash") if "dash" in names else 0, key="tr_strategy",
                            format_func=strategy_label,
                            help="How the model is made sparse. Prior-informed strategies need a prior network.")
    shown = strategy_display(strategy)
    entry = STRATEGIES.get(strategy)
    st.markdown(f"{entry.description}  \n*{entry.citation}*")
    uses_prior = bool(entry.extra.get("uses_prior"))
    if uses_prior and dataset.prior is None:
        st.warning("This strategy uses the prior network, but the dataset has none. Load a prior on the Data page "
                   "or choose a data-only strategy.", icon=":material/warning:")

st.subheader("Prior weights λ")
c1, c2, c3 = st.columns(3)
lam_ppi = c1.slider("λ_PPI (input layers)", 0.0, 1.0, _DEF_P.lambda_ppi, step=0.005, key="tr_lppi",
                    disabled=not shown.uses_lambda,
                    help="DASH: weight of the PPI / co-regulation prior in the pruning score of the input layers; "
                         "0 = pure magnitude (IMP), 1 = prior only (BioPrune). SIM default 0.5.")
lam_motif = c2.slider("λ_motif (output layers)", 0.0, 1.0, _DEF_P.lambda_motif, step=0.005, key="tr_lmotif",
                      disabled=not shown.uses_lambda,
                      help="DASH: weight of the TF→target motif prior in the pruning score of the output layers. "
                           "SIM default 0.05.")
_preset_ld = apply_preset(RunConfig(strategy=strategy), preset).train.lambda_data
default_ld = float(entry.obj.default_lambda_data if _preset_ld is None else _preset_ld)
own_ld = c3.checkbox(f"Set λ_data (strategy default {default_ld:g})", value=False, key="tr_own_ld",
                     help="Weight of the data term in the loss; 1 − λ_data weights the prior soft loss. Unpruned "
                          "PHOENIX and PINN+MP use 0.99, the pruning strategies 1.")
lam_data = c3.slider("λ_data", 0.0, 1.0, default_ld, step=0.001, format="%.3f", key=f"tr_ldata_{strategy}", disabled=not own_ld,
                     help="1 = fit the data only; lower values pull the model towards the prior during training.")
if not shown.uses_lambda:
    st.caption(f"{shown.label} does not use λ_PPI and λ_motif (only DASH mixes prior and weight size; BioPrune "
               "fixes them at 1, IMP at 0).")

st.subheader("Pruning schedule and training")
c1, c2, c3, c4 = st.columns(4)
_no_schedule = "first_epoch" not in shown.options
first_epoch = c1.number_input("First pruning epoch", 1, 1000, _DEF_P.first_epoch, key="tr_e0", disabled=_no_schedule,
                              help="Epoch of the first pruning event (e₀; SIM: 3).")
first_amount = c2.slider("First amount", 0.0, 0.99, _DEF_P.first_amount, step=0.01, key="tr_a0", disabled=_no_schedule,
                         help="Share of each layer's weights removed at the first event (SIM: 0.70).")
interval = c3.number_input("Interval (epochs)", 1, 1000, _DEF_P.interval, key="tr_interval", disabled=_no_schedule,
                           help="Later events every this many epochs (Δ; SIM: 10).")
amount = c4.slider("Later amount", 0.0, 0.9, _DEF_P.amount, step=0.01, key="tr_amount", disabled=_no_schedule,
                   help="Share of the remaining weights removed at every later event (SIM: 0.10).")
c1, c2, c3, c4 = st.columns(4)
max_epochs = c1.number_input("Max epochs", 1, 5000, _DEF_T.max_epochs, key="tr_epochs",
                             help="Upper bound on training epochs (SIM: 200). Use a few epochs for a quick look.")
patience = c2.number_input("Early-stopping patience", 0, 1000, _DEF_T.patience, key="tr_patience",
                           help="Stop after this many epochs without a better validation MSE (0 = never stop early).")
seed = c3.number_input("Seed", 0, 1_000_000, 0, key="tr_seed",
                       help="One seed for the split, initialisation and pruning: same seed, same run.")
gpu = _gpu()
device = c4.selectbox("Device", ["auto", "cpu", "cuda"], key="tr_device",
                      help="auto = the GPU when one is found, else the CPU.")
c4.caption(f"GPU found: {gpu}" if gpu else "No GPU found: auto uses the CPU.")

with st.expander("Advanced options"):
    c1, c2, c3 = st.columns(3)
    lr = c1.number_input("Learning rate", 1e-5, 1.0, _DEF_T.lr, format="%.5f", key="tr_lr",
                         help="Initial Adam learning rate (reset after every pruning event).")
    solver = c2.selectbox("ODE solver", ["rk4", "dopri5", "euler"], key="tr_solver",
                          help="rk4 (fixed steps, fast, default), dopri5 (adaptive, tolerance 1e-7/1e-9), euler.")
    _batchings = ["auto", "trajectory", "pairs"]
    batching = c3.selectbox("Batching", _batchings, index=_batchings.index(_DEF_T.batching), key="tr_batching",
                            help="One optimiser step per trajectory (SIM, hema) or random mini-batches of observation "
                                 "pairs (a single time course: breast, yeast); auto chooses by the number of "
                                 "trajectories.")
    mgrad = c1.selectbox("Gene-multiplier gradient", ["straight_through", "relu"], key="tr_mgrad",
                         disabled=model_name != "phoenix",
                         help="PHOENIX freezes a gene when its multiplier g drops below 0. straight_through "
                              "(default) still lets the data bring such a gene back; relu (the reference) freezes it "
                              "for good, which on simulated data loses a few genes that clearly move.")
    min_sp = c2.slider("Minimum sparsity of the reported model", 0.0, 0.99, 0.0, step=0.01, key="tr_min_sparsity",
                       help="0 = report the epoch with the best validation MSE (the paper's rule). Above 0: report "
                            "the best epoch among those at least this sparse, so that runs can be compared at a fixed "
                            "sparsity; early stopping waits until the model is that sparse.")
    st.markdown(f"**Options of {shown.label}**")
    extra = _advanced_pruning_widgets(strategy)

label = st.text_input("Run label", value=f"{shown.label.split(' ')[0]} on {dataset.name} · {model_name} h{int(hidden)} · "
                                        f"seed {int(seed)}",
                      key=f"tr_label_{strategy}_{model_name}_{int(hidden)}_{int(seed)}_{dataset.name}",
                      help="A name to find the run again in Results and Compare runs.")


def _config() -> RunConfig:
    pruning = PruningConfig(lambda_ppi=float(lam_ppi), lambda_motif=float(lam_motif), first_epoch=int(first_epoch),
                            first_amount=float(first_amount), interval=int(interval), amount=float(amount), **extra)
    solver_cfg = SolverConfig.profile("faithful") if solver == "dopri5" else SolverConfig(method=solver)
    train = dataclasses.replace(_DEF_T, lr=float(lr), max_epochs=int(max_epochs), patience=int(patience), batching=batching,
                        checkpoint_min_sparsity=float(min_sp), lambda_data=float(lam_data) if own_ld else None, solver=solver_cfg, device=device)
    base = apply_preset(RunConfig(strategy=strategy), preset)
    pruning = dataclasses.replace(base.pruning, **{f.name: getattr(pruning, f.name)
                                                   for f in dataclasses.fields(PruningConfig)})
    train = dataclasses.replace(base.train, **{k: getattr(train, k) for k in (
        "lr", "max_epochs", "patience", "batching", "checkpoint_min_sparsity", "solver", "device")},
        lambda_data=float(lam_data) if own_ld else base.train.lambda_data)
    cfg = dataclasses.replace(base, model=ModelConfig(model=model_name, hidden=int(hidden), multiplier_grad=mgrad),
                              train=train, strategy=strategy, pruning=pruning, seed=int(seed))
    cfg.train.validate()
    return cfg


try:
    preview = _config()
except DashInputError:
    preview = None  # the error is shown when Launch is pressed
else:
    st.caption(f":material/timer: Expected run time: {_ui.train_estimate(preview, dataset)}; early stopping can end "
               "it sooner.")
busy, launch_help = _ui.launch_help(
    "train", {"config": preview.to_dict()} if preview is not None else {},
    "Start training in a background process; this page stays usable and shows live progress.")
if st.button("Launch", type="primary", icon=":material/rocket_launch:", key="tr_launch", help=launch_help,
             disabled=busy):
    try:
        cfg = _config()
    except DashInputError as exc:
        st.error(str(exc))
    else:
        if device == "cuda" and gpu is None:
            st.error("No CUDA GPU was found on this machine; choose auto or cpu.")
        else:
            run_id = _ui.launch_job("train", {"config": cfg.to_dict()}, label=label)
            if run_id:
                st.session_state["train_live_run"] = run_id
                st.rerun()  # redraw with Launch disabled while this job runs

live = st.session_state.get("train_live_run")
if live:
    st.subheader("Live progress")
    if _ui.docked_job() == live:
        st.caption("Shown in the job panel at the top of the page.")
    else:
        _ui.job_status_panel(live, key="train_live")
    rec = _ui.get_store().find(live)
    if rec is not None and rec.status in ("completed", "cancelled") and rec.summary:
        if st.button("Open in Results", type="primary", icon=":material/insights:", key="tr_open",
                     help="Show metrics, heatmaps, the network and downloads of this run."):
            _ui.open_results(live)
