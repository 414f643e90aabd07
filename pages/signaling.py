"""Signaling: LEMBAS-style recurrent signaling models and the self-pruning study (methods notes H, I).

Thin UI: reading and validation are :mod:`dash_core.signaling.data`, training and the study run
as the background jobs ``signaling_train``, ``signaling_cv`` and ``selfprune`` (:mod:`dash_core.signaling.jobs`),
the figures are :mod:`dash_core.signaling.plots` and :func:`dash_core.plots.network_html`.
Edge tables are ``source, target, ...`` (edge ``source -> target``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from dash_core.io.errors import DashInputError
from dash_core.labels import plain_columns
from dash_core.plots import network_html
from dash_core.runs.store import CANCELLED, COMPLETED
from dash_core.signaling import plots as sigplots
from pages import _ui

DEMO_DIR = _ui.ROOT / "assets" / "signaling_demo"
ROLES = {"pkn": "Network (PKN)", "ligands": "Ligand table", "tfs": "TF activity table"}
L2_CHOICES = (1e-6, 1e-5, 1e-4)
TRAIN_KIND, STUDY_KIND, CV_KIND = "signaling_train", "selfprune", "signaling_cv"
PLOT_CFG = {"displaylogo": False}
_DATA = "sig_data"
_TRAIN_RUN = "sig_train_run"
_STUDY_RUN = "sig_study_run"
_CV_RUN = "sig_cv_run"

READOUT_HELP = """
**R1 — share below the median.** The median |W| over all non-zero edge weights splits the edges in
two halves; *share spurious below median* is the % of injected (spurious) edges whose |W| lies below it,
*share PKN below median* the same for the prior-knowledge edges. With no preference both are about 50 %.
Spurious ≫ 50 % (and PKN < 50 %) means training shrank the spurious edges: the model *self-prunes*.
The *signed* variant compares W itself with the median of W (the reference code's form; strongly negative
weights then count as "small"). *Averaged over training* means the share is averaged over all checkpoints
saved during training.

**R2 — share below the 5th percentile.** % of each edge set with |W| below the 5th percentile of |W| over
all edges; the null is 5 %. A large spurious share means many spurious edges are nearly zero.

**R3 — distribution test.** Kolmogorov–Smirnov statistic D between the |W| of spurious and of PKN edges at
the middle checkpoint: D = 0 for identical distributions, up to 1 for completely separated ones. A spurious
ECDF lying left of the PKN ECDF (small weights) with a large D supports self-pruning.

**R4 — magnitude-pruning robustness.** The smallest weights are zeroed cumulatively; the curve is the mean
absolute change of the predictions. A flat curve means many weights can be removed without changing the model.

**Known vs unknown sign.** Spurious edges have no sign and so feel no sign penalty; PKN edges with a known
sign do. The fair contrast for the spurious set is the *unknown-sign* PKN edges.
"""


# ----------------------------------------------------------------------------- small helpers
def _validate_and_launch(validate, params: dict, device: str, kind: str, label: str, state_key: str,
                         message: str) -> None:
    """Check ``params`` with ``validate`` and the device, then start the background job ``kind``."""
    try:
        validate(params)
    except DashInputError as exc:
        st.error(str(exc))
        return
    if device == "cuda" and _gpu() is None:
        st.error("No CUDA GPU was found on this machine; choose auto or cpu.")
        return
    run_id = _ui.launch_job(kind, params, label=label, with_dataset=False)
    if run_id:
        st.session_state[state_key] = run_id
        st.toast(message)


def _job_params(spec: dict, preset: str, epochs: int, device: str, **config) -> dict:
    """Parameters of a signaling job: the dataset's files, the preset and the training settings (``config``
    beside the epochs, the device and a progress point every ~5 % of the epochs, at most every 50)."""
    return {"data": {r: spec[r] for r in ROLES} | {"name": spec["name"]}, "preset": preset,
            "config": {"epochs": int(epochs), "device": device, "eval_every": max(1, min(50, int(epochs) // 20)),
                       **config}}


def _show_live(state_key: str, key: str, *, training: bool | None) -> None:
    """Status panel of the job remembered under ``state_key``, if any, and its live values unless ``training`` is None."""
    live = st.session_state.get(state_key)
    if live and _ui.get_store().find(live) is not None:
        st.subheader("Progress")
        _ui.job_status_panel(live, show_curves=False, key=key)
        if training is not None:
            _live_values(live, training=training)


@st.cache_resource(show_spinner=False)
def _gpu() -> str | None:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def _clean(text: str, prefixes: list[str]) -> str:
    for p in prefixes:
        text = text.replace(p, "")
    return text


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name) or "file.tsv"


def _demo_spec() -> dict:
    """The shipped demo files (re-written into the session folder if they are missing)."""
    folder = DEMO_DIR
    if not all((folder / f"{r}.tsv").is_file() for r in ROLES):
        from dash_core.signaling.synthetic import write_demo

        folder = _ui.session_dir() / "signaling" / "demo"
        write_demo(folder)
    return {**{r: str(folder / f"{r}.tsv") for r in ROLES}, "name": "demo", "source": "demo",
            "prefixes": [str(folder) + "/"]}


def _save_uploads(files: dict) -> dict:
    """Write the three uploads to this session's folder (content-addressed) and return their spec."""
    digest = hashlib.sha256(b"".join(hashlib.sha256(f.getvalue()).digest() for f in files.values())).hexdigest()[:16]
    base = _ui.session_dir() / "signaling" / "uploads" / digest
    spec: dict = {"name": Path(files["pkn"].name).stem or "upload", "source": "upload", "prefixes": []}
    for role, f in files.items():
        folder = base / role
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / _safe_name(f.name)
        if not path.is_file():
            path.write_bytes(f.getvalue())
        spec[role] = str(path)
        spec["prefixes"].append(str(folder) + "/")
    return spec


