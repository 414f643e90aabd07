"""Stacked training of K signaling models (folds / seeds in one pass) and the spectral-radius gradient."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from dash_core.signaling.config import package_config, self_prune_config
from dash_core.signaling.model import batched_power_iteration
from dash_core.signaling.stack import ModelStack, train_stack
from dash_core.signaling.synthetic import random_ground_truth, random_signed_network, synthetic_data
from dash_core.signaling.train import build_model, data_tensors, train_model


def _data(n_samples: int = 12, seed: int = 0):
    pkn, ligs, tfs, signs = random_signed_network(16, 3, 4, 32, seed=seed)
    return synthetic_data(random_ground_truth(pkn, ligs, tfs, signs, seed=seed), n_samples, seed=seed)


@pytest.mark.parametrize("preset", ["self_prune", "package"])
def test_stack_equals_models_trained_alone(preset):
    """Each model of a stack (own training set, batch order, noise) ends exactly where it ends alone."""
    data = _data()
    make = self_prune_config if preset == "self_prune" else package_config
    cfg = make(epochs=4, device="cpu", eval_every=2, batch_size=None if preset == "self_prune" else 4, grad_clip=1.0)
    x, y = data_tensors(data, torch.device("cpu"))
    folds = [(np.r_[1:12], [0]), (np.r_[0:5, 7:12], [5, 6]), (np.r_[0:11], [11])]
    alone = []
    for k, (tr, te) in enumerate(folds):
        m = build_model(data, replace(cfg, seed=k))
        res = train_model(m, x, y, replace(cfg, seed=k), train_index=tr, test_index=te)
        alone.append((m, res))
    models = [build_model(data, replace(cfg, seed=k)) for k in range(len(folds))]
    stack = ModelStack(models, cfg)
    histories, metrics = train_stack(
        stack, x, y, train_sets=[f[0] for f in folds], test_sets=[f[1] for f in folds], seeds=[0, 1, 2]
    )
    stack.write_back(models)
    for k, (m, res) in enumerate(alone):
        assert torch.allclose(models[k].edge_weights(), m.edge_weights(), atol=1e-5), k
        assert torch.allclose(models[k].bias, m.bias, atol=1e-5), (models[k].bias - m.bias).abs().max()
        # evaluation of a stack iterates until all its models converge: equal within the recurrence tolerance
        assert metrics[k]["test_pearson"] == pytest.approx(res.metrics["test_pearson"], abs=2e-3)
        assert np.allclose(histories[k]["mse"], res.history["mse"], rtol=1e-4)
        assert metrics[k]["stack_size"] == 3


def _spectral_radius_and_gradient(w: np.ndarray):
    vals, left, right = _eig(w)
    i = int(np.argmax(np.abs(vals)))
    lam, u, v = vals[i], left[:, i], right[:, i]
    grad = np.real(np.outer(np.conj(u), v) / (np.conj(u) @ v) * np.conj(lam) / abs(lam))
    return abs(lam), grad


def _eig(w):
    import scipy.linalg

    vals, left, right = scipy.linalg.eig(w, left=True, right=True)
    return vals, left, right


def test_eigenvector_gradient_matches_the_exact_eigenvalue_derivative():
    rng = np.random.default_rng(1)
    n = 12
    w = rng.uniform(0.0, 1.0, size=(n, n))  # positive: a real, well separated dominant eigenvalue
    w[rng.random((n, n)) < 0.3] *= -0.2
    d = rng.uniform(0.3, 1.0, size=n)
    rho, grad = _spectral_radius_and_gradient(np.diag(d) @ w)
    wt = torch.tensor(w, requires_grad=True)
    dt = torch.tensor(d).unsqueeze(0)
    gen = torch.Generator().manual_seed(0)
    est = batched_power_iteration(
        lambda v: wt @ v, dt, n_probes=3, n_steps=300, generator=gen, rmatvec=lambda v: wt.detach().T @ v
    )
    assert est.item() == pytest.approx(rho, rel=1e-6)
    est.sum().backward()
    expected = grad * d[:, None]  # d rho / d W_ts = (d rho / d J_ts) * d_t
    assert np.allclose(wt.grad.numpy(), expected, atol=1e-6)
    # the spec's gradient through the iterations agrees once the iteration has converged
    wt2 = torch.tensor(w, requires_grad=True)
    est2 = batched_power_iteration(lambda v: wt2 @ v, dt, n_probes=3, n_steps=300, generator=torch.Generator().manual_seed(0))
    est2.sum().backward()
    assert np.allclose(wt2.grad.numpy(), expected, atol=1e-4)


def test_high_coverage_preset_and_projection_l2():
    from dash_core.signaling.config import preset
    from dash_core.signaling.stack import stack_loss

    hc = preset("self_prune_hc")
    assert (hc.epochs, hc.test_size, hc.lambda_spectral, hc.spectral_probes, hc.lambda_l2_projection) == (16000, 5, 1e-3, 5, 1e-4)
    assert hc.grad_clip == 1.0 and hc.grad_noise_lr_scaled and not hc.input_noise_lr_scaled and hc.lambda_ligand == 1e-4
    data = _data()
    x, y = data_tensors(data, torch.device("cpu"))
    losses = []
    for proj in (None, 1.0):
        cfg = self_prune_config(device="cpu", lambda_l2=1e-6, lambda_l2_projection=proj)
        m = build_model(data, cfg)
        with torch.no_grad():
            m.output_weight.add_(1.0)  # ||w_out - A_out||^2 = number of TFs
        stack = ModelStack([m], cfg)
        pred, states, _ = stack(x.unsqueeze(0))
        loss, parts = stack_loss(stack, pred, y.unsqueeze(0), states, torch.ones(1, x.shape[0], dtype=torch.bool), 1e-3,
                                 [torch.Generator().manual_seed(0)])
        losses.append(float(loss))
    assert losses[1] - losses[0] == pytest.approx((1.0 - 1e-6) * y.shape[1], rel=1e-3)


def test_best_validation_checkpoint_restores_that_epoch():
    """With checkpoint='best_validation' the stack ends with the parameters of its best validation epoch."""
    data = _data()
    cfg = package_config(epochs=6, device="cpu", eval_every=2, batch_size=4, validation_size=2, checkpoint="best_validation")
    x, y = data_tensors(data, torch.device("cpu"))
    stack = ModelStack([build_model(data, cfg)], cfg)
    seen = {}

    def keep(epoch, records):
        seen[epoch] = (stack.values.detach().clone(), records[0]["val_pearson"])

    _, metrics = train_stack(
        stack, x, y, train_sets=[np.r_[0:8]], test_sets=[[8, 9]], seeds=[0], val_sets=[[10, 11]], on_epoch_end=keep
    )
    evaluated = {e: r for e, (_, r) in seen.items() if e % 2 == 0}
    best = max(evaluated, key=lambda e: (evaluated[e], -e))
    assert metrics[0]["best_epoch"] == best and metrics[0]["val_pearson_best"] == pytest.approx(evaluated[best])
    assert metrics[0]["val_pearson_last"] == pytest.approx(evaluated[6])
    assert torch.equal(stack.values.detach(), seen[best][0])


def test_lembas_cv_preset():
    from dash_core.signaling.config import preset

    cfg = preset("lembas_cv")
    assert (cfg.max_steps, cfg.batch_size, cfg.lambda_spectral, cfg.spectral_kappa, cfg.gradient) == (100, 5, 1e-3, 21.0, "implicit")
    assert cfg.rho_star == pytest.approx(0.955, abs=5e-4)
    assert package_config().rho_star == pytest.approx(1e-5 ** (1 / 100))
