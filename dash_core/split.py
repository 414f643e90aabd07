"""Training / validation split of expression time series (methods A.4, and the rule for few trajectories).

The validation MSE chooses the reported checkpoint and drives the learning-rate
schedule and early stopping, so it must measure *prediction*. Rules
(:attr:`SplitConfig.rule`):

* a **separate validation series** (``Dataset.validation_expression``, e.g. the
  yeast set's second replicate) always wins: train on every training trajectory,
  validate on that series;
* ``"trajectories"``: a seeded random ``round(val_fraction * N)`` of the N
  trajectories (at least one) is held out whole (methods A.4; 10 of 150 for
  SIM350);
* ``"time_blocks"``: from **each** trajectory, ``block_fraction`` of its
  consecutive pairs is held out as ``blocks`` contiguous blocks of time, one in
  each of ``blocks`` equal stretches of the trajectory, at a seeded random place
  within its stretch; the rest stays in training as contiguous segments. With a
  single trajectory (a pseudotime series, a lone time course) this leaves
  ``1 - block_fraction`` of it for training, and the held-out pairs are not
  neighbours of training pairs on both sides (as random pairs would be, which
  makes validation an interpolation check that an untrained network passes);
  each block holds at least ``MIN_BLOCK_PAIRS`` pairs and each stretch keeps
  a training pair, so trajectories of fewer than 7 pairs (with the defaults)
  stay whole in training;
* ``"pairs"``: a seeded random ``val_fraction`` of all pairs (the reference's
  single-mode rule, kept for reproducing it);
* ``"auto"`` (default): ``"trajectories"`` with at least ``min_trajectories``
  trajectories, otherwise ``"time_blocks"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from dash_core.data import ExpressionData, Trajectory, make_pairs, split_trajectories
from dash_core.io.errors import DashInputError

#: Shortest held-out block (pairs); shorter trajectories are not cut.
MIN_BLOCK_PAIRS = 2


#: How validation data are held out without a separate validation series (see :class:`SplitConfig`).
SplitRule = Literal["auto", "trajectories", "time_blocks", "pairs"]
#: The names of :data:`SplitRule`, for option choices and messages.
SPLIT_RULES: tuple[str, ...] = get_args(SplitRule)


@dataclass(frozen=True)
class SplitConfig:
    """How validation data are chosen when no separate validation series is given.

    Attributes
    ----------
    rule
        ``"auto"`` (whole trajectories with at least ``min_trajectories`` of them, else
        time blocks), ``"trajectories"``, ``"time_blocks"`` or ``"pairs"`` (random pairs, the reference's
        single mode).
    block_fraction
        Time blocks: share of each trajectory's consecutive pairs held out for validation.
    blocks
        Time blocks: number of contiguous held-out blocks per trajectory (one per equal stretch).
    min_trajectories
        ``"auto"`` holds out whole trajectories from this many trajectories on.
    """

    rule: SplitRule = "auto"
    block_fraction: float = 0.2
    blocks: int = 2
    min_trajectories: int = 5

    def validate(self) -> None:
        if self.rule not in SPLIT_RULES:
            raise DashInputError(f"Unknown split rule {self.rule!r}; choose {', '.join(SPLIT_RULES)}.")
        if not 0 < self.block_fraction < 1:
            raise DashInputError(f"block_fraction must be in (0, 1) (got {self.block_fraction}).")
        if self.blocks < 1:
            raise DashInputError(f"blocks must be at least 1 (got {self.blocks}).")


@dataclass
class Split:
    """A split: training and validation trajectories and a sentence saying how they were chosen.

    Attributes
    ----------
    train
        Training trajectories (whole, or contiguous segments named ``name[a:b]`` by point index).
    validation
        Validation trajectories, or None (then the training fit is monitored).
    rule
        The rule applied (``"validation_series"``, ``"trajectories"``, ``"time_blocks"``, ``"pairs"``, ``"none"``).
    description
        One sentence for reports.
    """

    train: ExpressionData
    validation: ExpressionData | None
    rule: str
    description: str


def _pairs_as_trajectories(expr: ExpressionData) -> ExpressionData:
    p = make_pairs(expr.trajectories)
    trs = [Trajectory(f"pair{i}", np.array([0.0, p.dt[i]]), np.stack([p.x0[i], p.x1[i]])) for i in range(len(p))]
    return ExpressionData(list(expr.genes), trs)


def _segment(tr: Trajectory, a: int, b: int) -> Trajectory:
    """Points ``a..b`` (inclusive) of ``tr``, i.e. its pairs ``a..b-1``."""
    return Trajectory(f"{tr.name}[{a}:{b + 1}]", tr.times[a:b + 1], tr.values[a:b + 1])


def time_block_starts(n_pairs: int, fraction: float, blocks: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Held-out pair ranges ``[(start, stop), ...]`` of one trajectory with ``n_pairs`` pairs.

    ``round(fraction * n_pairs)`` pairs (at least ``MIN_BLOCK_PAIRS`` per block) in ``blocks`` contiguous
    blocks, block ``b`` placed at random inside the ``b``-th of ``blocks`` equal stretches. Empty when the
    trajectory is too short to lose that much.
    """
    n_val = max(MIN_BLOCK_PAIRS * blocks, int(round(fraction * n_pairs)))
    if n_pairs < n_val + 1 + blocks or n_pairs < MIN_BLOCK_PAIRS * blocks + 1:
        return []
    edges = np.linspace(0, n_pairs, blocks + 1).round().astype(int)
    sizes = np.full(blocks, n_val // blocks) + (np.arange(blocks) < n_val % blocks)
    out = []
    for b in range(blocks):
        lo, hi = int(edges[b]), int(edges[b + 1])
        size = int(min(sizes[b], hi - lo - 1))
        start = lo + int(rng.integers(0, hi - lo - size + 1))
        out.append((start, start + size))
    return out


def split_expression(expr: ExpressionData, *, val_fraction: float, seed: int, config: SplitConfig | None = None,
                     validation: ExpressionData | None = None) -> Split:
    """Split ``expr`` into training and validation trajectories (see the module docstring for the rules).

    Parameters
    ----------
    expr
        Training (+ validation) trajectories; each ``(T, n)`` (row = time point, column = gene).
    val_fraction
        Share of trajectories (``"trajectories"``) or of pairs (``"pairs"``) held out.
    seed
        Seeds every random choice (a fresh generator; nothing global).
    config
        :class:`SplitConfig` (default: ``"auto"``).
    validation
        A separate validation series (same genes); when given, ``expr`` is used whole for training.

    Returns
    -------
    Split
    """
    cfg = config or SplitConfig()
    cfg.validate()
    if validation is not None:
        return Split(expr, validation, "validation_series",
                     f"validation on the separate series ({validation.n_trajectories} trajector"
                     f"{'y' if validation.n_trajectories == 1 else 'ies'}, {validation.n_observations} points); "
                     "all training trajectories used for training")
    rule = cfg.rule
    if rule == "auto":
        rule = "trajectories" if expr.n_trajectories >= cfg.min_trajectories else "time_blocks"
    if val_fraction <= 0 and rule in ("trajectories", "pairs"):
        return Split(expr, None, "none", "no validation data (val_fraction 0): the training fit is monitored")
    if rule == "pairs":
        data = _pairs_as_trajectories(expr)
        tr, va = split_trajectories(data.n_trajectories, val_fraction, seed)
        return Split(data.subset(tr), data.subset(va) if len(va) else None, "pairs",
                     f"{len(va)} of {data.n_trajectories} pairs held out at random")
    if rule == "trajectories":
        tr, va = split_trajectories(expr.n_trajectories, val_fraction, seed)
        if len(va) == 0:
            return Split(expr, None, "none", "a single trajectory and the 'trajectories' rule: no validation data")
        return Split(expr.subset(tr), expr.subset(va), "trajectories",
                     f"{len(va)} of {expr.n_trajectories} whole trajectories held out at random")
    rng = np.random.default_rng(seed)
    train: list[Trajectory] = []
    val: list[Trajectory] = []
    held = total = 0
    for traj in expr.trajectories:
        n_pairs = len(traj.times) - 1
        total += max(n_pairs, 0)
        ranges = time_block_starts(n_pairs, cfg.block_fraction, cfg.blocks, rng) if n_pairs > 0 else []
        point = 0
        for start, stop in ranges:
            if start > point:
                train.append(_segment(traj, point, start))
            val.append(_segment(traj, start, stop))
            held += stop - start
            point = stop
        if not ranges:
            train.append(traj)
        elif point < n_pairs:
            train.append(_segment(traj, point, n_pairs))
    if not val:
        return Split(expr, None, "none",
                     "trajectories too short to hold out blocks of time: no validation data, the training fit is "
                     "monitored (give a separate validation series)")
    return Split(ExpressionData(list(expr.genes), train), ExpressionData(list(expr.genes), val), "time_blocks",
                 f"{held} of {total} consecutive pairs held out as {cfg.blocks} contiguous block(s) of time per "
                 f"trajectory ({100 * cfg.block_fraction:.0f} %)")


def resolve_batching(expr: ExpressionData, batching: str) -> str:
    """The batching ``"auto"`` stands for: ``"pairs"`` for a single time course, else ``"trajectory"``.

    This is the paper's own choice (methods A.4): single mode for the one-trajectory breast and yeast
    series, trajectory mode for SIM and hema. With one trajectory, trajectory mode would make one
    optimiser step per epoch (yeast: 30 epochs left the validation MSE at 0.94x persistence; pairs of
    16: 0.56x after 100 epochs).
    """
    if batching != "auto":
        return batching
    return "pairs" if expr.n_trajectories == 1 else "trajectory"


__all__ = ["MIN_BLOCK_PAIRS", "SPLIT_RULES", "SplitRule", "resolve_batching", "Split", "SplitConfig", "split_expression", "time_block_starts"]
