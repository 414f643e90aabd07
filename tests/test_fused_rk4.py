"""The fused RK4 node of the PHOENIX field (dash_core.models.fused_rk4) against autograd through the step loop."""

from __future__ import annotations

import pytest
import torch

from dash_core import integrate as integ
from dash_core.integrate import SolverConfig, integrate_pairs
from dash_core.models import fused_rk4 as fused_mod
from dash_core.models.phoenix import ModelConfig, PhoenixODE
from dash_core.models.stack import ModelStack


def _models(k: int, n: int = 7, h: int = 5, mask_seed: int | None = None) -> list[PhoenixODE]:
    out = []
    for i in range(k):
        m = PhoenixODE(n, ModelConfig(hidden=h, sparse_fraction=0.4, sparse_std=0.5),
                       generator=torch.Generator().manual_seed(i)).double()
        with torch.no_grad():
            m.g.sub_(0.3)  # some genes frozen (ReLU(g) = 0): the gene-rate gradient rule matters
        if mask_seed is not None:
            gen = torch.Generator().manual_seed(mask_seed + i)
            m.sums_in.mask.copy_((torch.rand(m.sums_in.mask.shape, generator=gen) > 0.3).double())
            m.prods_out.mask.copy_((torch.rand(m.prods_out.mask.shape, generator=gen) > 0.3).double())
        out.append(m)
    return out


def _solve_and_grads(model, x0, dt, n_steps, fused: bool):
    old = integ.FUSED_RK4
    integ.FUSED_RK4 = fused
    try:
        x0 = x0.clone().requires_grad_(True)
        pred = integrate_pairs(model, x0, dt, SolverConfig(method="rk4"), n_steps=n_steps)
        w = torch.linspace(-1.0, 1.0, pred.numel(), dtype=pred.dtype).reshape(pred.shape)
        (pred * w).sum().backward()  # a loss whose gradient is not the same for every entry
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        grads["x0"] = x0.grad.clone()
        model.zero_grad(set_to_none=True)
        return pred.detach(), grads
    finally:
        integ.FUSED_RK4 = old


@pytest.fixture(params=[True, False], ids=["numpy", "torch"])
def backend(request, monkeypatch):
    """Both arithmetic backends of the node: NumPy (CPU default) and PyTorch operators (what CUDA runs)."""
    monkeypatch.setattr(fused_mod, "NUMPY_ON_CPU", request.param)
    return request.param


@pytest.mark.parametrize("k,n_steps,multiplier_grad,masked", [
    (1, 1, "straight_through", False), (3, 2, "straight_through", True), (2, 3, "relu", True)])
def test_fused_rk4_matches_autograd_float64(k, n_steps, multiplier_grad, masked, backend):
    models = _models(k, mask_seed=10 if masked else None)
    for m in models:
        object.__setattr__(m, "config", ModelConfig(hidden=5, multiplier_grad=multiplier_grad))
    stack = ModelStack(models)
    gen = torch.Generator().manual_seed(3)
    x0 = torch.rand(k, 4, 7, generator=gen, dtype=torch.float64)
    dt = torch.rand(k, 4, generator=gen, dtype=torch.float64) * 3 + 0.5
    p_ref, g_ref = _solve_and_grads(stack, x0, dt, n_steps, fused=False)
    p_fused, g_fused = _solve_and_grads(stack, x0, dt, n_steps, fused=True)
    assert torch.allclose(p_fused, p_ref, rtol=1e-12, atol=1e-14)
    assert set(g_fused) == set(g_ref)
    for name, g in g_ref.items():
        assert g.abs().max() > 0 or name.endswith("mask"), name  # every gradient is exercised
        assert torch.allclose(g_fused[name], g, rtol=1e-6, atol=1e-10), name


def test_fused_rk4_single_model_and_no_grad(backend):
    (m,) = _models(1)
    gen = torch.Generator().manual_seed(5)
    x0 = torch.rand(6, 7, generator=gen, dtype=torch.float64)
    dt = torch.full((6,), 2.0, dtype=torch.float64)
    p_ref, g_ref = _solve_and_grads(m, x0, dt, 2, fused=False)
    p_fused, g_fused = _solve_and_grads(m, x0, dt, 2, fused=True)
    assert p_fused.shape == (6, 7)
    assert torch.allclose(p_fused, p_ref, rtol=1e-12, atol=1e-14)
    for name, g in g_ref.items():
        assert torch.allclose(g_fused[name], g, rtol=1e-6, atol=1e-10), name
    with torch.no_grad():
        assert torch.equal(integrate_pairs(m, x0, dt, SolverConfig(method="rk4"), n_steps=2), p_fused)


def test_fused_rk4_float32_forward_is_the_step_loop(backend):
    """Float32: with PyTorch operators the fused forward runs the loop's operations in the loop's order (identical
    predictions); NumPy (another BLAS, separate multiply and add) agrees to float32 rounding."""
    models = [m.float() for m in _models(2)]
    stack = ModelStack(models)
    gen = torch.Generator().manual_seed(1)
    x0 = torch.rand(2, 5, 7, generator=gen)
    dt = torch.rand(2, 5, generator=gen) * 2 + 1
    p_ref, g_ref = _solve_and_grads(stack, x0, dt, 2, fused=False)
    p_fused, g_fused = _solve_and_grads(stack, x0, dt, 2, fused=True)
    if backend:
        assert torch.allclose(p_fused, p_ref, rtol=1e-6, atol=1e-6)
    else:
        assert torch.equal(p_fused, p_ref)
    for name, g in g_ref.items():
        assert torch.allclose(g_fused[name], g, rtol=1e-4, atol=1e-6), name


def test_stacked_masks_follow_in_place_pruning(backend):
    """The node keeps the stacked masks between calls (CPU); a pruning event writes a mask in place, and the next
    solve must use the new mask (the cache is keyed by the masks' version counters)."""
    models = _models(2)
    stack = ModelStack(models)
    gen = torch.Generator().manual_seed(4)
    x0 = torch.rand(2, 3, 7, generator=gen, dtype=torch.float64)
    dt = torch.full((2, 3), 1.5, dtype=torch.float64)
    before, _ = _solve_and_grads(stack, x0, dt, 2, fused=True)
    with torch.no_grad():
        models[1].sums_out.mask.view(-1)[torch.arange(0, 35, 2)] = 0.0  # as dash_core.pruning.masks does
    p_ref, g_ref = _solve_and_grads(stack, x0, dt, 2, fused=False)
    p_fused, g_fused = _solve_and_grads(stack, x0, dt, 2, fused=True)
    assert not torch.allclose(p_fused[1], before[1])
    assert torch.allclose(p_fused, p_ref, rtol=1e-12, atol=1e-14)
    assert torch.allclose(g_fused["members.1.sums_out.weight"], g_ref["members.1.sums_out.weight"], rtol=1e-6,
                          atol=1e-10)
