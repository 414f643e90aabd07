"""Base class of pruning strategies and the registry that lists them.

A strategy drives a :class:`dash_core.train.Trainer`: the default :meth:`Strategy.fit`
runs one training loop, calling the hooks ``on_epoch_start`` (pruning events),
``penalty`` (regularisers) and ``after_step``. Multi-phase methods (PINN+MP,
SynFlow, SparseFlow) override :meth:`Strategy.fit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from dash_core.integrate import SolverConfig
from dash_core.pruning.config import PruningConfig
from dash_core.registry import Registry


@dataclass
class PriorKnowledge:
    """Gene-level prior matrices handed to a strategy, all aligned to the model's genes.

    Attributes
    ----------
    prior
        ``(n, n)`` signed motif/TF prior P, row = regulator, column = target (zeros if none).
    ppi
        ``(n, n)`` symmetric PPI matrix (regulator x regulator) or None.
    """

    prior: np.ndarray
    ppi: np.ndarray | None = None


class Strategy:
    """A sparsification method (methods B, C).

    Parameters
    ----------
    config
        :class:`PruningConfig` with the strategy options.
    knowledge
        Prior matrices (used only by prior-informed strategies).
    seed
        Seeds every random choice of the strategy.
    """

    #: Default data weight lambda_data of the loss when the user does not set one (A.3 table).
    default_lambda_data: float = 1.0

    def __init__(self, config: PruningConfig, knowledge: PriorKnowledge, seed: int = 0) -> None:
        self.config = config
        self.knowledge = knowledge
        self.seed = int(seed)
        self.generator = torch.Generator().manual_seed(self.seed + 17)

    def prepare_model(self, model) -> None:
        """Called on a freshly built model before training *and* before loading a checkpoint
        (attach gates, re-initialise): the model's structure must match its saved state."""

    # hooks called by the trainer
    def setup(self, trainer) -> None:
        """Called once before training (attach gates, re-initialise, ...)."""

    def on_epoch_start(self, trainer, epoch: int) -> None:
        """Called at the start of every epoch, before training (pruning events)."""

    def penalty(self, trainer) -> torch.Tensor | None:
        """Extra loss term for the current step (regularisers), or None."""
        return None

    def after_step(self, trainer) -> None:
        """Called after every optimiser step."""

    def fit(self, trainer) -> str:
        """Train the model; the default is one loop with the hooks. Returns the stop reason."""
        return trainer.train_loop()


STRATEGIES: Registry[type[Strategy]] = Registry("strategy")


@dataclass(frozen=True)
class StrategySettings:
    """Run settings the method specification gives a strategy (methods C), beside the shared defaults.

    The paper benchmark applies them (:func:`dash_core.studies.paper_benchmark.strategy_config`) so that every
    method runs as the spec describes it; options the user sets explicitly override them. Single runs
    (``train``, the app) keep the settings they are given.

    Attributes
    ----------
    solver
        ODE solver of the method (None: the run's, rk4 by default).
    multiplier_grad
        Gradient of the gene multipliers ReLU(g) (None: the run's, ``straight_through`` by default;
        ``"relu"`` is the reference's).
    schedule
        :class:`PruningConfig` fields the method sets (pruning schedule), as ``(name, value)`` pairs.
    note
        Where the settings come from, for tables and ``strategies``.
    """

    solver: SolverConfig | None = None
    multiplier_grad: Literal["relu", "straight_through"] | None = None
    schedule: tuple[tuple[str, Any], ...] = field(default_factory=tuple)
    note: str = ""

    def describe(self) -> str:
        """One line: ``solver dopri5 (rtol 1e-3, atol 1e-3), gene-multiplier gradient relu`` (or "shared defaults")."""
        bits = []
        if self.solver is not None:
            tol = f" (rtol {self.solver.rtol:g}, atol {self.solver.atol:g})" if self.solver.method == "dopri5" else ""
            bits.append(f"solver {self.solver.method}{tol}")
        if self.multiplier_grad is not None:
            bits.append(f"gene-multiplier gradient {self.multiplier_grad}")
        bits += [f"{k} {v}" for k, v in self.schedule]
        return ", ".join(bits) or "shared defaults"


#: Solver of the dense regularisation baselines (C.2): dopri5, rtol = atol = 1e-3, no adjoint.
BASELINE_SOLVER = SolverConfig(method="dopri5", rtol=1e-3, atol=1e-3, adjoint=False)
#: C.2 settings of L0, C-NODE and PathReg: their solver and the reference's plain ReLU gradient on g.
DENSE_BASELINE_SETTINGS = StrategySettings(solver=BASELINE_SOLVER, multiplier_grad="relu",
                                           note="methods C.2")


def register_strategy(name: str, description: str, citation: str, *, uses_prior: bool, stackable: bool = True,
                      settings: StrategySettings = StrategySettings()):
    """Register a :class:`Strategy` subclass under ``name``.

    ``uses_prior`` flags prior-informed strategies for the app and CLI. ``stackable`` says whether runs of the
    strategy can be trained together in one stacked model (:mod:`dash_core.stacking`): a strategy must then draw
    all its randomness from its own generator and touch only its trainer's model, which every registered
    strategy does (multi-phase ones included: each member runs its own ``fit``). A strategy registered with
    ``stackable=False`` trains one model per stack. ``settings`` are the spec's run settings of the method
    (:class:`StrategySettings`), applied by the paper benchmark.
    """
    return STRATEGIES.register(name, description, citation, uses_prior=uses_prior, stackable=stackable,
                               settings=settings)


@register_strategy(
    "none",
    "Unpruned PHOENIX: trained with the prior as a soft loss (lambda_data = 0.99); no pruning.",
    "Hossain et al., Genome Biology 2024",
    uses_prior=True,
    settings=StrategySettings(multiplier_grad="relu", note="methods C.1"),
)
class NoPruning(Strategy):
    """Unpruned PHOENIX (methods C.1): the prior enters only through the soft loss."""

    default_lambda_data = 0.99


def build_strategy(name: str, config: PruningConfig, knowledge: PriorKnowledge, seed: int = 0) -> Strategy:
    """Instantiate the registered strategy ``name``."""
    return STRATEGIES.get(name).obj(config, knowledge, seed)
