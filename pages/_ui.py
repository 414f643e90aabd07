"""Shared UI helpers of the DASH Studio pages: session, active dataset, run store, sidebar, formatting.

UI only: the science lives in :mod:`dash_core`, figures in :mod:`dash_core.plots`.
Other pages (pathways, signaling) use :func:`get_store`, :func:`active_dataset`,
:func:`active_dataset_dir`, :func:`require_dataset`, :func:`launch_job`,
:func:`job_status_panel` and :func:`format_metric`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import streamlit as st

from dash_core.io.errors import DashInputError
from dash_core.runs.store import (
    CANCELLED,
    COMPLETED,
    FAILED,
    QUEUED,
    RUNNING,
    RunRecord,
    RunStore,
    default_home,
    folder_digest,
    load_dataset_dir,
    read_manifest,
    save_dataset_dir,
    validation_lines,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "assets" / "demo"
PAGES = {
    "home": "pages/home.py",
    "data": "pages/data.py",
    "train": "pages/train.py",
    "lambda": "pages/lambda_explorer.py",
    "results": "pages/results.py",
    "compare": "pages/compare.py",
    "learn": "pages/learn.py",
}
#: Material icons (rendered by Streamlit in markdown, captions and progress texts) per run status.
STATUS_ICONS = {QUEUED: ":material/schedule:", RUNNING: ":material/autorenew:", COMPLETED: ":material/check_circle:",
                FAILED: ":material/error:", CANCELLED: ":material/cancel:"}
_SID = "dash_session_id"
_DATASET = "dash_dataset_dir"
_RESULTS_RUN = "dash_results_run"


# ----------------------------------------------------------------------------- store and session
@st.cache_resource(show_spinner=False)
def _store_for(home: str) -> RunStore:
    return RunStore(home)


def get_store() -> RunStore:
    """The run store at ``$DASH_STUDIO_HOME`` (default ``~/.dash_studio``)."""
    return _store_for(str(default_home()))


def session_id() -> str:
    """This browser session's id (kept in the URL as ``?session=...`` so a reload keeps the data)."""
    sid = st.session_state.get(_SID)
    if sid is None:
        q = st.query_params.get("session")
        sid = q if RunStore.valid_session_id(q) else RunStore.new_session_id()
        st.session_state[_SID] = sid
    if st.query_params.get("session") != sid:
        st.query_params["session"] = sid
    return sid


def session_dir() -> Path:
    """Folder of this session's uploads and datasets (isolated from other sessions)."""
    return get_store().session_dir(session_id())


def init_session() -> None:
    """Create the session id and restore the session's active dataset (after a reload)."""
    sid = session_id()
    if _DATASET not in st.session_state:
        st.session_state[_DATASET] = None
        marker = get_store().session_dir(sid) / "active.json"
        if marker.is_file():
            try:
                folder = json.loads(marker.read_text()).get("dataset_dir")
            except (OSError, json.JSONDecodeError):
                folder = None
            if folder and (Path(folder) / "dataset.json").is_file():
                st.session_state[_DATASET] = folder


# ----------------------------------------------------------------------------- datasets
def active_dataset_dir() -> Path | None:
    """Folder of the active dataset (see :func:`dash_core.runs.store.save_dataset_dir`), or None."""
    folder = st.session_state.get(_DATASET)
    return Path(folder) if folder and Path(folder).is_dir() else None


@st.cache_resource(show_spinner=False, max_entries=16)
def _load_dir(folder: str):
    return load_dataset_dir(folder)


def load_dir_cached(folder: str | Path):
    """``(Dataset, ValidationReport)`` of a dataset folder, cached (folders are never modified)."""
    return _load_dir(str(folder))


def active_dataset():
    """The active :class:`dash_core.data.Dataset`, or None."""
    folder = active_dataset_dir()
    if folder is None:
        return None
    try:
        return load_dir_cached(folder)[0]
    except DashInputError as exc:
        st.error(f"The active dataset can no longer be read: {exc}")
        return None


