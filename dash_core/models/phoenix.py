"""PHOENIX neural ODE right-hand side (methods A.1-A.3, A.5).

``f(x) = ReLU(g) * (u(x) - x)`` with an additive ("OR-like") and a
multiplicative ("AND-like") branch; see :class:`PhoenixODE`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from dash_core.models.base import GRNModel, MaskedLinear, PrunableLayer, Tensor, stack_tensors
from dash_core.models.fused_rk4 import fused_phoenix_rk4, fused_phoenix_rk4_backprop


def squash(x: Tensor) -> Tensor:
    """PHOENIX input nonlinearity ``sigma(x) = (x - 1/2) / (1 + |x - 1/2|)``, range (-1, 1)."""
    return nn.functional.softsign(x - 0.5)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and initialisation of the base model.

    Attributes
    ----------
    model
        Registry name: ``"phoenix"`` or ``"mlp"``.
    hidden
        Hidden units per branch (h). SIM350: 40. The MLP ablation uses 50 in the paper.
    output_init
        ``"orthogonal"`` (DASH: semi-orthogonal C with gain 1, ``torch.nn.init.orthogonal_`` with the run's
        generator) or ``"sparse"`` (original PHOENIX: the sparse initialisation also on C).
    sparse_fraction, sparse_std
        Sparse initialisation of the input layers (A.2): in every column a random
        ceil(fraction * h) entries are 0, the rest ~ N(0, std^2).
    multiplier_grad
        Gradient of the gene multipliers ``ReLU(g)``. ``"relu"``: the plain derivative, so a
        gene whose g crosses 0 gets zero gradient and stays frozen for good. ``"straight_through"``:
        the forward value is still exactly ``ReLU(g)`` (frozen genes stay exactly frozen and E's
        columns exactly 0), but the backward pass uses the identity, so the data can revive a gene
        that an early, still-random ``u`` froze by mistake. See :func:`gene_rate`.

        Default ``"straight_through"`` (a deviation from the reference, which has ``"relu"``):
        with g ~ U(0, 1) and the 5x learning rate on g, a gene with a small initial g is pushed
        below 0 within a few Adam steps whenever the random initial ``u`` points the wrong way, and
        a plain ReLU never lets it back. Measured on SIM350-style data (5 % noise, seed 0, unpruned,
        lambda_data = 0.99, ``benchmarks/bench_phoenix.py --part recovery``): 8 of the 276 regulated
        genes ended frozen although they move clearly in the data, zeroing 18 true edges of E;
        straight-through left 3, raised AUROC of |E| from 0.964 to 0.975 and lowered the test MSE
        from 1.92e-3 to 1.67e-3. Input genes (constant in time) still end at or near g = 0.
    """

    model: str = "phoenix"
    hidden: int = 40
    output_init: Literal["orthogonal", "sparse"] = "orthogonal"
    sparse_fraction: float = 0.95
    sparse_std: float = 0.05
    multiplier_grad: Literal["relu", "straight_through"] = "straight_through"


def sparse_init_(weight: Tensor, fraction: float, std: float, generator: torch.Generator | None = None) -> None:
    """In-place sparse initialisation of an ``(out, in)`` weight (methods A.2).

    In every column, ``ceil(fraction * out)`` randomly chosen entries are set to 0
    (ordinary zeros, not masks); the others are drawn from N(0, std^2). At least
    one entry per column stays non-zero, so that tiny hidden sizes stay trainable
    (with h = 40 and fraction 0.95, 38 zeros and 2 non-zeros per column as in A.2).
    """
    rows, cols = weight.shape
    n_zero = max(0, min(rows - 1, math.ceil(fraction * rows - 1e-9)))
    with torch.no_grad():
        weight.normal_(0.0, std, generator=generator)
        order = torch.argsort(torch.rand(rows, cols, generator=generator), dim=0)
        zero_rows = order[:n_zero]
        weight.scatter_(0, zero_rows, 0.0)


def gene_rate(g: Tensor, multiplier_grad: str = "relu") -> Tensor:
    """``ReLU(g)`` with the chosen gradient (see :class:`ModelConfig`, ``multiplier_grad``).

    ``"straight_through"`` returns ``g + (ReLU(g) - g).detach()``: the value is ``ReLU(g)``, the
    derivative with respect to g is 1 everywhere.
    """
    rg = torch.relu(g)
    return g + (rg - g).detach() if is_straight_through(multiplier_grad) else rg


def is_straight_through(multiplier_grad: str) -> bool:
    """Whether a gene-rate gradient rule is ``"straight_through"`` (else ``"relu"``); raises on any other name."""
    if multiplier_grad not in ("relu", "straight_through"):
        raise ValueError(f"unknown multiplier_grad {multiplier_grad!r}: use 'relu' or 'straight_through'")
    return multiplier_grad == "straight_through"


