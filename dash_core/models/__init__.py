"""Model registry: gene-regulatory vector fields that can be trained and pruned.

Use :func:`build_model` to create a model by registry name; the app and CLI
list the choices from :data:`MODELS`.
"""

from __future__ import annotations

import torch

from dash_core.models.base import GRNModel, MaskedLinear, PrunableLayer
from dash_core.models.mlp import MLPODE
from dash_core.models.phoenix import ModelConfig, PhoenixODE, squash
from dash_core.registry import Registry

MODELS: Registry[type[GRNModel]] = Registry("model")
MODELS.register(
    "phoenix",
    "PHOENIX neural ODE: additive + multiplicative branches and gene multipliers; interpretable effect matrix.",
    "Hossain et al., Genome Biology 2024",
)(PhoenixODE)
MODELS.register(
    "mlp",
    "2-layer ELU MLP vector field (the DASH paper's ablation base model, no gene multipliers).",
    "Hossain et al., NeurIPS 2024 (Table 10)",
)(MLPODE)


def build_model(n_genes: int, config: ModelConfig, seed: int | None = None) -> GRNModel:
    """Create the model named ``config.model`` for ``n_genes`` genes, seeded."""
    entry = MODELS.get(config.model)
    gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None
    return entry.obj(n_genes, config, generator=gen)


__all__ = ["MODELS", "GRNModel", "MaskedLinear", "PrunableLayer", "ModelConfig", "PhoenixODE", "MLPODE",
           "build_model", "squash"]