def active_manifest() -> dict[str, Any] | None:
    folder = active_dataset_dir()
    if folder is None:
        return None
    try:
        return read_manifest(folder)
    except DashInputError:
        return None


def activate_dataset(dataset, *, gene_sets=None, gene_sets_file=None, source: str = "",
                     description: str = "", report=None, preset: str | None = None) -> Path:
    """Write ``dataset`` into this session's dataset store (content-addressed) and make it active.

    ``preset`` names the run preset that suits the data (proposed on the Train page).
    """
    base = session_dir() / "datasets"
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / f"tmp-{secrets.token_hex(4)}"
    save_dataset_dir(dataset, tmp, gene_sets=gene_sets, gene_sets_file=gene_sets_file, source=source,
                     description=description, report=report, preset=preset)
    final = base / folder_digest(tmp)
    if final.exists():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        os.replace(tmp, final)
    set_active_dataset_dir(final)
    return final


def set_active_dataset_dir(folder: Path | str) -> None:
    st.session_state[_DATASET] = str(folder)
    (session_dir() / "active.json").write_text(json.dumps({"dataset_dir": str(folder), "time": time.time()}))


def load_demo() -> Path:
    """Activate the demo dataset from ``assets/demo`` (re-simulated if the files are missing)."""
    from dash_core.io import load_dataset

    files = {k: DEMO_DIR / f"{k}.csv" for k in ("expression", "prior", "ppi", "truth", "test_expression",
                                                "test_expression_clean")}
    description = ("Simulated demo: 48 genes (10 inputs, 3 internal regulators, 35 targets), 75 true edges, "
                   "40 training trajectories, 5% noise; the prior has a few edges moved at random.")
    if all(files[k].is_file() for k in ("expression", "prior", "ppi", "truth", "test_expression")):
        dataset, report = load_dataset(files["expression"], files["prior"], ppi=files["ppi"], truth=files["truth"],
                                       test_expression=files["test_expression"], name="demo")
        if files["test_expression_clean"].is_file():
            from dash_core.io import read_expression

            dataset.test_expression_clean, _ = read_expression(files["test_expression_clean"])
        gmt = DEMO_DIR / "gene_sets.gmt"
        return activate_dataset(dataset, gene_sets_file=gmt if gmt.is_file() else None, source="demo",
                                description=description, report=clean_report(report, str(DEMO_DIR) + "/"))
    from dash_core.simulate import SimulationConfig, simulate

    sim = simulate(SimulationConfig.demo())
    return activate_dataset(sim.dataset, gene_sets=sim.gene_sets, source="demo", description=description)


YEAST_DIR = ROOT / "assets" / "yeast_demo"


def load_yeast_demo() -> Path:
    """Activate the real yeast cell-cycle set from ``assets/yeast_demo`` (files as published), preset ``yeast``."""
    from dash_core.io import load_dataset

    dataset, report = load_dataset(YEAST_DIR / "pramila_500genes_1sample_24T.csv",
                                   YEAST_DIR / "edge_prior_matrix_pramila_500.csv",
                                   genes=YEAST_DIR / "pramila500_gene_names.csv",
                                   validation_expression=YEAST_DIR / "pramila_500genes_1VALsample_24T.csv",
                                   name="yeast cell cycle")
    description = ("Real data: yeast cell cycle (Pramila et al. 2006, via PHOENIX, MIT): 500 genes, one 24-point "
                   "series (0-120 min) for training and a second series for validation, a motif prior; no gold "
                   "standard. Preset: yeast.")
    return activate_dataset(dataset, source="yeast demo", description=description,
                            report=clean_report(report, str(YEAST_DIR) + "/"), preset="yeast")


def clean_report(report, prefix: str):
    """A copy of a :class:`ValidationReport` with ``prefix`` (a server folder) removed from its texts."""
    from dash_core.io.errors import ValidationReport

    out = ValidationReport()
    for issue in report.issues:
        out.add(issue.level, issue.message.replace(prefix, ""),
                issue.source.replace(prefix, "") if issue.source else None)
    return out


