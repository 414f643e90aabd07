"""Pruning strategies: DASH and the baselines of the DASH paper, in one registry."""

from dash_core.pruning import dash as _dash  # noqa: F401
from dash_core.pruning import penalties as _penalties  # noqa: F401
from dash_core.pruning import pinn_mp as _pinn_mp  # noqa: F401
from dash_core.pruning import sparseflow as _sparseflow  # noqa: F401
from dash_core.pruning import synflow as _synflow  # noqa: F401
from dash_core.pruning.base import (
    STRATEGIES,
    NoPruning,
    PriorKnowledge,
    Strategy,
    StrategySettings,
    build_strategy,
    register_strategy,
)
from dash_core.pruning.config import PruningConfig

__all__ = ["STRATEGIES", "Strategy", "StrategySettings", "NoPruning", "PriorKnowledge", "PruningConfig",
           "build_strategy", "register_strategy"]
