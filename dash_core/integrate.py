"""Batched one-step-ahead integration with per-pair time rescaling (methods A.7).

Pairs ``(x(t_k), x(t_{k+1}))`` have unequal gaps ``dt_k``. With
``z(tau) = x(t_k + tau * dt_k)`` we integrate ``dz/dtau = dt_k * f(z)`` on
``tau in [0, 1]`` for all pairs of a batch at once; this is mathematically the
per-pair loop, in one solver call.

Solvers live in a registry (like torchdiffeq's solver table):

* ``rk4`` — classical fixed-step Runge-Kutta on the rescaled interval (direct
  back-propagation). Fastest; the default. The number of steps follows the time
  step *and* the model's largest rate (see "Step size" below), so its error stays
  bounded when the gene rates grow during training.
* ``dopri5`` — adaptive Dormand-Prince 5(4) from torchdiffeq with ``rtol``/``atol``
  (``profile="faithful"``: 1e-7 / 1e-9, ``"fast"``: 1e-5 / 1e-7), direct
  back-propagation or the adjoint method (``adjoint=True``).
* ``euler`` — explicit Euler, for teaching and quick checks.

Step size of the fixed-step solvers
-----------------------------------
A pair with gap ``dt`` gets ``ceil(dt * per_unit)`` steps (the batch uses its largest
gap), with ``per_unit = max(steps_per_unit, rate / max_step_rate)`` where ``rate`` is
the model's largest rate (``model.max_rate()``; PHOENIX: ``max ReLU(g)``, the decay
rate of the fastest gene; on random PHOENIX models it equals the Jacobian's spectral
radius; a stack of models: the largest of its members'). So every step has
``rate * h <= max_step_rate`` (default 2, inside RK4's stability limit of 2.785). With
one step per unit of time and no rate rule (the shipped default before), the error
against faithful dopri5 on a random PHOENIX model (60 genes, gaps 1-4) grew from
1.6e-3 to 2.2 when the gene rates were scaled x3 and to 4e9 at x10; with the rule it
is 1.6e-3, 1.0e-3 and 2.3e-5 (``tests/test_integrate.py``). Trained SIM350 models
have ``max ReLU(g)`` of about 1.1 (40 epochs), so the default keeps one step per unit
of time there: same numbers and speed as before, and more steps only when the rates
grow past 2. Models without a ``max_rate`` (the MLP ablation) use ``steps_per_unit``
alone. Callers that know the step count (the training engine computes it once per
batch from each member's rate, :func:`n_fixed_steps`) pass ``n_steps``: no device
synchronisation, and CUDA-graph safe.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from dash_core.io.errors import DashInputError
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
        Fixed-step solvers: at least this many steps per unit of *real* time (a
        pair with gap dt uses ``ceil(dt * steps_per_unit)`` steps, at least 1; the
        batch uses the largest).
    max_step_rate
        Fixed-step solvers: the largest ``rate * h`` allowed, with ``rate`` the
        model's largest rate (:meth:`dash_core.models.base.GRNModel.max_rate`); more
        steps are taken when the rates grow. None: ``steps_per_unit`` alone (no
        error control).
    rtol, atol
        Tolerances of adaptive solvers (faithful profile: 1e-7 / 1e-9).
    adjoint
        Adaptive solvers only: adjoint back-propagation (memory O(1) in steps)
        instead of direct back-propagation through the solver.
    """

    method: Literal["rk4", "dopri5", "euler"] = "rk4"
    steps_per_unit: float = 1.0
    max_step_rate: float | None = 2.0
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
        if name not in profiles:
            raise DashInputError(f"Unknown solver profile {name!r}; choose one of {', '.join(profiles)}.")
        return profiles[name]


#: ``solve(f, x0, dt, taus, cfg, model, max_dt=None, n_steps=None)``; states may carry leading stack dimensions
#: (``(K, B, n)`` with ``dt`` ``(K, B)`` for a stack of K models, :class:`dash_core.models.stack.ModelStack`).
Solver = Callable[..., Tensor]
SOLVERS: Registry[Solver] = Registry("solver")


def steps_per_unit(cfg: SolverConfig, rate: float | None = None) -> float:
    """Fixed-step solvers: steps per unit of real time for a model whose largest rate is ``rate``.

    ``max(steps_per_unit, rate / max_step_rate)`` (see "Step size" in the module docstring).
    """
    per_unit = float(cfg.steps_per_unit)
    if cfg.max_step_rate is not None and rate is not None and rate > 0:
        per_unit = max(per_unit, float(rate) / float(cfg.max_step_rate))
    return per_unit


def model_rate(model) -> float | None:
    """``model.max_rate()`` when the model (or stack) has one, else None (one device synchronisation)."""
    fn = getattr(model, "max_rate", None)
    return None if fn is None else fn()


def n_fixed_steps(max_dt: float, cfg: SolverConfig, rate: float | None = None) -> int:
    """Steps of a fixed-step solver on the rescaled interval for a batch whose largest gap is ``max_dt``.

    ``rate`` is the model's largest rate (:func:`model_rate`); None: ``steps_per_unit`` alone.
    """
    return max(1, int(math.ceil(float(max_dt) * steps_per_unit(cfg, rate) - 1e-9)))


