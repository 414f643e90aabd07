"""Run-time estimates (dash_core.estimate): the reference constants reproduce the measured SIM350 epoch times, and
past runs on the machine take over from them."""

from __future__ import annotations

import pytest

from dash_core.estimate import epoch_cost, estimate_train_seconds, format_estimate


def test_reference_epoch_matches_the_measured_sim350_epoch():
    # 350 genes, 150 trajectories of 5 points, h = 40: measured 0.205 s/epoch without, 0.52 s with the prior loss
    plain = epoch_cost(350, 150, 750, hidden=40)
    assert plain == pytest.approx(0.205, rel=0.1)
    assert epoch_cost(350, 150, 750, hidden=40, prior_loss=True) == pytest.approx(0.52, rel=0.1)
    assert epoch_cost(350, 150, 750, hidden=40, strategy="l0") == pytest.approx(0.613, rel=0.1)


def test_past_runs_replace_the_reference_speed():
    ref = estimate_train_seconds(0.2, 100)
    assert ref.basis == "the reference 2-core machine" and ref.seconds == pytest.approx(24.0)
    past = estimate_train_seconds(0.2, 100, past=[(0.4, 0.2), (0.6, 0.2), (float("nan"), 0.2)])
    assert past.seconds == pytest.approx(0.2 * 2.5 * 100 + 4.0) and "2 earlier runs" in past.basis
    assert past.low < past.seconds < past.high
    assert format_estimate(ref).startswith("about 25 s")
