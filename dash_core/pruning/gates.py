"""Hard-concrete input gates for the gated baselines L0 and PathReg (methods C.2).

A :class:`HardConcreteGate` holds one log alpha per *input* unit of a
:class:`~dash_core.models.base.MaskedLinear` and is attached as its ``gate``
module, so that the layer's effective weight becomes ``W * mask * z[None, :]``
(weight stored ``(out, in)``; gate ``i`` switches off column ``i``, i.e. every
connection leaving input unit ``i``).

Formulas (Louizos, Welling, Kingma 2018), with ``(gamma, zeta) = (-0.1, 1.1)``
and temperature ``beta``::

    sample:  u ~ U(eps, 1 - eps);  s = sigmoid((log u - log(1 - u) + log alpha) / beta)
             z = min(1, max(0, s (zeta - gamma) + gamma))
    test:    z_hat = min(1, max(0, sigmoid(log alpha) (zeta - gamma) + gamma))
    P(z != 0) = sigmoid(log alpha - beta log(-gamma / zeta))

One sample per training step
----------------------------
The gate stores the logistic noise ``log u - log(1 - u)`` in a buffer and
computes the sample from it, so a sample stays fixed (and differentiable in
log alpha) until :meth:`HardConcreteGate.resample_` draws new noise. The
strategies resample once after every optimiser step, so every right-hand-side
evaluation of one solve, and the penalty of that step, see the same gates.
**Reference deviation fixed:** the reference resampled at every right-hand-side
evaluation, which makes the vector field stochastic.

In eval mode the gate returns the deterministic test gate ``z_hat``
(``eval_mode="deterministic"``, recommended) or the stored sample
(``eval_mode="sample"``, the reference evaluated one random sample). The noise
buffer is saved in the state dict, so both modes reload exactly.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from dash_core.models.base import GRNModel, MaskedLinear

Tensor = torch.Tensor

#: Stretch interval of the hard-concrete distribution (Louizos et al. 2018).
GAMMA = -0.1
ZETA = 1.1
#: Uniform noise is drawn from U(EPS, 1 - EPS) to keep the logit finite.
EPS = 1e-6


def deterministic_gate(log_alpha: Tensor) -> Tensor:
    """Deterministic test-time gate ``z_hat = clamp(sigmoid(log alpha)(zeta - gamma) + gamma, 0, 1)``.

    Exactly 0 for ``log alpha <= -log 11`` and exactly 1 for ``log alpha >= log 11``.
    """
    return torch.clamp(torch.sigmoid(log_alpha) * (ZETA - GAMMA) + GAMMA, 0.0, 1.0)


def prob_nonzero(log_alpha: Tensor, beta: float) -> Tensor:
    """``P(z != 0) = sigmoid(log alpha - beta log(-gamma / zeta))`` of a hard-concrete gate."""
    return torch.sigmoid(log_alpha - beta * math.log(-GAMMA / ZETA))


def sample_gate(log_alpha: Tensor, noise: Tensor, beta: float) -> Tensor:
    """A hard-concrete sample from logistic ``noise = log u - log(1 - u)`` (differentiable in log alpha)."""
    s = torch.sigmoid((noise + log_alpha) / beta)
    return torch.clamp(s * (ZETA - GAMMA) + GAMMA, 0.0, 1.0)


def logistic_noise(size: int, generator: torch.Generator | None = None) -> Tensor:
    """``log u - log(1 - u)`` with ``u ~ U(EPS, 1 - EPS)``, float64 on the CPU, shape ``(size,)``."""
    u = torch.rand(size, generator=generator, dtype=torch.float64) * (1.0 - 2.0 * EPS) + EPS
    return torch.log(u) - torch.log1p(-u)


class HardConcreteGate(nn.Module):
    """Hard-concrete gates on the ``d_in`` input units of one linear map (methods C.2).

    Parameters
    ----------
    d_in
        Number of input units (columns of the gated ``(out, in)`` weight).
    beta
        Temperature (L0: 1/50, PathReg: 2/3).
    drop_rate
        Initial drop rate d: ``log alpha ~ N(log((1 - d)/d), 0.01^2)``.
    eval_mode
        What :meth:`forward` returns in eval mode: ``"deterministic"`` (``z_hat``) or
        ``"sample"`` (the stored sample).
    generator
        Seeds the initial log alpha and the first noise sample.

    Attributes
    ----------
    log_alpha
        ``(d_in,)`` parameter.
    noise
        ``(d_in,)`` buffer with the logistic noise of the current sample.
    """

    def __init__(self, d_in: int, beta: float, drop_rate: float,
                 eval_mode: Literal["deterministic", "sample"] = "deterministic",
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 < drop_rate < 1.0:
            raise ValueError(f"gate drop rate must be in (0, 1), got {drop_rate}")
        if beta <= 0:
            raise ValueError(f"gate temperature beta must be positive, got {beta}")
        if eval_mode not in ("deterministic", "sample"):
            raise ValueError(f"eval_mode must be 'deterministic' or 'sample', got {eval_mode!r}")
        self.d_in = int(d_in)
        self.beta = float(beta)
        self.drop_rate = float(drop_rate)
        self.eval_mode = eval_mode
        mean = math.log((1.0 - drop_rate) / drop_rate)
        init = torch.randn(self.d_in, generator=generator, dtype=torch.float64) * 0.01 + mean
        self.log_alpha = nn.Parameter(init.to(torch.get_default_dtype()))
        self.register_buffer("noise", logistic_noise(self.d_in, generator).to(torch.get_default_dtype()))

    def sample(self) -> Tensor:
        """The current sample ``z`` (fixed until :meth:`resample_`), shape ``(d_in,)``."""
        return sample_gate(self.log_alpha, self.noise, self.beta)

    def deterministic(self) -> Tensor:
        """The test gate ``z_hat``, shape ``(d_in,)``."""
        return deterministic_gate(self.log_alpha)

    def prob_nonzero(self) -> Tensor:
        """``P(z != 0)`` per input unit, shape ``(d_in,)``."""
        return prob_nonzero(self.log_alpha, self.beta)

    def forward(self) -> Tensor:
        """Gate values used by the layer: the stored sample in training mode, else per ``eval_mode``."""
        if self.training or self.eval_mode == "sample":
            return self.sample()
        return self.deterministic()

    @torch.no_grad()
    def resample_(self, generator: torch.Generator | None = None) -> None:
        """Draw new noise: the next training step uses a new gate sample."""
        self.noise.copy_(logistic_noise(self.d_in, generator).to(self.noise.device, self.noise.dtype))

    def extra_repr(self) -> str:
        return f"d_in={self.d_in}, beta={self.beta:g}, drop_rate={self.drop_rate:g}, eval_mode={self.eval_mode}"


def gated_layers(model: GRNModel) -> list[tuple[str, MaskedLinear, HardConcreteGate]]:
    """``(name, layer, gate)`` of every prunable layer that carries a :class:`HardConcreteGate` (B.5 order)."""
    out = []
    for p in model.prunable_layers():
        if isinstance(p.layer.gate, HardConcreteGate):
            out.append((p.name, p.layer, p.layer.gate))
    return out


@torch.no_grad()
def gated_init_(model: GRNModel, generator: torch.Generator | None = None) -> None:
    """Initialisation of the gated baselines (methods C.2), in place.

    Kaiming-normal weights with ``std = sqrt(2 / d_in)`` on every prunable layer,
    and zero biases on the genes -> hidden (``role="input"``) layers. Masks are
    reset to 1. Other parameters (PHOENIX's ``g``, the MLP's output bias) keep
    their initialisation.

    Notes
    -----
    The spec's "fan-out mode" refers to the reference's gated layers, which store
    their weight as ``(in, out)``: PyTorch's fan-out of that tensor is ``d_in``.
    In our ``(out, in)`` storage the same distribution is PyTorch's fan-in mode,
    ``N(0, 2 / d_in)``. (Literal fan-out on ``(out, in)``, ``N(0, 2 / d_out)``,
    gives PHOENIX's genes -> hidden layers ~sqrt(n / h) times larger weights and
    makes small models blow up in finite time.)
    """
    for p in model.prunable_layers():
        lin = p.layer
        nn.init.kaiming_normal_(lin.weight, mode="fan_in", generator=generator)
        lin.mask.fill_(1.0)
        if p.role == "input" and lin.bias is not None:
            lin.bias.zero_()


def attach_gates(model: GRNModel, *, beta: float, drop_in: float, drop_out: float,
                 eval_mode: Literal["deterministic", "sample"] = "deterministic",
                 generator: torch.Generator | None = None) -> list[HardConcreteGate]:
    """Attach a :class:`HardConcreteGate` to the inputs of every prunable layer (methods C.2).

    Input layers (genes -> hidden, PHOENIX ``W_s, W_p``, MLP ``W1``) get drop rate
    ``drop_in`` (0.2); output layers (hidden -> genes, ``C_s, C_p``, ``W2``) get
    ``drop_out`` (0.5). The gate parameters are created on the device and dtype
    of the layer's weight. Returns the gates in the model's B.5 layer order.
    """
    gates = []
    for p in model.prunable_layers():
        lin = p.layer
        d = drop_in if p.role == "input" else drop_out
        gate = HardConcreteGate(lin.in_features, beta, d, eval_mode, generator)
        gate.to(device=lin.weight.device, dtype=lin.weight.dtype)
        lin.gate = gate
        gates.append(gate)
    return gates


def resample_gates_(model: GRNModel, generator: torch.Generator | None = None) -> None:
    """Draw a new sample for every hard-concrete gate of ``model`` (once per training step)."""
    for _, _, gate in gated_layers(model):
        gate.resample_(generator)
