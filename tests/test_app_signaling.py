"""The Signaling page (AppTest): demo load, validation messages, a real background training job, study results."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from apptest_support import errors, open_app, widgets  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGE = "pages/signaling.py"
DEMO = ROOT / "assets" / "signaling_demo"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _demo_params(epochs: int = 3) -> dict:
    return {"data": {"pkn": str(DEMO / "pkn.tsv"), "ligands": str(DEMO / "ligands.tsv"), "tfs": str(DEMO / "tfs.tsv"),
                     "name": "demo"},
            "config": {"epochs": epochs, "device": "cpu"}}


def _open_with_demo():
    """The Signaling page with the demo data loaded (no error shown)."""
    at = open_app(PAGE)
    at.button(key="sig_demo").click().run()
    assert not errors(at)
    return at


class _QuietReporter:
    """The reporter a job function gets, doing nothing (the job runs in the test process)."""

    def progress(self, *a, **k):
        pass

    def should_stop(self):
        return False

    def log(self, text):
        pass


def _finished_job(home, kind: str, label: str, job, params: dict) -> str:
    """Run the job function ``job`` directly into a new ``kind`` run of the store at ``home``, marked completed."""
    from dash_core.runs.store import COMPLETED, RunStore

    store = RunStore(home)
    rec = store.create_run(kind, {}, label=label)
    summary = job(params, rec.path, _QuietReporter())
    store.finish(rec.run_id, summary, status=COMPLETED)
    return rec.run_id


def test_empty_page_then_demo_load(home):
    at = open_app(PAGE)
    assert at.title[0].value == "Signaling"
    assert any("No signaling data" in i.value for i in at.info)
    at.button(key="sig_demo").click().run()
    assert not errors(at)
    m = _metrics(at)
    assert (m["Nodes"], m["Edges"], m["Ligands"], m["TFs"], m["Conditions"]) == ("40", "91", "6", "8", "60")
    assert int(m["Stimulating"]) + int(m["Inhibiting"]) + int(m["Unknown sign"]) == 91
    # the demo's report notes are shown without the server folder
    texts = [e.value for e in (*at.markdown, *at.caption, *at.warning, *at.error)]
    assert any("91 edges" in t for t in texts) and not any(str(DEMO) in t for t in texts)
    for kind, w in widgets(at):
        assert w.help, f"{kind} {w.label!r} has no tooltip"
    # train and study controls are there once data is loaded
    assert at.button(key="sig_tr_launch") and at.button(key="sig_sp_launch")


def test_bad_upload_shows_library_message(home, tmp_path):
    bad = tmp_path / "net.tsv"
    bad.write_text("source\ttarget\tstimulation\nA\tB\t1\n")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["sig_data"] = {"pkn": str(bad), "ligands": str(DEMO / "ligands.tsv"),
                                    "tfs": str(DEMO / "tfs.tsv"), "name": "net", "source": "upload",
                                    "prefixes": [str(tmp_path) + "/"]}
    at.run()
    at.switch_page(PAGE).run()
    assert not errors(at)
    shown = [e.value for e in at.error]
    assert any("lacks the column(s) inhibition" in e for e in shown), shown
    assert not any(str(tmp_path) in e for e in shown)  # the server folder is not shown
    assert any("Load valid signaling data" in i.value for i in at.info)


def test_custom_l2_is_validated(home):
    at = _open_with_demo()
    at.text_input(key="sig_sp_l2_custom").set_value("3e-5, abc").run()
    assert not errors(at)
    assert any("'abc' is not a number" in e.value for e in at.error)
    assert at.button(key="sig_sp_launch").disabled
    at.text_input(key="sig_sp_l2_custom").set_value("3e-5").run()
    assert not at.button(key="sig_sp_launch").disabled
    assert any("4 L2 levels" in c.value for c in at.caption)


def test_train_job_runs_and_results_render(home):
    from dash_core.runs.store import COMPLETED, RunStore

    at = _open_with_demo()
    at.number_input(key="sig_tr_epochs").set_value(3)
    at.selectbox(key="sig_tr_device").set_value("cpu")
    at.button(key="sig_tr_launch").click().run()
    assert not errors(at)
    store = RunStore(home)
    runs = store.list_runs(kind="signaling_train")
    assert len(runs) == 1
    run_id = runs[0].run_id
    deadline = time.time() + 90
    while store.get(run_id).active and time.time() < deadline:
        time.sleep(0.5)
    rec = store.get(run_id)
    assert rec.status == COMPLETED, rec.error
    assert rec.summary["epochs_done"] == 3 and rec.summary["stopped"] is False
    assert rec.params["config"]["epochs"] == 3 and rec.params["config"]["test_size"] == 5
    at.run()
    assert not errors(at)
    assert at.selectbox(key="sig_tr_result").value == run_id
    m = _metrics(at)
    assert float(m["Test Pearson r"]) == pytest.approx(rec.summary["metrics"]["test_pearson"], abs=1e-3)
    assert m["Epochs"] == "3"
    charts = [c for c in at.get("plotly_chart") if c.proto.spec]
    assert len(charts) >= 2  # prediction scatter and training curves
    assert any("predicted vs. measured" in c.proto.spec for c in charts)


@pytest.fixture()
def finished_study(home):
    """A finished 2-model self-pruning study registered in the store (job function called directly)."""
    from dash_core.signaling.jobs import selfprune_job

    params = {**_demo_params(3), "study": {"n_spurious": 12, "l2_levels": [1e-6, 1e-4], "seeds": [0]}}
    return _finished_job(home, "selfprune", "tiny study", selfprune_job, params)


def test_study_results_render(home, finished_study):
    at = _open_with_demo()
    assert at.selectbox(key="sig_sp_result").value == finished_study
    specs = [c.proto.spec for c in at.get("plotly_chart") if c.proto.spec]
    assert any("Self-pruning readouts" in s for s in specs)  # heatmap
    assert any("|W| distributions" in s and '"type":"log"' in s.replace(" ", "") for s in specs)  # ECDFs, log x
    assert any("Magnitude pruning" in s for s in specs)  # R4 curves
    frames_ = [d.value for d in at.dataframe]
    ks = next(f for f in frames_ if "KS D (vs all PKN)" in f.columns)
    assert list(ks["λ_L2"]) == ["1e-06", "0.0001"]
    assert ((ks["KS D (vs all PKN)"] >= 0) & (ks["KS D (vs all PKN)"] <= 1)).all()
    table = next(f for f in frames_ if "injected edges below the median |W|" in f.columns)  # plain column names
    assert len(table) == 2 and set(table["injected edges"]) == {12}
    assert not any("_" in c for c in table.columns if c not in ("run_dir",))
    frames = [f for f in at.get("iframe")] if at.get("iframe") else []
    html = frames[0].proto.srcdoc if frames else ""
    assert "spurious (injected) edge" in html and "PKN edge" in html
    assert " (spurious)" in html  # edge tooltips name the spurious edges
    assert not any(tag in html for tag in ("<script src=", "<link href="))
    for kind, w in widgets(at):
        assert w.help, f"{kind} {w.label!r} has no tooltip"
    # another model and weights at the middle checkpoint
    at.selectbox(key="sig_sp_model").set_value(1).run()
    at.radio(key="sig_sp_wcol").set_value("weight_final").run()
    assert not errors(at)


@pytest.fixture()
def finished_cv(home):
    """A finished 3-fold cross-validation registered in the store (job function called directly)."""
    from dash_core.signaling.jobs import signaling_cv_job

    params = {**_demo_params(2), "preset": "self_prune", "cv": {"folds": 3}}
    params["config"]["max_steps"] = 30
    return _finished_job(home, "signaling_cv", "tiny cv", signaling_cv_job, params)


def test_cv_results_render(home, finished_cv):
    at = _open_with_demo()
    assert at.selectbox(key="sig_cv_result").value == finished_cv
    m = _metrics(at)
    assert m["Folds"] == "3 / 3" and m["Pooled r"] != "—" and m["Baseline r"] != "—"
    specs = [c.proto.spec for c in at.get("plotly_chart") if c.proto.spec]
    assert any("Cross-validation, held-out conditions" in s and "pooled r" in s for s in specs)
    frames_ = [d.value for d in at.dataframe]
    assert any("test_pearson" in f.columns and len(f) == 3 for f in frames_)
    assert any("tf" in f.columns and len(f) == 8 for f in frames_)
    for kind, w in widgets(at):
        assert w.help, f"{kind} {w.label!r} has no tooltip"