def _set_data(spec: dict) -> None:
    st.session_state[_DATA] = spec
    (_ui.session_dir() / "signaling.json").write_text(json.dumps(spec))


def _get_data() -> dict | None:
    if _DATA not in st.session_state:
        marker = _ui.session_dir() / "signaling.json"
        spec = None
        if marker.is_file():
            try:
                spec = json.loads(marker.read_text())
            except (OSError, json.JSONDecodeError):
                spec = None
        st.session_state[_DATA] = spec
    spec = st.session_state[_DATA]
    if spec and all(Path(spec.get(r, "")).is_file() for r in ROLES):
        return spec
    return None


@st.cache_data(show_spinner=False, max_entries=8)
def _validate(pkn: str, ligands: str, tfs: str, stamp: tuple, prefixes: tuple) -> dict:
    """Read and validate the three files; a dict with the report lines and a summary, or ``error``."""
    from dash_core.signaling.data import load_signaling_data

    try:
        data = load_signaling_data(pkn, ligands, tfs)
    except DashInputError as exc:
        return {"error": _clean(str(exc), list(prefixes))}
    lines = [(i.level, _clean(f"{i.source}: {i.message}" if i.source else i.message, list(prefixes)))
             for i in data.report.issues]
    stats = data.pkn.stats
    return {
        "lines": lines,
        "n_nodes": data.pkn.n_nodes, "n_edges": data.pkn.n_edges, "signs": data.pkn.sign_counts(),
        "ligands": list(data.ligands.columns), "tfs": list(data.tfs.columns), "n_conditions": data.n_conditions,
        "rows_read": stats.rows_read, "duplicates": stats.duplicate_rows_merged, "conflicts": stats.sign_conflicts,
    }


@st.cache_data(show_spinner=False, max_entries=16)
def _tables(folder: str, name: str, mtime: float) -> pd.DataFrame:
    """``models/*/<name>.csv`` of a study folder concatenated with ``l2, seed`` (cached by results mtime)."""
    from dash_core.signaling.selfprune import load_model_tables

    return load_model_tables(folder, name)


def _stamp(spec: dict) -> tuple:
    return tuple(os.stat(spec[r]).st_mtime_ns for r in ROLES)


def _device_widget(col, key: str) -> str:
    gpu = _gpu()
    device = col.selectbox("Device", ["auto", "cpu", "cuda"], key=key,
                           help="auto = the GPU when one is found, else the CPU. The demo trains fast on a CPU.")
    col.caption(f"GPU found: {gpu}" if gpu else "No GPU found: auto uses the CPU.")
    return device


def _show_html(page: str, height: int) -> None:
    if hasattr(st, "iframe"):
        st.iframe(page, height=height)
    else:  # Streamlit < 1.50
        components.html(page, height=height, scrolling=False)


def _download(df: pd.DataFrame | None, label: str, name: str, key: str, what: str, *, index: bool = False) -> None:
    if df is None:
        return
    st.download_button(label, df.to_csv(index=index).encode(), file_name=name, mime="text/csv", key=key,
                       help=f"Save {what} as CSV.", icon=":material/download:")


def _finished_runs(kind: str, marker: str) -> list:
    store = _ui.get_store()
    return [r for r in store.list_runs(kind=kind) if (r.path / marker).is_file()
            and (kind in (STUDY_KIND, CV_KIND) or r.status in (COMPLETED, CANCELLED))]


def _select_run(runs: list, key: str, wanted: str | None, label: str, help_text: str):
    choices = _ui.run_choices(runs)
    ids = list(choices)
    if wanted in choices and st.session_state.get(f"{key}_last_wanted") != wanted:
        st.session_state[key] = wanted
        st.session_state[f"{key}_last_wanted"] = wanted
    elif st.session_state.get(key) not in choices:
        st.session_state[key] = ids[0]
    run_id = st.selectbox(label, ids, format_func=choices.get, key=key, help=help_text)
    return _ui.get_store().get(run_id)


def _finished_result(kind: str, marker: str, heading: str, key: str, state_key: str, label: str, help_text: str):
    """Heading and run selector over the finished runs of ``kind`` (preferring the one under ``state_key``); None if none."""
    runs = _finished_runs(kind, marker)
    if not runs:
        return None
    st.subheader(heading)
    return _select_run(runs, key, st.session_state.get(state_key), label, help_text)


