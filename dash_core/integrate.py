"""Batched one-step-ahead integration with per-pair time rescaling (methods A.7).

Pairs ``(x(t_k), x(t_{k+1}))`` have unequal gaps ``dt_k``. With
``z(tau) = x(t_k + tau * dt_k)`` we integrate ``dz/dtau = dt_k * f(z)`` on
``tau in [0, 1]`` for all pairs of a batch at once; this is mathematically the
per-pair loop, in one solver call.

Solvers live in a registry (like torchdiffeq's solver table):

* ``rk4`` — classical fixed-step Runge-Kutta, ``ceil(max dt * steps_per_unit)``
  steps on the rescaled interval (direct back-propagation). Fastest; the default
  (accuracy vs dopri5 is measured by ``benchmarks/bench_phoenix.py``).
* ``dopri5`` — adaptive Dormand-Prince 5(4) from torchdiffeq with ``rtol``/``atol``
  (``profile="faithful"``: 1e-7 / 1e-9, ``"fast"``: 1e-5 / 1e-7), direct
  back-propagation or the adjoint method (``adjoint=True``).
* ``euler`` — explicit Euler, for teaching and quick checks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from dash_core.models.base import GRNModel
from dash_core.registry import Registry

Tensor = torch.Tensor
VectorField = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class SolverConfig:
    """ODE solver settings.

    Attributes
    ----------
    method
        Registry name: ``"rk4"``, ``"dopri5"`` or ``"euler"``.
    steps_per_unit
        Fixed-step solvers: steps per unit of *real* time (a pair with gap dt
        uses ``ceil(dt * steps_per_unit)`` steps, at least 1; the batch uses the
        largest).
    rtol, atol
        Tolerances of adaptive solvers (faithful profile: 1e-7 / 1e-9).
    adjoint
        Adaptive solvers only: adjoint back-propagation (memory O(1) in steps)
        instead of direct back-propagation through the solver.
    """

    method: Literal["rk4", "dopri5", "euler"] = "rk4"
    steps_per_unit: float = 1.0
    rtol: float = 1e-7
    atol: float = 1e-9
    adjoint: bool = False

    @classmethod
    def profile(cls, name: str) -> SolverConfig:
        """Named solver profiles of methods J.3 (``faithful``, ``fast``) and our ``rk4`` default."""
        profiles = {
            "faithful": cls(method="dopri5", rtol=1e-7, atol=1e-9),
            "fast": cls(method="dopri5", rtol=1e-5, atol=1e-7),
            "rk4": cls(method="rk4", steps_per_unit=1.0),
        }
        from dash_core.io.errors import DashInputError

        if name not in profiles:
            raise DashInputError(f"Unknown solver profile {name!r}; choose one of {', '.join(profiles)}.")
        return profiles[name]


#: ``solve(f, x0, dt, taus, cfg, model, n_steps=None)``; states may carry leading stack dimensions
#: (``(K, B, n)`` with ``dt`` ``(K, B)`` for a stack of K models, :class:`dash_core.models.stack.ModelStack`).
Solver = Callable[..., Tensor]
SOLVERS: Registry[Solver] = Registry("solver")


def n_fixed_steps(max_dt: float, cfg: SolverConfig) -> int:
    """Steps of a fixed-step solver on the rescaled interval for a batch whose largest gap is ``max_dt``."""
    return max(1, int(math.ceil(float(max_dt) * cfg.steps_per_unit - 1e-9)))


def _n_steps(dt: Tensor, cfg: SolverConfig) -> int:
    return n_fixed_steps(float(dt.max()), cfg)


def _fixed_grid(step: Callable[[Tensor, float], Tensor]):
    def solve(f: VectorField, x0: Tensor, dt: Tensor, taus: Tensor, cfg: SolverConfig, model=None,
              n_steps: int | None = None) -> Tensor:
        scale = dt[..., None]
        out = []
        z = x0
        tau = 0.0
        # ``n_steps`` given by the caller (a stack of models, a CUDA graph): no device synchronisation
        n_total = _n_steps(dt, cfg) if n_steps is None else int(n_steps)
        h_max = 1.0 / n_total
        for target in taus.tolist():
            if target <= tau + 1e-12:
                out.append(z)
                continue
            n = max(1, int(round((target - tau) / h_max)))
            h = (target - tau) / n
            for _ in range(n):
                z = step(lambda y: f(y, scale), z, h)
            tau = target
            out.append(z)
        return torch.stack(out)

    return solve


def _rk4_step(F: VectorField, z: Tensor, h: float) -> Tensor:
    k1 = F(z)
    k2 = F(torch.add(z, k1, alpha=0.5 * h))
    k3 = F(torch.add(z, k2, alpha=0.5 * h))
    k4 = F(torch.add(z, k3, alpha=h))
    return torch.add(z, torch.add(torch.add(k1, k2 + k3, alpha=2.0), k4), alpha=h / 6.0)


def _euler_step(F: VectorField, z: Tensor, h: float) -> Tensor:
    return torch.add(z, F(z), alpha=h)


SOLVERS.register("rk4", "Classical 4th-order Runge-Kutta, fixed steps (fastest; default).",
                 fixed_step=True)(_fixed_grid(_rk4_step))
SOLVERS.register("euler", "Explicit Euler, fixed steps (teaching, quick checks).", fixed_step=True)(_fixed_grid(_euler_step))


class _RescaledField(torch.nn.Module):
    """``dz/dtau = dt * f(z)`` as an ``nn.Module`` (the adjoint method needs one)."""

    def __init__(self, model: GRNModel | None, f: VectorField, dt: Tensor):
        super().__init__()
        self.model = model
        self.f = f
        self.dt = dt[..., None]

    def forward(self, t: Tensor, z: Tensor) -> Tensor:
        f = self.model.vector_field() if (self.model is not None and self.f is None) else self.f
        return f(z, self.dt)


def _dopri5(f: VectorField, x0: Tensor, dt: Tensor, taus: Tensor, cfg: SolverConfig, model=None,
            n_steps: int | None = None) -> Tensor:
    import torchdiffeq

    if cfg.adjoint:
        if model is None:
            raise ValueError("the adjoint method needs the model (its parameters are the adjoint's)")
        field = _RescaledField(model, None, dt)
        return torchdiffeq.odeint_adjoint(field, x0, taus, rtol=cfg.rtol, atol=cfg.atol, method="dopri5",
                                          adjoint_params=tuple(model.parameters()))
    field = _RescaledField(None, f, dt)
    return torchdiffeq.odeint(field, x0, taus, rtol=cfg.rtol, atol=cfg.atol, method="dopri5")


# Adaptive steps are chosen from the error of the whole batch, so models stacked in one solve would change each
# other's steps: ``fixed_step=False`` makes such runs train one model per stack (see ``dash_core.train``).
SOLVERS.register("dopri5", "Adaptive Dormand-Prince 5(4) (torchdiffeq), tolerances rtol/atol; optional adjoint.",
                 "Chen et al., NeurIPS 2018 (torchdiffeq)", fixed_step=False)(_dopri5)


def integrate_pairs(model: GRNModel, x0: Tensor, dt: Tensor, solver: SolverConfig = SolverConfig(), *,
                    n_steps: int | None = None) -> Tensor:
    """One-step-ahead predictions for a batch of pairs.

    Parameters
    ----------
    model
        The vector field: a model, or a :class:`~dash_core.models.stack.ModelStack` of K models
        (then ``x0`` is ``(K, B, n)`` and ``dt`` ``(K, B)``: batch k goes through model k).
    x0
        ``(B, n)`` observed states at ``t_k`` (row = pair, column = gene).
    dt
        ``(B,)`` gaps ``t_{k+1} - t_k``.
    solver
        Solver settings.
    n_steps
        Fixed-step solvers: the number of steps when the caller has computed it (:func:`n_fixed_steps` of the
        batch's largest gap; no device synchronisation). Adaptive solvers ignore it.

    Returns
    -------
    Tensor
        ``(B, n)`` predicted states at ``t_{k+1}``.
    """
    # fixed-step solvers only read the taus' values: a host tensor spares a device synchronisation
    taus = torch.tensor([0.0, 1.0], dtype=x0.dtype, device="cpu" if is_fixed_step(solver) else x0.device)
    return integrate(model, x0, dt, taus, solver, n_steps=n_steps)[-1]


def integrate(model: GRNModel, x0: Tensor, dt: Tensor, taus: Tensor, solver: SolverConfig = SolverConfig(), *,
              n_steps: int | None = None) -> Tensor:
    """Integrate ``(B, n)`` starts over rescaled times ``taus`` (``0 = start``, ``1 = start + dt``).

    Returns ``(len(taus), B, n)``. With ``dt = 1`` the taus are real times, which
    is how influence scores (methods A.6) integrate to ``tau = 0, 0.1, ..., 0.9``.
    """
    fn = SOLVERS.get(solver.method).obj
    f = model.vector_field()
    return fn(f, x0, dt.to(x0.dtype), taus, solver, model, n_steps=n_steps)


def is_fixed_step(solver: SolverConfig) -> bool:
    """Whether the solver takes a fixed number of steps (then models can be stacked in one solve)."""
    return bool(SOLVERS.get(solver.method).extra.get("fixed_step", False))
