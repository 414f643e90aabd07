"""Building blocks shared by all gene-regulatory ODE models.

Weight orientation
------------------
Layer weights are stored as PyTorch ``Linear`` weights, ``(out, in)``:
input layers ``(h, n)`` (column i = regulator gene i), output layers ``(n, h)``
(row j = target gene j). Gene-level matrices (effect matrix E, prior P) are
``(n, n)`` with row = regulator, column = target.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

Tensor = torch.Tensor


class MaskedLinear(nn.Module):
    """A linear map with a permanent pruning mask (and an optional input gate).

    The effective weight is ``weight * mask`` (times the input gate of each
    column, if a gate module is attached). Pruned entries therefore contribute
    exactly 0 and receive zero gradient; :meth:`apply_mask_` additionally zeroes
    the stored values so that checkpoints hold exact zeros.

    Parameters
    ----------
    in_features, out_features
        Shape of the weight is ``(out_features, in_features)``.
    bias
        Whether the layer has a bias (initialised U(-1/sqrt(in), 1/sqrt(in))).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.register_buffer("mask", torch.ones(out_features, in_features))
        #: Optional module returning ``(in_features,)`` gate values (L0 / PathReg, methods C.2).
        self.gate: nn.Module | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            nn.init.uniform_(self.bias, -bound, bound)

    def masked_weight(self) -> Tensor:
        """``weight * mask`` (no gate), shape ``(out, in)``."""
        return self.weight * self.mask

    def effective_weight(self) -> Tensor:
        """Weight used in the forward pass: masked and, if gated, times the input gates."""
        w = self.weight * self.mask
        if self.gate is not None:
            w = w * self.gate()[None, :]
        return w

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.linear(x, self.effective_weight(), self.bias)

    @torch.no_grad()
    def apply_mask_(self) -> None:
        """Zero the stored weights where the mask is 0."""
        self.weight.mul_(self.mask)

    @property
    def n_unmasked(self) -> int:
        return int(self.mask.sum().item())


@dataclass
class PrunableLayer:
    """Description of one prunable weight matrix of a model (methods B.2, B.5).

    Attributes
    ----------
    name
        Layer name, e.g. ``"sums_in"``.
    layer
        The :class:`MaskedLinear` holding weight and mask.
    role
        ``"input"`` (genes -> hidden, shape ``(h, n)``) or ``"output"`` (hidden -> genes, ``(n, h)``).
    branch
        Which input layer an output layer pairs with (``"sums"``, ``"prods"``, ``"mlp"``).
    magnitude
        Data score of B.2: ``"abs"`` = |W|, ``"exp"`` = exp(W) (multiplicative branch).
    row_scale
        For output layers: a function returning the ``(n,)`` per-target scale
        (ReLU(g) for PHOENIX) applied to rows in the magnitude score, or None.
    """

    name: str
    layer: MaskedLinear
    role: Literal["input", "output"]
    branch: str
    magnitude: Literal["abs", "exp"] = "abs"
    row_scale: Callable[[], Tensor] | None = None