def _n_steps(dt: Tensor, cfg: SolverConfig, max_dt: float | None, model, n_steps: int | None) -> int:
    # ``max_dt`` / ``n_steps`` known on the host save device synchronisations (required inside a CUDA graph).
    if n_steps is not None:
        return int(n_steps)
    return n_fixed_steps(float(dt.max()) if max_dt is None else max_dt, cfg, model_rate(model))


def _fixed_grid(step: Callable[[Tensor, float], Tensor]):
    def solve(f: VectorField, x0: Tensor, dt: Tensor, taus: Tensor, cfg: SolverConfig, model=None,
              max_dt: float | None = None, n_steps: int | None = None) -> Tensor:
        scale = dt[..., None]
        out = []
        z = x0
        tau = 0.0
        n_total = _n_steps(dt, cfg, max_dt, model, n_steps)
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
            max_dt: float | None = None, n_steps: int | None = None) -> Tensor:
    import torchdiffeq  # lazy on purpose: only the adaptive solver needs it

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
                    max_dt: float | None = None, n_steps: int | None = None) -> Tensor:
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
    max_dt
        The largest gap when the caller knows it on the host (no device synchronisation).
    n_steps
        Fixed-step solvers: the number of steps when the caller computed it
        (:func:`n_fixed_steps`); default: from ``max_dt`` and the model's rate.

    Returns
    -------
    Tensor
        ``(B, n)`` predicted states at ``t_{k+1}``.
    """
    z1 = _solve_fused(model, x0, dt, solver, max_dt, n_steps)
    if z1 is not None:
        return z1
    # fixed-step solvers only read the taus' values: a host tensor spares a device synchronisation
    taus = torch.tensor([0.0, 1.0], dtype=x0.dtype, device="cpu" if is_fixed_step(solver) else x0.device)
    return integrate(model, x0, dt, taus, solver, max_dt=max_dt, n_steps=n_steps)[-1]


def integrate(model: GRNModel, x0: Tensor, dt: Tensor, taus: Tensor, solver: SolverConfig = SolverConfig(), *,
              max_dt: float | None = None, n_steps: int | None = None) -> Tensor:
    """Integrate ``(B, n)`` starts over rescaled times ``taus`` (``0 = start``, ``1 = start + dt``).

    Returns ``(len(taus), B, n)``. With ``dt = 1`` the taus are real times, which
    is how influence scores (methods A.6) integrate to ``tau = 0, 0.1, ..., 0.9``.
    """
    dt = dt.to(x0.dtype)
    if taus.numel() == 2 and taus.tolist() == [0.0, 1.0]:
        z1 = _solve_fused(model, x0, dt, solver, max_dt, n_steps)
        if z1 is not None:
            return torch.stack([x0, z1])
    fn = SOLVERS.get(solver.method).obj
    f = model.vector_field()
    return fn(f, x0, dt, taus, solver, model, max_dt=max_dt, n_steps=n_steps)


#: Solve one-step-ahead RK4 problems with the model's fused forward/backward node when it has one
#: (:attr:`dash_core.models.base.GRNModel.stacked_rk4`; same numbers, a fraction of the kernels). False: the
#: generic step loop (the tests compare the two).
FUSED_RK4 = True


def _fused_rk4(model) -> Callable[[Tensor, Tensor, int], Tensor | None] | None:
    """``solve(x0, dt, n_steps)`` of a model or model stack with a fused RK4 node, else None (the solve itself
    returns None when the node does not apply to these models, e.g. gated layers)."""
    stack = getattr(model, "fused_rk4", None)
    if stack is not None:  # a ModelStack: (K, B, n) states
        return stack()
    fn = getattr(type(model), "stacked_rk4", None)
    if fn is None:
        return None

    def solve(x0: Tensor, dt: Tensor, n_steps: int) -> Tensor | None:
        z = fn([model], x0.unsqueeze(0), dt.unsqueeze(0), n_steps)
        return None if z is None else z[0]

    return solve


def fused_rk4_applies(solver: SolverConfig) -> bool:
    """Whether one-step-ahead solves with these settings use a model's fused RK4 node (where it has one)."""
    return solver.method == "rk4" and FUSED_RK4


def _solve_fused(model, x0: Tensor, dt: Tensor, solver: SolverConfig, max_dt: float | None,
                 n_steps: int | None) -> Tensor | None:
    """``z(1)`` of a one-step-ahead RK4 problem by the model's fused node, or None where there is none."""
    if not fused_rk4_applies(solver):
        return None
    solve = _fused_rk4(model)
    if solve is None:
        return None
    return solve(x0, dt.to(x0.dtype), _n_steps(dt, solver, max_dt, model, n_steps))


def is_fixed_step(solver: SolverConfig) -> bool:
    """Whether the solver takes a fixed number of steps (then models can be stacked in one solve)."""
    return bool(SOLVERS.get(solver.method).extra.get("fixed_step", False))
