"""Validation split rules (dash_core.split) and the "did not learn" verdict (issue 11, item 2)."""

from __future__ import annotations

import numpy as np
import pytest

from dash_core import metrics as M
from dash_core.data import ExpressionData, Trajectory, make_pairs
from dash_core.split import SplitConfig, split_expression


def _series(n_traj=1, T=24, n=3):
    trs = [Trajectory(str(k), np.arange(T, dtype=float) * 5, np.arange(T * n, dtype=float).reshape(T, n) / (T * n))
           for k in range(n_traj)]
    return ExpressionData([f"g{i}" for i in range(n)], trs)


def _pair_keys(expr):
    p = make_pairs(expr.trajectories)
    return {(round(float(a), 9), round(float(b), 9)) for a, b in zip(p.x0[:, 0], p.x1[:, 0])}


def test_single_trajectory_time_blocks_are_contiguous_disjoint_and_leave_training():
    expr = _series(1, 24)
    s = split_expression(expr, val_fraction=10 / 150, seed=3)
    assert s.rule == "time_blocks"
    val_pairs, train_pairs = _pair_keys(s.validation), _pair_keys(s.train)
    assert not val_pairs & train_pairs and len(val_pairs) + len(train_pairs) == 23
    assert len(val_pairs) == 5 and len(train_pairs) >= 17          # 20 % of 23 pairs, in 2 blocks
    assert s.validation.n_trajectories == 2
    for tr in s.validation.trajectories:                            # each block: consecutive time points
        assert len(tr.times) >= 3 and np.allclose(np.diff(tr.times), 5)
    again = split_expression(expr, val_fraction=10 / 150, seed=3)
    assert [t.name for t in again.validation.trajectories] == [t.name for t in s.validation.trajectories]
    starts = {tuple(t.name for t in split_expression(expr, val_fraction=0.1, seed=k).validation.trajectories)
              for k in range(8)}
    assert len(starts) > 1                                          # seeded random place inside each stretch


def test_validation_series_wins_and_auto_uses_whole_trajectories_when_many():
    expr, val = _series(2), _series(1)
    s = split_expression(expr, val_fraction=0.1, seed=0, validation=val)
    assert s.rule == "validation_series" and s.train is expr and s.validation is val
    many = split_expression(_series(10, 4), val_fraction=0.2, seed=0)
    assert many.rule == "trajectories" and many.validation.n_trajectories == 2
    pairs = split_expression(_series(1), val_fraction=0.25, seed=0, config=SplitConfig(rule="pairs"))
    assert pairs.rule == "pairs" and all(len(t.times) == 2 for t in pairs.validation.trajectories)


def test_too_short_trajectory_keeps_everything_for_training():
    s = split_expression(_series(1, 4), val_fraction=0.1, seed=0)
    assert s.validation is None and s.rule == "none" and s.train.n_observations == 4


def test_persistence_and_verdict():
    x0, x1 = np.zeros((3, 2)), np.ones((3, 2))
    assert M.persistence_mse(x0, x1) == 1.0
    ok = M.training_verdict(best_epoch=40, val_mse=0.5, val_mse_persistence=1.0, test_mse=0.4,
                            test_mse_persistence=1.0)
    assert not ok["did_not_learn"] and ok["val_ratio_persistence"] == 0.5 and ok["reasons"] == []
    early = M.training_verdict(best_epoch=1, val_mse=0.5, val_mse_persistence=1.0)
    assert early["did_not_learn"] and "epoch 1" in early["reasons"][0] and "--val-expression" in early["advice"]
    worse = M.training_verdict(best_epoch=50, val_mse=1.2, val_mse_persistence=1.0)
    assert worse["did_not_learn"] and "no change" in worse["reasons"][0]


def test_score_model_reports_prior_alone_and_gold_standard_regulators(tiny_sim):
    """A ChIP-seq-like gold standard covering two regulators: D.2 restricted to them, for model and prior."""
    import dataclasses

    import torch

    from dash_core.experiment import score_model
    from dash_core.models import ModelConfig, build_model
    from dash_core.network import edges_to_matrix
    from dash_core.train import TrainConfig

    ds = tiny_sim.dataset
    regs = ds.truth["source"].value_counts().index[:2].tolist()
    partial = dataclasses.replace(ds, truth=ds.truth[ds.truth["source"].isin(regs)].reset_index(drop=True))
    model = build_model(ds.n_genes, ModelConfig(hidden=4), seed=0).to(torch.float32)
    out = score_model(model, partial, TrainConfig(device="cpu"), val_mse=0.1, validation=ds.expression)
    m, d = out["metrics"], out["details"]
    assert d["gs_regulators"] == 2
    truth = edges_to_matrix(partial.truth, ds.genes)
    rows = np.isin(ds.genes, regs)
    expected = M.auroc(np.abs(ds.prior_matrix()), truth, regulators=rows)
    assert d["prior_auroc_gs_regulators"] == pytest.approx(expected)
    assert d["auroc_gs_regulators"] is not None and m["prior_auroc"] is not None
    assert m["val_mse_persistence"] == pytest.approx(M.persistence_mse(*(lambda p: (p.x0, p.x1))(
        make_pairs(ds.expression.trajectories))))
