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
from dash_core.runs.schema import StoreError
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
    pinned_workspace,
    read_manifest,
    save_dataset_dir,
    validation_lines,
)
from dash_core.runs.workspaces import (
    ScopedStore,
    issue_workspace,
    resolve_share,
    resolve_workspace,
    workspace_for_owner,
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
_WS = "dash_workspace_id"
_WS_TOKEN = "dash_workspace_token"
_WS_OWNER = "dash_workspace_owner"
_WS_NOTICE = "dash_workspace_notice"
_SHARED = "dash_shared_runs"
_READ_ONLY = "dash_store_read_only"
_OPEN_JOB = "dash_open_job"
_DATASET = "dash_dataset_dir"
_RESULTS_RUN = "dash_results_run"


# ----------------------------------------------------------------------------- store, workspace and session
@st.cache_resource(show_spinner=False)
def _store_for(home: str, read_only: bool = False) -> RunStore:
    return RunStore(home, read_only=read_only)


def base_store() -> RunStore:
    """The shared run store at ``$DASH_STUDIO_HOME`` (every workspace); :class:`StoreError` if unusable.

    Read-only after the visitor chose "Open read-only" on the store-fault page.
    """
    return _store_for(str(default_home()), bool(st.session_state.get(_READ_ONLY)))


def get_store() -> ScopedStore:
    """The run store as this visitor's workspace sees it (its runs, plus runs opened through share links)."""
    return ScopedStore(base_store(), workspace_id(), shared_run_ids=tuple(st.session_state.get(_SHARED, ())))


def _login_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets.toml at all
        return False


def _logged_in_owner() -> str | None:
    """A stable key of the logged-in user (``st.login``), or None."""
    if not _login_configured():
        return None
    try:
        user = st.user
        if not user.get("is_logged_in"):
            return None
        ident = user.get("sub") or user.get("email")
        return f"{user.get('iss', '')}|{ident}" if ident else None
    except Exception:  # noqa: BLE001 - an auth provider without the usual claims
        return None


def workspace_id() -> str:
    """This visitor's workspace (see :mod:`dash_core.runs.workspaces`).

    With Streamlit's login configured and the user logged in, it is the user's
    workspace. Otherwise the server issues a new workspace to each new visitor
    and puts its secret link token in the URL (``?ws=...``) so that a reload or
    a bookmark reopens it; a token that matches no workspace issued by this
    server opens nothing (a fresh workspace is issued instead).
    """
    store = base_store()
    pinned = pinned_workspace()
    if pinned is not None:  # a personal installation: one workspace for everyone ($DASH_STUDIO_WORKSPACE)
        st.session_state[_WS] = pinned
        return pinned
    owner = _logged_in_owner()
    if owner is not None:
        wid = st.session_state.get(_WS)
        if wid is None or st.session_state.get(_WS_OWNER) != owner:
            st.session_state[_WS] = workspace_for_owner(store, owner)
            st.session_state[_WS_OWNER] = owner
            st.session_state.pop(_WS_TOKEN, None)
        if "ws" in st.query_params:
            del st.query_params["ws"]
        return st.session_state[_WS]
    wid = st.session_state.get(_WS)
    if wid is None or st.session_state.get(_WS_OWNER):
        token = st.query_params.get("ws")
        wid = resolve_workspace(store, token) if token else None
        if wid is None:
            if token:
                st.session_state[_WS_NOTICE] = ("The workspace link in the address does not match any workspace on "
                                                "this server, so a new, empty workspace was opened for you.")
            wid, token = issue_workspace(store)
        st.session_state[_WS], st.session_state[_WS_TOKEN] = wid, token
        st.session_state.pop(_WS_OWNER, None)
    token = st.session_state.get(_WS_TOKEN)
    if token and st.query_params.get("ws") != token:
        st.query_params["ws"] = token
    return wid


def session_dir() -> Path:
    """Folder of this workspace's uploads and datasets (isolated from other workspaces)."""
    return base_store().workspace_dir(workspace_id())


def init_session() -> None:
    """Open the visitor's workspace, accept share links, and restore the active dataset (after a reload)."""
    workspace_id()
    share = st.query_params.get("share")
    if share:
        run = resolve_workspace_share(share)
        if run is None:
            st.session_state[_WS_NOTICE] = "The share link is not valid (it may have been withdrawn)."
        else:
            st.session_state[_SHARED] = tuple(dict.fromkeys((*st.session_state.get(_SHARED, ()), run)))
            st.session_state[_RESULTS_RUN] = run
        del st.query_params["share"]
    if _DATASET not in st.session_state:
        st.session_state[_DATASET] = None
        marker = session_dir() / "active.json"
        if marker.is_file():
            try:
                folder = json.loads(marker.read_text()).get("dataset_dir")
            except (OSError, json.JSONDecodeError):
                folder = None
            if folder and (Path(folder) / "dataset.json").is_file():
                st.session_state[_DATASET] = folder


def resolve_workspace_share(token: str) -> str | None:
    """The run a share link opens (read-only), or None."""
    return resolve_share(base_store(), token)


def workspace_link() -> str | None:
    """The query string that reopens this workspace (``?ws=<secret>``), None when it follows the login."""
    token = st.session_state.get(_WS_TOKEN)
    return f"?ws={token}" if token else None


def workspace_notice() -> None:
    """Show (once) why a new workspace was opened or a link was refused."""
    note = st.session_state.pop(_WS_NOTICE, None)
    if note:
        st.warning(note, icon=":material/lock:")


def store_fault_page(exc: StoreError) -> None:
    """Explain a store fault and offer the ways forward (read-only, back up and start new, retry)."""
    st.title("DASH Studio cannot use its run store")
    st.error(str(exc), icon=":material/database:")
    cols = st.columns(3)
    if exc.kind in ("read_only", "full", "busy", "other") and (exc.home / "runs.sqlite").is_file():
        if cols[0].button("Open read-only", type="primary", icon=":material/visibility:", key="store_ro",
                          help="Browse and download the runs that are stored; launching new runs is disabled."):
            st.session_state[_READ_ONLY] = True
            st.rerun()
    if exc.kind == "corrupt":
        if cols[0].button("Back up and start a new store", type="primary", icon=":material/restore:", key="store_new",
                          help="Keep the damaged database as runs.sqlite.damaged-<time> and start an empty one; "
                               "the runs' result folders stay on disk."):
            backup = RunStore.backup_damaged(exc.home)
            _store_for.clear()
            st.session_state["dash_store_backup"] = str(backup.name)
            st.rerun()
    if cols[1].button("Retry", icon=":material/refresh:", key="store_retry", help="Try to open the store again."):
        _store_for.clear()
        st.rerun()
    st.caption(f"Store folder: {exc.home}. Another folder can be chosen with the environment variable "
               "DASH_STUDIO_HOME before starting the app.")


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


def load_button(label: str, loader, *, key: str, help: str, icon: str, what: str, primary: bool = False,
                success: str | None = None) -> bool:
    """A button that activates a bundled dataset with ``loader`` (e.g. :func:`load_yeast_demo`).

    Shows ``success`` (if given) when it loaded, or "``what`` could not be loaded: <reason>" for a
    :class:`DashInputError`. Returns True when the dataset was loaded on this click.
    """
    if not st.button(label, type="primary" if primary else "secondary", icon=icon, key=key, help=help):
        return False
    try:
        loader()
    except DashInputError as exc:
        st.error(f"{what} could not be loaded: {exc}", icon=":material/error:")
        return False
    if success:
        st.success(success, icon=":material/check_circle:")
    return True


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
    """Start a background job on the active dataset; show the error (never a traceback) and return None on failure.

    The same job (same kind, parameters and data) is not started twice while it
    is queued or running; its live panel is opened instead.
    """
    from dash_core.runs.jobs import start_job

    folder = active_dataset_dir() if with_dataset else None
    if with_dataset and folder is None:
        st.error("Load a dataset first (Home or Data).")
        return None
    same = duplicate_job(kind, params, with_dataset=with_dataset)
    if same is not None:
        st.info(f"This job is already {same.status}: **{same.display_name}**. Its live panel is open above.",
                icon=":material/info:")
        open_job(same.run_id, rerun=False)
        return None
    try:
        run_id = start_job(get_store(), kind, params, label=label, dataset_dir=folder)
    except DashInputError as exc:
        st.error(str(exc))
    except OSError as exc:
        st.error(f"Could not start the job: {exc}")
    else:
        return run_id  # the launching page shows its live panel; the sidebar lists the job
    return None


def duplicate_job(kind: str, params: dict, *, with_dataset: bool = True) -> RunRecord | None:
    """The queued or running job of this workspace that equals ``kind`` + ``params`` on the active data, or None.

    Pages disable their Launch button while it exists.
    """
    from dash_core.runs.jobs import active_duplicate, job_fingerprint

    folder = active_dataset_dir() if with_dataset else None
    try:
        return active_duplicate(get_store(), job_fingerprint(kind, params, folder))
    except DashInputError:
        return None


def launch_help(kind: str, params: dict, default: str, *, with_dataset: bool = True) -> tuple[bool, str]:
    """``(disabled, help)`` for a Launch button: disabled while the same job is queued or running."""
    same = duplicate_job(kind, params, with_dataset=with_dataset)
    if same is not None:
        return True, f"The same job is already {same.status} ({same.display_name}); see its live panel."
    return False, default


def train_estimate(cfg, dataset) -> str:
    """Expected run time of a training run with ``cfg`` on ``dataset`` (text), calibrated by this server's past runs."""
    from dash_core.estimate import estimate_train_seconds, format_estimate, run_epoch_cost

    past = []
    for rec in base_store().list_runs(kind="train", status=COMPLETED, limit=60):
        d = rec.summary or {}
        epochs, secs, ref = rec.metrics.get("epochs"), d.get("train_seconds"), d.get("reference_epoch_seconds")
        if secs and epochs and ref:
            past.append((float(secs) / float(epochs), float(ref)))
    est = estimate_train_seconds(run_epoch_cost(cfg, dataset), int(cfg.train.max_epochs), past=past)
    return format_estimate(est)


def run_choices(records: list[RunRecord]) -> dict[str, str]:
    """``run_id -> display label`` for select boxes, newest first: label · dataset · time [status]."""
    out = {}
    for r in records:
        when = time.strftime("%d %b %H:%M", time.localtime(r.created))
        state = "" if r.status == COMPLETED else f" [{r.status}]"
        data = run_dataset_name(r)
        out[r.run_id] = f"{r.display_name}" + (f" · {data}" if data and data not in r.display_name else "") \
            + f" · {when}{state}"
    return out


def run_dataset_name(rec: RunRecord) -> str:
    """Name of the dataset a run was trained on ("" when unknown)."""
    s = rec.summary or {}
    name = s.get("dataset") or (s.get("details") or {}).get("dataset")
    if name:
        return str(name)
    folder = Path(rec.dataset_dir) if rec.dataset_dir else rec.path / "dataset"
    try:
        return str(read_manifest(folder).get("name") or "")
    except DashInputError:
        return ""


def open_job(run_id: str, *, rerun: bool = True) -> None:
    """Open the live panel of ``run_id`` at the top of every page (kept in the URL as ``?job=``)."""
    st.session_state[_OPEN_JOB] = run_id
    st.query_params["job"] = run_id
    if rerun:
        st.rerun()


def docked_job() -> str | None:
    """The run whose live panel is open at the top of the page (see :func:`job_dock`), or None."""
    return st.session_state.get(_OPEN_JOB)


def close_job() -> None:
    st.session_state.pop(_OPEN_JOB, None)
    if "job" in st.query_params:
        del st.query_params["job"]


def job_dock() -> None:
    """The live panel of the job opened from the sidebar (or after a reload, from ``?job=``), on any page."""
    run_id = st.session_state.get(_OPEN_JOB) or st.query_params.get("job")
    if not run_id:
        return
    store = get_store()
    rec = store.find(run_id)
    if rec is None:
        close_job()
        return
    st.session_state[_OPEN_JOB] = run_id
    if st.query_params.get("job") != run_id:
        st.query_params["job"] = run_id
    with st.container(border=True, key="job_dock"):
        top = st.columns([6, 1])
        top[0].markdown(f"**Job:** {rec.display_name} · {rec.kind}")
        if top[1].button("Close", key="dock_close", icon=":material/close:", help="Hide this panel (the job goes on)."):
            close_job()
            st.rerun()
        job_status_panel(run_id, key="dock")
        if rec.kind == "train" and rec.status in (COMPLETED, CANCELLED) and rec.summary:
            if st.button("Open in Results", key="dock_results", icon=":material/insights:",
                         help="Show metrics, heatmaps, the network and downloads of this run."):
                close_job()
                open_results(run_id)


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
    longest = max((len(METRIC_INFO.get(k, {}).get("label", k)) for k in keys), default=0)
    if longest > 20:  # long labels would be cut off ("AUROC of the prior al...") at 1280 px with four per row
        per_row = min(per_row, 3)
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
    if rec.active and getattr(store, "owns", lambda r: True)(rec):
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
    """Training runs (including sweep points) that have saved results, newest first; then runs shared with us."""
    store = store or get_store()
    runs = store.list_runs(kind="train", status=(COMPLETED, CANCELLED))
    for run_id in getattr(store, "shared_run_ids", ()):
        rec = store.find(run_id)
        if rec is not None and rec.kind == "train" and all(r.run_id != run_id for r in runs):
            runs.append(rec)
    return [r for r in runs if (r.path / "metrics.json").is_file()]


def manage_run(rec: RunRecord) -> None:
    """Rename, share (read-only link) or delete a run of this workspace."""
    from dash_core.runs.workspaces import revoke_shares, share_run

    store = get_store()
    with st.expander("Manage this run: rename, share, delete", icon=":material/edit:"):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input("Name", value=rec.label or rec.display_name, key=f"mr_name_{rec.run_id}", max_chars=120,
                             help="The name shown in every run list.")
        if c2.button("Rename", key=f"mr_rename_{rec.run_id}", icon=":material/edit:"):
            store.set_label(rec.run_id, name.strip())
            st.rerun()
        c1, c2, c3 = st.columns(3)
        if c1.button("Create share link", key=f"mr_share_{rec.run_id}", icon=":material/share:",
                     help="A secret link that opens this run read-only (not your other runs) for anyone holding it."):
            st.session_state[f"mr_link_{rec.run_id}"] = "?share=" + share_run(base_store(), rec.run_id,
                                                                              workspace_id())
        if c2.button("Withdraw share links", key=f"mr_unshare_{rec.run_id}", icon=":material/link_off:"):
            n = revoke_shares(base_store(), rec.run_id, workspace_id())
            st.session_state.pop(f"mr_link_{rec.run_id}", None)
            st.toast(f"{n} share link{'s' if n != 1 else ''} withdrawn.")
        link = st.session_state.get(f"mr_link_{rec.run_id}")
        if link:
            st.caption("Append this to the app's address and send it; it opens this run read-only:")
            st.code(link, language=None)
        sure = c3.checkbox("Yes, delete it", key=f"mr_sure_{rec.run_id}",
                           help="Deleting removes the run, its sweep points and its result files for good.")
        if c3.button("Delete run", key=f"mr_delete_{rec.run_id}", icon=":material/delete:", disabled=not sure,
                     type="primary" if sure else "secondary"):
            try:
                store.delete_run(rec.run_id)
            except DashInputError as exc:
                st.error(str(exc))
            else:
                st.session_state.pop("res_run", None)
                st.toast(f"Deleted {rec.display_name}.")
                st.rerun()


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
                st.caption("No runs yet in this workspace.")
                return
            for r in runs:
                text = f"{STATUS_ICONS.get(r.status, '')} {r.display_name}"
                text += f" · {r.fraction or 0.0:.0%}" if r.active else f" · {r.status}"
                if st.button(text, key=f"sb_job_{r.run_id}", type="tertiary", width="stretch",
                             help="Open this job's live panel (progress, ETA, curves, Cancel)."):
                    open_job(r.run_id)
                if r.active:
                    st.progress(min(1.0, r.fraction or 0.0))

        _jobs()
        _workspace_box()


def _workspace_box() -> None:
    """Sidebar: whose workspace this is, its secret link, login/logout."""
    st.markdown("### Workspace")
    if base_store().read_only:
        st.caption(":material/visibility: The run store is open **read-only**: runs can be viewed, not launched.")
    owner = _logged_in_owner()
    if owner is not None:
        name = st.user.get("name") or st.user.get("email") or "you"
        st.caption(f"Signed in as **{name}**; your runs follow your login.")
        if st.button("Log out", key="ws_logout", icon=":material/logout:"):
            st.logout()
        return
    st.caption("Your runs and uploads are private to this workspace. Bookmark this page's address to come back; "
               "anyone with the address sees this workspace.")
    link = workspace_link()
    if link:
        with st.popover("Workspace link", icon=":material/key:"):
            st.caption("Keep this secret link to reopen your workspace from another browser.")
            st.code(link, language=None)
    if _login_configured() and st.button("Log in", key="ws_login", icon=":material/login:",
                                          help="Sign in so that your workspace follows you across browsers."):
        st.login()


def _label(key: str) -> str:
    return {"prior": "prior", "ppi": "PPI", "truth": "gold standard", "test_expression": "test set",
            "gene_sets": "gene sets"}.get(key, key)
