"""Presets registry, time units and the batching rule (issue 11, items 2 and 4)."""

from __future__ import annotations

import numpy as np
import pytest

from dash_core.data import Dataset, ExpressionData, Trajectory
from dash_core.experiment import RunConfig
from dash_core.io.errors import DashInputError
from dash_core.presets import PRESETS, apply_preset, describe_presets
from dash_core.split import resolve_batching
from dash_core.timescale import resolve_time_scale, scale_time


def test_presets_from_the_spec_with_citations():
    assert {"sim350", "breast", "yeast", "hema"} <= set(PRESETS.names())
    assert apply_preset(RunConfig(), "sim350") == RunConfig()
    breast = apply_preset(RunConfig(strategy="dash"), "breast")
    p = breast.pruning
    assert (p.first_epoch, p.first_amount, p.interval, p.amount, p.late_epoch, p.late_amount) == (10, 0.9, 20, 0.1,
                                                                                                  220, 0.05)
    assert (p.lambda_ppi, p.lambda_motif) == (0.995, 0.95) and breast.train.patience == 0
    yeast = apply_preset(RunConfig(strategy="dash"), "yeast")
    assert (yeast.pruning.lambda_ppi, yeast.pruning.lambda_motif) == (0.75, 0.75) and yeast.train.lambda_data is None
    assert apply_preset(RunConfig(strategy="none"), "yeast").train.lambda_data == 0.8  # PHOENIX's yeast λ_data
    hema = apply_preset(RunConfig(), "hema")
    assert (hema.pruning.lambda_ppi, hema.pruning.lambda_motif) == (0.8, 0.8) and hema.time_scale == "index"
    for d in describe_presets():
        assert d["description"] and d["citation"]
    with pytest.raises(DashInputError, match="Unknown preset 'nope'"):
        apply_preset(RunConfig(), "nope")


def _expr(times_list):
    return ExpressionData(["a", "b"], [Trajectory(str(i), t, np.random.default_rng(i).random((len(t), 2)))
                                       for i, t in enumerate(times_list)])


def test_time_scale_auto_reads_pseudotime_by_order_and_keeps_clock_time():
    clock = _expr([np.arange(24) * 5.0])                                   # yeast: every 5 min
    pseudo = _expr([np.sort(np.r_[0, np.random.default_rng(0).random(40) ** 6, 1])])  # gaps over decades
    sim = _expr([np.array([0, 2, 3, 7, 9.0])] * 6)
    assert resolve_time_scale(clock, "auto") == "none" and resolve_time_scale(sim, "auto") == "none"
    assert resolve_time_scale(pseudo, "auto") == "index"
    ds = Dataset(pseudo, test_expression=_expr([np.array([0.1, 0.5, 0.9])]))
    out, mode, note = scale_time(ds, "auto")
    assert mode == "index" and np.array_equal(out.expression.trajectories[0].times, np.arange(42.0))
    assert np.array_equal(out.test_expression.trajectories[0].times, [0, 1, 2]) and "order" in note
    assert ds.expression.trajectories[0].times[1] < 1  # the input is not modified
    out, mode, _ = scale_time(Dataset(clock, validation_expression=_expr([np.arange(24) * 5.0 + 5])), "minmax")
    assert out.expression.trajectories[0].times[-1] == 1.0
    assert out.validation_expression.trajectories[0].times[-1] == pytest.approx(120 / 115)  # training range
    out, _, _ = scale_time(Dataset(clock), "gap")
    assert np.allclose(np.diff(out.expression.trajectories[0].times), 1.0)


def test_auto_batching_is_pairs_for_one_time_course():
    assert resolve_batching(_expr([np.arange(5.0)]), "auto") == "pairs"
    assert resolve_batching(_expr([np.arange(5.0)] * 2), "auto") == "trajectory"
    assert resolve_batching(_expr([np.arange(5.0)]), "trajectory") == "trajectory"
