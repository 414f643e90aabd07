"""The real-data demo (yeast cell cycle) is one click from Home and comes with its preset (issue 11, item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from apptest_support import errors  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_yeast_demo_one_click_with_preset(tmp_path, monkeypatch):
    monkeypatch.setenv("DASH_STUDIO_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.button(key="load_yeast_demo").click().run()
    assert not errors(at)
    assert any("Active dataset: **yeast cell cycle** — 500 genes, 1 trajectories" in s.value for s in at.success)
    at.switch_page("pages/train.py").run()
    assert not errors(at)
    preset = next(w for w in at.selectbox if w.label == "Preset")
    assert preset.value == "yeast"
    assert at.number_input(key="tr_hidden_phoenix").value == 120           # the preset's settings fill the controls
    assert at.slider(key="tr_lppi").value == 0.75 and at.selectbox(key="tr_batching").value == "pairs"
    at.switch_page("pages/data.py").run()
    assert not errors(at) and at.button(key="data_load_yeast").label == "Load yeast cell-cycle data"


def test_yeast_demo_files_are_the_published_ones():
    real = ROOT.parent / "shared" / "data" / "real" / "yeast_cellcycle_500"
    if not real.exists():
        pytest.skip("../shared/data/real is not available")
    for f in real.glob("*.csv"):
        assert (ROOT / "assets" / "yeast_demo" / f.name).read_bytes() == f.read_bytes(), f.name
    assert "MIT License" in (ROOT / "assets" / "yeast_demo" / "LICENSE").read_text()


def _train(store, dataset_dir: Path, strategy: str = "none") -> str:
    from dash_core.experiment import RunConfig
    from dash_core.models import ModelConfig
    from dash_core.runs.jobs import run_job
    from dash_core.runs.store import COMPLETED
    from dash_core.train import TrainConfig

    cfg = RunConfig(model=ModelConfig(hidden=6), train=TrainConfig(max_epochs=2, prior_probes=200), strategy=strategy)
    rec = store.create_run("train", {"config": cfg.to_dict(), "dataset_dir": str(dataset_dir)}, label=strategy,
                           dataset_dir=dataset_dir)
    assert run_job(store, rec.run_id) == COMPLETED, store.get(rec.run_id).error
    return rec.run_id


def test_results_banner_and_baselines(home, tmp_path):
    """A 2-epoch run did not learn: Results says so; the prior-alone AUROC card stands beside the AUROC."""
    from dash_core.io import load_dataset
    from dash_core.runs.datasets import save_dataset_dir
    from dash_core.runs.store import RunStore

    demo = ROOT / "assets" / "demo"
    ds, _ = load_dataset(demo / "expression.csv", demo / "prior.csv", truth=demo / "truth.csv",
                         test_expression=demo / "test_expression.csv", name="demo")
    folder = save_dataset_dir(ds, tmp_path / "ds")
    run_id = _train(RunStore(home), folder)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/results.py").run()
    at.selectbox(key="res_run").set_value(run_id).run()
    assert not errors(at)
    assert any("did not learn to predict" in e.value and "epoch 2" in e.value for e in at.error)
    labels = [m.label for m in at.metric]
    assert labels.index("AUROC of the prior alone") == labels.index("AUROC") + 1
    table = at.dataframe[0].value
    assert {"validation MSE", "test MSE", "AUROC"} <= set(table["measure"]) and set(table["baseline is"]) == {
        '"no change"', "the prior alone"}
