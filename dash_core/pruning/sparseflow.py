"""SparseFlow: iterative magnitude pruning with learning-rate rewinding (methods C.8).

Dense training, then cycles of "prune q of the remaining weights by |w|,
rewind the learning rate, retrain". Scores are ``|W|`` of the masked weights,
shape ``(out, in)`` per layer.
"""

from __future__ import annotations

from typing import Any

import torch

from dash_core.io.errors import DashInputError
from dash_core.models.base import PrunableLayer
from dash_core.pruning.base import PriorKnowledge, Strategy, register_strategy
from dash_core.pruning.config import PruningConfig
from dash_core.pruning.masks import (
    mask_fraction,
    n_to_prune,
    prune_global_,
    prune_smallest_,
    target_prune_count,
    total_unmasked,
)


def abs_weights(layers: list[PrunableLayer]) -> list[torch.Tensor]:
    """``|W|`` of every layer's masked weight (no ``g`` scaling, no exp), float64."""
    return [pl.layer.masked_weight().detach().double().abs() for pl in layers]


def sparseflow_prune_(layers: list[PrunableLayer], fraction: float, *, scope: str = "global",
                      target: float = 0.0) -> int:
    """One SparseFlow pruning step: mask ``fraction`` of the remaining weights by smallest ``|w|``.

    Parameters
    ----------
    layers
        The model's prunable layers.
    fraction
        q, the fraction of the remaining (unmasked) weights to prune.
    scope
        ``"global"``: one ranking over all layers (ties by layer order, then flat
        index); ``"layerwise"``: every layer loses ``round(q * m)`` of its ``m``.
    target
        If > 0, never prune beyond a masked fraction of ``target`` (global scope:
        the last step prunes exactly up to it).

    Returns
    -------
    int
        Number of entries masked.
    """
    scores = abs_weights(layers)
    if scope == "layerwise":
        done = 0
        for pl, sc in zip(layers, scores):
            k = n_to_prune(pl.layer.n_unmasked, fraction)
            if target > 0:
                total = pl.layer.mask.numel()
                k = min(k, max(0, pl.layer.n_unmasked - int((1.0 - target) * total + 1e-9)))
            prune_smallest_(pl.layer, sc, k)
            done += k
        return done
    k = n_to_prune(total_unmasked(layers), fraction)
    if target > 0:
        k = min(k, target_prune_count(layers, target))
    return sum(prune_global_([pl.layer for pl in layers], scores, k))


@register_strategy(
    "sparseflow",
    "SparseFlow: dense training, then cycles of global magnitude pruning with learning-rate rewinding.",
    "Liebenwein, Hasani, Amini, Rus, NeurIPS 2021; Renda, Frankle, Carbin, ICLR 2020",
    uses_prior=False,
)
class SparseFlow(Strategy):
    """SparseFlow baseline (methods C.8); the DASH authors' adaptation is not public.

    Faithful choice (all **Uncertain** in the spec):

    1. Train dense PHOENIX (lambda_data = 1) as in A.4 (early stopping, best checkpoint).
    2. Each cycle, starting from the previous cycle's best-validation checkpoint:
       prune ``sparseflow_q`` (20%) of the remaining weights by **global** ``|w|``
       over all prunable matrices (no ``g`` scaling); reset the learning rates to
       their initial values (5x on ``g``), create a new scheduler and reset the
       Adam state (a fresh optimiser); retrain ``sparseflow_cycle_epochs`` (20)
       epochs without early stopping, keeping the cycle's best-validation checkpoint.
    3. Stop at the first cycle whose best validation MSE exceeds
       ``sparseflow_tolerance`` (1.1) x the dense model's and report the previous
       cycle (the dense model if the first cycle already fails).
    4. ``sparseflow_target_sparsity > 0`` instead prunes until that masked fraction
       is reached (the last cycle exactly up to it) and reports the final cycle,
       ignoring the tolerance (0.96 reproduces the reported operating point, F.2).
       ``sparseflow_scope="layerwise"`` ranks each layer separately.

    :attr:`cycles` records ``cycle, masked_fraction, best_val, accepted`` per cycle.
    """

    def __init__(self, config: PruningConfig, knowledge: PriorKnowledge, seed: int = 0) -> None:
        super().__init__(config, knowledge, seed)
        if not 0.0 < config.sparseflow_q < 1.0:
            raise DashInputError(f"sparseflow_q must be in (0, 1) (got {config.sparseflow_q}).")
        if config.sparseflow_cycle_epochs < 1:
            raise DashInputError(f"sparseflow_cycle_epochs must be >= 1 (got {config.sparseflow_cycle_epochs}).")
        if config.sparseflow_tolerance < 1.0:
            raise DashInputError(f"sparseflow_tolerance must be >= 1 (got {config.sparseflow_tolerance}).")
        if not 0.0 <= config.sparseflow_target_sparsity < 1.0:
            raise DashInputError("sparseflow_target_sparsity must be in [0, 1) (0 = off; got "
                                 f"{config.sparseflow_target_sparsity}).")
        if config.sparseflow_max_cycles < 1:
            raise DashInputError(f"sparseflow_max_cycles must be >= 1 (got {config.sparseflow_max_cycles}).")
        self.cycles: list[dict[str, Any]] = []
        self.dense_val = float("nan")

    def fit(self, trainer) -> str:
        cfg = self.config
        self.cycles = []
        reason = trainer.train_loop(phase="dense", call_hooks=False)
        if reason == "cancelled" or trainer.best_state is None:
            return reason
        trainer.load_best()
        self.dense_val = float(trainer.best_val)
        accepted = (trainer.best_state, trainer.best_val, trainer.best_epoch)
        target = float(cfg.sparseflow_target_sparsity)
        reason = "max_cycles"
        for cycle in range(1, cfg.sparseflow_max_cycles + 1):
            layers = trainer.model.prunable_layers()
            if target > 0 and mask_fraction(trainer.model) >= target - 1e-12:
                reason = "target_sparsity"
                break
            if sparseflow_prune_(layers, cfg.sparseflow_q, scope=cfg.sparseflow_scope, target=target) == 0:
                reason = "nothing_left_to_prune"
                break
            trainer.reset_optimizer()  # LR rewinding: initial rates, new scheduler, fresh Adam state
            trainer.reset_best_tracking()
            stop = trainer.train_loop(max_epochs=trainer.epoch + cfg.sparseflow_cycle_epochs, patience=0,
                                      phase=f"cycle{cycle}", call_hooks=False)
            if stop == "cancelled" or trainer.best_state is None:
                reason = "cancelled"
                break
            ok = target > 0 or trainer.best_val <= cfg.sparseflow_tolerance * self.dense_val
            self.cycles.append({"cycle": cycle, "masked_fraction": mask_fraction(trainer.model),
                                "best_val": float(trainer.best_val), "accepted": bool(ok)})
            if not ok:
                reason = "tolerance_exceeded"
                break
            accepted = (trainer.best_state, trainer.best_val, trainer.best_epoch)
            trainer.load_best()
        trainer.best_state, trainer.best_val, trainer.best_epoch = accepted
        trainer.load_best()
        return reason