def _live_values(run_id: str, *, training: bool) -> None:
    """Loss curve and epoch cards (training) or per-model readouts (study), refreshed while the run is active."""
    store = _ui.get_store()
    rec = store.find(run_id)
    if rec is None or not rec.active:
        return

    @st.fragment(run_every=1.0)
    def _values() -> None:
        prog = store.progress(run_id)
        if training:
            if "epoch" not in prog.columns or not prog["epoch"].notna().any():
                st.caption("Waiting for the first epoch …")
                return
            p = prog[prog["epoch"].notna()]
            last = p.iloc[-1]
            c = st.columns(4)
            c[0].metric("Epoch", f"{int(last['epoch'])} / {int(last['max_epochs'])}",
                        help="Epochs done out of the total (the schedule always runs all epochs).")
            c[1].metric("Loss", _ui.format_metric("loss", last.get("loss")),
                        help="Training loss of the last epoch: MSE plus the sign, L2 and spectral terms.")
            tr = p["test_pearson"].dropna() if "test_pearson" in p else pd.Series(dtype=float)
            c[2].metric("Test Pearson r", f"{tr.iloc[-1]:.3f}" if len(tr) else "—",
                        help="Correlation of predicted and measured TF activities on the held-out conditions "
                             "at the last evaluation.")
            eta = last.get("eta_seconds")
            c[3].metric("ETA", _ui.format_duration(eta), help="Estimated time left at the current speed.")
            hist = p.rename(columns={"train_mse": "mse"})
            st.plotly_chart(sigplots.training_curve_figure(hist[[c for c in ("epoch", "loss", "mse", "test_mse")
                                                                 if c in hist]]),
                            key=f"sig_live_curve_{run_id}", config=PLOT_CFG)
        else:
            if "l2" not in prog.columns or not prog["l2"].notna().any():
                st.caption("Waiting for the first model to finish …")
                return
            cols = [c for c in ("l2", "seed", "share_spurious_below_median", "share_pkn_below_median",
                                "ks_statistic", "test_pearson") if c in prog]
            st.dataframe(prog[prog["l2"].notna()][cols], hide_index=True, key=f"sig_live_models_{run_id}")

    _values()


# ----------------------------------------------------------------------------- page
st.title("Signaling")
st.caption("Biology-informed recurrent signaling networks (LEMBAS): ligands drive a prior-knowledge "
           "network (PKN) of signed edges to a steady state whose transcription-factor (TF) nodes are fitted to "
           "measured TF activities. The **self-pruning study** injects spurious edges into the PKN and "
           "asks whether training with an L2 penalty shrinks them away.")
tab_data, tab_train, tab_cv, tab_study = st.tabs(["Data", "Train", "Cross-validation", "Self-pruning study"])

# ------------------------------------------------------------------ data
with tab_data:
    c1, c2 = st.columns([1, 3])
    if c1.button("Load demo", type="primary", key="sig_demo", icon=":material/science:",
                 help="The bundled synthetic demo: 40 nodes, 91 edges, 6 ligands, 8 TFs and 60 conditions "
                      "simulated from a known ground-truth model (assets/signaling_demo)."):
        _set_data(_demo_spec())
    c2.caption("Or upload your own three tables below. Node IDs must be the same in all three files "
               "(e.g. UniProt accessions).")
    with st.expander("Upload files", expanded=_get_data() is None):
        u = st.columns(3)
        ups = {
            "pkn": u[0].file_uploader(
                "PKN (TSV)", type=["tsv", "txt", "csv"], key="sig_up_pkn",
                help="Prior knowledge network: columns source, target, stimulation, inhibition (0/1); one row per "
                     "directed edge source → target. Other columns are ignored."),
            "ligands": u[1].file_uploader(
                "Ligand table (TSV)", type=["tsv", "txt", "csv"], key="sig_up_ligands",
                help="Rows = conditions (first column = condition name), columns = ligand node IDs, values = "
                     "ligand amounts (0/1 or concentrations)."),
            "tfs": u[2].file_uploader(
                "TF table (TSV)", type=["tsv", "txt", "csv"], key="sig_up_tfs",
                help="Rows = conditions (same names as in the ligand table), columns = TF node IDs, values = TF "
                     "activities in [0, 1]."),
        }
        if st.button("Use uploaded files", key="sig_up_use", disabled=any(v is None for v in ups.values()),
                     icon=":material/upload:", help="Validate the three uploaded files and make them the active "
                                                     "signaling data (needs all three)."):
            _set_data(_save_uploads(ups))

    spec = _get_data()
    info = None
    if spec is None:
        st.info("No signaling data loaded yet: click **Load demo** or upload a PKN, a ligand and a TF table.")
    else:
        info = _validate(spec["pkn"], spec["ligands"], spec["tfs"], _stamp(spec), tuple(spec.get("prefixes", [])))
        st.subheader(f"Validation: {spec.get('name', 'data')}")
        if "error" in info:
            st.error(info["error"], icon=":material/error:")
            info = None
        else:
            _ui.show_validation(info["lines"])
            s = info["signs"]
            c = st.columns(4)
            c[0].metric("Nodes", info["n_nodes"], help="Distinct proteins (sources and targets) of the PKN.", border=True)
            c[1].metric("Edges", info["n_edges"], help=f"Directed edges after merging duplicates ({info['rows_read']} "
                        f"rows read, {info['duplicates']} duplicate rows merged, {info['conflicts']} sign "
                        "conflicts).", border=True)
            c[2].metric("Ligands", len(info["ligands"]), help="Ligand columns found in the network.", border=True)
            c[3].metric("TFs", len(info["tfs"]), help="TF columns found in the network.", border=True)
            c = st.columns(4)
            c[0].metric("Stimulating", s["stimulation"], help="Edges with stimulation = 1 (sign +1).", border=True)
            c[1].metric("Inhibiting", s["inhibition"], help="Edges with inhibition = 1 (sign −1).", border=True)
            c[2].metric("Unknown sign", s["unknown"], help="Edges with no or conflicting sign (0).", border=True)
            c[3].metric("Conditions", info["n_conditions"], help="Conditions present in both tables.", border=True)
            with st.expander("Ligands and TFs found"):
                st.markdown("**Ligands:** " + ", ".join(info["ligands"]))
                st.markdown("**TFs:** " + ", ".join(info["tfs"]))

