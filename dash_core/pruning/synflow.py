"""SynFlow on the DASH schedule, with rewinding and fine-tuning (methods C.7).

Scores are the synaptic flow ``|theta * dR/dtheta|`` with every parameter
replaced by its absolute value and ``R = sum_j f_j(1)`` the full right-hand
side at the all-ones state (Tanaka et al. 2020). Scores have the weight's
shape ``(out, in)``.
"""

from __future__ import annotations

import torch
from torch.func import functional_call

from dash_core.models.base import GRNModel, PrunableLayer
from dash_core.pruning.base import register_strategy
from dash_core.pruning.masks import ScheduledPruning, load_masks_, rewind_unmasked_

Tensor = torch.Tensor


def synflow_scores(model: GRNModel) -> dict[str, Tensor]:
    """SynFlow scores of every prunable layer of ``model`` (methods C.7).

    Every parameter (weights, biases, ``g``) is replaced by ``|theta|`` (the
    model itself is not modified), ``R = sum_j f_j(1)`` is evaluated with the
    full vector field at the all-ones ``(1, n)`` state, and each prunable
    weight is scored ``|theta * dR/dtheta|`` on its masked weight (masked
    entries score 0).

    Returns
    -------
    dict[str, Tensor]
        Layer name -> ``(out, in)`` float64 scores.
    """
    names = {id(p): n for n, p in model.named_parameters()}
    params = {n: p.detach().abs().clone().requires_grad_(True) for n, p in model.named_parameters()}
    buffers = dict(model.named_buffers())
    layers: list[PrunableLayer] = model.prunable_layers()
    keys = [names[id(pl.layer.weight)] for pl in layers]
    ref = params[keys[0]]
    ones = torch.ones(1, model.n_genes, dtype=ref.dtype, device=ref.device)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            r = functional_call(model, {**params, **buffers}, (ones,)).sum()
            grads = torch.autograd.grad(r, [params[k] for k in keys], allow_unused=True)
    finally:
        model.train(was_training)
    out = {}
    for pl, key, grad in zip(layers, keys, grads):
        theta = params[key].detach() * pl.layer.mask
        g = torch.zeros_like(theta) if grad is None else grad.detach()
        out[pl.name] = (theta * g).abs().double()
    return out


@register_strategy(
    "synflow",
    "SynFlow: data-free synaptic-flow scores on the DASH schedule, then rewind to init and fine-tune.",
    "Tanaka, Kunin, Yamins, Ganguli, NeurIPS 2020",
    uses_prior=False,
)
class SynFlow(ScheduledPruning):
    """SynFlow baseline (methods C.7), lambda_data = 1.

    * Pruning events follow the DASH schedule with B.5 semantics (layer-wise,
      ``round(a * m)`` of the unmasked entries, stable tie-break) and the B.6
      learning-rate reset.
    * **Reference deviation (bug fixed):** scores are recomputed at *every* event
      (the released code reused the epoch-3 scores after a parameter-name mismatch).
    * When validation has not improved for ``patience`` epochs (40 on SIM): pruning
      stops, the best-validation mask is kept, the unmasked weights are rewound to
      their initial values, the initial optimiser state is reloaded with a new
      scheduler, best tracking and the counter are reset, and the model is
      fine-tuned up to E_max (the run's global ``max_epochs``, with early
      stopping). The reported model is the fine-tuning phase's best checkpoint.
      If E_max is reached while still pruning, there is no fine-tuning phase and
      the pruning phase's best checkpoint is reported.
    """

    def score_layers(self, trainer, layers: list[PrunableLayer]):
        scores = synflow_scores(trainer.model)
        for pl in layers:
            yield pl, scores[pl.name]

    def fit(self, trainer) -> str:
        self.pruning_active = True
        reason = trainer.train_loop(phase="prune")
        if reason != "early_stopping" or trainer.epoch >= trainer.config.max_epochs or trainer.best_state is None:
            return reason
        self.pruning_active = False
        pruned_best = (trainer.best_state, trainer.best_val, trainer.best_epoch)
        load_masks_(trainer.model, trainer.best_state)
        rewind_unmasked_(trainer.model, trainer.initial_state)
        trainer.reset_optimizer(initial_state=True)
        trainer.reset_best_tracking()
        reason = trainer.train_loop(phase="finetune", call_hooks=False)
        if trainer.best_state is None:  # cancelled before the first fine-tuning epoch
            trainer.best_state, trainer.best_val, trainer.best_epoch = pruned_best
        return reason
