"""Self-pruning study (I.1-I.3): injection, readouts on hand-made weights, the resumable runner, plots."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from dash_core.io.errors import DashInputError
from dash_core.signaling import plots
from dash_core.signaling.config import self_prune_config
from dash_core.signaling.data import build_pkn, load_signaling_data, pkn_from_edges
from dash_core.signaling.selfprune import (
    RESULTS_FILE,
    SelfPruneConfig,
    checkpoint_epochs,
    inject_spurious_edges,
    ks_readout,
    load_model_tables,
    magnitude_pruning_curve,
    run_selfprune,
    weight_readouts,
)
from dash_core.signaling.synthetic import random_ground_truth, random_signed_network, synthetic_data
from dash_core.signaling.train import build_model, data_tensors

LEMBAS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lembas"


def _data(seed: int = 0):
    pkn, ligs, tfs, signs = random_signed_network(16, 3, 4, 32, seed=seed)
    return synthetic_data(random_ground_truth(pkn, ligs, tfs, signs, seed=seed), 16, seed=seed)


def _study(**kw) -> SelfPruneConfig:
    train = self_prune_config(epochs=4, device="cpu", test_size=2, eval_every=4)
    base = SelfPruneConfig(n_spurious=6, l2_levels=(1e-6, 1e-3), seeds=(0,), n_checkpoints=2, readout_every=2, train=train)
    return replace(base, **kw)


# --------------------------------------------------------------------------- I.1


def test_injection_count_unique_not_in_pkn_and_seeded():
    data = _data()
    pkn = data.pkn
    existing = set(zip(pkn.edges["source"], pkn.edges["target"]))
    spur = inject_spurious_edges(pkn, 40, np.random.default_rng(3))
    pairs = list(zip(spur["source"], spur["target"]))
    assert len(pairs) == 40 and len(set(pairs)) == 40
    assert not set(pairs) & existing
    assert set(spur["source"]) | set(spur["target"]) <= set(pkn.nodes)
    assert (spur["sign"] == 0).all()
    again = inject_spurious_edges(pkn, 40, np.random.default_rng(3))
    assert again.equals(spur)
    assert not inject_spurious_edges(pkn, 40, np.random.default_rng(4)).equals(spur)


def test_injection_allows_self_loops_and_fills_all_free_pairs():
    pkn = build_pkn(pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "stimulation": [1, 1], "inhibition": [0, 0]}))
    spur = inject_spurious_edges(pkn, 7, np.random.default_rng(0))  # 3*3 pairs - 2 edges = 7 free
    pairs = set(zip(spur["source"], spur["target"]))
    assert {("a", "a"), ("b", "b"), ("c", "c")} <= pairs
    with pytest.raises(DashInputError, match="only 7 node pairs"):
        inject_spurious_edges(pkn, 8, np.random.default_rng(0))


def test_spurious_edges_enter_model_unknown_sign_before_prescale():
    data = _data()
    spur = inject_spurious_edges(data.pkn, 5, np.random.default_rng(0))
    cfg = self_prune_config(device="cpu", prescale_rho=None)
    m = build_model(data, cfg, extra_edges=spur)
    assert m.n_edges == data.pkn.n_edges + 5
    w = m.edge_weights().detach().numpy()[-5:]
    assert np.all((w >= 0.1) & (w <= 0.2))
    assert np.all(m.edge_sign.numpy()[-5:] == 0)


# --------------------------------------------------------------------------- I.3 readouts


def test_weight_readouts_on_hand_made_vector():
    # 6 PKN edges (3 known sign, 3 unknown) + 4 spurious; one PKN weight is exactly 0
    w = np.array([0.9, -0.8, 0.7, 0.0, 0.5, -0.6, 0.01, -0.02, 0.03, 0.4])
    spurious = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], dtype=bool)
    sign = np.array([1, -1, 1, 0, 0, 0, 0, 0, 0, 0])
    r = weight_readouts(w, spurious, sign)
    # non-zero |W|: .9 .8 .7 .5 .6 .01 .02 .03 .4 -> median 0.5
    assert r["median_abs_w"] == pytest.approx(0.5)
    assert r["share_spurious_below_median"] == pytest.approx(100.0)  # all four < 0.5
    assert r["share_pkn_below_median"] == pytest.approx(100 / 6)  # only the 0.0
    assert r["share_pkn_known_below_median"] == 0.0
    assert r["share_pkn_unknown_below_median"] == pytest.approx(100 / 3)
    # signed median of non-zero W: sorted -.8 -.6 -.02 .01 .03 .4 .5 .7 .9 -> 0.03
    assert r["median_w_signed"] == pytest.approx(0.03)
    assert r["share_spurious_below_median_signed"] == pytest.approx(50.0)  # 0.01, -0.02
    assert r["share_pkn_below_median_signed"] == pytest.approx(50.0)  # -0.8, 0.0, -0.6
    # 5th percentile of all |W| (numpy linear interpolation)
    p5 = np.percentile(np.abs(w), 5)
    assert r["p5_abs_w"] == pytest.approx(p5)
    assert r["share_pkn_below_p5"] == pytest.approx(100 / 6)  # the 0.0
    assert r["share_spurious_below_p5"] == 0.0
    assert r["mean_abs_w_spurious"] == pytest.approx((0.01 + 0.02 + 0.03 + 0.4) / 4)
    assert r["mean_abs_w_pkn_known"] == pytest.approx(0.8)


def test_ks_readout():
    d, p = ks_readout(np.array([0.1, 0.2, 0.3]), np.array([0.1, 0.2, 0.3]))
    assert d == 0.0 and p == pytest.approx(1.0)
    d, p = ks_readout(np.linspace(0.001, 0.01, 50), np.linspace(0.1, 1, 50))
    assert d == 1.0 and p < 1e-10
    assert np.isnan(ks_readout(np.array([]), np.array([1.0]))[0])


def test_magnitude_pruning_curve():
    data = _data()
    m = build_model(data, self_prune_config(device="cpu"))
    before = m.weight.detach().clone()
    x, _ = data_tensors(data, torch.device("cpu"))
    curve = magnitude_pruning_curve(m, x, block=10)
    assert torch.equal(m.weight.detach(), before)  # the model itself is untouched
    assert curve["mae"].iloc[0] == 0.0 and curve["n_zeroed"].iloc[-1] == m.n_edges
    assert curve["fraction_zeroed"].iloc[-1] == pytest.approx(1.0)
    assert np.all(np.diff(curve["max_abs_removed"]) >= 0)
    assert curve["mae"].iloc[-1] > 0
    assert list(curve["n_zeroed"]) == [0, 10, 20, 30, m.n_edges]


def test_checkpoint_epochs():
    assert checkpoint_epochs(5000, 20) == list(range(0, 5001, 250))
    assert checkpoint_epochs(4, 20) == [0, 1, 2, 3, 4]


# --------------------------------------------------------------------------- the study


def test_run_selfprune_writes_results_and_resumes(tmp_path):
    data = _data()
    study = _study()
    calls = []
    res = run_selfprune(data, study, tmp_path, on_model=lambda *a: calls.append(a))
    assert len(calls) == 2 and not res.failed and res.skipped == 0
    table = pd.read_csv(tmp_path / RESULTS_FILE)
    assert len(table) == 2
    for col in ("l2", "seed", "share_spurious_below_median", "share_pkn_below_median", "ks_statistic", "ks_pvalue",
                "test_pearson", "share_spurious_below_median_signed", "share_spurious_below_p5",
                "share_pkn_unknown_below_median", "r4_mae_at_50pct"):
        assert col in table, col
    assert table["n_spurious"].tolist() == [6, 6]
    assert (tmp_path / "selfprune_summary.csv").exists()
    edges = load_model_tables(tmp_path, "edges")
    assert len(edges) == 2 * (data.pkn.n_edges + 6) and edges["spurious"].sum() == 12
    trace = load_model_tables(tmp_path, "trace")
    assert sorted(trace.loc[trace["l2"] == 1e-6, "epoch"].tolist()) == [0, 2, 4]
    # resume: nothing is redone; an extra seed only runs the missing models
    calls.clear()
    res2 = run_selfprune(data, study, tmp_path, on_model=lambda *a: calls.append(a))
    assert res2.skipped == 2 and calls == [] and len(res2.table) == 2
    res3 = run_selfprune(data, replace(study, seeds=(0, 1)), tmp_path, on_model=lambda *a: calls.append(a))
    assert res3.skipped == 2 and len(calls) == 2 and len(res3.table) == 4
    with pytest.raises(DashInputError, match="other settings"):
        run_selfprune(data, replace(study, n_spurious=7), tmp_path)


@pytest.mark.slow
def test_run_selfprune_parallel_workers_match_in_process(tmp_path):
    """Two spawned worker processes (the project's local executor) give the in-process results."""
    from dash_core.runs.executors import ExecutorConfig

    data = _data()
    study = _study(l2_levels=(1e-4,), seeds=(0, 1))
    par = run_selfprune(data, study, tmp_path / "par", executor=ExecutorConfig(workers=2, threads_per_job=1))
    seq = run_selfprune(data, study, tmp_path / "seq")
    assert not par.failed and len(par.table) == 2
    cols = ["share_spurious_below_median", "share_pkn_below_median", "test_mse"]
    assert np.allclose(par.table[cols].to_numpy(), seq.table[cols].to_numpy(), rtol=1e-5, atol=1e-7)


def test_plots_from_study_tables(tmp_path):
    data = _data()
    res = run_selfprune(data, _study(), tmp_path)
    fig = plots.readout_heatmap(res.table)
    assert fig.data[0].z.shape[0] == 2 and fig.data[0].zmid == 50
    ecdf = plots.weight_ecdf_figure(load_model_tables(tmp_path, "edges"))
    names = {t.name for t in ecdf.data}
    assert "spurious (𝒮)" in names and ecdf.layout.xaxis.type == "log"
    assert len(plots.pruning_curve_figure(load_model_tables(tmp_path, "pruning")).data) == 2
    assert len(plots.checkpoint_share_figure(load_model_tables(tmp_path, "trace")).data) == 6
    hist = load_model_tables(tmp_path, "history")
    assert len(plots.training_curve_figure(hist[hist["l2"] == 1e-6]).data) == 3
    edges = load_model_tables(tmp_path, "edges")
    one = edges[(edges["l2"] == 1e-6)]
    table = plots.network_edge_table(one)
    assert table["spurious"].sum() == 6 and list(table["abs_weight"]) == sorted(table["abs_weight"], reverse=True)
    flagged = plots.network_edge_table(one.drop(columns="spurious"), spurious=one[one["spurious"]])
    assert flagged["spurious"].sum() == 6
    assert plots.readout_heatmap(pd.DataFrame()).layout.title.text.endswith("(no results yet)")


@pytest.mark.skipif(not (LEMBAS / "macrophage").exists(), reason="LEMBAS data not available")
def test_macrophage_injection_and_one_epoch_readouts(tmp_path):
    d = LEMBAS / "macrophage"
    data = load_signaling_data(d / "macrophage-Model.tsv", d / "macrophage-Ligands.tsv", d / "macrophage-TFs.tsv")
    spur = inject_spurious_edges(data.pkn, 100, np.random.default_rng(0))
    keys = set(zip(data.pkn.edges["source"], data.pkn.edges["target"]))
    assert len(spur) == 100 and not set(zip(spur["source"], spur["target"])) & keys
    study = _study(n_spurious=100, l2_levels=(1e-4,), train=self_prune_config(epochs=1, device="cpu"))
    res = run_selfprune(data, study, tmp_path)
    row = res.table.iloc[0]
    assert row["n_spurious"] == 100 and row["n_pkn_edges"] == 5732 and row["r4_block"] == 500
    assert 0 <= row["share_spurious_below_median"] <= 100


def test_pkn_from_edges_rejects_duplicates():
    with pytest.raises(ValueError, match="duplicate"):
        pkn_from_edges(pd.DataFrame({"source": ["a", "a"], "target": ["b", "b"], "sign": [1, 1]}))