# ------------------------------------------------------------------ train
with tab_train:
    from dash_core.signaling.config import PRESETS as _SIG_PRESETS
    from dash_core.signaling.config import preset as _preset

    if info is None:
        st.info("Load valid signaling data on the **Data** tab first.")
    else:
        st.subheader("Train one model")
        c = st.columns(4)
        preset_name = c[0].selectbox(
            "Preset", ["self_prune", "package", "lembas_synthetic"], key="sig_tr_preset",
            format_func={"self_prune": "self-pruning study (I.2)", "package": "LEMBAS package (H)",
                         "lembas_synthetic": "minibatches, larger data"}.get,
            help="Starting settings. " + " ".join(
                f"**{n}**: {_SIG_PRESETS.get(n).description}." for n in ("self_prune", "package", "lembas_synthetic")))
        base = _preset(preset_name)
        epochs = c[1].number_input("Epochs", 1, 100_000, 400, step=50, key="sig_tr_epochs",
                                   help="Training epochs (the study uses 5,000; 400 fit the demo well in seconds).")
        l2 = c[2].number_input("L2 weight λ_L2", 0.0, 1.0, 1e-6, format="%.1e", step=1e-6, key="sig_tr_l2",
                               help="Weight of the L2 penalty on all weights and biases (study levels: 1e-6, "
                                    "1e-5, 1e-4).")
        lr = c[3].number_input("Learning rate (peak)", 1e-6, 1.0, float(base.lr_max), format="%.1e", step=1e-4,
                               key=f"sig_tr_lr_{preset_name}",
                               help="Peak of the cosine learning-rate schedule (warm-up from lr_start, then "
                                    "down to lr_end).")
        c = st.columns(4)
        seed = c[0].number_input("Seed", 0, 1_000_000, 0, key="sig_tr_seed",
                                 help="Fixes the train/test split, the initial weights and all noise.")
        n_test = c[1].number_input("Test conditions", 1, max(1, info["n_conditions"] - 1),
                                   min(5, max(1, info["n_conditions"] - 1)), key="sig_tr_test",
                                   help="Conditions held out (chosen at random with the seed) to measure how well "
                                        "the model predicts unseen ligand combinations.")
        device = _device_widget(c[2], "sig_tr_device")
        label = c[3].text_input("Run label", value=f"signaling · {spec['name']} · seed {int(seed)}",
                                key="sig_tr_label", help="A name to find the run again below and in the sidebar.")
        if st.button("Train", type="primary", key="sig_tr_launch", icon=":material/rocket_launch:",
                     help="Start training in a background process; this page stays usable and shows live "
                          "progress."):
            from dash_core.signaling.jobs import training_config

            params = _job_params(spec, preset_name, epochs, device, lambda_l2=float(l2), lr_max=float(lr),
                                 seed=int(seed), test_size=int(n_test))
            _validate_and_launch(training_config, params, device, TRAIN_KIND, label, _TRAIN_RUN, "Training started.")

        _show_live(_TRAIN_RUN, "sig_tr_live", training=True)

    rec = _finished_result(TRAIN_KIND, "metrics.json", "Results", "sig_tr_result", _TRAIN_RUN, "Training run",
                           "Finished signaling training runs, newest first.")
    if rec is not None:
        folder = rec.path
        m = _ui.read_json(folder / "metrics.json")
        if rec.status == CANCELLED or (rec.summary or {}).get("stopped"):
            st.info(f"This run was stopped after {m.get('epochs_done', '?')} epochs; the model as trained so far "
                    "is shown.")
        c = st.columns(4)
        c[0].metric("Test Pearson r", f"{m['test_pearson']:.3f}" if m.get("test_pearson") is not None else "—",
                    help="Pearson correlation of predicted and measured TF activities over all held-out "
                         "conditions and TFs (1 = perfect).", border=True)
        c[1].metric("Test MSE", f"{m['test_mse']:.3g}" if m.get("test_mse") is not None else "—",
                    help="Mean squared error of the TF activities on the held-out conditions.", border=True)
        c[2].metric("Train Pearson r", f"{m['train_pearson']:.3f}" if m.get("train_pearson") is not None else "—",
                    help="The same correlation on the training conditions.", border=True)
        c[3].metric("Epochs", m.get("epochs_done", "—"), help="Epochs trained.", border=True)
        pred_path, tf_path = folder / "predictions.csv", folder / "inputs" / "tfs.tsv"
        hist = _ui.read_csv(folder / "history.csv")
        g1, g2 = st.columns(2)
        if pred_path.is_file() and tf_path.is_file():
            from dash_core.signaling.data import read_condition_table

            pred = pd.read_csv(pred_path, dtype={"condition": str}).set_index("condition")
            try:
                observed = read_condition_table(tf_path, what="TF")
            except DashInputError as exc:
                observed = None
                g1.warning(f"The run's TF table can no longer be read: {exc}")
            if observed is not None:
                g1.plotly_chart(sigplots.prediction_scatter(pred, observed), key="sig_tr_scatter", config=PLOT_CFG)
                g1.caption("Each point is one TF in one condition; points on the diagonal are predicted exactly.")
        if hist is not None and not hist.empty:
            g2.plotly_chart(sigplots.training_curve_figure(hist), key="sig_tr_hist", config=PLOT_CFG)
        d = st.columns(3)
        with d[0]:
            _download(_ui.read_csv(pred_path), "Predictions (CSV)", f"{rec.run_id}_predictions.csv",
                      "sig_tr_dl_pred", "the predicted TF activities (conditions x TFs, with the split)")
        with d[1]:
            _download(_ui.read_csv(folder / "edges.csv"), "Edge weights (CSV)", f"{rec.run_id}_edges.csv",
                      "sig_tr_dl_edges", "the learned weights (source, target, sign, weight)")
        if (folder / "model.pt").is_file():
            d[2].download_button("Checkpoint (.pt)", (folder / "model.pt").read_bytes(),
                                 file_name=f"{rec.run_id}_model.pt", mime="application/octet-stream",
                                 key="sig_tr_dl_ckpt", icon=":material/download:",
                                 help="Model state_dict; reload with dash_core.signaling.load_checkpoint (needs the "
                                      "config.json of the run folder).")

