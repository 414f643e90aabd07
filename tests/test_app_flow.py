"""App flows (AppTest): demo -> train in the background -> Results; uploads; sweeps; comparing runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("streamlit")
from apptest_support import click_chart_point, errors  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from dash_core.pruning.display import strategy_label
from dash_core.runs.store import COMPLETED, RunStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo"


@pytest.fixture()
def app(home):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    return at


def _wait(store: RunStore, run_id: str, timeout: float = 120.0):
    t0 = time.time()
    while store.get(run_id).active:
        assert time.time() - t0 < timeout, "the background run did not finish"
        time.sleep(0.25)
    return store.get(run_id)


def _train_in_process(store: RunStore, dataset_dir: Path, strategy: str, label: str, epochs: int = 2) -> str:
    from dash_core.experiment import RunConfig
    from dash_core.models import ModelConfig
    from dash_core.runs.jobs import run_job
    from dash_core.train import TrainConfig

    cfg = RunConfig(model=ModelConfig(hidden=8), train=TrainConfig(max_epochs=epochs, prior_probes=200),
                    strategy=strategy)
    rec = store.create_run("train", {"config": cfg.to_dict(), "dataset_dir": str(dataset_dir)}, label=label,
                           dataset_dir=dataset_dir)
    assert run_job(store, rec.run_id) == COMPLETED, store.get(rec.run_id).error
    return rec.run_id


def test_demo_train_results_flow(app, home):
    from dash_core.metrics import METRIC_INFO

    app.button(key="load_demo").click().run()
    app.switch_page("pages/train.py").run()
    app.number_input(key="tr_epochs").set_value(3)
    app.number_input(key="tr_hidden_phoenix").set_value(8)
    app.selectbox(key="tr_strategy").set_value("dash")
    app.button(key="tr_launch").click().run()
    assert not errors(app) and not app.error
    run_id = app.session_state["train_live_run"]
    store = RunStore(home)
    assert store.get(run_id).kind == "train"
    rec = _wait(store, run_id)
    assert rec.status == COMPLETED, rec.error
    assert rec.summary["metrics"]["epochs"] == 3 and rec.summary["strategy"] == "dash"
    app.run()  # the live panel now shows the finished run
    assert any(m.label == "Epoch" and m.value == "3 / 3" for m in app.metric)
    app.button(key="tr_open").click().run()
    assert not errors(app)
    assert app.title[0].value == "Results"
    assert app.selectbox(key="res_run").value == run_id
    labels = [m.label for m in app.metric]
    for key in ("sparsity", "balanced_accuracy", "auprc", "test_mse"):
        assert METRIC_INFO[key]["label"] in labels
    card = next(m for m in app.metric if m.label == "Sparsity")
    assert card.value.endswith("%") and card.help == METRIC_INFO["sparsity"]["help"]
    charts = app.get("plotly_chart")
    assert len(charts) >= 3  # heatmaps, fitted trajectories, training curves
    heat = json.loads(charts[0].proto.spec)
    assert [a["text"] for a in heat["layout"]["annotations"]] == ["Ground truth", "Prior", "Inferred effect matrix E"]
    assert len(app.get("iframe")) + len(app.get("html")) + len(app.get("unknown")) >= 1  # the network view
    downloads = {d.label for d in app.get("download_button")}
    assert downloads == {"Edges (CSV)", "Network (GraphML)", "Metrics (JSON)", "Config (JSON)", "Checkpoint (.pt)"}
    assert any("Reconstruction error" in m.value for m in app.markdown)
    # the edge table: every learned edge with its gold-standard status, then the missed ones; searchable
    table = next(d.value for d in app.dataframe if "status" in d.value.columns)
    assert set(table["status"]) <= {"true positive", "false positive"} and len(table) > 0
    assert any("regulator" in d.value.columns and "true targets found" in d.value.columns for d in app.dataframe)
    reg = table["regulator"].iloc[0]
    app.text_input(key="res_edges_q").set_value(reg)
    app.switch_page("pages/results.py").run()  # (AppTest reruns the page it last switched to itself)
    assert not errors(app) and app.title[0].value == "Results", (errors(app), [t.value for t in app.title])
    shown = next(d.value for d in app.dataframe if "status" in d.value.columns)
    assert len(shown) and all(reg.lower() in (r + " " + t).lower() for r, t in zip(shown["regulator"],
                                                                                 shown["target"]))


def test_bad_upload_keeps_previous_dataset(app):
    app.button(key="load_demo").click().run()
    before = app.session_state["dash_dataset_dir"]
    app.switch_page("pages/data.py").run()
    app.file_uploader(key="up_expression").upload("broken.csv", b"trajectory,time,G1\nt1,0,abc\nt1,1,0.5\n",
                                                   "text/csv")
    app.button(key="FormSubmitter:upload_form-Validate and load").click().run()
    assert not errors(app)
    errs = [e.value for e in app.error]
    assert errs and "previously loaded dataset is unchanged" in errs[0] and "Traceback" not in errs[0]
    assert "broken.csv" in errs[0] and "abc" in errs[0]
    assert app.session_state["dash_dataset_dir"] == before


def test_good_upload_validation_report_and_orientation(app):
    app.switch_page("pages/data.py").run()
    app.file_uploader(key="up_expression").upload("expression.csv", (DEMO / "expression.csv").read_bytes(), "text/csv")
    app.file_uploader(key="up_prior").upload("prior.csv", (DEMO / "prior.csv").read_bytes(), "text/csv")
    app.file_uploader(key="up_ppi").upload("ppi.csv", (DEMO / "ppi.csv").read_bytes(), "text/csv")
    app.button(key="FormSubmitter:upload_form-Validate and load").click().run()
    assert not errors(app) and not app.error
    assert any("Loaded **expression**" in s.value for s in app.success)
    # the PPI's diagonal (self-interaction, methods B.1) is part of the format: kept, noted, not a warning
    assert not any("self-loop" in w.value for w in app.warning)
    assert not any("/workspaces/" in w.value or "/sessions/" in w.value for w in app.warning)  # no server paths
    frames = app.get("arrow_data_frame") or app.dataframe
    assert frames
    assert any("rows = regulator" in c.value for c in app.caption)


def test_minmax_offer_scales_values(app):
    df = pd.read_csv(DEMO / "expression.csv")
    genes = [c for c in df.columns if c not in ("trajectory", "time")]
    df[genes] = df[genes] * 50 + 3
    app.switch_page("pages/data.py").run()
    app.file_uploader(key="up_expression").upload("big.csv", df.to_csv(index=False).encode(), "text/csv")
    app.button(key="FormSubmitter:upload_form-Validate and load").click().run()
    assert any("far outside [0, 1]" in w.value for w in app.warning)
    app.button(key="minmax").click().run()
    assert not errors(app)
    value_range = next(m.value for m in app.metric if m.label == "Value range")
    assert value_range == "0 – 1"


def test_simulate_replaces_dataset(app):
    app.switch_page("pages/data.py").run()
    app.slider(key="sim_genes").set_value(12)
    app.slider(key="sim_traj").set_value(6)
    app.button(key="FormSubmitter:sim_form-Simulate").click().run()
    assert not errors(app)
    assert next(m.value for m in app.metric if m.label == "Genes") == "12"


def test_compare_and_lambda_explorer_show_runs(app, home):
    app.button(key="load_demo").click().run()
    store = RunStore(home)
    ds = Path(app.session_state["dash_dataset_dir"])
    a = _train_in_process(store, ds, "none", "unpruned")
    b = _train_in_process(store, ds, "dash", "dash run")
    # a finished sweep whose points are the two runs
    sweep = store.create_run("sweep", {"strategy": "dash"}, label="my sweep")
    store.mark_running(sweep.run_id)
    pts = pd.DataFrame([{**store.get(r).summary["metrics"], "strategy": s, "lambda_ppi": 0.5, "lambda_motif": 0.05,
                         "seed": 0, "run_id": r} for r, s in ((a, "none"), (b, "dash"))])
    pts.to_csv(sweep.path / "points.csv", index=False)
    store.finish(sweep.run_id, {"n_points": 2})

    app.switch_page("pages/compare.py").run()
    assert not errors(app)
    assert set(app.multiselect(key="cmp_runs").value) == {a, b}
    table = app.dataframe[0].value
    assert {"unpruned", "dash run"} <= set(table.columns) and "Sparsity" in table.index
    plane = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert {t["name"] for t in plane["data"]} == {"unpruned", "dash run"}
    settings = next(d.value for d in app.dataframe if "strategy" in d.value.index)
    assert settings.loc["strategy", "dash run"] == strategy_label("dash") != "dash"  # plain names, not registry keys

    app.switch_page("pages/lambda_explorer.py").run()
    assert not errors(app)
    assert app.selectbox(key="sw_run").value == sweep.run_id
    specs = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    ids = {p[0] for t in specs[0]["data"] for p in t["customdata"]}
    assert ids == {a, b}  # click-to-open carries the run ids
    assert specs[1]["data"][0]["type"] == "heatmap"
    points_table = next(d.value for d in app.dataframe if "λ_PPI" in d.value.columns)
    assert set(points_table["strategy"]) == {strategy_label("none"), strategy_label("dash")}

    app.switch_page("pages/results.py").run()
    app.selectbox(key="res_run").set_value(a).run()
    assert not errors(app)
    app.run()
    assert app.selectbox(key="res_run").value == a  # the user's choice sticks across reruns
    app.radio(key="res_color").set_value("status").run()
    assert not errors(app)


def test_cancel_from_the_live_panel(app, home):
    app.button(key="load_demo").click().run()
    app.switch_page("pages/train.py").run()
    app.number_input(key="tr_epochs").set_value(2000)
    app.number_input(key="tr_patience").set_value(0)
    app.number_input(key="tr_hidden_phoenix").set_value(4)
    app.selectbox(key="tr_strategy").set_value("imp")
    app.button(key="tr_launch").click().run()
    run_id = app.session_state["train_live_run"]
    store = RunStore(home)
    t0 = time.time()
    while not store.progress(run_id).get("epoch", pd.Series(dtype=float)).notna().any():
        assert time.time() - t0 < 120 and store.get(run_id).active, store.get(run_id).error
        time.sleep(0.25)
    app.run()
    app.button(key=f"train_live_cancel_{run_id}").click().run()
    assert not errors(app)
    rec = _wait(store, run_id, timeout=60)
    assert rec.status == "cancelled" and rec.summary and rec.summary["metrics"]["epochs"] < 2000
    assert (rec.path / "model.pt").is_file()  # the best model so far is kept
    app.run()
    assert any("stopped" in i.value for i in app.info)


def test_failed_run_shows_its_error(app, home):
    store = RunStore(home)
    rec = store.create_run("train", {}, label="doomed")
    store.mark_running(rec.run_id)
    store.fail(rec.run_id, "The prior network is empty.\nLast lines of job.log:\nValueError: x")
    app.session_state["train_live_run"] = rec.run_id
    app.button(key="load_demo").click().run()
    app.switch_page("pages/train.py").run()
    assert not errors(app)
    assert [e.value for e in app.error] == ["The prior network is empty."]
    assert any("ValueError: x" in c.value for c in app.code)


def test_sweep_curves_recommendation_and_confidence(app, home):
    """A real sweep job: live paths.csv, curves + Pareto front + recommended star, one click to Results with confidence
    and the prior audit; no "best" point picked by the gold standard."""
    from dash_core.experiment import RunConfig
    from dash_core.models import ModelConfig
    from dash_core.pruning import PruningConfig
    from dash_core.runs.jobs import run_job
    from dash_core.train import TrainConfig

    app.button(key="load_demo").click().run()
    store = RunStore(home)
    ds = Path(app.session_state["dash_dataset_dir"])
    cfg = RunConfig(model=ModelConfig(hidden=4), train=TrainConfig(max_epochs=5, patience=0, prior_probes=200),
                    strategy="dash", pruning=PruningConfig(first_epoch=2, interval=2))
    rec = store.create_run("sweep", {"config": cfg.to_dict(), "dataset_dir": str(ds), "strategy": "dash",
                                     "lambda_ppi_grid": [0.05, 0.95], "lambda_motif_grid": [0.05], "seeds": [0, 1],
                                     "baselines": ["imp", "none"], "tolerance": 0.05}, label="tiny sweep",
                           dataset_dir=ds)
    assert run_job(store, rec.run_id) == COMPLETED, store.get(rec.run_id).error
    summary = store.get(rec.run_id).summary
    assert "best" not in summary and summary["recommended"]["tolerance"] == 0.05
    paths = pd.read_csv(rec.path / "paths.csv")
    # 6 pruned runs x 3 levels (events 2, 4) + 2 unpruned runs x 1 level
    assert len(paths) == 6 * 3 + 2 and set(paths["strategy"]) == {"dash", "imp", "none"}

    app.switch_page("pages/lambda_explorer.py").run()
    assert not errors(app)
    app.selectbox(key="sw_run").set_value(rec.run_id).run()
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    names = [t["name"] for t in spec["data"]]
    assert "Pareto front" in names and "recommended" in names
    assert {"dash λ=(0.05, 0.05)", "dash λ=(0.95, 0.05)", "imp"} <= set(names)
    app.button(key="sw_open_rec").click().run()
    assert not errors(app)
    assert app.selectbox(key="res_run").value == summary["recommended"]["run_id"]
    hist = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    assert any("Edge confidence" in str(h.get("layout", {}).get("title")) for h in hist)
    assert any(m.label == "unsupported prior" for m in app.metric)
    # the unpruned baseline (none, seeds 0 and 1) referees the prior audit, and Results says so
    assert any("Refereed by 2 unpruned PHOENIX run(s)" in i.value for i in app.info)
    app.slider(key="res_min_conf").set_value(1.0).run()
    assert not errors(app)

    # clicking a curve point opens that pruning level's checkpoint, not the run's reported one
    app.switch_page("pages/lambda_explorer.py").run()
    chart = app.get("plotly_chart")[0]
    trace = next(t for t in json.loads(chart.proto.spec)["data"] if t["name"] == "dash λ=(0.05, 0.05)")
    run_id = trace["customdata"][0][0]
    source = store.get(run_id).path
    path = pd.read_csv(source / "path.csv")
    level = int(path.loc[~path["reported"].astype(bool), "level"].iloc[0])
    i = [int(float(c[1])) for c in trace["customdata"]].index(level)
    click_chart_point(app, chart, {"x": i, "y": i, "customdata": trace["customdata"][i]})
    assert not errors(app)
    opened = store.get(app.selectbox(key="res_run").value)
    assert opened.run_id != run_id and opened.params["level_of"] == run_id and opened.params["level"] == level
    assert f"pruning level {level}" in opened.label
    metrics = json.loads((opened.path / "metrics.json").read_text())
    assert metrics["sparsity"] == pytest.approx(float(path.loc[path["level"] == level, "sparsity"].iloc[0]))
    # the reported level opens the run itself
    reported = int(path.loc[path["reported"].astype(bool), "level"].iloc[0])
    app.switch_page("pages/lambda_explorer.py").run()
    chart = app.get("plotly_chart")[0]
    i = [int(float(c[1])) for c in trace["customdata"]].index(reported)
    click_chart_point(app, chart, {"x": i, "y": i, "customdata": trace["customdata"][i]})
    assert not errors(app) and app.selectbox(key="res_run").value == run_id


def test_lambda_explorer_draws_runs_still_training(app, home):
    """While a sweep runs, the curves include the path so far of runs still training (path_live.csv), also
    members of a stack that has not finished; the recommendation reads only finished runs."""
    from dash_core.studies.selection import LIVE_PATH_FILE

    app.button(key="load_demo").click().run()
    store = RunStore(home)
    sweep = store.create_run("sweep", {"strategy": "dash", "tolerance": 0.05}, label="running sweep")
    store.mark_running(sweep.run_id)
    cols = {"strategy": "dash", "lambda_motif": 0.05, "seed": 0}
    finished = pd.DataFrame([{**cols, "key": "f", "lambda_ppi": 0.05, "level": lv, "sparsity": sp, "val_mse": v,
                              "reported": lv == 1, "run_dir": str(sweep.path / "points/dash/runs/f")}
                             for lv, sp, v in ((0, 0.0, 1.0), (1, 0.7, 0.9))])
    finished.to_csv(sweep.path / "paths.csv", index=False)
    live_dir = sweep.path / "points" / "dash" / "runs" / "g"
    live_dir.mkdir(parents=True)
    pd.DataFrame([{**cols, "key": "g", "lambda_ppi": 0.95, "run_dir": str(live_dir), "level": lv, "first_epoch": lv,
                   "last_epoch": lv, "best_epoch": lv, "val_mse": v, "sparsity": sp, "n_unmasked": 10}
                  for lv, sp, v in ((0, 0.0, 1.1), (1, 0.7, 0.5), (2, 0.9, 0.5))]).to_csv(live_dir / LIVE_PATH_FILE,
                                                                                           index=False)
    app.switch_page("pages/lambda_explorer.py").run()
    assert not errors(app)
    app.selectbox(key="sw_run").set_value(sweep.run_id).run()
    assert not errors(app)
    names = [t["name"] for t in json.loads(app.get("plotly_chart")[0].proto.spec)["data"]]
    assert "dash λ=(0.95, 0.05)" in names and "dash λ=(0.05, 0.05)" in names
    assert any("1 run(s) still training" in c.value for c in app.caption)
    # the live run is better and sparser, but only the finished one is recommended
    assert any("λ = (0.05, 0.05)" in m.value for m in app.markdown)
