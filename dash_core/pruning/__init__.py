"""Pruning strategies: DASH and the baselines of the DASH paper, in one registry."""

from dash_core.pruning.base import STRATEGIES, NoPruning, PriorKnowledge, Strategy, build_strategy, register_strategy
from dash_core.pruning.config import PruningConfig

__all__ = ["STRATEGIES", "Strategy", "NoPruning", "PriorKnowledge", "PruningConfig", "build_strategy",
           "register_strategy"]
