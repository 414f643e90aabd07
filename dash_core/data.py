"""Core in-memory data structures: expression time series and the ``Dataset``.

Conventions
-----------
* Expression values of one trajectory are a ``(T, n)`` array: row = time point,
  column = gene, in the order of :attr:`ExpressionData.genes`.
* Networks are long edge tables (``pandas.DataFrame`` with columns
  ``source, target, weight``; source = regulator, target = regulated gene), the
  one network format of the project. Square matrices are only built inside
  computations with :func:`dash_core.network.edges_to_matrix`, with
  row = regulator (source) and column = target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from dash_core.io.errors import DashInputError
from dash_core.network import edges_to_matrix


@dataclass
class Trajectory:
    """One observed time course.

    Attributes
    ----------
    name
        Trajectory identifier (as in the input file).
    times
        ``(T,)`` strictly increasing observation times.
    values
        ``(T, n)`` expression; row = time point, column = gene.
    """

    name: str
    times: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        self.times = np.asarray(self.times, dtype=np.float64)
        self.values = np.asarray(self.values, dtype=np.float64)


@dataclass
class ExpressionData:
    """Expression time series for a fixed gene index.

    Attributes
    ----------
    genes
        Gene names; column order of every trajectory's ``values``.
    trajectories
        The observed time courses.
    """

    genes: list[str]
    trajectories: list[Trajectory]

    @property
    def n_genes(self) -> int:
        return len(self.genes)

    @property
    def n_trajectories(self) -> int:
        return len(self.trajectories)

    @property
    def n_observations(self) -> int:
        return int(sum(len(t.times) for t in self.trajectories))

    def subset(self, indices) -> ExpressionData:
        """Return the trajectories at ``indices`` (same gene index)."""
        return ExpressionData(list(self.genes), [self.trajectories[i] for i in indices])

    def to_tidy(self) -> pd.DataFrame:
        """Wide tidy table ``trajectory, time, <gene1>, <gene2>, ...``, one row per observation."""
        frames = []
        for tr in self.trajectories:
            df = pd.DataFrame(tr.values, columns=self.genes)
            df.insert(0, "time", tr.times)
            df.insert(0, "trajectory", tr.name)
            frames.append(df)
        if not frames:
            return pd.DataFrame(columns=["trajectory", "time", *self.genes])
        return pd.concat(frames, ignore_index=True)

    def value_range(self) -> tuple[float, float]:
        """Minimum and maximum over all observed values."""
        vals = [t.values for t in self.trajectories if t.values.size]  # per trajectory: no concatenated copy
        if not vals:  # same error as the minimum of an empty array
            raise ValueError("zero-size array to reduction operation minimum which has no identity")
        return float(min(v.min() for v in vals)), float(max(v.max() for v in vals))

    def pairs(self) -> Pairs:
        """All consecutive observed pairs, see :func:`make_pairs`."""
        return make_pairs(self.trajectories)


@dataclass
class Pairs:
    """Consecutive observation pairs for one-step-ahead training (methods A.4).

    Attributes
    ----------
    x0, x1
        ``(P, n)`` states at t_k and t_{k+1}; row = pair, column = gene.
    dt
        ``(P,)`` time gaps t_{k+1} - t_k (> 0).
    trajectory
        ``(P,)`` index of the trajectory each pair comes from.
    """

    x0: np.ndarray
    x1: np.ndarray
    dt: np.ndarray
    trajectory: np.ndarray

    def __len__(self) -> int:
        return int(self.dt.shape[0])


def make_pairs(trajectories: list[Trajectory]) -> Pairs:
    """Stack all consecutive (t_k, t_{k+1}) pairs of ``trajectories``.

    Parameters
    ----------
    trajectories
        Time courses with strictly increasing times and ``(T, n)`` values.

    Returns
    -------
    Pairs
        ``x0``/``x1`` of shape ``(P, n)`` with ``P = sum(T_i - 1)``.
    """
    x0, x1, dt, idx = [], [], [], []
    for i, tr in enumerate(trajectories):
        if len(tr.times) < 2:
            continue
        x0.append(tr.values[:-1])
        x1.append(tr.values[1:])
        dt.append(np.diff(tr.times))
        idx.append(np.full(len(tr.times) - 1, i))
    if not x0:
        raise DashInputError("No trajectory has two or more time points, so there is nothing to learn from.")
    return Pairs(np.concatenate(x0), np.concatenate(x1), np.concatenate(dt), np.concatenate(idx))


#: The expression series of a dataset beside the training ``expression`` (same genes and time unit): held-out
#: test trajectories, their noise-free version (simulations) and a separate validation series.
EXTRA_SERIES = ("test_expression", "test_expression_clean", "validation_expression")


@dataclass
class Dataset:
    """Everything a training run needs, aligned to one gene index.

    Attributes
    ----------
    expression
        Training (+ validation) trajectories.
    prior
        Prior TF->target network as a long edge table ``source, target, weight``
        (signed weights: + activation, - repression), or None.
    ppi
        Optional protein-protein interaction / co-regulation table
        ``source, target, weight`` (treated as symmetric).
    truth
        Optional gold-standard edge table for scoring.
    test_expression
        Optional held-out test trajectories (noisy, as observed).
    validation_expression
        Optional separate validation series (same genes), e.g. a second replicate; when given, every
        trajectory of ``expression`` is used for training and this one chooses the checkpoint.
    test_expression_clean
        Optional noise-free version of ``test_expression`` (simulations), for
        the "true" MSE of methods D.3.
    name
        A short label for the dataset (shown in the app).
    """

    expression: ExpressionData
    prior: pd.DataFrame | None = None
    ppi: pd.DataFrame | None = None
    truth: pd.DataFrame | None = None
    test_expression: ExpressionData | None = None
    test_expression_clean: ExpressionData | None = None
    name: str = "dataset"
    validation_expression: ExpressionData | None = None
    metadata: dict = field(default_factory=dict)

    @property
    def genes(self) -> list[str]:
        return self.expression.genes

    @property
    def n_genes(self) -> int:
        return self.expression.n_genes

    def map_extra_series(self, fn: Callable[[ExpressionData], ExpressionData]) -> Dataset:
        """A copy whose :data:`EXTRA_SERIES` that are present are replaced by ``fn(series)`` (self unchanged)."""
        return replace(self, **{k: fn(getattr(self, k)) for k in EXTRA_SERIES if getattr(self, k) is not None})

    def prior_matrix(self) -> np.ndarray:
        """``(n, n)`` signed prior; row = regulator, column = target; zeros if no prior."""
        if self.prior is None:
            return np.zeros((self.n_genes, self.n_genes))
        return edges_to_matrix(self.prior, self.genes)

    def truth_matrix(self) -> np.ndarray | None:
        """``(n, n)`` gold standard; row = regulator, column = target; None if absent."""
        return None if self.truth is None else edges_to_matrix(self.truth, self.genes)

    def ppi_matrix(self) -> np.ndarray | None:
        """``(n, n)`` symmetric PPI matrix (regulator x regulator) or None if absent."""
        if self.ppi is None:
            return None
        m = np.abs(edges_to_matrix(self.ppi, self.genes))
        return np.maximum(m, m.T)


def split_trajectories(n_trajectories: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of trajectory indices into (train, validation).

    ``round(val_fraction * n)`` trajectories go to validation (methods A.4: 10 of
    150 for SIM350), at least one when ``n >= 2`` and ``val_fraction > 0``, and
    at least one trajectory always stays in training.
    """
    n = int(n_trajectories)
    n_val = int(round(val_fraction * n))
    if val_fraction > 0 and n >= 2:
        n_val = max(1, n_val)
    n_val = min(n_val, max(n - 1, 0))
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])