def require_dataset():
    """The active dataset, or None after showing how to get one."""
    ds = active_dataset()
    if ds is None:
        st.info("No dataset is loaded yet. Load the demo on **Home** or upload / simulate data on **Data**.")
        c1, c2 = st.columns(2)
        c1.page_link(PAGES["home"], label="Home: load the demo", icon=":material/home:")
        c2.page_link(PAGES["data"], label="Data: upload or simulate", icon=":material/dataset:")
    return ds


def show_validation(report_or_lines, *, expanded_info: bool = False) -> None:
    """Show a validation report: errors and warnings as boxes, notes in an expander."""
    lines = validation_lines(report_or_lines) if hasattr(report_or_lines, "issues") else list(report_or_lines)
    infos = [t for lvl, t in lines if lvl == "info"]
    for lvl, text in lines:
        if lvl == "error":
            st.error(text, icon=":material/error:")
        elif lvl == "warning":
            st.warning(text, icon=":material/warning:")
    if infos:
        with st.expander(f"Notes ({len(infos)})", expanded=expanded_info):
            for text in infos:
                st.markdown(f"- {text}")


# ----------------------------------------------------------------------------- runs
def launch_job(kind: str, params: dict, *, label: str = "", with_dataset: bool = True) -> str | None:
    """Start a background job on the active dataset; show the error (never a traceback) and return None on failure."""
    from dash_core.runs.jobs import start_job

    folder = active_dataset_dir() if with_dataset else None
    if with_dataset and folder is None:
        st.error("Load a dataset first (Home or Data).")
        return None
    try:
        return start_job(get_store(), kind, params, label=label, dataset_dir=folder)
    except DashInputError as exc:
        st.error(str(exc))
    except OSError as exc:
        st.error(f"Could not start the job: {exc}")
    return None


def run_choices(records: list[RunRecord]) -> dict[str, str]:
    """``run_id -> display label`` for select boxes, newest first."""
    out = {}
    for r in records:
        when = time.strftime("%d %b %H:%M", time.localtime(r.created))
        state = "" if r.status == COMPLETED else f" [{r.status}]"
        out[r.run_id] = f"{r.display_name} · {when}{state}"
    return out


def open_results(run_id: str) -> None:
    """Switch to the Results page showing ``run_id``."""
    st.session_state[_RESULTS_RUN] = run_id
    st.switch_page(PAGES["results"])


def pop_results_request() -> str | None:
    """The run that :func:`open_results` asked the Results page to show (once), or None."""
    return st.session_state.pop(_RESULTS_RUN, None)


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "—"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"
    return f"{seconds // 3600:.0f} h {(seconds % 3600) // 60:02.0f} min"


def format_metric(key: str, value: Any) -> str:
    """A metric value formatted as in :data:`dash_core.metrics.METRIC_INFO` ("—" when missing)."""
    from dash_core.metrics import METRIC_INFO

    if value is None or (isinstance(value, float) and value != value):
        return "—"
    fmt = METRIC_INFO.get(key, {}).get("fmt", ".4g")
    try:
        if fmt == "d":
            return f"{int(round(float(value)))}"
        return format(float(value), fmt)
    except (TypeError, ValueError):
        return str(value)


def metric_cards(metrics: dict[str, Any], keys: list[str], *, per_row: int = 4) -> None:
    """One ``st.metric`` per key with the label and tooltip of ``METRIC_INFO``."""
    from dash_core.metrics import METRIC_INFO

    keys = [k for k in keys if k in metrics]
    for start in range(0, len(keys), per_row):
        cols = st.columns(per_row)
        for col, key in zip(cols, keys[start:start + per_row]):
            info = METRIC_INFO.get(key, {})
            col.metric(info.get("label", key), format_metric(key, metrics.get(key)), help=info.get("help"),
                       border=True)