class PhoenixODE(GRNModel):
    """PHOENIX vector field (methods A.1).

    ``s = sigma(x) W_s^T + b_s``, ``p = exp(log(1 + sigma(x)) W_p^T + b_p)``,
    ``u = s C_s^T + p C_p^T`` and ``f = ReLU(g) * (u - x)``.

    Parameters
    ----------
    n_genes
        Number of genes n.
    config
        :class:`ModelConfig` (hidden size, initialisation).
    generator
        Seeded generator for the initialisation.

    Notes
    -----
    Weights: ``W_s, W_p`` are ``(h, n)`` (column i = regulator i), ``C_s, C_p`` are
    ``(n, h)`` (row j = target j). The effect matrix is regulator x target.
    """

    model_name = "phoenix"

    def __init__(self, n_genes: int, config: ModelConfig = ModelConfig(), generator: torch.Generator | None = None):
        super().__init__()
        h = int(config.hidden)
        self.n_genes = n_genes
        self.hidden = h
        self.config = config
        self.sums_in = MaskedLinear(n_genes, h, bias=True)
        self.prods_in = MaskedLinear(n_genes, h, bias=True)
        self.sums_out = MaskedLinear(h, n_genes, bias=False)
        self.prods_out = MaskedLinear(h, n_genes, bias=False)
        self.g = nn.Parameter(torch.empty(n_genes))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        cfg = self.config
        with torch.no_grad():
            for lin in (self.sums_in, self.prods_in):
                sparse_init_(lin.weight, cfg.sparse_fraction, cfg.sparse_std, generator)
                bound = 1.0 / math.sqrt(self.n_genes)
                lin.bias.uniform_(-bound, bound, generator=generator)
            for lin in (self.sums_out, self.prods_out):
                if cfg.output_init == "orthogonal":
                    nn.init.orthogonal_(lin.weight, gain=1.0, generator=generator)
                else:
                    sparse_init_(lin.weight, cfg.sparse_fraction, cfg.sparse_std, generator)
            self.g.uniform_(0.0, 1.0, generator=generator)

    # -- dynamics ---------------------------------------------------------
    def _weights(self):
        return (
            self.sums_in.effective_weight(),
            self.prods_in.effective_weight(),
            torch.cat([self.sums_out.effective_weight(), self.prods_out.effective_weight()], dim=1),
        )

    def vector_field(self) -> Callable[[Tensor], Tensor]:
        ws, wp, c = self._weights()
        bs, bp = self.sums_in.bias, self.prods_in.bias
        gr = gene_rate(self.g, self.config.multiplier_grad)
        wst, wpt, ct = ws.t(), wp.t(), c.t()

        def f(x: Tensor, scale: Tensor | None = None) -> Tensor:
            # ``scale`` (B, 1) multiplies the field (time rescaling, methods A.7) at no extra op.
            sx = squash(x)
            s = torch.addmm(bs, sx, wst)
            p = torch.exp(torch.addmm(bp, torch.log1p(sx), wpt))
            r = torch.addmm(x, torch.cat([s, p], dim=1), ct, beta=-1.0)  # u - x in one kernel
            return (gr if scale is None else scale * gr) * r

        return f

    def drive(self, x: Tensor) -> Tensor:
        """``u(x)``: the combined branches without gene multipliers or decay (A.3)."""
        ws, wp, c = self._weights()
        sx = squash(x)
        s = torch.addmm(self.sums_in.bias, sx, ws.t())
        p = torch.exp(torch.addmm(self.prods_in.bias, torch.log1p(sx), wp.t()))
        return torch.cat([s, p], dim=1) @ c.t()

    # -- stacks of models: the same maths with batched matrix products ---------------
    @staticmethod
    def _stacked_weights(models: list[PhoenixODE]):
        """``(K, n, h)`` W_s^T, W_p^T, ``(K, 2h, n)`` C^T and ``(K, 1, h)`` biases of K models."""
        parts = [m._weights() for m in models]
        wst = stack_tensors([p[0] for p in parts]).transpose(1, 2)
        wpt = stack_tensors([p[1] for p in parts]).transpose(1, 2)
        ct = stack_tensors([p[2] for p in parts]).transpose(1, 2)
        bs = stack_tensors([m.sums_in.bias for m in models]).unsqueeze(1)
        bp = stack_tensors([m.prods_in.bias for m in models]).unsqueeze(1)
        return wst, wpt, ct, bs, bp

    @classmethod
    def stacked_vector_field(cls, models: list[PhoenixODE]) -> Callable[[Tensor], Tensor]:
        """``f`` of K PHOENIX models on ``(K, B, n)`` states with batched products (see :meth:`vector_field`)."""
        wst, wpt, ct, bs, bp = cls._stacked_weights(models)
        gr = stack_tensors([gene_rate(m.g, m.config.multiplier_grad) for m in models]).unsqueeze(1)  # (K, 1, n)
        # A solver passes the same ``scale`` to every evaluation of a solve: form ``scale * ReLU(g)`` once.
        last: list = [None, gr]

        def f(x: Tensor, scale: Tensor | None = None) -> Tensor:
            if scale is not last[0]:
                last[0], last[1] = scale, (gr if scale is None else scale * gr)
            sx = squash(x)
            s = torch.baddbmm(bs, sx, wst)
            p = torch.exp(torch.baddbmm(bp, torch.log1p(sx), wpt))
            r = torch.baddbmm(x, torch.cat([s, p], dim=2), ct, beta=-1.0)  # u - x
            return last[1] * r

        return f

    @classmethod
    def stacked_rk4(cls, models: list[PhoenixODE], x0: Tensor, dt: Tensor, n_steps: int,
                    loss_grad: Callable[[Tensor], tuple[Tensor, Tensor]] | None = None) -> Tensor | None:
        """``n_steps`` RK4 steps of K PHOENIX models from ``(K, B, n)`` states over gaps ``dt`` ``(K, B)``, as one
        fused forward/backward node (:mod:`dash_core.models.fused_rk4`) that takes the raw parameters and masks;
        the same numbers as the step loop of :mod:`dash_core.integrate` with :meth:`stacked_vector_field`.
        None when a layer is gated (the caller then uses the step loop).

        With ``loss_grad`` (``z(1) -> (loss values, dL/dz(1))``) the backward pass runs at once without autograd
        and adds to the parameters' ``.grad`` (:func:`~dash_core.models.fused_rk4.fused_phoenix_rk4_backprop`);
        then the loss values are returned."""
        layers = [(m.sums_in, m.prods_in, m.sums_out, m.prods_out) for m in models]
        if any(lin.gate is not None for ls in layers for lin in ls):
            return None  # gated layers (L0, PathReg): the generic step loop
        params = [t for m, ls in zip(models, layers)
                  for t in (ls[0].weight, ls[1].weight, ls[2].weight, ls[3].weight, ls[0].bias, ls[1].bias, m.g)]
        masks = [tuple(lin.mask for lin in ls) for ls in layers]
        rules = [is_straight_through(m.config.multiplier_grad) for m in models]
        if loss_grad is not None:
            return fused_phoenix_rk4_backprop(params, masks, rules, x0, dt, n_steps, loss_grad)
        return fused_phoenix_rk4(params, masks, rules, x0, dt, n_steps)

    @classmethod
    def stacked_drive(cls, models: list[PhoenixODE], x: Tensor) -> Tensor:
        """``u(x)`` of K PHOENIX models on ``(K, B, n)`` states."""
        wst, wpt, ct, bs, bp = cls._stacked_weights(models)
        sx = squash(x)
        s = torch.baddbmm(bs, sx, wst)
        p = torch.exp(torch.baddbmm(bp, torch.log1p(sx), wpt))
        return torch.bmm(torch.cat([s, p], dim=2), ct)

    # -- structure --------------------------------------------------------
    def gene_multipliers(self) -> Tensor:
        """``ReLU(g)``, shape ``(n,)``."""
        return torch.relu(self.g)

    def max_rate(self) -> float:
        """``max ReLU(g)``: the decay rate of the fastest gene, the stiffness of ``f`` (A.3)."""
        with torch.no_grad():
            return float(self.gene_multipliers().max()) if self.n_genes else 0.0

    def prunable_layers(self) -> list[PrunableLayer]:
        rs = self.gene_multipliers
        return [
            PrunableLayer("prods_in", self.prods_in, "input", "prods", "exp"),
            PrunableLayer("sums_in", self.sums_in, "input", "sums", "abs"),
            PrunableLayer("sums_out", self.sums_out, "output", "sums", "abs", rs),
            PrunableLayer("prods_out", self.prods_out, "output", "prods", "abs", rs),
        ]

    def effect_matrix(self) -> Tensor:
        """``E = (W_s^T C_s^T + W_p^T C_p^T) diag(ReLU(g))``, regulator x target (A.5)."""
        ws, wp, _ = self._weights()
        cs, cp = self.sums_out.effective_weight(), self.prods_out.effective_weight()
        return (ws.t() @ cs.t() + wp.t() @ cp.t()) * self.gene_multipliers()[None, :]

    def sparsity_blocks(self) -> list[Tensor]:
        """``[W_s, W_p, diag(ReLU g) C_s, diag(ReLU g) C_p]`` (methods D.1)."""
        gr = self.gene_multipliers()[:, None]
        return [
            self.sums_in.effective_weight(),
            self.prods_in.effective_weight(),
            gr * self.sums_out.effective_weight(),
            gr * self.prods_out.effective_weight(),
        ]

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Groups ``[W_s, b_s, W_p, b_p, C_s, C_p, g]`` as in A.4; ``g`` is trained 5x faster."""
        groups = {
            "sums_in.weight": [self.sums_in.weight],
            "sums_in.bias": [self.sums_in.bias],
            "prods_in.weight": [self.prods_in.weight],
            "prods_in.bias": [self.prods_in.bias],
            "sums_out.weight": [self.sums_out.weight],
            "prods_out.weight": [self.prods_out.weight],
            "g": [self.g],
        }
        extra = [p for n, p in self.named_parameters() if not any(p is q for ps in groups.values() for q in ps)]
        if extra:  # e.g. gate parameters attached by a strategy
            groups["extra"] = extra
        return groups