# ------------------------------------------------------------------ self-pruning study
with tab_cv:
    from dash_core.signaling.cv import FOLDS_FILE as CV_FILE
    from dash_core.signaling.cv import PER_TF_FILE, PREDICTIONS_FILE
    from dash_core.signaling.cv import SUMMARY_FILE as CV_SUMMARY

    if info is None:
        st.info("Load valid signaling data on the **Data** tab first.")
    else:
        st.subheader("Cross-validate")
        st.caption("Train one model per fold on the other conditions and predict the held-out ones (LEMBAS's "
                   "protocol: leave one condition out). The pooled Pearson r runs over every held-out condition × TF "
                   "value; the baseline predicts each TF by its mean over the fold's training conditions.")
        c = st.columns(4)
        cv_preset = c[0].selectbox("Preset", ["package", "lembas_cv", "self_prune"], key="sig_cv_preset",
                                   format_func={"self_prune": "self-pruning study (I.2)", "package": "LEMBAS package (H)",
                                                "lembas_cv": "LEMBAS macrophage CV script"}.get,
                                   help="Training settings of every fold: the package settings (H), or those of "
                                        "LEMBAS's own macrophage cross-validation script (T_max 100, batches of 5, "
                                        "spectral term 1e-3 with target 0.955, implicit gradient).")
        fold_mode = c[1].selectbox("Folds", ["leave one condition out", "K-fold"], key="sig_cv_mode",
                                   help="Leave one out: one fold per condition. K-fold: conditions shuffled and cut "
                                        "into K parts.")
        k_folds = c[2].number_input("K", 2, max(2, info["n_conditions"]), min(5, max(2, info["n_conditions"])),
                                    key="sig_cv_k", disabled=fold_mode != "K-fold", help="Number of folds (K-fold only).")
        cv_epochs = c[3].number_input("Epochs", 1, 100_000, 400, step=50, key="sig_cv_epochs",
                                      help="Epochs per fold (LEMBAS: 5,000; 400 suit the demo).")
        c = st.columns(4)
        cv_seed = c[0].number_input("Seed", 0, 10_000, 0, key="sig_cv_seed",
                                    help="Seeds every fold's initialisation and noise.")
        cv_workers = c[1].number_input("Workers", 1, max(1, os.cpu_count() or 1), 1, key="sig_cv_workers",
                                       help="Folds trained in parallel processes.")
        cv_stack = c[2].number_input("Folds per stack", 0, 1000, 1, key="sig_cv_stack",
                                     help="Folds trained together in one pass (0 = all of a worker's folds). On a GPU "
                                          "stacking is much faster; on a CPU 1 writes each fold as soon as it is done.")
        cv_device = _device_widget(c[3], "sig_cv_device")
        n_folds = info["n_conditions"] if fold_mode != "K-fold" else int(k_folds)
        st.caption(f"{n_folds} folds × {int(cv_epochs)} epochs.")
        cv_label = st.text_input("Run label", value=f"cross-validation · {spec['name']}", key="sig_cv_label",
                                 help="A name to find the run again below and in the sidebar.")
        if st.button("Run cross-validation", type="primary", key="sig_cv_launch", icon=":material/play_arrow:",
                     help="Start in a background process; folds appear below as they finish."):
            from dash_core.signaling.jobs import training_config

            params = _job_params(spec, cv_preset, cv_epochs, cv_device, seed=int(cv_seed)) | {
                "cv": {"folds": "loo" if fold_mode != "K-fold" else int(k_folds), "stack_size": int(cv_stack)},
                "executor": {"workers": int(cv_workers)}}
            _validate_and_launch(training_config, params, cv_device, CV_KIND, cv_label, _CV_RUN,
                                 "Cross-validation started.")
        _show_live(_CV_RUN, "sig_cv_live", training=None)

    crec = _finished_result(CV_KIND, CV_SUMMARY, "Cross-validation results", "sig_cv_result", _CV_RUN, "Run",
                            "Cross-validation runs with at least one finished fold, newest first.")
    if crec is not None:
        cdir = crec.path
        summary = _ui.read_json(cdir / CV_SUMMARY)
        folds_table = _ui.read_csv(cdir / CV_FILE)
        if not summary.get("folds") or folds_table is None:
            st.info("No fold of this run has finished yet.")
        else:
            if crec.active:
                st.caption(f"{summary['folds']} of {summary['folds_total']} folds finished; the run is still going.")
            c = st.columns(5)
            fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
            c[0].metric("Pooled r", fmt(summary.get("pooled_pearson")), border=True,
                        help="Pearson r over every held-out condition × TF value (as LEMBAS reports it).")
            c[1].metric("Baseline r", fmt(summary.get("baseline_pooled_pearson")), border=True,
                        help="The same r for predicting each TF by its mean over the fold's training conditions: "
                             "what the model has to beat.")
            c[2].metric("Linear r (+ pairs)", f"{fmt(summary.get('ridge_pooled_pearson'))} "
                        f"({fmt(summary.get('ridge_pairwise_pooled_pearson'))})", border=True,
                        help="The same r for a model without a network: ridge regression of the TF activities on "
                             "the ligand amounts (in brackets: with every ligand pair's product), its penalty chosen "
                             "by leave-one-out on each fold's training conditions. A network model should beat it.")
            c[3].metric("Mean per-fold r", fmt(summary.get("mean_fold_pearson")), border=True,
                        help="Mean over folds of r across the held-out values of the fold (leave one out: across "
                             "the TFs of the one held-out condition).")
            c[4].metric("Folds", f"{summary['folds']} / {summary['folds_total']}", border=True,
                        help=f"Finished folds; {summary.get('wall_seconds', 0) / 60:.1f} min of training in all.")
            data_tfs = None
            try:
                from dash_core.signaling.data import read_condition_table

                data_tfs = read_condition_table(cdir / "inputs" / "tfs.tsv", what="TF")
            except (DashInputError, OSError) as exc:
                st.warning(f"The run's TF table can no longer be read: {exc}")
            preds = _ui.read_csv(cdir / PREDICTIONS_FILE)
            if preds is not None:
                preds = preds.set_index(preds.columns[0])
            t_scatter, t_folds, t_tf = st.tabs(["Predicted vs measured", "Per fold", "Per TF"])
            with t_scatter:
                if preds is not None and data_tfs is not None:
                    st.plotly_chart(sigplots.cv_scatter(preds, data_tfs, summary), key="sig_cv_scatter",
                                    config=PLOT_CFG)
            with t_folds:
                st.dataframe(folds_table, hide_index=True, key="sig_cv_folds")
                _download(folds_table, "Per-fold results (CSV)", f"{crec.run_id}_cv.csv", "sig_cv_dl_folds",
                          "one row per fold")
            with t_tf:
                per_tf = _ui.read_csv(cdir / PER_TF_FILE)
                if per_tf is not None:
                    st.dataframe(per_tf.sort_values("pearson", ascending=False), hide_index=True, key="sig_cv_tf")
                    _download(per_tf, "Per-TF results (CSV)", f"{crec.run_id}_per_tf.csv", "sig_cv_dl_tf",
                              "r and MSE per TF across held-out conditions")
            st.caption(f"Resume or complete from the command line: python -m dash_core signaling cv --pkn … --ligands … "
                       f"--tfs … --out {cdir} (finished folds are kept).")