def job_status_panel(run_id: str, *, show_curves: bool = True, key: str = "live") -> None:
    """Live panel of one run: status, progress, ETA, loss and sparsity curves, Cancel.

    Refreshes itself every second while the run is active (``st.fragment``);
    when the run ends, the whole page is re-run once.
    """
    store = get_store()
    rec = store.find(run_id)
    if rec is None:
        st.warning(f"Run {run_id} is not in the run store any more.")
        return
    interval = 1.0 if rec.active else None

    @st.fragment(run_every=interval)
    def _panel() -> None:
        r = store.find(run_id)
        if r is None:
            return
        _render_status(store, r, show_curves=show_curves, key=key)
        was_active = st.session_state.get(f"{key}_was_active_{run_id}")
        st.session_state[f"{key}_was_active_{run_id}"] = r.active
        if was_active and not r.active:
            st.rerun(scope="app")

    _panel()


def _render_status(store: RunStore, rec: RunRecord, *, show_curves: bool, key: str) -> None:
    from dash_core.plots import training_curves_figure

    icon = STATUS_ICONS.get(rec.status, "")
    head = st.columns([3, 1])
    head[0].markdown(f"**{icon} {rec.display_name}** — {rec.status}"
                     + (f" · {rec.message}" if rec.message and rec.active else ""))
    if rec.active:
        if head[1].button("Cancel", key=f"{key}_cancel_{rec.run_id}", icon=":material/stop_circle:",
                          help="Ask the job to stop at the next epoch; a training run keeps its best model so far.",
                          disabled=rec.cancel_requested):
            from dash_core.runs.jobs import cancel_job

            cancel_job(store, rec.run_id)
            st.toast("Stop requested.")
        if rec.cancel_requested and head[1].button(
                "Force stop", key=f"{key}_force_{rec.run_id}", help="Terminate the job process now."):
            from dash_core.runs.jobs import cancel_job

            cancel_job(store, rec.run_id, force=True)
    prog = store.progress(rec.run_id)
    frac = rec.fraction if rec.fraction is not None else 0.0
    eta = None
    if "eta_seconds" in prog.columns and prog["eta_seconds"].notna().any():
        eta = float(prog["eta_seconds"].dropna().iloc[-1])
    if rec.active:
        st.progress(min(1.0, max(0.0, frac)),
                    text=f"{frac:.0%} · elapsed {format_duration(rec.elapsed)} · ETA {format_duration(eta)}")
    if rec.status == FAILED and rec.error:
        first, _, rest = rec.error.partition("\n")
        st.error(first, icon=":material/error:")
        if rest:
            with st.expander("Details"):
                st.code(rest, language=None)
    elif rec.status == CANCELLED:
        st.info("The run was stopped" + (" — its best model so far was saved." if rec.summary else "."))
    if show_curves and "epoch" in prog.columns and prog["epoch"].notna().any():
        cols = st.columns([1, 1, 1, 1])
        last = prog[prog["epoch"].notna()].iloc[-1]
        cols[0].metric("Epoch", f"{int(last['epoch'])} / {int(last.get('max_epochs', 0) or 0)}",
                       help="Epochs done out of the maximum; early stopping may end the run sooner.")
        if "val_mse" in last:
            cols[1].metric("Validation MSE", format_metric("val_mse", last.get("val_mse")),
                           help="One-step-ahead error on the held-out trajectories.")
        if "sparsity" in last:
            cols[2].metric("Sparsity", format_metric("sparsity", last.get("sparsity")),
                           help="Share of the model's weights pruned to exactly zero.")
        cols[3].metric("ETA", format_duration(eta) if rec.active else "done",
                       help="Estimated time left at the current speed.")
        st.plotly_chart(training_curves_figure(prog[prog["epoch"].notna()]), key=f"{key}_curves_{rec.run_id}",
                        config={"displaylogo": False})


