"""Sampling trajectories (methods E.3: initial states, the 0/2/3/7/9 design) and observation noise (E.4)."""

from __future__ import annotations

import numpy as np

from dash_core.data import ExpressionData, Trajectory
from dash_core.simulate.config import ROLE_INPUT
from dash_core.simulate.network import SimNetwork


# --------------------------------------------------------------------------- sampling (E.3) and noise (E.4)
def sample_initial_states(network: SimNetwork, n_trajectories: int, rng: np.random.Generator) -> np.ndarray:
    """Initial states of ``n_trajectories`` trajectories (methods E.3).

    Inputs: constant value ~ N(mu_i, s_i^2) truncated to [0, 1] by resampling.
    Other genes: Beta(2, 2) + the gene's fixed shift, clipped to [0, 1].

    Returns
    -------
    numpy.ndarray
        ``(N, n)``; row = trajectory, column = gene.
    """
    gt = network.gene_table
    is_in = (gt["role"] == ROLE_INPUT).to_numpy()
    mu = gt.loc[is_in, "input_mean"].to_numpy(dtype=float)
    sd = gt.loc[is_in, "input_sd"].to_numpy(dtype=float)
    shift = gt.loc[~is_in, "init_shift"].to_numpy(dtype=float)
    x0 = np.empty((int(n_trajectories), len(network.genes)))
    vals = rng.normal(mu, sd, size=(int(n_trajectories), mu.size))
    bad = (vals < 0) | (vals > 1)
    while bad.any():
        r, c = np.nonzero(bad)
        vals[r, c] = rng.normal(mu[c], sd[c])
        bad = (vals < 0) | (vals > 1)
    x0[:, is_in] = vals
    x0[:, ~is_in] = np.clip(rng.beta(2, 2, size=(int(n_trajectories), shift.size)) + shift, 0.0, 1.0)
    return x0


def add_noise(values: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``values + N(0, sigma^2)`` i.i.d. on every entry (inputs and t = 0 included; methods E.4)."""
    values = np.asarray(values, dtype=float)
    if sigma == 0:
        return values.copy()
    return values + rng.normal(0.0, sigma, size=values.shape)


def to_expression(values: np.ndarray, times, genes: list[str], prefix: str) -> ExpressionData:
    """Wrap ``(N, T, n)`` values into :class:`ExpressionData` with trajectories ``<prefix>001``..."""
    w = max(3, len(str(values.shape[0])))
    times = np.asarray(times, dtype=float)
    trajs = [Trajectory(f"{prefix}{i + 1:0{w}d}", times.copy(), values[i].copy()) for i in range(values.shape[0])]
    return ExpressionData(list(genes), trajs)
