"""How strategies are shown to people: plain names, which options each one reads, whether λ matters.

One table for the app and the CLI listings, so a biologist sees "DASH (prior-informed pruning)"
rather than ``dash`` and only the options the chosen strategy actually uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from dash_core.pruning.config import PruningConfig

__all__ = ["STRATEGY_DISPLAY", "StrategyDisplay", "strategy_display", "strategy_label"]

#: The gradual pruning schedule shared by DASH, BioPrune and IMP (B.6).
_SCHEDULE = ("first_epoch", "first_amount", "interval", "amount", "late_epoch", "late_amount")
#: Options of the prior score used by DASH and BioPrune.
_PRIOR_SCORE = ("normalize_prior_term", "s_source", "prods_score", "use_ppi", "reference_lr_reset")
_GATES = ("gate_drop_in", "gate_drop_out", "expected_gates", "eval_gates")


@dataclass(frozen=True)
class StrategyDisplay:
    """User-facing description of one strategy.

    Attributes
    ----------
    label
        Plain name (shown in menus and tables).
    uses_lambda
        Whether λ_PPI / λ_motif change what the strategy does.
    options
        :class:`~dash_core.pruning.PruningConfig` fields the strategy reads (others are ignored).
    """

    label: str
    uses_lambda: bool
    options: tuple[str, ...]


STRATEGY_DISPLAY: dict[str, StrategyDisplay] = {
    "none": StrategyDisplay("Unpruned PHOENIX (no pruning)", False, ()),
    "dash": StrategyDisplay("DASH — prior-informed pruning", True, ("lambda_ppi", "lambda_motif", *_SCHEDULE,
                                                                     *_PRIOR_SCORE)),
    "bioprune": StrategyDisplay("BioPrune — prune by prior only", False, (*_SCHEDULE, *_PRIOR_SCORE)),
    "imp": StrategyDisplay("IMP — prune by weight size", False, (*_SCHEDULE, "rewind")),
    "pinn_mp": StrategyDisplay("PINN + one-shot pruning", False, ("pinn_mp_fraction", "pinn_mp_finetune_epochs")),
    "synflow": StrategyDisplay("SynFlow — pruning before training", False, ()),
    "sparseflow": StrategyDisplay("SparseFlow — prune-and-retrain cycles", False, (
        "sparseflow_q", "sparseflow_cycle_epochs", "sparseflow_tolerance", "sparseflow_target_sparsity",
        "sparseflow_scope", "sparseflow_max_cycles")),
    "l0": StrategyDisplay("L0 gates (learned on/off switches)", False, ("kappa_l0", "l0_beta", *_GATES)),
    "cnode": StrategyDisplay("C-NODE — L1 penalty on paths", False, ("lambda_l1", "cnode_threshold")),
    "pathreg": StrategyDisplay("PathReg — gated path penalty", False, ("pathreg_beta", "lambda_pathreg",
                                                                      "lambda_l1", *_GATES)),
}


def strategy_display(name: str) -> StrategyDisplay:
    """The display entry of strategy ``name`` (a strategy registered by a plugin gets its name and every option)."""
    entry = STRATEGY_DISPLAY.get(name)
    if entry is not None:
        return entry
    return StrategyDisplay(name, True, tuple(PruningConfig.__dataclass_fields__))


def strategy_label(name: str) -> str:
    """Plain name of strategy ``name``."""
    return strategy_display(name).label