with tab_study:
    from dash_core.signaling.selfprune import (
        CONFIG_FILE as STUDY_CONFIG,
    )
    from dash_core.signaling.selfprune import (
        RESULTS_FILE,
        SUMMARY_FILE,
        ks_readout,
        model_folder,
        pooled_abs_weights,
    )

    if info is None:
        st.info("Load valid signaling data on the **Data** tab first.")
    else:
        st.subheader("Run a self-pruning study")
        st.caption("For every L2 level and seed: inject random spurious edges (unknown sign) into the PKN, train with "
                   "the self-pruning settings and compare the learned |W| of spurious and PKN edges.")
        c = st.columns(3)
        n_spurious = c[0].number_input("Spurious edges", 0, 100_000, 100, step=10, key="sig_sp_spurious",
                                       help="Random node pairs that are not PKN edges, added to every model "
                                            "(study: 100). Self-loops can be drawn.")
        l2_pick = c[1].multiselect("L2 levels", list(L2_CHOICES), default=list(L2_CHOICES), key="sig_sp_l2",
                                   format_func=lambda v: f"{v:g}",
                                   help="λ_L2 values to compare: 1e-6 (low), 1e-5 (medium), 1e-4 (high).")
        custom = c[2].text_input("Custom L2 levels", "", key="sig_sp_l2_custom", placeholder="e.g. 3e-5, 1e-3",
                                 help="Further L2 levels, comma separated (numbers ≥ 0).")
        c = st.columns(4)
        n_seeds = c[0].number_input("Seeds", 1, 100, 5, key="sig_sp_seeds",
                                    help="Replicates per L2 level (seeds 0 … K−1); each seed draws its own spurious "
                                         "edges and split. The study used 50.")
        sp_epochs = c[1].number_input("Epochs", 1, 100_000, 400, step=50, key="sig_sp_epochs",
                                      help="Epochs per model (study: 5,000; 400 suit the demo).")
        workers = c[2].number_input("Workers", 1, max(1, os.cpu_count() or 1), 1, key="sig_sp_workers",
                                    help="Models trained in parallel processes (1 = one after the other in the job "
                                         "process).")
        sp_device = _device_widget(c[3], "sig_sp_device")
        levels = [float(v) for v in l2_pick]
        bad_custom = None
        for tok in [t for t in re.split(r"[,\s;]+", custom.strip()) if t]:
            try:
                v = float(tok)
            except ValueError:
                bad_custom = tok
                continue
            if v < 0 or v != v:
                bad_custom = tok
            elif not any(abs(v - w) <= 1e-12 * max(1.0, abs(w)) for w in levels):
                levels.append(v)
        levels = sorted(levels)
        if bad_custom is not None:
            st.error(f"Custom L2 level {bad_custom!r} is not a number ≥ 0; write e.g. 3e-5, 1e-3.")
        free = info["n_nodes"] ** 2 - info["n_edges"]
        n_models = len(levels) * int(n_seeds)
        st.caption(f"{n_models} models ({len(levels)} L2 levels × {int(n_seeds)} seeds) of {int(sp_epochs)} epochs; "
                   f"{free} node pairs are free for spurious edges.")
        sp_label = st.text_input("Study label", value=f"self-pruning · {spec['name']} · {int(n_spurious)} spurious",
                                 key="sig_sp_label", help="A name to find the study again below and in the sidebar.")
        disabled = not levels or bad_custom is not None or int(n_spurious) > free
        if int(n_spurious) > free:
            st.error(f"Only {free} node pairs are not already edges; choose at most {free} spurious edges.")
        if st.button("Run study", type="primary", key="sig_sp_launch", icon=":material/play_arrow:", disabled=disabled,
                     help="Start the study in a background process; results appear below as models finish."):
            from dash_core.signaling.jobs import study_config

            params = _job_params(spec, "self_prune", sp_epochs, sp_device) | {
                "study": {"n_spurious": int(n_spurious), "l2_levels": levels, "seeds": list(range(int(n_seeds)))},
                "executor": {"workers": int(workers)}}
            _validate_and_launch(study_config, params, sp_device, STUDY_KIND, sp_label, _STUDY_RUN,
                                 "Self-pruning study started.")
        _show_live(_STUDY_RUN, "sig_sp_live", training=False)

    srec = _finished_result(STUDY_KIND, RESULTS_FILE, "Study results", "sig_sp_result", _STUDY_RUN, "Study",
                            "Self-pruning studies with at least one finished model, newest first.")
    if srec is not None:
        sdir = srec.path
        table = _ui.read_csv(sdir / RESULTS_FILE)
        if table is None or table.empty:
            st.info("No model of this study has finished yet.")
        else:
            summary = _ui.read_csv(sdir / SUMMARY_FILE)
            stamp = (sdir / RESULTS_FILE).stat().st_mtime

            if srec.active:
                st.caption(f"{len(table)} model(s) finished so far; the study is still running.")
            r_heat, r_w, r_prune, r_net, r_table = st.tabs(
                ["Readouts", "|W| distributions", "Pruning robustness", "Network", "Table"])
            with r_heat:
                st.plotly_chart(sigplots.readout_heatmap(table), key="sig_sp_heatmap", config=PLOT_CFG)
                st.caption("Mean over seeds, colour centred at the 50 % null of R1: red = more than half of the set "
                           "lies below the median |W| (the set was shrunk).")
                trace = _tables(str(sdir), "trace", stamp)
                if not trace.empty:
                    signed = st.checkbox("Signed median (reference form)", False, key="sig_sp_signed",
                                         help="Compare W (not |W|) with the median of W, as the reference code did.")
                    st.plotly_chart(sigplots.checkpoint_share_figure(trace, signed=signed), key="sig_sp_ckpt",
                                    config=PLOT_CFG)
                with st.expander("What the readouts mean", expanded=False):
                    st.markdown(READOUT_HELP)
            with r_w:
                edges_all = _tables(str(sdir), "edges", stamp)
                c = st.columns(2)
                wcol = c[0].radio("Weights at", ["weight_mid", "weight_final"], horizontal=True, key="sig_sp_wcol",
                                  format_func={"weight_mid": "middle checkpoint (R3)",
                                               "weight_final": "end of training"}.get,
                                  help="The study's distribution test uses the middle checkpoint (epoch ≈ E/2).")
                split = c[1].checkbox("Split PKN by sign", True, key="sig_sp_splitpkn",
                                      help="Show known-sign and unknown-sign PKN edges as separate curves.")
                if edges_all.empty:
                    st.info("No per-model edge tables were found.")
                else:
                    st.plotly_chart(sigplots.weight_ecdf_figure(edges_all, column=wcol, split_pkn=split),
                                    key="sig_sp_ecdf", config=PLOT_CFG)
                    long = pooled_abs_weights(edges_all, wcol)
                    rows = []
                    for lv, grp in long.groupby("l2"):
                        spur = grp.loc[grp["set"] == "spurious", "abs_weight"].to_numpy()
                        d_all, p_all = ks_readout(spur, grp.loc[grp["set"] != "spurious", "abs_weight"].to_numpy())
                        d_unk, p_unk = ks_readout(spur, grp.loc[grp["set"] == "pkn_unknown", "abs_weight"].to_numpy())
                        rows.append({"λ_L2": f"{lv:g}", "KS D (vs all PKN)": d_all, "p": p_all,
                                     "KS D (vs unknown-sign PKN)": d_unk, "p (unknown)": p_unk,
                                     "models": int(grp["seed"].nunique())})
                    st.dataframe(pd.DataFrame(rows), hide_index=True, key="sig_sp_ks",
                                 column_config={"p": st.column_config.NumberColumn(format="%.2e"),
                                                "p (unknown)": st.column_config.NumberColumn(format="%.2e")})
                    st.caption("|W| pooled over seeds, log x-axis. A spurious curve left of the PKN curves means "
                               "smaller spurious weights; KS D measures the largest vertical gap between the curves.")
            with r_prune:
                pruning = _tables(str(sdir), "pruning", stamp)
                st.plotly_chart(sigplots.pruning_curve_figure(pruning), key="sig_sp_pruning", config=PLOT_CFG)
                st.caption("R4: the smallest weights (by |W|, middle checkpoint) are zeroed in blocks; the y-axis is "
                           "the mean absolute change of all TF predictions against the unpruned model.")
            with r_net:
                keys = list(zip(table["l2"], table["seed"]))
                c = st.columns([2, 2, 2, 1])
                pick = c[0].selectbox("Model", range(len(keys)), key="sig_sp_model",
                                      format_func=lambda i: f"λ_L2 = {keys[i][0]:g}, seed {int(keys[i][1])}",
                                      help="One trained model of the study (L2 level and seed).")
                nwcol = c[1].radio("Weights at", ["weight_final", "weight_mid"], horizontal=True, key="sig_sp_nwcol",
                                   format_func={"weight_mid": "middle", "weight_final": "end"}.get,
                                   help="Learned weights at the end of training or at the middle checkpoint.")
                l2_sel, seed_sel = keys[int(pick)]
                epath = model_folder(sdir, float(l2_sel), int(seed_sel)) / "edges.csv"
                medges = _ui.read_csv(epath)
                if medges is None or medges.empty:
                    st.info("This model's edge table is missing.")
                else:
                    etab = sigplots.network_edge_table(medges, weight_column=nwcol)
                    etab = etab[etab["abs_weight"] > 0]
                    n_e = len(etab)
                    top_k = c[2].slider("Edges shown", 1, max(2, min(400, n_e)), min(80, max(1, n_e)),
                                        key="sig_sp_topk", help="The strongest edges by |W| are drawn.")
                    with_spur = c[3].checkbox("All spurious", True, key="sig_sp_allspur",
                                              help="Also draw every spurious edge, however small its weight.")
                    shown = etab.head(int(top_k))
                    if with_spur:
                        shown = pd.concat([shown, etab[etab["spurious"]]]).drop_duplicates(["source", "target"])
                    pkn_edges = shown.loc[~shown["spurious"], ["source", "target"]].assign(weight=1.0)
                    if len(shown) == 0:
                        st.info("No edge with a non-zero weight.")
                    else:
                        page = network_html(shown[["source", "target", "weight"]],
                                            truth=pkn_edges if len(pkn_edges) else None, top_k=len(shown),
                                            color_by="status" if len(pkn_edges) else "sign")
                        page = (page.replace("</span>true positive", "</span>PKN edge")
                                .replace("</span>false positive", "</span>spurious (injected) edge")
                                .replace(" (TP)", " (PKN)").replace(" (FP)", " (spurious)"))
                        _show_html(page, 620)
                        st.caption(f"{len(shown)} of {n_e} edges. Green = PKN edge, orange dashed = spurious edge; "
                                   "line width ∝ |W|. Hover an edge for its learned weight.")
                    _download(etab, "Edge table (CSV)", f"{srec.run_id}_l2_{l2_sel:g}_seed_{int(seed_sel)}_edges.csv",
                              "sig_sp_dl_edges", "this model's edges (source, target, weight, sign, spurious)")
            with r_table:
                st.dataframe(plain_columns(table), hide_index=True, key="sig_sp_table")
                c = st.columns(3)
                with c[0]:
                    _download(table, "Per-model readouts (CSV)", f"{srec.run_id}_selfprune.csv", "sig_sp_dl_table",
                              "one row per model with all readouts")
                with c[1]:
                    _download(summary, "Summary per L2 (CSV)", f"{srec.run_id}_selfprune_summary.csv",
                              "sig_sp_dl_summary", "means and s.d. over seeds per L2 level, with pooled KS tests")
                cfg_path = sdir / STUDY_CONFIG
                if cfg_path.is_file():
                    c[2].download_button("Settings (JSON)", cfg_path.read_text(), file_name=f"{srec.run_id}_config.json",
                                         mime="application/json", key="sig_sp_dl_cfg", icon=":material/download:",
                                         help="The study's settings (re-run with python -m dash_core signaling "
                                              "selfprune).")
