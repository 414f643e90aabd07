"""The corrupted prior (methods E.5) and its co-regulation matrix Pi (E.6)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dash_core.network import edges_to_matrix, matrix_to_edges


# --------------------------------------------------------------------------- prior corruption (E.5), Pi (E.6)
def corrupt_prior(
    truth: pd.DataFrame,
    genes: list[str],
    fraction: float,
    rng: np.random.Generator,
    *,
    flip_fraction: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move ``floor(|truth| * fraction)`` true edges to random new pairs, keeping signs (methods E.5).

    The moved edges are chosen uniformly without replacement and removed; each
    is then placed, in order, on a uniformly drawn ordered pair of two distinct
    genes with its original sign (a collision overwrites the entry already
    there). Finally ``floor(flip_fraction * |prior|)`` prior edges, chosen
    uniformly, change sign.

    Parameters
    ----------
    truth
        Signed true edges ``source, target, weight``.
    genes
        Gene index (candidate sources and targets of moved edges).
    fraction
        nu in [0, 1].
    rng
        Random generator (the corruption stream).
    flip_fraction
        Fraction of prior edges whose sign flips.

    Returns
    -------
    prior
        Corrupted signed prior ``source, target, weight`` (row order: regulator, target by gene index).
    moves
        One row per moved edge: ``source, target, new_source, new_target, weight``.
    """
    n = len(genes)
    p = edges_to_matrix(truth, genes)
    si, ti = np.nonzero(p)
    n_move = int(math.floor(len(si) * fraction + 1e-9))
    pick = rng.choice(len(si), size=n_move, replace=False) if n_move else np.zeros(0, dtype=int)
    signs = p[si[pick], ti[pick]].copy()
    p[si[pick], ti[pick]] = 0.0
    new_s = rng.integers(0, n, size=n_move)
    new_t = (new_s + rng.integers(1, n, size=n_move)) % n  # uniform over genes != new_s
    for a, b, w in zip(new_s, new_t, signs):
        p[a, b] = w
    if flip_fraction > 0:
        ps, pt = np.nonzero(p)
        n_flip = int(math.floor(len(ps) * flip_fraction + 1e-9))
        f = rng.choice(len(ps), size=n_flip, replace=False)
        p[ps[f], pt[f]] *= -1.0
    g = np.asarray(genes, dtype=object)
    moves = pd.DataFrame(
        {
            "source": g[si[pick]],
            "target": g[ti[pick]],
            "new_source": g[new_s],
            "new_target": g[new_t],
            "weight": signs,
        }
    )
    return matrix_to_edges(p, genes, sort=False), moves


def coregulation_matrix(prior_matrix: np.ndarray) -> np.ndarray:
    """``Pi = N(|P| |P|^T)`` (methods B.1 / E.6): shared-target counts normalised to sum 1.

    Parameters
    ----------
    prior_matrix
        ``(n, n)`` prior, row = regulator, column = target.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` symmetric, regulator x regulator; zero rows for genes that
        regulate nothing; all zeros if the prior is empty.
    """
    a = np.abs(np.asarray(prior_matrix, dtype=float))
    pi = a @ a.T
    total = pi.sum()
    return pi / total if total > 0 else pi


def coregulation_table(prior: pd.DataFrame, genes: list[str]) -> pd.DataFrame:
    """Pi of :func:`coregulation_matrix` as a long symmetric table ``source, target, weight``.

    Both directions and the diagonal are listed; genes that regulate nothing do not appear.
    """
    return matrix_to_edges(coregulation_matrix(edges_to_matrix(prior, genes)), genes, sort=False)