class GRNModel(nn.Module, ABC):
    """Base class of gene-regulatory vector fields ``dx/dt = f(x)``.

    Subclasses implement :meth:`vector_field`, :meth:`drive`,
    :meth:`prunable_layers`, :meth:`effect_matrix` and :meth:`sparsity_blocks`.
    States are ``(B, n)``: row = sample, column = gene.
    """

    n_genes: int
    hidden: int
    #: Registry name of the model (set by subclasses).
    model_name: str = ""

    @abstractmethod
    def vector_field(self) -> Callable[[Tensor], Tensor]:
        """Return ``f(x, scale=None)`` with the effective weights computed once.

        Integrators call this once per solve, so masking/gating cost is paid once
        rather than at every right-hand-side evaluation. ``scale`` (``(B, 1)``),
        when given, multiplies the field (per-pair time rescaling, methods A.7).
        """
        ...

    def max_rate(self) -> float | None:
        """Largest rate of the field (an estimate of the Jacobian's spectral radius), or None if unknown.

        Fixed-step solvers take more steps when it grows (:func:`dash_core.integrate.steps_per_unit`).
        """
        return None

    def forward(self, x: Tensor) -> Tensor:
        """``f(x)`` for a ``(B, n)`` state."""
        return self.vector_field()(x)

    @abstractmethod
    def drive(self, x: Tensor) -> Tensor:
        """The part of ``f`` compared with the prior's linear model ``x P`` (methods A.3)."""
        ...

    @abstractmethod
    def prunable_layers(self) -> list[PrunableLayer]:
        """Prunable matrices in the fixed pruning order of methods B.5."""
        ...

    @abstractmethod
    def effect_matrix(self) -> Tensor:
        """``(n, n)`` effect matrix E, row = regulator, column = target (methods A.5)."""
        ...

    @torch.no_grad()
    def effect_array(self) -> np.ndarray:
        """E (:meth:`effect_matrix`) as a float64 NumPy array on the host, row = regulator, column = target."""
        with torch.no_grad():
            return self.effect_matrix().detach().cpu().double().numpy()

    @abstractmethod
    def sparsity_blocks(self) -> list[Tensor]:
        """Matrices whose exact zeros define the model's sparsity (methods D.1)."""
        ...

    @torch.no_grad()
    def apply_masks_(self) -> None:
        """Zero every stored weight whose mask entry is 0."""
        for p in self.prunable_layers():
            p.layer.apply_mask_()

    def masks(self) -> dict[str, Tensor]:
        """Current masks by layer name (copies)."""
        return {p.name: p.layer.mask.detach().clone() for p in self.prunable_layers()}

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Named optimiser groups; the group ``"g"`` gets the larger learning rate (methods A.4)."""
        return {"all": list(self.parameters())}

    # -- stacks of models (dash_core.models.stack) -------------------------------------------
    @classmethod
    def stacked_vector_field(cls, models: list[GRNModel]) -> Callable[[Tensor], Tensor]:
        """``f`` of K models of this class at once: ``(K, B, n)`` states, ``scale`` ``(K, B, 1)``.

        Batch k goes through model k. This generic version evaluates the models one after the other;
        subclasses override it with batched matrix products (one kernel for the whole stack).
        """
        fields = [m.vector_field() for m in models]

        def f(x: Tensor, scale: Tensor | None = None) -> Tensor:
            return torch.stack([fk(x[k], None if scale is None else scale[k]) for k, fk in enumerate(fields)])

        return f

    #: ``stacked_rk4(models, x0, dt, n_steps)``: a classmethod solving K models of the class with ``n_steps`` RK4
    #: steps of size ``1 / n_steps`` on the rescaled interval (``(K, B, n)`` states, ``dt`` ``(K, B)``) in one fused
    #: forward/backward node, or None when the class has none (:func:`dash_core.integrate.integrate` then loops);
    #: the method itself returns None for models it does not cover (then the loop too). Called with
    #: ``loss_grad=`` (``z(1) -> (loss values, dL/dz(1))``) it back-propagates at once without autograd, adds to
    #: the parameters' ``.grad`` and returns the loss values (the training step of :mod:`dash_core.train`).
    stacked_rk4: Callable[..., Tensor] | None = None

    @classmethod
    def stacked_drive(cls, models: list[GRNModel], x: Tensor) -> Tensor:
        """:meth:`drive` of K models at once on ``(K, B, n)`` states (batch k through model k)."""
        return torch.stack([m.drive(x[k]) for k, m in enumerate(models)])


def stack_tensors(tensors: list[Tensor]) -> Tensor:
    """``torch.stack`` along a new leading dimension; a view (no copy) for a single tensor."""
    return tensors[0].unsqueeze(0) if len(tensors) == 1 else torch.stack(tensors)