def finished_train_runs(store: RunStore | None = None) -> list[RunRecord]:
    """Training runs (including sweep points) that have saved results, newest first."""
    store = store or get_store()
    return [r for r in store.list_runs(kind="train", status=(COMPLETED, CANCELLED))
            if (r.path / "metrics.json").is_file()]


@st.cache_data(show_spinner=False, max_entries=64)
def _read_json(path: str, mtime: float) -> dict:
    return json.loads(Path(path).read_text())


def read_json(path: Path) -> dict:
    """A JSON artifact (cached by path and modification time); {} if missing or unreadable."""
    try:
        return _read_json(str(path), path.stat().st_mtime)
    except (OSError, json.JSONDecodeError):
        return {}


@st.cache_data(show_spinner=False, max_entries=64)
def _read_csv(path: str, mtime: float):
    import pandas as pd

    return pd.read_csv(path)


def read_csv(path: Path):
    """A CSV artifact as a DataFrame (cached); None if missing or unreadable."""
    try:
        return _read_csv(str(path), path.stat().st_mtime)
    except (OSError, ValueError):
        return None


def run_dataset_dir(rec: RunRecord) -> Path | None:
    """The dataset folder a run was trained on (its own copy, or its parent sweep's)."""
    store = get_store()
    seen = 0
    while rec is not None and seen < 5:
        if rec.dataset_dir and (Path(rec.dataset_dir) / "dataset.json").is_file():
            return Path(rec.dataset_dir)
        if (rec.path / "dataset" / "dataset.json").is_file():
            return rec.path / "dataset"
        rec = store.find(rec.parent_id) if rec.parent_id else None
        seen += 1
    return None


def run_point(rec: RunRecord) -> dict[str, Any]:
    """A run as one point of the sparsity-accuracy plane: metrics, λ, strategy, label, run id."""
    metrics = read_json(rec.path / "metrics.json") or rec.metrics
    detail = read_json(rec.path / "metrics_detail.json")
    cfg = read_json(rec.path / "config.json")
    pruning = cfg.get("pruning", {}) if isinstance(cfg, dict) else {}
    return {**{k: v for k, v in detail.items() if not isinstance(v, (dict, list))}, **metrics,
            "run_id": rec.run_id, "label": rec.display_name, "strategy": cfg.get("strategy", ""),
            "lambda_ppi": pruning.get("lambda_ppi"), "lambda_motif": pruning.get("lambda_motif"),
            "seed": cfg.get("seed")}


# ----------------------------------------------------------------------------- sidebar
def sidebar() -> None:
    """Sidebar: the active dataset and the background jobs with their status."""
    with st.sidebar:
        st.markdown("### Active dataset")
        man = active_manifest()
        if man is None:
            st.caption("None loaded — use **Load demo dataset** on Home or the Data page.")
        else:
            st.markdown(f"**{man.get('name', 'dataset')}** ({man.get('source') or 'files'})")
            extras = [k for k in ("prior", "ppi", "truth", "test_expression", "gene_sets") if k in man.get("files", {})]
            st.caption(f"{man.get('n_genes')} genes · {man.get('n_trajectories')} trajectories"
                       + (f" · {', '.join(_label(k) for k in extras)}" if extras else ""))
        st.markdown("### Jobs")
        store = get_store()
        active = store.active_runs()

        @st.fragment(run_every=2.0 if active else None)
        def _jobs() -> None:
            runs = store.list_runs(top_level=True, limit=6)
            if not runs:
                st.caption("No runs yet.")
                return
            for r in runs:
                line = f"{STATUS_ICONS.get(r.status, '')} {r.display_name}"
                if r.active:
                    frac = r.fraction or 0.0
                    st.progress(min(1.0, frac), text=f"{line} · {frac:.0%}")
                else:
                    st.caption(f"{line} · {r.status}")

        _jobs()


def _label(key: str) -> str:
    return {"prior": "prior", "ppi": "PPI", "truth": "gold standard", "test_expression": "test set",
            "gene_sets": "gene sets"}.get(key, key)
