"""Typed configuration of pruning strategies (methods B, C, J.5-J.7).

One flat dataclass holds the options of every strategy, so that the CLI, the
app and saved ``config.json`` files use one set of names. Defaults follow the
spec (SIM350 settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PruningConfig:
    """Options of the pruning strategies.

    Attributes
    ----------
    lambda_ppi, lambda_motif
        DASH weights of the prior term for the input layers (PPI / co-regulation,
        B.4) and the output layers (motif prior). SIM default (0.5, 0.05) (B.8).
        ``(0, 0)`` is IMP, ``(1, 1)`` is BioPrune.
    first_epoch, first_amount, interval, amount
        Pruning schedule (B.6): at epoch ``first_epoch`` prune ``first_amount`` of
        each layer, then ``amount`` of the remaining weights at every epoch that
        is a multiple of ``interval``.
    normalize_prior_term
        Normalise the prior term to sum 1 so that lambda is a convex weight
        (recommended, J.5); False reproduces the authors' final code.
    s_source
        What the least-squares propagation uses as S: the previous score
        (``"score"``, reference) or the current |W| (``"weight"``) (B.3, uncertain).
    prods_score
        Data score of the multiplicative input layer: ``"exp"`` (reference) or ``"abs"`` (B.2, uncertain).
    use_ppi
        Use the PPI network for the input-layer prior when one is given; otherwise
        (or when False) use the co-regulation matrix |P||P|^T (B.1).
    reference_lr_reset
        Reproduce the reference's learning-rate reset bug (5x on C_p instead of g) (B.6).
    """

    lambda_ppi: float = 0.5
    lambda_motif: float = 0.05
    first_epoch: int = 3
    first_amount: float = 0.70
    interval: int = 10
    amount: float = 0.10
    normalize_prior_term: bool = True
    s_source: Literal["score", "weight"] = "score"
    prods_score: Literal["exp", "abs"] = "exp"
    use_ppi: bool = True
    reference_lr_reset: bool = False
