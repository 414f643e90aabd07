"""Run-time estimates shown before a run is launched.

A training epoch of the PHOENIX-style models is dominated by per-step
overhead: one optimiser step per trajectory, each integrating the ODE over its
time points. The cost model is ``seconds/epoch = n_trajectories * (a + b *
genes * hidden * points_per_trajectory)``, times a factor for the prior loss
and for the strategy. Its constants were measured on the 2-core reference
machine, idle, 1 thread (350 genes x 150 trajectories, h = 40: 0.205 s/epoch
without and 0.52 s/epoch with the prior loss, with the fused RK4 node in NumPy;
0.49 and 0.81 before it; see README "CPU speed now"). When earlier runs on the
same server are known, their measured speed (scaled by the same model) is used
instead, so the estimate adapts to the machine.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["RunEstimate", "epoch_cost", "estimate_train_seconds", "format_estimate", "run_epoch_cost"]

#: Seconds per trajectory step (overhead) and per gene x hidden unit x time point, reference machine.
_STEP_SECONDS = 1.2e-3
_UNIT_SECONDS = 2.0e-9
#: Extra cost of the prior soft loss (lambda_data < 1): 0.52 / 0.205 s per epoch (256 probes x 350 genes per step:
#: real matrix products, which the fused data step made relatively larger; 0.81 / 0.49 before it).
_PRIOR_FACTOR = 2.5
#: Relative cost per epoch of strategies that do more than one pass per epoch (benchmark wall times) or that cannot
#: use the fused RK4 node (gated layers; measured with the default rk4 settings: L0 0.613, PathReg 0.693, C-NODE
#: 0.249 vs DASH 0.214 s/epoch, idle, 1 thread).
STRATEGY_FACTOR = {"pinn_mp": 2.5, "sparseflow": 1.5, "l0": 2.9, "pathreg": 3.2, "cnode": 1.2}


@dataclass(frozen=True)
class RunEstimate:
    """Expected run time of a training run.

    Attributes
    ----------
    seconds
        Expected seconds for ``max_epochs`` epochs.
    low, high
        A plausible range (early stopping can end the run sooner than ``low``).
    basis
        Where the speed comes from: ``"past runs (N)"`` or ``"reference machine"``.
    """

    seconds: float
    low: float
    high: float
    basis: str


def epoch_cost(n_genes: int, n_trajectories: int, n_observations: int, *, hidden: int, strategy: str = "dash",
               prior_loss: bool = False) -> float:
    """Expected seconds of one training epoch on the reference machine.

    Parameters
    ----------
    n_genes, n_trajectories, n_observations
        Size of the training data (observations summed over trajectories).
    hidden, strategy, prior_loss
        The run's settings (``prior_loss``: ``lambda_data < 1``).
    """
    per_traj = max(1.0, n_observations / max(1, n_trajectories))
    cost = max(1, n_trajectories) * (_STEP_SECONDS + _UNIT_SECONDS * n_genes * hidden * per_traj)
    return cost * (_PRIOR_FACTOR if prior_loss else 1.0) * STRATEGY_FACTOR.get(strategy, 1.0)


def run_epoch_cost(config, dataset) -> float:
    """:func:`epoch_cost` of a run: ``config`` a :class:`dash_core.experiment.RunConfig`, ``dataset`` a
    :class:`dash_core.data.Dataset` (kept in a run's summary to calibrate later estimates)."""
    lam = config.train.lambda_data
    return epoch_cost(dataset.n_genes, dataset.expression.n_trajectories, dataset.expression.n_observations,
                      hidden=int(config.model.hidden), strategy=config.strategy,
                      prior_loss=lam is not None and lam < 1)


def estimate_train_seconds(reference_epoch_seconds: float, max_epochs: int, *,
                           past: Iterable[tuple[float, float]] = ()) -> RunEstimate:
    """Estimate the wall time of a training run.

    Parameters
    ----------
    reference_epoch_seconds
        :func:`epoch_cost` of the run.
    max_epochs
        Its epoch budget.
    past
        ``(measured seconds per epoch, epoch_cost)`` pairs of finished runs on
        this machine; their median ratio replaces the reference machine's speed.

    Returns
    -------
    RunEstimate
    """
    ratios = [m / c for m, c in past if c and c > 0 and m and m > 0 and math.isfinite(m)]
    if ratios:
        scale, basis = statistics.median(ratios), f"{len(ratios)} earlier run{'s' if len(ratios) > 1 else ''} here"
    else:
        scale, basis = 1.0, "the reference 2-core machine"
    seconds = reference_epoch_seconds * scale * max(1, max_epochs) + 4.0  # + start-up of the job process
    spread = 1.5 if ratios else 2.5
    return RunEstimate(seconds, seconds / spread, seconds * spread, basis)


def format_estimate(est: RunEstimate) -> str:
    """``"about 2 min (1-3 min), from ..."``."""
    def fmt(s: float) -> str:
        if s < 90:
            return f"{max(5, round(s / 5) * 5):.0f} s"
        if s < 5400:
            return f"{s / 60:.0f} min"
        return f"{s / 3600:.1f} h"

    return f"about {fmt(est.seconds)} ({fmt(est.low)}–{fmt(est.high)}), based on {est.basis}"
