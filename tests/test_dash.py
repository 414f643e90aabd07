"""DASH / IMP / BioPrune (methods B, C.6, C.10): least-squares propagation, events, masks, CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from dash_core.experiment import RunConfig, run_experiment, save_run
from dash_core.models import ModelConfig, build_model
from dash_core.network import edges_to_matrix
from dash_core.pruning import STRATEGIES, PriorKnowledge, PruningConfig, build_strategy
from dash_core.pruning.dash import combined_score, prior_matrices, propagate_least_squares
from dash_core.pruning.masks import magnitude_score, n_to_prune, prune_smallest_
from dash_core.train import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[1]


def _stub_trainer(model, max_epochs=200):
    """The part of the Trainer API a pruning event uses (no data needed)."""
    calls = []
    return SimpleNamespace(model=model, config=SimpleNamespace(max_epochs=max_epochs),
                           reset_learning_rates=lambda reference_bug=False: calls.append(reference_bug),
                           lr_resets=calls)


def _tiny_cfg(strategy, model="phoenix", epochs=6, **pruning):
    pr = {"first_epoch": 2, "interval": 2, **pruning}
    return RunConfig(model=ModelConfig(model=model, hidden=8), strategy=strategy, pruning=PruningConfig(**pr),
                     train=TrainConfig(max_epochs=epochs, patience=0, device="cpu"), seed=0)


# -- least squares (B.3) ------------------------------------------------------------------------------
def test_least_squares_equals_closed_form():
    g = torch.Generator().manual_seed(0)
    s = torch.rand(4, 7, generator=g, dtype=torch.float64)
    pi = torch.rand(7, 7, generator=g, dtype=torch.float64)
    pi = pi + pi.T
    closed = torch.linalg.inv(s @ s.T) @ s @ pi
    assert torch.allclose(propagate_least_squares(s, pi), closed, atol=1e-10)
    # it is the least-squares solution of S^T X = Pi
    lst = torch.linalg.lstsq(s.T, pi).solution
    assert torch.allclose(propagate_least_squares(s, pi), lst, atol=1e-8)
    # output form: P2 = |P|^T S^T (S S^T)^-1
    p = torch.rand(7, 7, generator=g, dtype=torch.float64)
    p2 = propagate_least_squares(s, p).T
    assert torch.allclose(p2, p.T @ s.T @ torch.linalg.inv(s @ s.T), atol=1e-10)


def test_ridge_guard_on_rank_deficient_scores():
    g = torch.Generator().manual_seed(1)
    s = torch.rand(4, 6, generator=g, dtype=torch.float64)
    s[3] = s[2]  # rank 3: S S^T is singular
    b = torch.rand(6, 6, generator=g, dtype=torch.float64)
    x = propagate_least_squares(s, b)
    gram = s @ s.T
    delta = 1e-8 * torch.trace(gram) / 4
    expect = torch.linalg.solve(gram + delta * torch.eye(4, dtype=torch.float64), s @ b)
    assert torch.all(torch.isfinite(x))
    assert torch.allclose(x, expect, rtol=1e-6, atol=1e-6)
    # the ridge keeps the fit: S^T X still reproduces the projection of B on the row space of S
    assert torch.allclose(s.T @ x, s.T @ torch.linalg.pinv(s.T) @ b, atol=1e-5)
    assert torch.equal(propagate_least_squares(torch.zeros(4, 6, dtype=torch.float64), b), torch.zeros(4, 6,
                                                                                                    dtype=torch.float64))


def test_combined_score_normalisation_variants():
    q = torch.tensor([[2.0, -2.0], [0.0, 4.0]], dtype=torch.float64)
    m = torch.tensor([[0.25, 0.25], [0.25, 0.25]], dtype=torch.float64)
    assert torch.allclose(combined_score(q, m, 0.5), 0.5 * q.abs() / 8 + 0.5 * m)
    assert torch.allclose(combined_score(q, m, 0.5, normalize_prior=False), 0.5 * q.abs() + 0.5 * m)
    assert torch.equal(combined_score(None, m, 0.0), m)
    assert torch.allclose(combined_score(q, None, 1.0), q.abs() / 8)


def test_prior_matrices_coregulation_and_ppi():
    p = np.array([[0, 1, -1], [0, 0, 1], [0, 0, 0]], dtype=float)
    a, pi, src = prior_matrices(p)
    co = np.abs(p) @ np.abs(p).T
    assert src == "coregulation" and np.allclose(pi, co / co.sum()) and np.allclose(a, np.abs(p))
    assert np.all(pi[2] == 0)  # gene 2 regulates nothing
    ppi = np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]], dtype=float)
    _, pi2, src2 = prior_matrices(p, ppi)
    expect = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=float)  # symmetrised, diagonal included
    assert src2 == "ppi" and np.allclose(pi2, expect / expect.sum())
    _, pi3, src3 = prior_matrices(p, ppi, use_ppi=False)
    assert src3 == "coregulation" and np.allclose(pi3, pi)


# -- events ---------------------------------------------------------------------------------------------
def test_bioprune_sanity_on_constructed_prior():
    """B.7: genes that regulate nothing lose their input columns first; rows of unregulated genes go."""
    n, h = 6, 4
    p = np.zeros((n, n))
    p[0, [2, 3]] = 1.0   # gene 0 regulates 2, 3
    p[1, [3, 4, 5]] = -1.0  # gene 1 regulates 3, 4, 5; genes 2..5 regulate nothing; 0, 1 are unregulated
    model = build_model(n, ModelConfig(hidden=h), seed=0).double()
    strat = build_strategy("bioprune", PruningConfig(), PriorKnowledge(p), seed=0)
    tr = _stub_trainer(model)
    strat.setup(tr)
    strat.prune_event(tr, 0.5, epoch=3)  # k = 12 of 24 per layer
    for name in ("sums_in", "prods_in"):
        mask = getattr(model, name).mask
        assert torch.all(mask[:, :2] == 1), name  # regulator columns kept
        assert int((mask[:, 2:] == 0).sum()) == 12  # all 12 pruned entries from non-regulator columns
    for name in ("sums_out", "prods_out"):
        mask = getattr(model, name).mask
        assert torch.all(mask[:2, :] == 0), name  # rows of the unregulated genes 0, 1 are all pruned
    assert tr.lr_resets == [False]


def test_bioprune_first_event_sim350_counts():
    """B.7 at SIM350 scale (true network as prior): 9,800 of the 10,120 non-regulator input entries go first."""
    from dash_core.simulate import SimulationConfig, generate_network

    net = generate_network(SimulationConfig.sim350())
    p = edges_to_matrix(net.truth, net.genes)
    non_reg = np.abs(p).sum(1) == 0
    unregulated = np.abs(p).sum(0) == 0
    assert non_reg.sum() == 253 and unregulated.sum() == 74
    model = build_model(350, ModelConfig(hidden=40), seed=0)
    strat = build_strategy("bioprune", PruningConfig(), PriorKnowledge(p), seed=0)
    tr = _stub_trainer(model)
    strat.setup(tr)
    strat.prune_event(tr, 0.70, epoch=3)
    for name in ("sums_in", "prods_in"):
        mask = getattr(model, name).mask
        assert int((mask == 0).sum()) == 9800
        assert int((mask[:, torch.as_tensor(non_reg)] == 0).sum()) == 9800
    for name in ("sums_out", "prods_out"):
        mask = getattr(model, name).mask
        assert torch.all(mask[torch.as_tensor(unregulated)] == 0)


def test_lambda_zero_is_pure_magnitude_ordering():
    p = np.random.default_rng(0).integers(0, 2, size=(7, 7)).astype(float)
    model = build_model(7, ModelConfig(hidden=5), seed=2)
    ref = build_model(7, ModelConfig(hidden=5), seed=2)
    for strat_name, cfg in (("dash", PruningConfig(lambda_ppi=0.0, lambda_motif=0.0)), ("imp", PruningConfig())):
        model.load_state_dict(ref.state_dict())
        strat = build_strategy(strat_name, cfg, PriorKnowledge(p), seed=0)
        tr = _stub_trainer(model)
        strat.setup(tr)
        strat.prune_event(tr, 0.4)
        work = build_model(7, ModelConfig(hidden=5), seed=2)
        work.load_state_dict(ref.state_dict())
        for pl, wl in zip(model.prunable_layers(), work.prunable_layers()):
            prune_smallest_(wl.layer, magnitude_score(wl), n_to_prune(wl.layer.n_unmasked, 0.4))
            assert torch.equal(pl.layer.mask, wl.layer.mask), (strat_name, pl.name)


@pytest.mark.parametrize("normalize", [False, True])
def test_dash_scores_persist_and_output_uses_updated_input_score(normalize):
    p = np.random.default_rng(3).integers(0, 2, size=(6, 6)).astype(float)
    model = build_model(6, ModelConfig(hidden=3), seed=0).double()
    strat = build_strategy("dash", PruningConfig(normalize_prior_term=normalize), PriorKnowledge(p), seed=5)
    tr = _stub_trainer(model)
    strat.setup(tr)
    s0 = {k: v.clone() for k, v in strat.scores.items()}
    assert all(float(v.min()) >= 0 and float(v.max()) <= 1 for v in s0.values())  # U(0, 1) start
    _, pi, _ = prior_matrices(p)
    lam_in, lam_out = 0.5, 0.05
    layers = {pl.name: pl for pl in model.prunable_layers()}
    m_in = magnitude_score(layers["sums_in"])
    m_out = magnitude_score(layers["sums_out"])
    strat.prune_event(tr, 0.2)

    def prior_term(q):
        return q.abs() / q.abs().sum() if normalize else q.abs()

    q_in = propagate_least_squares(s0["sums_in"], torch.as_tensor(pi))
    omega_in = lam_in * prior_term(q_in) + (1 - lam_in) * m_in
    assert torch.allclose(strat.scores["sums_in"], omega_in)
    q_out = propagate_least_squares(omega_in, torch.as_tensor(np.abs(p))).T  # this event's input score
    omega_out = lam_out * prior_term(q_out) + (1 - lam_out) * m_out
    assert torch.allclose(strat.scores["sums_out"], omega_out)


# -- training runs -------------------------------------------------------------------------------------
def test_events_prune_round_a_m_per_layer_and_never_unprune(tiny_sim):
    ds = tiny_sim.dataset
    cfg = _tiny_cfg("dash", epochs=7, first_amount=0.5, amount=0.25)
    model = build_model(ds.n_genes, cfg.model, seed=0)
    strat = build_strategy("dash", cfg.pruning, PriorKnowledge(ds.prior_matrix(), ds.ppi_matrix()), seed=0)
    masks = []
    trainer = Trainer(model, ds.expression, None, cfg.train, hooks=strat, seed=0,
                      progress=lambda ev: masks.append(model.masks()))
    strat.setup(trainer)
    # learning rates are reset after each event: shrink them first to see the reset
    for grp in trainer.optimizer.param_groups:
        grp["lr"] = 1e-9
    strat.fit(trainer)
    assert [e["epoch"] for e in strat.events] == [2, 4, 6]
    for ev in strat.events:
        for name, rec in ev["layers"].items():
            assert rec["pruned"] == round(ev["amount"] * rec["unmasked_before"]), (ev["epoch"], name)
    for prev, cur in zip(masks, masks[1:]):
        for name in cur:
            assert torch.all(cur[name] <= prev[name])  # masks are permanent
    lrs = {g["name"]: g["lr"] for g in trainer.optimizer.param_groups}
    assert lrs["g"] == pytest.approx(5e-3) and lrs["sums_in.weight"] == pytest.approx(1e-3)


def test_masked_weights_zero_after_training_and_in_checkpoint(tiny_sim, tmp_path):
    res = run_experiment(tiny_sim.dataset, _tiny_cfg("dash", epochs=6))
    assert res.metrics["sparsity"] > 0.6
    for pl in res.model.prunable_layers():
        assert int((pl.layer.mask == 0).sum()) > 0
        assert torch.all(pl.layer.weight[pl.layer.mask == 0] == 0)
    paths = save_run(res, tmp_path / "run")
    ck = torch.load(paths["model.pt"], weights_only=True)
    sd = ck["state_dict"]
    for name in ("sums_in", "prods_in", "sums_out", "prods_out"):
        w, m = sd[f"{name}.weight"], sd[f"{name}.mask"]
        assert int((m == 0).sum()) > 0 and torch.all(w[m == 0] == 0)
    best = int(res.metrics["best_epoch"])
    assert best == int(res.history.loc[res.history["val_mse"].idxmin(), "epoch"])


def test_strategy_registry_entries():
    expected = {"dash": (True, 1.0), "imp": (False, 1.0), "bioprune": (True, 1.0), "synflow": (False, 1.0),
                "sparseflow": (False, 1.0), "pinn_mp": (True, 0.99)}
    for name, (uses_prior, lam) in expected.items():
        e = STRATEGIES.get(name)
        assert e.description and e.citation and e.obj.__doc__
        assert e.extra["uses_prior"] is uses_prior
        assert e.obj.default_lambda_data == lam


def test_imp_rewind_init_restores_initial_weights(tiny_sim):
    ds = tiny_sim.dataset
    cfg = _tiny_cfg("imp", epochs=3, rewind="init")
    model = build_model(ds.n_genes, cfg.model, seed=0)
    strat = build_strategy("imp", cfg.pruning, PriorKnowledge(ds.prior_matrix()), seed=0)
    trainer = Trainer(model, ds.expression, None, cfg.train, hooks=strat, seed=0)
    strat.setup(trainer)
    trainer.train_epoch()
    strat.on_epoch_start(trainer, 2)
    init = trainer.initial_state
    for pl in model.prunable_layers():
        key = f"{pl.name}.weight"
        assert torch.equal(pl.layer.weight, init[key] * pl.layer.mask)
    assert torch.equal(model.g, init["g"])
    assert len(trainer.optimizer.state) == 0  # initial (empty) Adam state


def test_cli_train_dash(tiny_sim, tmp_path):
    from dash_core.simulate import write_simulation

    data = tmp_path / "data"
    write_simulation(tiny_sim, data)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "dash_core", "train", "--expression", str(data / "expression.csv"),
           "--prior", str(data / "prior.csv"), "--ppi", str(data / "ppi.csv"), "--truth", str(data / "truth.csv"),
           "--strategy", "dash", "--hidden", "8", "--max-epochs", "5", "--first-epoch", "2", "--interval", "2",
           "--lambda-ppi", "0.25", "--device", "cpu", "--quiet", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["sparsity"] > 0.6 and metrics["balanced_accuracy"] is not None
    config = json.loads((out / "config.json").read_text())
    assert config["strategy"] == "dash" and config["pruning"]["lambda_ppi"] == 0.25


def test_checkpoint_min_sparsity_restricts_the_reported_checkpoint(tiny_sim):
    base = _tiny_cfg("dash", epochs=10)
    cfg = dataclasses.replace(base, train=dataclasses.replace(base.train, checkpoint_min_sparsity=0.75))
    res = run_experiment(tiny_sim.dataset, cfg)
    h = res.history
    eligible = h[h["sparsity"] >= 0.75]
    assert len(eligible) and len(eligible) < len(h)
    assert res.details["min_sparsity_reached"] is True
    assert res.metrics["sparsity"] >= 0.75
    assert int(res.metrics["best_epoch"]) == int(eligible.loc[eligible["val_mse"].idxmin(), "epoch"])
    # never reached: the best epoch overall is reported and the run says so
    cfg = dataclasses.replace(base, train=dataclasses.replace(base.train, checkpoint_min_sparsity=0.99))
    res = run_experiment(tiny_sim.dataset, cfg)
    assert res.details["min_sparsity_reached"] is False
    assert int(res.metrics["best_epoch"]) == int(res.history.loc[res.history["val_mse"].idxmin(), "epoch"])


@pytest.mark.parametrize("with_ppi", [False, True])
def test_sparse_prior_matrices_give_the_same_propagation(monkeypatch, with_ppi):
    """Large sparse priors are kept as sparse matrices; |P|, Pi and the propagated scores do not change."""
    import dash_core.pruning.dash as D

    rng = np.random.default_rng(0)
    n = 60
    p = np.zeros((n, n))
    p[rng.integers(0, n, 150), rng.integers(0, n, 150)] = rng.choice([-1.0, 1.0], 150)
    ppi = None
    if with_ppi:
        ppi = np.zeros((n, n))
        ppi[rng.integers(0, n, 80), rng.integers(0, n, 80)] = 1.0
    a0, pi0, src0 = D.prior_matrices(p, ppi)
    monkeypatch.setattr(D, "SPARSE_MIN_GENES", 10)
    a1, pi1, src1 = D.prior_matrices(p, ppi)
    assert src1 == src0 and hasattr(pi1, "tocoo") and hasattr(a1, "tocoo")
    np.testing.assert_allclose(a1.toarray(), a0, atol=1e-15)
    np.testing.assert_allclose(pi1.toarray(), pi0, atol=1e-15)
    s = torch.rand(5, n, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for dense, sparse in ((pi0, pi1), (a0, a1)):
        x0 = propagate_least_squares(s, torch.as_tensor(dense))
        x1 = propagate_least_squares(s, D._to_tensor(sparse, "cpu"))
        assert torch.allclose(x0, x1, atol=1e-12)
