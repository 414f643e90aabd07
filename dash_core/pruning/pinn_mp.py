"""PINN+MP: prior-informed training, one-shot magnitude pruning, fine-tuning (methods C.9).

Scores have the weight's shape ``(out, in)``: input layers ``|W|``, output
layers ``|C[j, k]| * ReLU(g_j)`` (row j = target gene j).
"""

from __future__ import annotations

from typing import Any

from dash_core.io.errors import DashInputError
from dash_core.models.base import GRNModel
from dash_core.pruning.base import PriorKnowledge, Strategy, register_strategy
from dash_core.pruning.config import PruningConfig
from dash_core.pruning.masks import magnitude_score, n_to_prune, prune_smallest_


def one_shot_magnitude_prune_(model: GRNModel, fraction: float) -> dict[str, int]:
    """Mask ``round(fraction * m)`` of the ``m`` unmasked entries of every prunable layer.

    Input layers are ranked by ``|W|`` (also the multiplicative ``W_p``: ``|W_p|``,
    not ``exp``), output layers by ``|C[j, k]| * ReLU(g_j)`` (no row scale for the
    MLP). Ties go to the smaller flat index. Returns the number pruned per layer.
    """
    done = {}
    for pl in model.prunable_layers():
        k = n_to_prune(pl.layer.n_unmasked, fraction)
        prune_smallest_(pl.layer, magnitude_score(pl, "abs", normalized=False), k)
        done[pl.name] = k
    return done


@register_strategy(
    "pinn_mp",
    "PINN+MP: train with the prior as a soft loss, prune 87% of every layer once by magnitude, fine-tune.",
    "Hossain et al., NeurIPS 2024 (baseline suggested by the DASH authors)",
    uses_prior=True,
)
class PinnMP(Strategy):
    """PINN+MP (methods C.9), lambda_data = 0.99 by default.

    1. Train PHOENIX with the prior loss to its best-validation checkpoint
       (early stopping and E_max of the run).
    2. One-shot layer-wise pruning of ``pinn_mp_fraction`` (87%) of every layer:
       input layers by ``|W|`` (``|W_p|``, not exp), output layers by ``|C| * ReLU(g)``.
    3. Fine-tune with the same loss, a fresh optimiser and scheduler, reset best
       tracking and early stopping, for at most ``pinn_mp_finetune_epochs`` epochs
       (0 = the run's ``max_epochs``; **Uncertain**: the spec gives no length, so
       the fine-tuning gets a full budget of its own). The fine-tuning phase's
       best-validation checkpoint is reported.
    """

    default_lambda_data = 0.99

    def __init__(self, config: PruningConfig, knowledge: PriorKnowledge, seed: int = 0) -> None:
        super().__init__(config, knowledge, seed)
        if not 0.0 <= config.pinn_mp_fraction < 1.0:
            raise DashInputError(f"pinn_mp_fraction must be in [0, 1) (got {config.pinn_mp_fraction}).")
        if config.pinn_mp_finetune_epochs < 0:
            raise DashInputError(f"pinn_mp_finetune_epochs must be >= 0 (got {config.pinn_mp_finetune_epochs}).")
        self.pruned: dict[str, Any] = {}

    def fit(self, trainer) -> str:
        reason = trainer.train_loop(phase="prior_training", call_hooks=False)
        if reason == "cancelled" or trainer.best_state is None:
            return reason
        trainer.load_best()
        before = (trainer.best_state, trainer.best_val, trainer.best_epoch)
        self.pruned = one_shot_magnitude_prune_(trainer.model, self.config.pinn_mp_fraction)
        trainer.reset_optimizer()
        trainer.reset_best_tracking()
        epochs = self.config.pinn_mp_finetune_epochs or trainer.config.max_epochs
        reason = trainer.train_loop(max_epochs=trainer.epoch + epochs, phase="finetune", call_hooks=False)
        if trainer.best_state is None:  # cancelled before the first fine-tuning epoch: nothing pruned to report
            trainer.best_state, trainer.best_val, trainer.best_epoch = before
        return reason
