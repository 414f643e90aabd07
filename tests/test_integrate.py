"""Batched integration with time rescaling against analytic solutions."""

from __future__ import annotations

import math

import pytest
import torch

from dash_core.integrate import SOLVERS, SolverConfig, integrate, integrate_pairs
from dash_core.models import ModelConfig, build_model
from dash_core.models.base import GRNModel


class LinearDecay(GRNModel):
    """dx/dt = -k x (closed form x0 exp(-k t))."""

    def __init__(self, n: int, k: float):
        super().__init__()
        self.n_genes, self.hidden = n, 0
        self.k = torch.nn.Parameter(torch.tensor(k, dtype=torch.float64))

    def vector_field(self):
        def f(x, scale=None):
            out = -self.k * x
            return out if scale is None else scale * out

        return f

    def drive(self, x):
        return x

    def prunable_layers(self):
        return []

    def effect_matrix(self):
        return torch.zeros(self.n_genes, self.n_genes)

    def sparsity_blocks(self):
        return []


@pytest.mark.parametrize("cfg,tol", [
    (SolverConfig(method="dopri5"), 1e-7),
    (SolverConfig(method="rk4", steps_per_unit=4), 1e-5),
    (SolverConfig(method="euler", steps_per_unit=200), 5e-3),
])
def test_linear_ode_closed_form(cfg, tol):
    m = LinearDecay(3, 0.7)
    x0 = torch.tensor([[1.0, 0.5, 0.2], [0.3, 0.3, 0.3]], dtype=torch.float64)
    dt = torch.tensor([2.0, 0.5], dtype=torch.float64)
    y = integrate_pairs(m, x0, dt, cfg)
    exact = x0 * torch.exp(-0.7 * dt)[:, None]
    assert torch.allclose(y, exact, atol=tol, rtol=0)


def test_batched_rescaling_equals_per_pair_loop():
    m = build_model(6, ModelConfig(hidden=4), seed=0).double()
    x0 = torch.rand(4, 6, dtype=torch.float64)
    dt = torch.tensor([2.0, 1.0, 4.0, 2.0], dtype=torch.float64)
    cfg = SolverConfig(method="dopri5", rtol=1e-10, atol=1e-12)
    batched = integrate_pairs(m, x0, dt, cfg)
    for i in range(4):
        single = integrate_pairs(m, x0[i:i + 1], dt[i:i + 1], cfg)
        assert torch.allclose(batched[i], single[0], atol=1e-8)


def test_rk4_agrees_with_faithful_dopri5_on_phoenix():
    m = build_model(30, ModelConfig(hidden=8), seed=2)
    x0 = torch.rand(4, 30)
    dt = torch.tensor([2.0, 1.0, 4.0, 2.0])
    ref = integrate_pairs(m, x0, dt, SolverConfig.profile("faithful"))
    assert torch.allclose(integrate_pairs(m, x0, dt, SolverConfig(method="rk4", steps_per_unit=4)), ref, atol=1e-4)


def test_adjoint_gradients_match_direct():
    m = LinearDecay(2, 0.3)
    x0 = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    dt = torch.tensor([1.5], dtype=torch.float64)
    grads = []
    for adjoint in (False, True):
        m.k.grad = None
        integrate_pairs(m, x0, dt, SolverConfig(method="dopri5", adjoint=adjoint)).sum().backward()
        grads.append(m.k.grad.item())
    # d/dk sum(x0 e^{-k dt}) = -dt * sum(x0) e^{-k dt}
    exact = -1.5 * 3.0 * math.exp(-0.45)
    assert grads[0] == pytest.approx(exact, rel=1e-6)
    assert grads[1] == pytest.approx(exact, rel=1e-5)


def test_integrate_returns_all_taus():
    m = LinearDecay(2, 1.0)
    x0 = torch.ones(3, 2, dtype=torch.float64)
    taus = torch.linspace(0, 0.9, 10, dtype=torch.float64)
    out = integrate(m, x0, torch.ones(3, dtype=torch.float64), taus, SolverConfig(method="rk4", steps_per_unit=20))
    assert out.shape == (10, 3, 2)
    assert torch.allclose(out[:, 0, 0], torch.exp(-taus), atol=1e-7)


def test_solver_registry_and_profiles():
    assert set(SOLVERS.names()) == {"rk4", "euler", "dopri5"}
    assert SolverConfig.profile("faithful").rtol == 1e-7
    assert SolverConfig.profile("fast").atol == 1e-7


@pytest.mark.parametrize("rate_scale", [1.0, 3.0, 10.0])
def test_shipped_default_keeps_its_error_bounded_as_gene_rates_grow(rate_scale):
    """The default (rk4, 1 step per unit, rate * h <= 2) against faithful dopri5 with the gene rates scaled.

    One fixed step per unit of time (no rate rule) had errors 1.6e-3, 2.2 and 4e9 here.
    """
    from dash_core.integrate import steps_per_unit

    m = build_model(60, ModelConfig(hidden=16), seed=2).double()
    with torch.no_grad():
        m.g.mul_(rate_scale)
    x0 = torch.rand(8, 60, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    dt = torch.tensor([2.0, 1.0, 4.0, 2.0, 2.0, 1.0, 4.0, 2.0], dtype=torch.float64)
    with torch.no_grad():
        ref = integrate_pairs(m, x0, dt, SolverConfig.profile("faithful"))
        err = float((integrate_pairs(m, x0, dt, SolverConfig()) - ref).abs().max())
        unbounded = float((integrate_pairs(m, x0, dt, SolverConfig(max_step_rate=None)) - ref).abs().max())
    assert err < 2e-3
    assert steps_per_unit(SolverConfig(), m.max_rate()) == pytest.approx(max(1.0, m.max_rate() / 2.0))
    if rate_scale > 1:
        assert unbounded > 100 * err  # the rule is what keeps it bounded
