"""Mask and score utilities shared by the mask-based pruning strategies (methods B.2, B.5, B.6).

* :func:`magnitude_score` - the data score M of one prunable layer (B.2).
* :func:`prune_smallest_` / :func:`prune_global_` - mask the k unmasked entries
  with the smallest score, ties broken by flat index (B.5), permanently.
* :class:`PruningSchedule` - when events happen and how much they prune (B.6).
* :class:`ScheduledPruning` - a :class:`~dash_core.pruning.base.Strategy` that
  runs one pruning event per scheduled epoch and resets the learning rates
  afterwards; DASH, IMP, BioPrune and SynFlow only say how layers are scored.

Orientation: scores always have the shape of the layer's weight, ``(out, in)``:
input layers ``(h, n)`` (column i = regulator gene i), output layers ``(n, h)``
(row j = target gene j).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch

from dash_core.io.errors import DashInputError
from dash_core.models.base import GRNModel, MaskedLinear, PrunableLayer
from dash_core.pruning.base import PriorKnowledge, Strategy
from dash_core.pruning.config import PruningConfig

Tensor = torch.Tensor


# -- scores --------------------------------------------------------------------------
def normalize(a: Tensor) -> Tensor:
    """``N(A) = A / sum(A)`` (methods 0); an all-zero matrix stays zero.

    Parameters
    ----------
    a
        Non-negative matrix of any shape.
    """
    total = a.sum()
    if not torch.isfinite(total):
        raise FloatingPointError("a pruning score is not finite (weights overflowed); lower the learning rate")
    return a / total if float(total) > 0 else torch.zeros_like(a)


@torch.no_grad()
def magnitude_score(layer: PrunableLayer, prods_score: Literal["exp", "abs"] = "exp",
                    *, normalized: bool = True) -> Tensor:
    """Data (magnitude) score M of one prunable layer on its current masked weights (methods B.2).

    Parameters
    ----------
    layer
        The prunable layer. Input layers (``(h, n)``) score ``|W|``, or ``exp(W)``
        when ``layer.magnitude == "exp"`` and ``prods_score == "exp"``; masked
        entries are exactly 0, so under ``exp`` they add ``exp(0) = 1`` to the
        normaliser (they are never re-selected: pruning only ranks unmasked
        entries). Output layers (``(n, h)``) score ``|C[j, k]| * row_scale()[j]``
        (``ReLU(g_j)`` for PHOENIX, so rows of frozen genes score 0).
    prods_score
        ``"exp"`` (reference) or ``"abs"`` for layers whose ``magnitude`` is ``"exp"``.
    normalized
        Divide by the sum (B.2); False returns the raw magnitudes.

    Returns
    -------
    Tensor
        float64 score of the weight's shape ``(out, in)``.
    """
    w = layer.layer.masked_weight().detach().double()
    if layer.magnitude == "exp" and prods_score == "exp":
        m = torch.exp(w)
    else:
        m = w.abs()
    if layer.row_scale is not None:
        m = m * layer.row_scale().detach().double()[:, None]
    return normalize(m) if normalized else m


# -- masking ----------------------------------------------------------------------------
def n_to_prune(n_unmasked: int, amount: float) -> int:
    """``k = round(amount * m)`` entries out of ``m`` unmasked ones (methods B.5).

    Python's ``round`` (half to even), as ``torch.nn.utils.prune`` does for a float amount.
    """
    return int(round(float(amount) * int(n_unmasked)))


def smallest_unmasked(scores: Tensor, mask: Tensor, k: int) -> Tensor:
    """Flat indices of the ``k`` unmasked entries with the smallest score.

    Ties are broken by flat (row-major) index: among equal scores the entry
    with the smaller index goes first, so the choice is deterministic.

    Parameters
    ----------
    scores, mask
        Same shape; ``mask`` is 1 for entries still in the model.
    k
        Number of entries to select (clipped to the number of unmasked entries).
    """
    if scores.shape != mask.shape:
        raise ValueError(f"score shape {tuple(scores.shape)} differs from mask shape {tuple(mask.shape)}")
    idx = torch.nonzero(mask.reshape(-1) > 0).reshape(-1)  # ascending flat indices
    k = max(0, min(int(k), idx.numel()))
    if k == 0:
        return idx[:0]
    vals = scores.reshape(-1)[idx].double()
    if not torch.all(torch.isfinite(vals)):
        raise FloatingPointError("a pruning score is not finite (weights overflowed); lower the learning rate")
    order = torch.sort(vals, stable=True).indices
    return idx[order[:k]]


@torch.no_grad()
def mask_entries_(layer: MaskedLinear, flat_indices: Tensor) -> None:
    """Permanently mask the given flat entries of ``layer`` and zero their stored weights."""
    layer.mask.view(-1)[flat_indices.to(layer.mask.device)] = 0.0
    layer.apply_mask_()


def prune_smallest_(layer: MaskedLinear, scores: Tensor, k: int) -> Tensor:
    """Mask the ``k`` unmasked entries of ``layer`` with the smallest ``scores`` (B.5).

    Returns the pruned flat indices. Masked entries are never re-selected or un-masked.
    """
    chosen = smallest_unmasked(scores.to(layer.mask.device), layer.mask, k)
    mask_entries_(layer, chosen)
    return chosen


def prune_global_(layers: list[MaskedLinear], scores: list[Tensor], k: int) -> list[int]:
    """Mask the ``k`` smallest-scoring unmasked entries over several layers at once (global pruning).

    Ties are broken by layer order, then flat index. Returns the number pruned per layer.
    """
    if len(layers) != len(scores):
        raise ValueError("one score matrix per layer is needed")
    flat_scores, owners, positions = [], [], []
    for i, (lay, sc) in enumerate(zip(layers, scores)):
        idx = torch.nonzero(lay.mask.reshape(-1) > 0).reshape(-1)
        flat_scores.append(sc.to(lay.mask.device).reshape(-1)[idx].double().cpu())
        owners.append(torch.full((idx.numel(),), i, dtype=torch.long))
        positions.append(idx.cpu())
    vals = torch.cat(flat_scores)
    k = max(0, min(int(k), vals.numel()))
    counts = [0] * len(layers)
    if k == 0:
        return counts
    if not torch.all(torch.isfinite(vals)):
        raise FloatingPointError("a pruning score is not finite (weights overflowed); lower the learning rate")
    order = torch.sort(vals, stable=True).indices[:k]
    own, pos = torch.cat(owners)[order], torch.cat(positions)[order]
    for i, lay in enumerate(layers):
        sel = pos[own == i]
        counts[i] = int(sel.numel())
        if counts[i]:
            mask_entries_(lay, sel)
    return counts


def mask_fraction(model: GRNModel) -> float:
    """Fraction of prunable weight entries that are masked (the schedule's "pruned" fraction)."""
    total = masked = 0
    for pl in model.prunable_layers():
        total += pl.layer.mask.numel()
        masked += int((pl.layer.mask == 0).sum())
    return masked / total if total else 0.0


@torch.no_grad()
def rewind_unmasked_(model: GRNModel, initial_state: dict[str, Tensor]) -> None:
    """Reset every parameter to its value in ``initial_state``, keeping the current masks.

    Buffers (masks) are not touched; masked weights are zeroed again afterwards.
    """
    for name, p in model.named_parameters():
        if name in initial_state:
            p.copy_(initial_state[name].to(p.device, p.dtype))
    model.apply_masks_()


@torch.no_grad()
def load_masks_(model: GRNModel, state: dict[str, Tensor]) -> None:
    """Copy the prunable layers' masks from a state dict (e.g. the best-validation checkpoint)."""
    names = {id(b): n for n, b in model.named_buffers()}
    for pl in model.prunable_layers():
        key = names[id(pl.layer.mask)]
        pl.layer.mask.copy_(state[key].to(pl.layer.mask.device, pl.layer.mask.dtype))
    model.apply_masks_()


# -- schedule ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PruningSchedule:
    """When pruning events happen and which fraction of the remaining weights they remove (methods B.6).

    Events run at the start of epoch ``e`` (1-based), before that epoch's training:
    at ``e = first_epoch`` with ``first_amount``, and at every ``e > first_epoch``
    with ``e % interval == 0`` and ``e < max_epochs`` with ``amount`` (``late_amount``
    for ``e > late_epoch`` when ``late_epoch > 0``, the breast schedule).

    Attributes
    ----------
    first_epoch, first_amount, interval, amount
        SIM350 / hema defaults (3, 0.70, 10, 0.10).
    max_epochs
        E_max of the run.
    late_epoch, late_amount
        Optional later amount (breast: 220, 0.05); ``late_epoch = 0`` disables it.
    """

    first_epoch: int = 3
    first_amount: float = 0.70
    interval: int = 10
    amount: float = 0.10
    max_epochs: int = 200
    late_epoch: int = 0
    late_amount: float = 0.05

    def __post_init__(self) -> None:
        if self.first_epoch < 1:
            raise DashInputError(f"first_epoch must be >= 1 (got {self.first_epoch}).")
        if self.interval < 1:
            raise DashInputError(f"interval must be >= 1 (got {self.interval}).")
        for name in ("first_amount", "amount", "late_amount"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise DashInputError(f"{name} is the fraction of the remaining weights pruned per event and must "
                                     f"be in [0, 1) (got {v}).")
        if self.late_epoch < 0:
            raise DashInputError(f"late_epoch must be >= 0 (got {self.late_epoch}).")

    @classmethod
    def from_config(cls, config: PruningConfig, max_epochs: int) -> PruningSchedule:
        """The schedule of a :class:`PruningConfig` for a run of ``max_epochs`` epochs."""
        return cls(config.first_epoch, config.first_amount, config.interval, config.amount, int(max_epochs),
                   config.late_epoch, config.late_amount)

    def amount_at(self, epoch: int) -> float | None:
        """Fraction of the remaining weights pruned at the start of ``epoch``, or None (no event)."""
        e = int(epoch)
        if e == self.first_epoch:
            return self.first_amount
        if e > self.first_epoch and e % self.interval == 0 and e < self.max_epochs:
            return self.late_amount if 0 < self.late_epoch < e else self.amount
        return None

    def events(self) -> list[tuple[int, float]]:
        """All ``(epoch, amount)`` events of a run that is not stopped early."""
        return [(e, a) for e in range(1, self.max_epochs + 1) if (a := self.amount_at(e)) is not None]

    def remaining_fraction(self, epoch: int) -> float:
        """Analytic fraction of weights still unmasked during ``epoch`` (events up to and including it).

        SIM350 default: 0.30 for epochs 3-9 and ``0.3 * 0.9**floor(e / 10)`` from epoch 10 on.
        """
        r = 1.0
        for e, a in self.events():
            if e > epoch:
                break
            r *= 1.0 - a
        return r


# -- scheduled strategies ------------------------------------------------------------------
class ScheduledPruning(Strategy):
    """Base of strategies that prune every layer by a score on the B.6 schedule (B.5 semantics).

    Subclasses override :meth:`score_layers`, which yields one score per
    prunable layer (default: the B.2 magnitude score); the base masks ``round(a * m)`` unmasked entries of every
    layer with the smallest scores (stable tie-break), records the event in
    :attr:`events` and calls :meth:`after_event` (learning-rate reset, B.6).
    Pruning stops while :attr:`pruning_active` is False.
    """

    def __init__(self, config: PruningConfig, knowledge: PriorKnowledge, seed: int = 0) -> None:
        super().__init__(config, knowledge, seed)
        # validate the schedule early (bad CLI values fail before training starts)
        PruningSchedule.from_config(config, max(config.first_epoch, 1))
        self.schedule: PruningSchedule | None = None
        self.events: list[dict[str, Any]] = []
        self.pruning_active = True

    def setup(self, trainer) -> None:
        self.schedule = PruningSchedule.from_config(self.config, trainer.config.max_epochs)
        self.events = []
        self.pruning_active = True

    def on_epoch_start(self, trainer, epoch: int) -> None:
        if not self.pruning_active:
            return
        if self.schedule is None:
            self.setup(trainer)
        amount = self.schedule.amount_at(epoch)
        if amount is not None and amount > 0:
            self.prune_event(trainer, amount, epoch=epoch)

    def score_layers(self, trainer, layers: list[PrunableLayer]):
        """Yield ``(layer, score)`` in the fixed B.5 order (a generator: each layer is pruned before the next
        one is scored). The base class scores by magnitude alone (B.2); subclasses override this."""
        for pl in layers:
            yield pl, magnitude_score(pl, self.config.prods_score)

    def prune_event(self, trainer, amount: float, *, epoch: int | None = None) -> dict[str, Any]:
        """One pruning event (B.5): prune ``amount`` of the remaining entries of every layer."""
        layers = trainer.model.prunable_layers()
        record: dict[str, Any] = {"epoch": epoch, "amount": float(amount), "layers": {}}
        for pl, score in self.score_layers(trainer, layers):
            m = pl.layer.n_unmasked
            k = n_to_prune(m, amount)
            prune_smallest_(pl.layer, score, k)
            record["layers"][pl.name] = {"unmasked_before": m, "pruned": k}
        record["mask_fraction"] = mask_fraction(trainer.model)
        self.events.append(record)
        self.after_event(trainer)
        return record

    def after_event(self, trainer) -> None:
        """Learning-rate reset after an event (B.6): initial rates (5x on g), new scheduler, Adam moments kept."""
        trainer.reset_learning_rates(reference_bug=self.config.reference_lr_reset)


def total_unmasked(layers: list[PrunableLayer]) -> int:
    """Number of unmasked entries over ``layers``."""
    return int(sum(pl.layer.n_unmasked for pl in layers))


def target_prune_count(layers: list[PrunableLayer], target_fraction: float) -> int:
    """Entries still to mask so that ``target_fraction`` of all entries of ``layers`` are masked."""
    total = sum(pl.layer.mask.numel() for pl in layers)
    keep = int(math.floor((1.0 - target_fraction) * total + 1e-9))
    return max(0, total_unmasked(layers) - keep)
