"""Gene influence scores of a trained model (methods A.6)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from dash_core.device import resolve_device
from dash_core.integrate import SolverConfig, integrate
from dash_core.io.errors import DashInputError
from dash_core.models.base import GRNModel
from dash_core.pathways.config import AnalysisCancelled, InfluenceConfig, ProgressFn


# ----------------------------------------------------------------------------- influence
@dataclass
class InfluenceResult:
    """Gene influence scores of one model.

    Attributes
    ----------
    scores
        ``infl(gamma)`` per gene (index = model gene order, name ``"influence"``).
    matrix
        ``(n, n)`` mean |X_unpert - X_pert| over tau > 0 and samples, row = perturbed
        gene (regulator), column = responding gene (target); diagonal set to 0.
        ``scores = matrix.sum(1) / (n - 1)``.
    seconds
        Wall time of the computation.
    device
        Device the solves ran on.
    """

    scores: pd.Series
    matrix: np.ndarray
    seconds: float
    device: str


def _sample_starts(rng: np.random.Generator, shape: tuple[int, ...], start: str) -> np.ndarray:
    lo, hi = (-0.5, 0.5) if start == "centered" else (0.0, 1.0)
    return rng.uniform(lo, hi, size=shape)


def influence_scores(model: GRNModel, genes: list[str] | None = None, config: InfluenceConfig = InfluenceConfig(), *,
                     progress: ProgressFn | None = None,
                     should_stop: Callable[[], bool] | None = None) -> InfluenceResult:
    """Gene influence scores of a trained model (methods A.6).

    For each gene gamma: draw N_s starts ``x0 ~ U`` (rows = samples, columns =
    genes), integrate them to ``tau = 0, 0.1, ..., 0.9`` (``X_unpert``), replace
    column gamma of ``x0`` with fresh values and integrate again (``X_pert``).
    ``infl(gamma)`` = mean over tau > 0, samples and genes j != gamma of
    ``|X_unpert - X_pert|``. Common random numbers: all genes share ``x0``;
    gene gamma's fresh values come from the seed pair ``(seed, gamma)``.

    All perturbed genes of a batch are solved in one call (their
    ``genes_in_batch x N_s`` starts stacked); the unperturbed solve runs once.

    Parameters
    ----------
    model
        Trained vector field (moved to the chosen device).
    genes
        Gene names in model order (default ``g0, g1, ...``).
    config
        :class:`InfluenceConfig`.
    progress
        ``progress(fraction, message)`` after each batch.
    should_stop
        Cancellation poll; raises :class:`AnalysisCancelled` when it returns True.

    Returns
    -------
    InfluenceResult
    """
    config.validate()
    t0 = time.perf_counter()
    n = int(model.n_genes)
    genes = list(genes) if genes is not None else [f"g{i}" for i in range(n)]
    if len(genes) != n:
        raise DashInputError(f"{len(genes)} gene names were given for a model of {n} genes.")
    device = resolve_device(config.device)
    model = model.to(device)
    model.eval()
    dtype = next(model.parameters()).dtype
    solver = config.solver or SolverConfig()
    ns = int(config.n_samples)
    taus = torch.arange(config.n_taus, dtype=dtype, device=device) * float(config.tau_step)
    max_rows = config.max_batch_rows or (65536 if device.type == "cuda" else 8192)
    per_batch = max(1, min(n, max_rows // ns))
    n_later = config.n_taus - 1

    x0_np = _sample_starts(np.random.default_rng([int(config.seed), 0]), (ns, n), config.start)
    x0 = torch.as_tensor(x0_np, dtype=dtype, device=device)
    matrix = np.zeros((n, n))
    with torch.no_grad():
        xu = integrate(model, x0, torch.ones(ns, dtype=dtype, device=device), taus, solver)[1:]  # (T-1, Ns, n)
        done = 0
        for start in range(0, n, per_batch):
            if should_stop is not None and should_stop():
                raise AnalysisCancelled("influence computation cancelled")
            idx = np.arange(start, min(n, start + per_batch))
            g = idx.size
            fresh = np.stack([_sample_starts(np.random.default_rng([int(config.seed), 1, int(k)]), (ns,), config.start)
                              for k in idx])  # (g, Ns)
            xp0 = x0.unsqueeze(0).repeat(g, 1, 1)  # (g, Ns, n)
            rows = torch.arange(g, device=device)
            xp0[rows, :, torch.as_tensor(idx, device=device)] = torch.as_tensor(fresh, dtype=dtype, device=device)
            xp = integrate(model, xp0.reshape(g * ns, n), torch.ones(g * ns, dtype=dtype, device=device), taus,
                           solver)[1:].reshape(n_later, g, ns, n)
            diff = (xp - xu.unsqueeze(1)).abs().sum(dim=(0, 2)) / (n_later * ns)  # (g, n)
            matrix[idx] = diff.double().cpu().numpy()
            done += g
            if progress is not None:
                progress(done / n, f"influence: {done}/{n} genes")
    np.fill_diagonal(matrix, 0.0)
    scores = pd.Series(matrix.sum(axis=1) / max(n - 1, 1), index=pd.Index(genes, name="gene"), name="influence")
    return InfluenceResult(scores, matrix, time.perf_counter() - t0, str(device))
