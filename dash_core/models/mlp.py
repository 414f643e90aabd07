"""Ablation base model: a 2-layer ELU MLP vector field (methods C.11).

``f(x) = ELU(x W1^T + b1) W2^T + b2`` with ``W1`` ``(h, n)`` and ``W2`` ``(n, h)``.
**Uncertain** (methods C.11): whether "2-layer" means one or two hidden layers
and whether a decay term was kept; we follow the spec's recommendation (one
hidden layer, no decay, no gene multipliers).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from dash_core.models.base import GRNModel, MaskedLinear, PrunableLayer, Tensor, stack_tensors
from dash_core.models.phoenix import ModelConfig


class MLPODE(GRNModel):
    """Two-layer ELU MLP right-hand side; prunable layers ``W1`` (input) and ``W2`` (output)."""

    model_name = "mlp"

    def __init__(self, n_genes: int, config: ModelConfig = ModelConfig(model="mlp", hidden=50),
                 generator: torch.Generator | None = None):
        super().__init__()
        self.n_genes = n_genes
        self.hidden = int(config.hidden)
        self.config = config
        self.layer1 = MaskedLinear(n_genes, self.hidden, bias=True)
        self.layer2 = MaskedLinear(self.hidden, n_genes, bias=True)
        if generator is not None:
            with torch.no_grad():
                for lin in (self.layer1, self.layer2):
                    bound = 1.0 / lin.in_features**0.5
                    lin.weight.uniform_(-bound, bound, generator=generator)
                    lin.bias.uniform_(-bound, bound, generator=generator)

    def vector_field(self) -> Callable[[Tensor], Tensor]:
        w1, w2 = self.layer1.effective_weight(), self.layer2.effective_weight()
        b1, b2 = self.layer1.bias, self.layer2.bias
        w1t, w2t = w1.t(), w2.t()

        def f(x: Tensor, scale: Tensor | None = None) -> Tensor:
            out = torch.addmm(b2, nn.functional.elu(torch.addmm(b1, x, w1t)), w2t)
            return out if scale is None else scale * out

        return f

    def drive(self, x: Tensor) -> Tensor:
        """For the MLP the drive compared with the prior is ``f`` itself."""
        return self.vector_field()(x)

    @classmethod
    def stacked_vector_field(cls, models: list[MLPODE]) -> Callable[[Tensor], Tensor]:
        """``f`` of K MLPs on ``(K, B, n)`` states with batched products."""
        w1t = stack_tensors([m.layer1.effective_weight() for m in models]).transpose(1, 2)
        w2t = stack_tensors([m.layer2.effective_weight() for m in models]).transpose(1, 2)
        b1 = stack_tensors([m.layer1.bias for m in models]).unsqueeze(1)
        b2 = stack_tensors([m.layer2.bias for m in models]).unsqueeze(1)

        def f(x: Tensor, scale: Tensor | None = None) -> Tensor:
            out = torch.baddbmm(b2, nn.functional.elu(torch.baddbmm(b1, x, w1t)), w2t)
            return out if scale is None else scale * out

        return f

    @classmethod
    def stacked_drive(cls, models: list[MLPODE], x: Tensor) -> Tensor:
        return cls.stacked_vector_field(models)(x)

    def prunable_layers(self) -> list[PrunableLayer]:
        return [
            PrunableLayer("layer1", self.layer1, "input", "mlp", "abs"),
            PrunableLayer("layer2", self.layer2, "output", "mlp", "abs"),
        ]

    def effect_matrix(self) -> Tensor:
        """``E = W1^T W2^T``, regulator x target."""
        return self.layer1.effective_weight().t() @ self.layer2.effective_weight().t()

    def sparsity_blocks(self) -> list[Tensor]:
        return [self.layer1.effective_weight(), self.layer2.effective_weight()]

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"all": list(self.parameters())}
