"""LEMBAS-style signaling model: activation (H.3), recurrence (H.4), spectral radius (H.6/H.7),
loss terms (H.7), schedule and training (H.8), checkpoints, synthetic recovery (H.11)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from dash_core.signaling.config import SignalingConfig, package_config, self_prune_config
from dash_core.signaling.data import load_signaling_data, pkn_from_edges, prepare_data
from dash_core.signaling.model import (
    SignalingModel,
    batched_power_iteration,
    mml_activation,
    mml_derivative,
    spectral_radius,
)
from dash_core.signaling.stack import ModelStack, stack_loss
from dash_core.signaling.synthetic import (
    demo_ground_truth,
    ligand_inputs,
    random_ground_truth,
    random_signed_network,
    read_ground_truth,
    synthetic_data,
)
from dash_core.signaling.train import (
    build_model,
    data_tensors,
    fit,
    learning_rate,
    load_checkpoint,
    predict,
    save_checkpoint,
    split_conditions,
)

LEMBAS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lembas"


# --------------------------------------------------------------------------- activation


def test_mml_values():
    z = torch.tensor([-2.0, -0.5, 0.0, 0.25, 0.5, 1.0, 2.0, 1e6])
    y = mml_activation(z, 0.01)
    expected = torch.tensor([-0.02, -0.005, 0.0, 0.25, 0.5, 0.75, 0.875, 1 - 0.25e-6])
    assert torch.allclose(y, expected, atol=1e-7)


def test_mml_derivative_continuous_at_half_and_matches_output_form():
    z = torch.tensor([0.5 - 1e-4, 0.5, 0.5 + 1e-4], dtype=torch.float64, requires_grad=True)
    mml_activation(z, 0.01).sum().backward()
    assert torch.allclose(z.grad, torch.ones(3, dtype=torch.float64), atol=1e-3)
    zz = torch.linspace(-2, 5, 301, dtype=torch.float64)
    analytic = torch.where(zz < 0, torch.full_like(zz, 0.01), torch.where(zz < 0.5, torch.ones_like(zz), 1 / (4 * zz**2)))
    assert torch.allclose(mml_derivative(mml_activation(zz, 0.01), 0.01), analytic, atol=1e-12)


def test_mml_gradcheck_float64():
    z = torch.tensor([-1.3, -0.2, 0.1, 0.3, 0.45, 0.7, 1.5, 4.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: mml_activation(v, 0.01), (z,), eps=1e-6, atol=1e-5)


def test_mml_safe_at_kinks_and_extremes():
    z = torch.tensor([0.0, 0.5, -1e30, 1e30, -0.0], requires_grad=True)
    y = mml_activation(z, 0.01)
    y.sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(z.grad).all()


# --------------------------------------------------------------------------- spectral radius


def test_power_iteration_matches_numpy_eigvals():
    rng = np.random.default_rng(0)
    w = rng.uniform(0, 1, size=(6, 6)) * (rng.uniform(size=(6, 6)) < 0.6)
    w = w + np.eye(6) * 0.05
    true = np.abs(np.linalg.eigvals(w)).max()
    wt = torch.tensor(w)
    d = torch.ones(3, 6, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    est = batched_power_iteration(lambda v: torch.matmul(wt, v), d, n_probes=4, n_steps=200, generator=gen)
    assert est.shape == (3,)
    assert np.allclose(est.numpy(), true, rtol=1e-6)
    # with a derivative d the estimate is that of diag(d) W
    d2 = torch.tensor(rng.uniform(0.2, 1.0, size=(1, 6)))
    true2 = np.abs(np.linalg.eigvals(np.diag(d2[0].numpy()) @ w)).max()
    est2 = batched_power_iteration(lambda v: torch.matmul(wt, v), d2, n_probes=4, n_steps=300, generator=gen)
    assert est2.item() == pytest.approx(true2, rel=1e-6)


def test_spectral_radius_solver_matches_eigvals():
    rng = np.random.default_rng(1)
    small = rng.normal(size=(8, 8))
    assert spectral_radius(small) == pytest.approx(np.abs(np.linalg.eigvals(small)).max(), rel=1e-9)
    big = rng.normal(size=(120, 120)) * (rng.uniform(size=(120, 120)) < 0.05)
    assert spectral_radius(big) == pytest.approx(np.abs(np.linalg.eigvals(big)).max(), rel=1e-6)
    assert spectral_radius(np.triu(np.ones((5, 5)), 1)) == 0.0  # nilpotent (acyclic)


# --------------------------------------------------------------------------- tiny models


def _tiny_data(n_samples: int = 24, seed: int = 0):
    pkn, ligs, tfs, signs = random_signed_network(16, 3, 4, 32, seed=seed)
    truth = random_ground_truth(pkn, ligs, tfs, signs, seed=seed)
    return truth, synthetic_data(truth, n_samples, seed=seed)


def _cfg(**kw) -> SignalingConfig:
    base = self_prune_config(epochs=5, device="cpu", eval_every=5, test_size=4)
    return replace(base, **kw)


def test_weight_orientation_is_target_by_source():
    edges = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "sign": [1, -1]})
    m = SignalingModel(["a", "b", "c"], edges, ["a"], ["c"], _cfg(prescale_rho=None))
    m.initialise(torch.Generator().manual_seed(0))
    w = m.weight.detach()
    assert w[1, 0] > 0 and w[2, 1] < 0  # W[target, source]
    assert int((w != 0).sum()) == 2
    assert 0.1 <= w[1, 0] <= 0.2 and -0.2 <= w[2, 1] <= -0.1
    # node c has only inhibitory inputs -> bias 1, others 1e-3
    assert m.bias.tolist() == pytest.approx([1e-3, 1e-3, 1.0])


def test_steady_state_is_fixed_point_and_backends_agree():
    _, data = _tiny_data()
    x, _ = data_tensors(data, torch.device("cpu"))
    outs = {}
    for backend in ("sparse", "dense"):
        for gradient in ("bptt", "implicit"):
            cfg = _cfg(backend=backend, gradient=gradient, max_steps=400, tol=1e-7)
            m = build_model(data, cfg)
            pred, states = m(x)
            pred.square().sum().backward()
            outs[(backend, gradient)] = (pred.detach(), m.weight.grad.clone(), m.bias.grad.clone())
            u = m.input_projection(x)
            with torch.no_grad():
                again = mml_activation(states @ m.masked_weight().T + u, cfg.leak)
            assert torch.allclose(again, states, atol=1e-5)
    ref = outs[("dense", "bptt")]
    for key, (pred, gw, gb) in outs.items():
        assert torch.allclose(pred, ref[0], atol=1e-5), key
        assert torch.allclose(gw, ref[1], atol=1e-4, rtol=1e-3), key
        assert torch.allclose(gb, ref[2], atol=1e-4, rtol=1e-3), key


def test_sparse_recurrence_gradcheck_float64():
    from dash_core.signaling.model import _SparseRecurrence

    _, data = _tiny_data()
    m = build_model(data, _cfg(backend="sparse")).double()
    plan = m._csr_plan()
    values = m.weight.detach()[plan.rows, plan.cols].clone().requires_grad_(True)
    u = torch.rand(m.n_nodes, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).requires_grad_(True)

    def run(v, uu):
        return _SparseRecurrence.apply(v, uu, plan, 0.01, 25, 0.0)[0]

    assert torch.autograd.gradcheck(run, (values, u), eps=1e-6, atol=1e-6)


def test_prescale_sets_spectral_radius():
    _, data = _tiny_data()
    m = build_model(data, _cfg(prescale_rho=0.9))
    assert spectral_radius(m.weight.detach().numpy()) == pytest.approx(0.9, rel=1e-5)


def _one_model_loss(m, x, y, cfg, lr=1e-3, seed=0):
    stack = ModelStack([m], cfg)
    pred, states, _ = stack(x.unsqueeze(0))
    valid = torch.ones(1, x.shape[0], dtype=torch.bool)
    loss, parts = stack_loss(stack, pred, y.unsqueeze(0), states, valid, lr, [torch.Generator().manual_seed(seed)])
    return loss, {k: float(v[0]) for k, v in parts.items()}, pred[0]


def test_sign_penalty_only_on_known_signs():
    edges = pd.DataFrame({"source": ["a", "a", "b", "c"], "target": ["b", "c", "c", "a"], "sign": [1, -1, 0, 1]})
    m = SignalingModel(["a", "b", "c"], edges, ["a"], ["c"], _cfg())
    x, y = torch.ones(2, 1), torch.full((2, 1), 0.5)
    m.set_parameters([-0.3, 0.2, -0.7, 0.4])  # wrong sign, wrong sign, unknown, right sign
    assert _one_model_loss(m, x, y, _cfg())[1]["sign_penalty"] == pytest.approx(0.5)
    m.set_parameters([0.3, -0.2, 5.0, 0.4])
    assert _one_model_loss(m, x, y, _cfg())[1]["sign_penalty"] == 0.0


def test_loss_variants():
    _, data = _tiny_data()
    x, y = data_tensors(data, torch.device("cpu"))
    for cfg in (_cfg(), package_config(device="cpu")):
        m = build_model(data, cfg)
        loss, parts, pred = _one_model_loss(m, x, y, cfg)
        assert np.isfinite(loss.item()) and parts["spectral_radius"] > 0
        if cfg.loss_variant == "self_prune":
            assert parts["uniform_term"] == 0.0
            assert parts["spectral_term"] == pytest.approx(cfg.lambda_spectral)  # normalised term
        else:
            assert parts["uniform_term"] > 0
        mse = torch.mean((pred - y) ** 2).item()
        assert parts["mse"] == pytest.approx(mse)


def test_learning_rate_schedule():
    cfg = self_prune_config(epochs=1000)
    assert learning_rate(0, cfg) == pytest.approx(1e-5)
    assert learning_rate(100, cfg) == pytest.approx(1e-3)
    assert learning_rate(950, cfg) == pytest.approx(1e-5)
    assert learning_rate(999, cfg) == pytest.approx(1e-5)
    up = [learning_rate(e, cfg) for e in range(0, 101)]
    down = [learning_rate(e, cfg) for e in range(100, 951)]
    assert np.all(np.diff(up) >= 0) and np.all(np.diff(down) <= 1e-18)
    pk = package_config()
    assert learning_rate(0, pk) == pytest.approx(2e-4) and learning_rate(1000, pk) == pytest.approx(2e-3)
    assert learning_rate(4999, pk) == pytest.approx(1e-6)


def test_split_conditions():
    tr, te = split_conditions(23, 0.05, 0)
    assert len(te) == 1 and len(tr) == 22 and set(tr) | set(te) == set(range(23))
    tr, te = split_conditions(100, 0.05, 3)
    assert len(te) == 5
    assert split_conditions(10, 3, 1)[1].size == 3
    assert np.array_equal(split_conditions(10, 3, 1)[1], split_conditions(10, 3, 1)[1])


@pytest.mark.parametrize("backend", ["sparse", "dense"])
def test_non_edges_stay_exactly_zero_after_training(backend):
    _, data = _tiny_data()
    cfg = _cfg(backend=backend, epochs=6, grad_noise=1e-3, adam_reset_every=2)
    res = fit(data, cfg)
    w = res.model.weight.detach()
    assert torch.count_nonzero(w[~res.model.mask]) == 0
    assert torch.count_nonzero(w[res.model.mask]) == res.model.n_edges
    assert len(res.history) == 6 and res.history["loss"].notna().all()


def test_package_variant_minibatch_training_runs():
    _, data = _tiny_data()
    cfg = package_config(epochs=3, device="cpu", eval_every=1, test_size=4)
    seen = []
    res = fit(data, cfg, progress=seen.append)
    assert [p.epoch for p in seen] == [1, 2, 3]
    assert seen[-1].eta_seconds == 0
    assert res.model.output_bias is not None and res.metrics["n_test"] == 4


def test_fit_holds_out_validation_conditions():
    """``validation_size`` in a single fit (``signaling train --validation-size``) holds training conditions out,
    monitors them and, with ``checkpoint='best_validation'``, keeps the best-validation parameters (it was
    accepted and silently ignored before)."""
    _, data = _tiny_data()
    plain = fit(data, _cfg(epochs=4, eval_every=1, test_size=2))
    res = fit(data, _cfg(epochs=4, eval_every=1, test_size=2, validation_size=2, checkpoint="best_validation"))
    split = res.predictions["split"]
    assert (split == "validation").sum() == 2 and (split == "test").sum() == 2
    assert set(res.train_index).isdisjoint(np.flatnonzero(split.to_numpy() == "validation"))
    assert len(res.train_index) == len(plain.train_index) - 2
    assert np.isfinite(res.metrics["val_pearson_best"]) and np.isfinite(res.metrics["val_pearson_last"])
    assert list(np.flatnonzero(split.to_numpy() == "test")) == list(plain.test_index)  # same test conditions


def test_training_is_seeded():
    _, data = _tiny_data()
    a = fit(data, _cfg(epochs=3))
    b = fit(data, _cfg(epochs=3))
    assert torch.equal(a.model.weight, b.model.weight)
    c = fit(data, _cfg(epochs=3, seed=1))
    assert not torch.equal(a.model.weight, c.model.weight)


def test_checkpoint_round_trip(tmp_path):
    _, data = _tiny_data()
    res = fit(data, _cfg(epochs=2))
    save_checkpoint(tmp_path, res.model, res.config)
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert state["weight"].dtype == torch.float32 and "edge_source" in state
    model, cfg = load_checkpoint(tmp_path)
    assert cfg == res.config
    x, _ = data_tensors(data, torch.device("cpu"))
    assert np.allclose(predict(model, x), predict(res.model, x))


def test_training_recovers_synthetic_ground_truth():
    """H.11 on a tiny generated network: held-out TF activities are predicted with Pearson r >= 0.9."""
    _, data = _tiny_data(n_samples=40, seed=0)
    cfg = _cfg(epochs=120, test_size=5, eval_every=40, lr_max=1e-2)
    res = fit(data, cfg)
    assert res.metrics["test_pearson"] >= 0.9
    assert res.history["mse"].iloc[-1] < 0.5 * res.history["mse"].iloc[0]


# --------------------------------------------------------------------------- synthetic design


def test_ligand_input_design():
    ligs = [f"L{i}" for i in range(6)]
    x = ligand_inputs(40, ligs, seed=0).to_numpy()
    assert np.all(x[0] == 0)
    for i in range(1, 40):
        assert x[i, (i - 1) % 6] > 0
        assert (x[i] > 0).sum() in (2, 3, 5)
    assert x.min() >= 0 and x.max() < 1


def test_random_network_properties():
    pkn, ligs, tfs, signs = random_signed_network(40, 6, 8, 90, seed=4)
    assert set(ligs) <= set(pkn.edges["source"]) and not set(ligs) & set(pkn.edges["target"])
    assert set(tfs) <= set(pkn.edges["target"])
    children: dict[str, set[str]] = {}
    for s, t in zip(pkn.edges["source"], pkn.edges["target"]):
        children.setdefault(s, set()).add(t)
    reach, stack = set(ligs), list(ligs)
    while stack:
        for n in children.get(stack.pop(), ()):
            if n not in reach:
                reach.add(n)
                stack.append(n)
    assert set(pkn.nodes) == reach
    known = pkn.edges["sign"].to_numpy() != 0
    assert np.array_equal(pkn.edges["sign"].to_numpy()[known], signs[known])
    truth = random_ground_truth(pkn, ligs, tfs, signs, seed=4)
    assert truth.spectral_radius() <= 0.9 + 1e-6
    assert demo_ground_truth().pkn.n_nodes == 40


def test_ground_truth_model_reproduces_simulation():
    truth, data = _tiny_data()
    x, y = data_tensors(data, torch.device("cpu"))
    assert np.allclose(predict(truth.model(), x), y.numpy(), atol=1e-6)
    pkn = pkn_from_edges(truth.pkn.edges)
    assert prepare_data(pkn, data.ligands, data.tfs).n_conditions == data.n_conditions


# --------------------------------------------------------------------------- real data (skipped without it)


@pytest.mark.skipif(not (LEMBAS / "synthetic").exists(), reason="LEMBAS data not available")
def test_kegg_ground_truth_reads():
    d = LEMBAS / "synthetic"
    truth = read_ground_truth(d / "KEGGnet-Model.tsv", d / "equationParams.txt")
    assert truth.pkn.n_nodes == 409 and truth.pkn.n_edges == 832
    assert len(truth.ligands) == 101 and len(truth.tfs) == 55
    assert np.all(truth.input_weights == 3.0) and np.allclose(truth.output_weights, 1.2)
    data = synthetic_data(truth, 6, seed=0)
    assert data.tfs.shape == (6, 55) and data.tfs.to_numpy().std() > 0.05


@pytest.mark.skipif(not (LEMBAS / "macrophage").exists(), reason="LEMBAS data not available")
def test_macrophage_two_epochs():
    d = LEMBAS / "macrophage"
    data = load_signaling_data(d / "macrophage-Model.tsv", d / "macrophage-Ligands.tsv", d / "macrophage-TFs.tsv")
    res = fit(data, self_prune_config(epochs=2, device="cpu", eval_every=1))
    assert res.metrics["n_test"] == 1 and np.isfinite(res.metrics["test_mse"])
    assert torch.count_nonzero(res.model.weight.detach()[~res.model.mask]) == 0
