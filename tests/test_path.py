"""The pruning path: one row per pruning level in path.csv, each level's checkpoint kept and reloadable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dash_core.experiment import PATH_COLUMNS, RunConfig, export_level, load_level, run_experiment, save_run
from dash_core.models import ModelConfig
from dash_core.pruning import PruningConfig
from dash_core.train import TrainConfig

# events at epochs 2 (70 %), 4, 6 (10 % of the remaining each): levels 0..3
CFG = RunConfig(model=ModelConfig(hidden=6), train=TrainConfig(max_epochs=7, patience=0, val_fraction=0.25),
                strategy="dash", pruning=PruningConfig(first_epoch=2, interval=2), seed=0)


@pytest.fixture(scope="module")
def saved(tiny_sim, tmp_path_factory):
    res = run_experiment(tiny_sim.dataset, CFG)
    out = tmp_path_factory.mktemp("run")
    save_run(res, out)
    return res, out


def test_path_csv_one_row_per_level(saved):
    res, out = saved
    path = pd.read_csv(out / "path.csv")
    assert list(path.columns) == PATH_COLUMNS
    assert path["level"].tolist() == [0, 1, 2, 3]
    assert path["first_epoch"].tolist() == [1, 2, 4, 6] and path["last_epoch"].tolist() == [1, 3, 5, 7]
    assert (path["best_epoch"] >= path["first_epoch"]).all() and (path["best_epoch"] <= path["last_epoch"]).all()
    # sparsity grows along the path (70 % of the weights masked at the first event), edges shrink
    assert path["sparsity"].iloc[0] < 0.3 < 0.7 <= path["sparsity"].iloc[1] < path["sparsity"].iloc[3]
    assert path["n_edges"].is_monotonic_decreasing
    # the best epoch of each level is the lowest validation MSE of that level's epochs
    h = res.history.set_index("epoch")
    for r in path.itertuples():
        assert r.val_mse == pytest.approx(h.loc[r.first_epoch:r.last_epoch, "val_mse"].min())
    # gold-standard columns are filled (simulated data has a truth), one level is the reported checkpoint
    assert path["balanced_accuracy"].notna().all() and path["auroc"].between(0, 1).all()
    assert path["reported"].sum() == 1
    rep = path[path["reported"]].iloc[0]
    assert rep["sparsity"] == pytest.approx(res.metrics["sparsity"])


def test_level_checkpoint_reloads_and_exports(saved, tiny_sim, tmp_path):
    _, out = saved
    path = pd.read_csv(out / "path.csv")
    model, _, genes = load_level(out, 1)
    masked = sum(int((p.layer.mask == 0).sum()) for p in model.prunable_layers())
    total = sum(p.layer.mask.numel() for p in model.prunable_layers())
    assert masked / total == pytest.approx(0.7, abs=0.02)
    folder = export_level(out, 2, tiny_sim.dataset, tmp_path / "lv2")
    metrics = __import__("json").loads((folder / "metrics.json").read_text())
    row = path[path["level"] == 2].iloc[0]
    assert metrics["sparsity"] == pytest.approx(row["sparsity"])
    assert metrics["balanced_accuracy"] == pytest.approx(row["balanced_accuracy"])
    edges = pd.read_csv(folder / "edges.csv")
    assert len(edges) == row["n_edges"] and (folder / "model.pt").is_file()
    assert np.all(edges["weight"] != 0)


def test_reported_level_takes_the_runs_own_scores(saved, tiny_sim):
    """The reported checkpoint is scored once (score_model); its path row equals scoring that level afresh."""
    import copy

    from dash_core.experiment import score_path

    res, _ = saved
    rep = res.path[res.path["reported"]].iloc[0]
    for key in ("balanced_accuracy", "auroc", "auprc", "test_mse"):
        assert rep[key] == res.metrics[key], key
    levels = [{**row, "state": res.path_states[int(row["level"])]} for row in res.path.to_dict("records")]
    fresh = score_path(copy.deepcopy(res.model), levels, tiny_sim.dataset, res.config.train,
                       reported_epoch=int(res.metrics["best_epoch"]))
    again = fresh[fresh["reported"]].iloc[0]
    for key in ("n_edges", "balanced_accuracy", "auroc", "auprc", "test_mse"):
        assert again[key] == pytest.approx(rep[key], rel=1e-9), key
