"""Every page of the Streamlit app renders without exceptions, with and without a dataset (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from apptest_support import errors, widgets  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["home", "data", "train", "lambda_explorer", "results", "compare", "learn"]


@pytest.fixture()
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("DASH_STUDIO_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    return at


def test_first_run_shows_home_and_sidebar(app):
    assert app.title[0].value == "DASH Studio"
    assert app.button(key="load_demo").label == "Load demo dataset"
    side = [m.value for m in app.sidebar.markdown]
    assert "### Active dataset" in side and "### Jobs" in side
    assert any("None loaded" in c.value for c in app.sidebar.caption)
    assert len(app.query_params["ws"]) >= 32  # the workspace's secret link travels in the URL


@pytest.mark.parametrize("page", PAGES[1:])
def test_pages_without_dataset(app, page):
    app.switch_page(f"pages/{page}.py").run()
    assert not errors(app)
    assert app.title, page
    texts = " ".join(i.value for i in app.info)
    if page in ("train",):
        assert "No dataset is loaded" in texts
    if page in ("results", "compare"):
        assert "No finished training run" in texts


def test_every_page_with_demo_has_its_widgets_and_tooltips(app):
    app.button(key="load_demo").click().run()
    assert not errors(app)
    assert any("Active dataset: **demo**" in s.value for s in app.success)
    expected = {
        "data": ["up_expression", "up_prior", "up_ppi", "up_truth", "sim_genes", "sim_noise", "orient_kind"],
        "train": ["tr_model", "tr_strategy", "tr_lppi", "tr_lmotif", "tr_e0", "tr_epochs", "tr_seed", "tr_device",
                  "tr_launch"],
        "lambda_explorer": ["sw_strategy", "sw_ppi", "sw_motif", "sw_workers", "sw_launch"],
        "learn": ["learn_corr", "learn_lambda", "learn_go"],
    }
    for page in PAGES:
        app.switch_page(f"pages/{page}.py").run()
        assert not errors(app), page
        keys = set()
        for kind, w in widgets(app):
            keys.add(w.key)
            assert w.help, f"{page}: {kind} {w.label!r} has no tooltip"
        missing = [k for k in expected.get(page, []) if k not in keys]
        assert not missing, f"{page} lacks {missing}"


def test_train_page_lists_registries_and_gpu_status(app):
    from dash_core.models import MODELS
    from dash_core.pruning import STRATEGIES

    app.button(key="load_demo").click().run()
    app.switch_page("pages/train.py").run()
    assert [o.lower() for o in app.selectbox(key="tr_model").options] == MODELS.names()
    from dash_core.pruning.display import strategy_label

    assert app.selectbox(key="tr_strategy").options == [strategy_label(n) for n in STRATEGIES.names()]  # plain names
    assert app.selectbox(key="tr_strategy").value == "dash"
    assert not app.slider(key="tr_lppi").disabled
    entry = STRATEGIES.get("dash")
    assert any(entry.citation in m.value for m in app.markdown)
    assert any("GPU found" in c.value or "No GPU found" in c.value for c in app.caption)
    app.selectbox(key="tr_strategy").set_value("imp").run()
    assert any(STRATEGIES.get("imp").description in m.value for m in app.markdown)
    assert app.slider(key="tr_lppi").disabled and app.slider(key="tr_lmotif").disabled  # IMP ignores λ
    keys = {w.key for w in app.get("number_input") + app.get("selectbox") + app.get("checkbox") if w.key}
    assert "adv_rewind" in keys and "adv_kappa_l0" not in keys and "adv_sparseflow_q" not in keys  # only IMP's
    assert not errors(app)


def test_sidebar_shows_dataset_and_jobs(tmp_path, monkeypatch):
    monkeypatch.setenv("DASH_STUDIO_HOME", str(tmp_path / "home"))

    def script():
        from pages import _ui

        _ui.init_session()
        _ui.load_demo()
        store = _ui.get_store()
        rec = store.create_run("train", {}, label="my run")
        store.mark_running(rec.run_id)
        store.append_progress(rec.run_id, 0.4, "epoch 4/10")
        _ui.sidebar()

    import sys

    sys.path.insert(0, str(ROOT))
    try:
        at = AppTest.from_function(script, default_timeout=60).run()
    finally:
        sys.path.remove(str(ROOT))
    assert not errors(at)
    assert any("**demo** (demo)" in m.value for m in at.sidebar.markdown)
    assert any("48 genes" in c.value for c in at.sidebar.caption)
    job = [b for b in at.sidebar.button if "my run" in b.label]
    assert job and "40%" in job[0].label and at.sidebar.get("progress")
    job[0].click().run()  # a sidebar job opens its live panel (job_dock is drawn by app.py on every page)
    from dash_core.runs.store import RunStore

    opened = at.session_state["dash_open_job"]
    assert RunStore().get(opened).label == "my run" and opened in str(at.query_params["job"])


def test_demo_assets_match_the_simulator():
    """assets/demo is what `python -m dash_core simulate --preset demo` writes (assets/make_demo.sh)."""
    import pandas as pd

    from dash_core.simulate import SimulationConfig, simulate

    demo = ROOT / "assets" / "demo"
    for name in ("expression.csv", "test_expression.csv", "prior.csv", "truth.csv", "ppi.csv", "gene_sets.gmt"):
        assert (demo / name).is_file(), name
    sim = simulate(SimulationConfig.demo())
    expr = pd.read_csv(demo / "expression.csv")
    first = expr[expr["trajectory"] == sim.dataset.expression.trajectories[0].name]
    assert list(expr.columns[2:]) == sim.dataset.genes
    assert abs(first[sim.dataset.genes].to_numpy() - sim.dataset.expression.trajectories[0].values).max() < 1e-9
    truth = pd.read_csv(demo / "truth.csv")
    assert len(truth) == len(sim.dataset.truth) == 75
    sets = [line.split("\t")[0] for line in (demo / "gene_sets.gmt").read_text().splitlines()]
    assert sets == list(sim.gene_sets)
