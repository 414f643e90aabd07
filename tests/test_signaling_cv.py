"""Cross-validation of signaling models (leave one condition out, K-fold): files, pooled r, resume, stacking."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dash_core.io.errors import DashInputError
from dash_core.signaling.config import self_prune_config
from dash_core.signaling.cv import CVConfig, ligand_features, make_folds, parse_folds, ridge_baseline, run_cv
from dash_core.signaling.synthetic import random_ground_truth, random_signed_network, synthetic_data


def _data(n_samples: int = 6):
    pkn, ligs, tfs, signs = random_signed_network(14, 3, 4, 28, seed=1)
    return synthetic_data(random_ground_truth(pkn, ligs, tfs, signs, seed=1), n_samples, seed=1)


def _train(**kw):
    return self_prune_config(epochs=3, device="cpu", eval_every=3, max_steps=40, **kw)


def test_make_folds_partitions_conditions():
    loo = make_folds(5, "loo")
    assert [f.tolist() for f in loo] == [[0], [1], [2], [3], [4]]
    k3 = make_folds(10, 3, seed=2)
    assert sorted(np.concatenate(k3).tolist()) == list(range(10)) and sorted(len(f) for f in k3) == [3, 3, 4]
    assert [f.tolist() for f in make_folds(10, 3, seed=2)] == [f.tolist() for f in k3]
    assert parse_folds("LOO") == "loo" and parse_folds("4") == 4
    with pytest.raises(DashInputError):
        parse_folds("1")
    with pytest.raises(DashInputError):
        make_folds(3, 4)


def test_leave_one_out_writes_tables_and_resumes(tmp_path):
    data = _data()
    cfg = CVConfig(folds="loo", train=_train())
    res = run_cv(data, cfg, tmp_path)
    table = pd.read_csv(tmp_path / "cv.csv")
    assert table["fold"].tolist() == list(range(6)) and (table["n_test"] == 1).all() and (table["n_train"] == 5).all()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["folds"] == summary["folds_total"] == 6 and summary["complete"]
    for key in ("pooled_pearson", "mean_fold_pearson", "wall_seconds", "baseline_pooled_pearson",
                "ridge_pooled_pearson", "ridge_pairwise_pooled_pearson"):
        assert summary[key] is not None
    assert {"ridge_pearson", "ridge_pairwise_pearson"} <= set(table.columns)
    # pooled r is over every held-out condition x TF value
    pred = pd.read_csv(tmp_path / "predictions.csv", index_col=0)
    truth = data.tfs.loc[pred.index, data.tfs.columns].to_numpy()
    r = np.corrcoef(pred[data.tfs.columns].to_numpy().ravel(), truth.ravel())[0, 1]
    assert summary["pooled_pearson"] == pytest.approx(r, abs=1e-9)
    assert sorted(pred.index) == sorted(data.conditions)
    assert len(pd.read_csv(tmp_path / "per_tf.csv")) == data.tfs.shape[1]
    assert (tmp_path / "predicted_vs_measured.html").exists()
    assert res.summary["pooled_pearson"] == summary["pooled_pearson"]
    # each fold's model is saved and reproduces its held-out predictions
    from dash_core.signaling.train import load_checkpoint, predict

    model, _ = load_checkpoint(tmp_path / "folds" / "fold_002")
    held = data.ligands.iloc[[2]].to_numpy()
    assert np.allclose(predict(model, held)[0], pred.loc[data.conditions[2], data.tfs.columns].to_numpy(), atol=1e-3)
    # resume: a removed fold is redone, the others are kept as they are
    kept = (tmp_path / "folds" / "fold_001" / "predictions.csv").read_text()
    for f in (tmp_path / "folds" / "fold_004").iterdir():
        f.unlink()
    seen = []
    run_cv(data, cfg, tmp_path, on_fold=lambda done, total, row, err: seen.append(row["fold"]))
    assert seen == [4]
    assert (tmp_path / "folds" / "fold_001" / "predictions.csv").read_text() == kept
    assert json.loads((tmp_path / "summary.json").read_text())["pooled_pearson"] == pytest.approx(summary["pooled_pearson"], abs=1e-6)
    with pytest.raises(DashInputError, match="other settings"):
        run_cv(data, CVConfig(folds="loo", train=_train(lambda_l2=1e-4)), tmp_path)


def test_stacked_folds_match_folds_trained_one_by_one(tmp_path):
    data = _data()
    one = run_cv(data, CVConfig(folds=3, stack_size=1, train=_train()), tmp_path / "one")
    stacked = run_cv(data, CVConfig(folds=3, stack_size=0, train=_train()), tmp_path / "all")
    assert (stacked.folds["stack_size"] == 3).all() and (one.folds["stack_size"] == 1).all()
    cols = list(data.tfs.columns)
    # a stack iterates the recurrence until all its models converge: equal within the recurrence tolerance
    assert np.allclose(one.predictions[cols].to_numpy(), stacked.predictions.loc[one.predictions.index, cols].to_numpy(), atol=2e-3)


def test_validation_split_checkpoint_and_only(tmp_path):
    """Each fold validates on one of its training conditions (the same for every setting); the best-validation
    checkpoint is the saved model; --only runs a subset and a later run completes the folder."""
    from dash_core.signaling.cv import folds_to_run, validation_split
    from dash_core.signaling.train import load_checkpoint, predict

    data = _data()
    train = self_prune_config(epochs=6, device="cpu", eval_every=2, max_steps=40, validation_size=1, checkpoint="best_validation")
    cfg = CVConfig(folds="loo", train=train)
    assert folds_to_run(6, tmp_path, [3, 1, 3]) == [1, 3]
    part = run_cv(data, cfg, tmp_path, only=[1, 3])
    assert part.summary["folds"] == 2 and not part.summary["complete"]
    assert folds_to_run(6, tmp_path) == [0, 2, 4, 5] and folds_to_run(6, tmp_path, [1, 2]) == [2]
    assert part.summary["mean_fold_val_pearson"] is not None
    res = run_cv(data, cfg, tmp_path)
    table = res.folds.set_index("fold")
    assert res.summary["complete"] and (table["n_val"] == 1).all() and (table["n_train"] == 4).all()
    for fold, row in table.iterrows():
        val = row["val_conditions"]
        assert val != row["test_conditions"] and val in data.conditions
        expected = validation_split(np.setdiff1d(np.arange(6), [fold]), 1, train.seed, fold)
        assert val == data.conditions[int(expected[0])]
        assert row["best_epoch"] in (2, 4, 6)
    # the saved model is the restored checkpoint: it reproduces the fold's held-out predictions
    model, _ = load_checkpoint(tmp_path / "folds" / "fold_003")
    pred = pd.read_csv(tmp_path / "predictions.csv", index_col=0)
    held = data.ligands.iloc[[3]].to_numpy()
    assert np.allclose(predict(model, held)[0], pred.loc[data.conditions[3], data.tfs.columns].to_numpy(), atol=1e-3)
    hist = pd.read_csv(tmp_path / "folds" / "fold_003" / "history.csv")
    assert hist["val_pearson"].notna().sum() == 3
    with pytest.raises(DashInputError, match="do not exist"):
        run_cv(data, cfg, tmp_path, only=[9])
    with pytest.raises(DashInputError, match="validation_size"):
        _train(checkpoint="best_validation")


def test_unseen_ligands_and_seen_ligand_pooled_r(tmp_path):
    from types import SimpleNamespace

    from dash_core.signaling.cv import unseen_ligands

    lig = pd.DataFrame({"A": [1, 1, 0], "B": [0, 0, 1], "C": [0, 1, 0]}, index=["a", "ab", "b"])
    fake = SimpleNamespace(ligands=lig)
    assert unseen_ligands(fake, ["b"]) == ["B"] and unseen_ligands(fake, ["a"]) == []
    assert unseen_ligands(fake, ["ab"]) == ["C"] and unseen_ligands(fake, ["a", "ab"]) == ["A", "C"]
    data = _data()
    res = run_cv(data, CVConfig(folds="loo", train=_train()), tmp_path)
    flagged = [f for f, u in zip(res.folds["fold"], res.folds["unseen_ligands"].fillna("")) if u]
    expected = [i for i, c in enumerate(data.conditions) if unseen_ligands(data, [c])]
    assert flagged == expected and res.summary["folds_seen_ligands"] == 6 - len(expected)
    if not expected:
        assert res.summary["pooled_pearson_seen_ligands"] == pytest.approx(res.summary["pooled_pearson"])


def test_ridge_baselines_recover_additive_and_pairwise_responses():
    """Known answers: TF activities that are exactly additive in the ligands are predicted for unseen combinations
    by the additive ridge baseline; a pure pair interaction only by the pairwise one."""
    rng = np.random.default_rng(0)
    x = (rng.uniform(size=(40, 4)) < 0.5).astype(float) * rng.uniform(0.5, 1.0, size=(40, 4))
    effects = rng.normal(size=(4, 3))
    y_add = 0.2 + x @ effects
    train, test = np.arange(30), np.arange(30, 40)
    pred = ridge_baseline(x[train], y_add[train], x[test])
    assert np.corrcoef(pred.ravel(), y_add[test].ravel())[0, 1] > 0.99
    y_pair = np.column_stack([x[:, 0] * x[:, 1], x[:, 2] * x[:, 3]])
    additive = ridge_baseline(x[train], y_pair[train], x[test])
    pairwise = ridge_baseline(x[train], y_pair[train], x[test], pairwise=True)
    err_add = np.mean((additive - y_pair[test]) ** 2)
    err_pair = np.mean((pairwise - y_pair[test]) ** 2)
    assert err_pair < 0.2 * err_add
    assert ligand_features(x, True).shape == (40, 4 + 6)
    # too few training conditions to choose a penalty: the training mean
    assert np.allclose(ridge_baseline(x[:2], y_add[:2], x[test]), y_add[:2].mean(axis=0))
