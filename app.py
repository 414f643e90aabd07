"""DASH Studio: the Streamlit app (``streamlit run app.py``).

The entry script only sets up the page, the navigation and the sidebar; each page
lives in ``pages/`` and calls :mod:`dash_core` (science) and
:mod:`dash_core.plots` (figures). Runs and uploads are kept under
``$DASH_STUDIO_HOME`` (default ``~/.dash_studio``), per workspace: each visitor
gets a private workspace with a secret link (or the workspace of their login
when ``st.login`` is configured in ``.streamlit/secrets.toml``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

from dash_core.runs.schema import StoreError
from pages import _ui

ROOT = Path(__file__).resolve().parent

st.set_page_config(page_title="DASH Studio", page_icon=":material/hub:", layout="wide",
                   initial_sidebar_state="expanded")


def _page(path: str, title: str, icon: str, *, default: bool = False):
    return st.Page(str(ROOT / path), title=title, icon=icon, default=default)


workflow = [
    _page("pages/home.py", "Home", ":material/home:", default=True),
    _page("pages/data.py", "Data", ":material/dataset:"),
    _page("pages/train.py", "Train & prune", ":material/model_training:"),
    _page("pages/lambda_explorer.py", "λ explorer", ":material/scatter_plot:"),
    _page("pages/results.py", "Results", ":material/insights:"),
    _page("pages/compare.py", "Compare runs", ":material/compare:"),
]
analysis = []
if (ROOT / "pages" / "pathways.py").is_file():
    analysis.append(_page("pages/pathways.py", "Pathways", ":material/account_tree:"))
if (ROOT / "pages" / "signaling.py").is_file():
    analysis.append(_page("pages/signaling.py", "Signaling", ":material/cell_tower:"))
learn = [_page("pages/learn.py", "Learn", ":material/school:")]

sections = {"Workflow": workflow}
if analysis:
    sections["Analysis"] = analysis
sections["Teaching"] = learn
page = st.navigation(sections, position="sidebar", expanded=True)
try:
    _ui.init_session()
except StoreError as exc:  # read-only disk, damaged database, full disk: explain and offer a way forward
    _ui.store_fault_page(exc)
    st.stop()
# `streamlit run app.py -- --demo` opens every new session with the built-in demo dataset loaded.
if "--demo" in sys.argv[1:] and not st.session_state.get("demo_autoloaded") and _ui.active_dataset_dir() is None:
    st.session_state["demo_autoloaded"] = True
    _ui.load_demo()
_ui.workspace_notice()
fault = False
try:
    _ui.job_dock()
    page.run()
except StoreError as exc:  # e.g. the disk filled up while the app was in use
    fault = True
    _ui.store_fault_page(exc)
finally:
    # drawn after the page so that it shows what the page just did (e.g. a dataset loaded, a job launched)
    if not fault:
        _ui.sidebar()
