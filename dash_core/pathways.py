"""Pathway analysis of learned networks (methods A.6 and G).

Three steps, each usable on its own:

1. :func:`influence_scores` — gene influence scores of a trained model (A.6):
   perturb one gene's start value, integrate both the perturbed and the
   unperturbed starts, and average how much every *other* gene moves.
2. :func:`permutation_test` — the influence-based pathway test (G.1): the sum
   of a pathway's influence scores against the sums of random gene sets of the
   same size drawn by permuting the scores over the gene universe.
   :func:`module_test` (our extension) asks instead whether a set's genes drive
   *each other* (share of the set's influence that stays inside the set), which
   suits regulon-type sets (a regulator plus its targets).
3. :func:`gsea_prerank` and :func:`enrich_genes` — gseapy, offline with local
   gene sets only (G.2): preranked GSEA on the influence scores and
   over-representation of the top-k regulators / targets of the learned network.

:func:`analyze_model` / :func:`analyze_run` chain the three steps and
:func:`write_pathway_results` writes the CSV files of the CLI command
``python -m dash_core pathways``. Importing this module registers the
background-job kind ``pathways`` with :mod:`dash_core.runs.jobs` when that
module is available (it never imports Streamlit).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from scipy.sparse import csr_matrix
from scipy.stats import norm, rankdata

from dash_core.config import config_from_dict, config_to_dict
from dash_core.device import resolve_device
from dash_core.experiment import load_checkpoint
from dash_core.integrate import SolverConfig, integrate
from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.io.gmt import gene_set_coverage, read_gmt, split_symbols
from dash_core.models.base import GRNModel

#: ``progress(fraction in [0, 1], message)``.
ProgressFn = Callable[[float, str], None]

PATHWAY_COLUMNS = ["pathway", "size", "n_in_data", "score", "z", "p_perm", "p_corrected", "p_norm", "p_bonferroni",
                   "q_bh", "significant", "genes", "p_perm_bonferroni", "p_corrected_bonferroni", "null_mean",
                   "null_sd"]
GSEA_COLUMNS = ["pathway", "es", "nes", "p_nominal", "q_fdr", "p_fwer", "tag_fraction", "gene_fraction",
                "lead_genes", "positive"]
ENRICH_COLUMNS = ["pathway", "overlap", "n_overlap", "p", "q_bh", "odds_ratio", "combined_score", "genes"]


class AnalysisCancelled(RuntimeError):
    """Raised when ``should_stop()`` returns True during a pathway analysis."""


# ----------------------------------------------------------------------------- configs
@dataclass(frozen=True)
class InfluenceConfig:
    """Settings of the gene influence scores (methods A.6).

    Attributes
    ----------
    n_samples
        N_s random start states (200 in DASH, 60 in PHOENIX).
    start
        Start distribution: ``"centered"`` = U(-1/2, 1/2) per gene (the
        reference's choice, the default), ``"unit"`` = U(0, 1) (the data range).
        **Uncertain** in the spec: U(-1/2, 1/2) lies outside the [0, 1] range the
        model was trained on; U(0, 1) is offered for that reason.
    n_taus, tau_step
        Output times ``tau = 0, tau_step, ..., (n_taus - 1) * tau_step`` (0, 0.1, ..., 0.9).
        The score averages over the times after 0.
    solver
        ODE solver; None = the solver the model was trained with (or the default rk4).
    max_batch_rows
        Rows (perturbed genes x N_s) stacked in one solver call; None = 8192 on
        CPU, 65536 on CUDA. Only memory and speed depend on it, not the result.
    seed
        Seed of the starts; gene gamma's fresh values use the seed pair (seed, gamma),
        so scores do not depend on the batching.
    device
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    """

    n_samples: int = 200
    start: Literal["centered", "unit"] = "centered"
    n_taus: int = 10
    tau_step: float = 0.1
    solver: SolverConfig | None = None
    max_batch_rows: int | None = None
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        if self.n_samples < 1:
            raise DashInputError(f"n_samples must be at least 1 (got {self.n_samples}).")
        if self.start not in ("centered", "unit"):
            raise DashInputError(f"Unknown start distribution {self.start!r}; choose 'centered' (U(-1/2,1/2)) "
                                 "or 'unit' (U(0,1)).")
        if self.n_taus < 2 or self.tau_step <= 0:
            raise DashInputError("Influence scores need at least 2 output times (n_taus >= 2) and tau_step > 0.")
        if self.max_batch_rows is not None and self.max_batch_rows < 1:
            raise DashInputError("max_batch_rows must be at least 1.")


@dataclass(frozen=True)
class GseaConfig:
    """Settings of the gseapy analyses (methods G.2); local gene sets only.

    Attributes
    ----------
    permutation_num
        Gene-set permutations of preranked GSEA (>= 1000 recommended).
    min_size, max_size
        Sets with fewer / more genes in the ranking are skipped by gseapy.
        ``min_size=None`` = automatic: 10, lowered to the smallest set's overlap
        with the data (at least 2) so that small collections (like the demo's
        regulons) are tested at all.
    ranking
        ``"log"``: rank genes by log(influence) (the scores are heavy-tailed and >= 0);
        ``"rank"``: by their rank. Both give the same order; they differ in the weights.
    weight
        GSEA weighting exponent of the ranking metric.
    threads
        gseapy worker threads.
    seed
        gseapy's seed.
    """

    permutation_num: int = 1000
    min_size: int | None = None
    max_size: int = 500
    ranking: Literal["log", "rank"] = "log"
    weight: float = 1.0
    threads: int = 1
    seed: int = 0

    def effective_min_size(self, overlaps: Iterable[int]) -> int:
        if self.min_size is not None:
            return int(self.min_size)
        positive = [int(k) for k in overlaps if k > 0]
        return max(2, min([10, *positive])) if positive else 10


@dataclass(frozen=True)
class PathwayConfig:
    """Settings of a complete pathway analysis (methods A.6, G).

    Attributes
    ----------
    influence
        :class:`InfluenceConfig`.
    n_permutations
        B of the permutation test (500 as in the reference; >= 20 m for an exact
        empirical test over m pathways).
    alpha
        Significance level of the Bonferroni-corrected headline p-value.
    min_set_size
        Pathways with fewer genes in the universe are not tested.
    top_k
        Number of top regulators / targets for over-representation.
    run_gsea
        Also run gseapy (preranked GSEA and over-representation).
    gsea
        :class:`GseaConfig`.
    seed
        Seed of the permutations.
    """

    influence: InfluenceConfig = field(default_factory=InfluenceConfig)
    n_permutations: int = 500
    alpha: float = 0.05
    min_set_size: int = 1
    top_k: int = 10
    run_gsea: bool = True
    gsea: GseaConfig = field(default_factory=GseaConfig)
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PathwayConfig:
        return config_from_dict(cls, data)


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


# ----------------------------------------------------------------------------- preparation
def expand_gene_scores(scores: pd.Series) -> pd.Series:
    """Split multi-symbol names (``"A /// B"``) and average duplicate symbols (methods G.1).

    Parameters
    ----------
    scores
        Score per modelled gene name.

    Returns
    -------
    pandas.Series
        Score per gene symbol (first-appearance order); a symbol named by several
        genes gets their mean.
    """
    sym, val = [], []
    for name, v in zip(scores.index, scores.to_numpy(dtype=float)):
        for s in split_symbols(name):
            sym.append(s)
            val.append(v)
    out = pd.Series(val, index=sym, dtype=float).groupby(level=0, sort=False).mean()
    out.index.name = "gene"
    out.name = scores.name
    return out


def membership_matrix(gene_sets: Mapping[str, Iterable[str]], universe: list[str]):
    """Binary ``(pathways, genes)`` membership matrix as a ``scipy.sparse`` CSR matrix.

    Entry ``[p, g] = 1`` if universe gene ``g`` is in set ``p`` (row order = ``gene_sets`` order).
    """
    pos = {g: i for i, g in enumerate(universe)}
    rows, cols = [], []
    for r, members in enumerate(gene_sets.values()):
        idx = sorted({pos[g] for g in members if g in pos})
        rows.extend([r] * len(idx))
        cols.extend(idx)
    return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(gene_sets), len(universe)))


# ----------------------------------------------------------------------------- statistics
def bonferroni(p: np.ndarray | Iterable[float], m: int | None = None) -> np.ndarray:
    """Bonferroni-adjusted p-values ``min(1, m p)`` (``m`` = number of tests, default ``len(p)``)."""
    p = np.asarray(p, dtype=float)
    m = p.size if m is None else int(m)
    return np.minimum(1.0, p * m)


def benjamini_hochberg(p: np.ndarray | Iterable[float]) -> np.ndarray:
    """Benjamini-Hochberg q-values (step-up FDR), in the input order."""
    p = np.asarray(p, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="mergesort")
    ranked = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(1.0, q_sorted)
    return q


def permutation_statistics(observed: np.ndarray, null: np.ndarray) -> dict[str, np.ndarray]:
    """z-scores and p-values of observed scores against a permutation null (methods G.1).

    Parameters
    ----------
    observed
        ``(m,)`` observed pathway scores.
    null
        ``(B, m)`` scores of the B permutations (row = permutation, column = pathway).

    Returns
    -------
    dict
        ``null_mean``, ``null_sd`` (population sd, ``ddof=0``), ``z`` (0 where sd = 0),
        ``p_perm = #{score_b > obs} / B`` (reference), ``p_corrected =
        (1 + #{score_b >= obs}) / (1 + B)`` and ``p_norm = 1 - Phi(z)``.
    """
    observed = np.asarray(observed, dtype=float)
    null = np.asarray(null, dtype=float)
    b = null.shape[0]
    mean = null.mean(axis=0)
    sd = null.std(axis=0)
    tol = 1e-12 * np.maximum(1.0, np.abs(mean))
    safe = sd > tol
    z = np.where(safe, (observed - mean) / np.where(safe, sd, 1.0), 0.0)
    # ties within floating-point noise count as equal (sums of the same values in another order)
    eps = 1e-10 * np.maximum(1.0, np.abs(observed))
    greater = (null > observed + eps).sum(axis=0)
    geq = (null >= observed - eps).sum(axis=0)
    return {"null_mean": mean, "null_sd": sd, "z": z, "p_perm": greater / b,
            "p_corrected": (1.0 + geq) / (1.0 + b), "p_norm": norm.sf(z)}


def _test_columns(st: dict[str, np.ndarray], m: int, alpha: float) -> tuple[dict, dict]:
    """Result columns shared by the permutation and module tests, from :func:`permutation_statistics`.

    Returns the headline columns (``z`` ... ``significant``: Bonferroni over ``m`` sets on the
    normal-approximation p) and the supplementary ones (other corrections, null moments), which
    the tables place before and after their ``genes`` column.
    """
    p_bonf = bonferroni(st["p_norm"], m)
    headline = {"z": st["z"], "p_perm": st["p_perm"], "p_corrected": st["p_corrected"], "p_norm": st["p_norm"],
                "p_bonferroni": p_bonf, "q_bh": benjamini_hochberg(st["p_norm"]), "significant": p_bonf < alpha}
    extra = {"p_perm_bonferroni": bonferroni(st["p_perm"], m), "p_corrected_bonferroni": bonferroni(st["p_corrected"], m),
             "null_mean": st["null_mean"], "null_sd": st["null_sd"]}
    return headline, extra


def permutation_test(influence: pd.Series, gene_sets: Mapping[str, Iterable[str]], *, n_permutations: int = 500,
                     seed: int = 0, alpha: float = 0.05, min_set_size: int = 1,
                     report: ValidationReport | None = None) -> pd.DataFrame:
    """Influence-based pathway permutation test (methods G.1).

    Multi-symbol gene names are split and duplicates averaged; the universe U is
    the genes present in some set. For each pathway with membership vector b over
    U, ``score = b^T infl``; the null permutes infl across U ``B`` times (the
    ``(B, |U|)`` permuted scores times the ``(|U|, m)`` membership matrix).

    Parameters
    ----------
    influence
        Influence score per modelled gene.
    gene_sets
        Set name -> member genes (e.g. from :func:`dash_core.io.gmt.read_gmt`).
    n_permutations
        B (default 500).
    seed
        Seed of the permutations.
    alpha
        Level of the headline test.
    min_set_size
        Sets with fewer genes in U are not tested (noted in ``report``).
    report
        Collects notes about untested sets.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PATHWAY_COLUMNS`, sorted by decreasing z. ``p_bonferroni``
        is the headline: Bonferroni (over the m tested pathways) on the
        normal-approximation p ``1 - Phi(z)`` (the spec's recommendation; the
        reference p can be 0 with B = 500 and the corrected p cannot pass
        Bonferroni once m > 25). ``q_bh`` is Benjamini-Hochberg on the same p;
        ``significant = p_bonferroni < alpha``. ``p_perm_bonferroni`` and
        ``p_corrected_bonferroni`` give Bonferroni for the other two p-values.
        ``genes`` lists the pathway's genes in U, by decreasing influence.
    """
    if n_permutations < 1:
        raise DashInputError(f"The number of permutations must be at least 1 (got {n_permutations}).")
    report = report if report is not None else ValidationReport()
    sym = expand_gene_scores(influence)
    if not np.all(np.isfinite(sym.to_numpy())):
        raise DashInputError("Influence scores contain NaN or infinite values; the model's integration diverged.")
    sets = {k: list(dict.fromkeys(v)) for k, v in gene_sets.items()}
    in_sets = {g for v in sets.values() for g in v}
    universe = [g for g in sym.index if g in in_sets]
    if not universe:
        raise DashInputError("None of the modelled genes occurs in any gene set; check that the gene identifiers of "
                             "the GMT file match the model's gene names (same symbols, same case).")
    tested = {k: v for k, v in sets.items() if sum(g in sym.index for g in v) >= max(1, min_set_size)}
    skipped = len(sets) - len(tested)
    if skipped:
        report.info(f"{skipped} gene sets have fewer than {max(1, min_set_size)} modelled genes and were not tested.")
    if not tested:
        raise DashInputError(f"No gene set has at least {max(1, min_set_size)} modelled genes; nothing to test.")
    values = sym.loc[universe].to_numpy(dtype=float)
    memb = membership_matrix(tested, universe)  # sparse (m, |U|)
    observed = np.asarray(memb @ values).ravel()
    rng = np.random.default_rng(seed)
    perm_values = rng.permuted(np.broadcast_to(values, (n_permutations, values.size)), axis=1)  # (B, |U|)
    null = np.asarray(memb @ perm_values.T).T  # (B, m)
    st = permutation_statistics(observed, null)
    genes_col = []
    for members in tested.values():
        inside = [g for g in dict.fromkeys(members) if g in sym.index]
        inside.sort(key=lambda g: -sym[g])
        genes_col.append(";".join(inside))
    tests, extra = _test_columns(st, len(tested), alpha)
    table = pd.DataFrame({
        "pathway": list(tested),
        "size": [len(v) for v in tested.values()],
        "n_in_data": np.asarray(memb.sum(axis=1)).ravel().astype(int),
        "score": observed,
        **tests,
        "genes": genes_col,
        **extra,
    })
    return table.sort_values(["z", "score"], ascending=[False, False], kind="mergesort").reset_index(drop=True)


def expand_gene_matrix(matrix: np.ndarray, genes: list[str]) -> tuple[np.ndarray, list[str]]:
    """Gene x gene matrix on symbols: multi-symbol names split, duplicate symbols averaged (rows and columns)."""
    sym_of = [split_symbols(g) for g in genes]
    symbols = list(dict.fromkeys(s for ss in sym_of for s in ss))
    pos = {s: i for i, s in enumerate(symbols)}
    agg = np.zeros((len(symbols), len(genes)))
    for j, ss in enumerate(sym_of):
        for s in ss:
            agg[pos[s], j] = 1.0
    agg /= agg.sum(axis=1, keepdims=True)
    out = agg @ np.asarray(matrix, dtype=float) @ agg.T
    np.fill_diagonal(out, 0.0)
    return out, symbols


def module_test(matrix: np.ndarray, genes: list[str], gene_sets: Mapping[str, Iterable[str]], *,
                n_permutations: int = 500, seed: int = 0, alpha: float = 0.05, min_set_size: int = 2,
                report: ValidationReport | None = None) -> pd.DataFrame:
    """Module-coherence test on the influence matrix (our extension of methods G.1).

    G.1 scores a set by the *sum* of its genes' influence, so it favours sets of
    regulators; a regulon (one regulator plus its targets, whose own influence
    is ~0) cannot stand out there. This test asks instead whether a set's genes
    drive *each other*: with ``M`` the influence matrix (row = perturbed gene,
    column = responding gene, :attr:`InfluenceResult.matrix`),

    ``coherence(pi) = sum_{i != j in pi} M[i, j] / sum_{i in pi} sum_{j != i} M[i, j]``,

    the share of the set's outgoing influence that stays inside the set. The
    null draws ``B`` random gene sets of the same size from the universe U (genes
    in some set), so that z, the reference / corrected / normal p-values,
    Bonferroni and Benjamini-Hochberg are defined as in :func:`permutation_test`.

    Parameters
    ----------
    matrix
        ``(n, n)`` influence matrix, regulator x target, in the order of ``genes``.
    genes
        Modelled gene names (multi-symbol names are split, duplicates averaged).
    gene_sets
        Set name -> member genes.
    n_permutations, seed, alpha, min_set_size, report
        As in :func:`permutation_test` (sets with fewer than ``min_set_size`` genes
        in U, at least 2, are not tested).

    Returns
    -------
    pandas.DataFrame
        Columns ``pathway, size, n_in_data, within, outgoing, coherence`` and then
        those of :func:`permutation_test` from ``z`` on (``score`` = coherence), by decreasing z.
    """
    if n_permutations < 1:
        raise DashInputError(f"The number of permutations must be at least 1 (got {n_permutations}).")
    report = report if report is not None else ValidationReport()
    msym, symbols = expand_gene_matrix(matrix, genes)
    if not np.all(np.isfinite(msym)):
        raise DashInputError("The influence matrix contains NaN or infinite values; the model's integration diverged.")
    sets = {k: list(dict.fromkeys(v)) for k, v in gene_sets.items()}
    in_sets = {g for v in sets.values() for g in v}
    u_idx = np.array([i for i, s in enumerate(symbols) if s in in_sets], dtype=int)
    if u_idx.size == 0:
        raise DashInputError("None of the modelled genes occurs in any gene set; check that the gene identifiers of "
                             "the GMT file match the model's gene names (same symbols, same case).")
    pos = {s: i for i, s in enumerate(symbols)}
    min_k = max(2, min_set_size)
    members = {k: np.array([pos[g] for g in v if g in pos], dtype=int) for k, v in sets.items()}
    tested = {k: idx for k, idx in members.items() if idx.size >= min_k}
    if len(tested) < len(sets):
        report.info(f"Module test: {len(sets) - len(tested)} gene sets have fewer than {min_k} modelled genes and "
                    "were not tested.")
    if not tested:
        raise DashInputError(f"No gene set has at least {min_k} modelled genes; nothing to test.")
    outgoing = msym.sum(axis=1)

    def coherence(idx: np.ndarray) -> np.ndarray:
        """``idx`` (..., k) gene indices -> coherence of each index set."""
        within = msym[idx[..., :, None], idx[..., None, :]].sum(axis=(-1, -2))
        out = outgoing[idx].sum(axis=-1)
        return np.where(out > 0, within / np.where(out > 0, out, 1.0), 0.0)

    rng = np.random.default_rng(seed)
    null_by_size: dict[int, np.ndarray] = {}
    for k in sorted({idx.size for idx in tested.values()}):
        k_eff = min(k, u_idx.size)
        chunk = max(1, int(2e6 // (k_eff * k_eff)))
        vals = []
        for b0 in range(0, n_permutations, chunk):
            b = min(chunk, n_permutations - b0)
            keys = rng.random((b, u_idx.size))
            pick = u_idx[np.argpartition(keys, k_eff - 1, axis=1)[:, :k_eff]] if k_eff < u_idx.size else \
                np.broadcast_to(u_idx, (b, u_idx.size))
            vals.append(coherence(pick))
        null_by_size[k] = np.concatenate(vals)
    names = list(tested)
    observed = np.array([coherence(tested[k]) for k in names], dtype=float)
    null = np.stack([null_by_size[tested[k].size] for k in names], axis=1)  # (B, m)
    st = permutation_statistics(observed, null)
    tests, extra = _test_columns(st, len(names), alpha)
    table = pd.DataFrame({
        "pathway": names,
        "size": [len(sets[k]) for k in names],
        "n_in_data": [int(tested[k].size) for k in names],
        "within": [float(msym[np.ix_(tested[k], tested[k])].sum()) for k in names],
        "outgoing": [float(outgoing[tested[k]].sum()) for k in names],
        "coherence": observed,
        **tests,
        "genes": [";".join(symbols[i] for i in tested[k][np.argsort(-outgoing[tested[k]], kind="stable")])
                  for k in names],
        **extra,
    })
    return table.sort_values(["z", "coherence"], ascending=[False, False], kind="mergesort").reset_index(drop=True)


# ----------------------------------------------------------------------------- gseapy
@contextlib.contextmanager
def _quiet_logging(level: int = logging.WARNING):
    """Silence log records up to ``level`` and gseapy's own warnings (gseapy attaches its own console handler to a fresh logger per call)."""
    previous = logging.root.manager.disable
    logging.disable(max(level, previous))
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="gseapy")
            yield
    finally:
        logging.disable(previous)


def _import_gseapy():
    try:  # lazy on purpose: gseapy is heavy and optional (the influence tests work without it)
        import gseapy
    except ImportError:
        raise DashInputError("gseapy is not installed; install it (pip install gseapy) or turn the gseapy "
                             "analyses off (--no-gsea).") from None
    return gseapy


def _local_sets(gene_sets: Mapping[str, Iterable[str]] | str | Path) -> dict[str, list[str]]:
    if isinstance(gene_sets, (str, Path)):
        path = Path(gene_sets)
        if path.suffix.lower() != ".gmt" or not path.exists():
            raise DashInputError(f"gseapy is used offline here: give a local .gmt file or a dict of gene sets, not "
                                 f"{str(gene_sets)!r} (Enrichr library names need the internet).")
        sets, _ = read_gmt(path)
        return sets
    return {str(k): [str(g) for g in v] for k, v in gene_sets.items()}


def ranking_metric(influence: pd.Series, ranking: str = "log") -> pd.Series:
    """Ranking metric for preranked GSEA: ``log(infl)`` (zeros floored at half the smallest positive score) or ranks."""
    v = influence.to_numpy(dtype=float)
    if ranking == "log":
        pos = v[v > 0]
        floor = pos.min() / 2 if pos.size else 1e-12
        out = np.log(np.maximum(v, floor))
    elif ranking == "rank":
        out = rankdata(v) / v.size
    else:
        raise DashInputError(f"Unknown GSEA ranking {ranking!r}; choose 'log' or 'rank'.")
    return pd.Series(out, index=influence.index, name=f"{ranking}_influence")


def gsea_prerank(influence: pd.Series, gene_sets: Mapping[str, Iterable[str]] | str | Path,
                 config: GseaConfig = GseaConfig(), *, report: ValidationReport | None = None) -> pd.DataFrame:
    """Preranked GSEA on influence scores with gseapy, offline (methods G.2).

    Parameters
    ----------
    influence
        Influence score per modelled gene (multi-symbol names are split, duplicates averaged).
    gene_sets
        Local gene sets: a dict or a ``.gmt`` path (never an Enrichr library name).
    config
        :class:`GseaConfig`.
    report
        Collects a warning when no set passes the size filter.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`GSEA_COLUMNS` from gseapy's ``res2d``, sorted by decreasing NES.
        Only ``positive`` (NES > 0: enrichment among the most influential genes) rows
        are to be interpreted. Empty when no set has at least ``min_size`` genes in the ranking.
    """
    gp = _import_gseapy()
    report = report if report is not None else ValidationReport()
    sets = _local_sets(gene_sets)
    rnk = ranking_metric(expand_gene_scores(influence), config.ranking)
    present = set(rnk.index)
    overlaps = {k: len({g for g in v if g in present}) for k, v in sets.items()}
    min_size = config.effective_min_size(overlaps.values())
    usable = {k: v for k, v in sets.items() if min_size <= overlaps[k] <= config.max_size}
    if not usable:
        report.warning(f"Preranked GSEA skipped: no gene set has between {min_size} and {config.max_size} genes in "
                       "the model.")
        return pd.DataFrame(columns=GSEA_COLUMNS)
    ties = int(rnk.duplicated().sum())
    if ties:
        report.info(f"Preranked GSEA: {ties} of {rnk.size} genes share a ranking value with another gene (e.g. zero "
                    "influence); their relative order is arbitrary.")
    with _quiet_logging():
        res = gp.prerank(rnk=rnk, gene_sets=usable, permutation_num=int(config.permutation_num), min_size=min_size,
                         max_size=int(config.max_size), weight=float(config.weight), threads=int(config.threads),
                         seed=int(config.seed), outdir=None, no_plot=True, verbose=False)
    d = res.res2d
    if d is None or len(d) == 0:
        return pd.DataFrame(columns=GSEA_COLUMNS)

    def frac(s: Any) -> float:
        s = str(s).strip()
        if s.endswith("%"):
            return float(s[:-1]) / 100.0
        if "/" in s:
            a, b = s.split("/", 1)
            return float(a) / float(b) if float(b) else float("nan")
        return float(s)

    out = pd.DataFrame({
        "pathway": d["Term"].astype(str),
        "es": pd.to_numeric(d["ES"], errors="coerce"),
        "nes": pd.to_numeric(d["NES"], errors="coerce"),
        "p_nominal": pd.to_numeric(d["NOM p-val"], errors="coerce"),
        "q_fdr": pd.to_numeric(d["FDR q-val"], errors="coerce"),
        "p_fwer": pd.to_numeric(d["FWER p-val"], errors="coerce"),
        "tag_fraction": d["Tag %"].map(frac),
        "gene_fraction": d["Gene %"].map(frac),
        "lead_genes": d["Lead_genes"].astype(str),
    })
    out["positive"] = out["nes"] > 0
    return out.sort_values("nes", ascending=False, kind="mergesort").reset_index(drop=True)


def enrich_genes(genes: Iterable[str], gene_sets: Mapping[str, Iterable[str]] | str | Path,
                 background: Iterable[str], *, report: ValidationReport | None = None) -> pd.DataFrame:
    """Over-representation (hypergeometric) of a gene list with gseapy, offline (methods G.2).

    Parameters
    ----------
    genes
        The query genes (e.g. the top-k regulators).
    gene_sets
        Local gene sets: a dict or a ``.gmt`` path.
    background
        The universe: all modelled genes (multi-symbol names are split).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ENRICH_COLUMNS` (gseapy's ``P-value``, ``Adjusted P-value`` as
        ``q_bh``, ``Odds Ratio``, ``Combined Score``), sorted by p. Sets without any
        query gene are not listed.
    """
    gp = _import_gseapy()
    report = report if report is not None else ValidationReport()
    sets = _local_sets(gene_sets)
    bg = list(dict.fromkeys(s for g in background for s in split_symbols(g)))
    query = [s for s in dict.fromkeys(s for g in genes for s in split_symbols(g)) if s in set(bg)]
    bg_set = set(bg)
    usable = {k: [g for g in v if g in bg_set] for k, v in sets.items()}
    usable = {k: v for k, v in usable.items() if v}
    hits = {k for k, v in usable.items() if set(v) & set(query)}
    if not query or not hits:
        report.info("Over-representation: no query gene falls in any gene set.")
        return pd.DataFrame(columns=ENRICH_COLUMNS)
    with _quiet_logging():
        res = gp.enrich(gene_list=query, gene_sets=usable, background=bg, outdir=None, no_plot=True, verbose=False)
    d = res.res2d
    if d is None or len(d) == 0:
        return pd.DataFrame(columns=ENRICH_COLUMNS)
    out = pd.DataFrame({
        "pathway": d["Term"].astype(str),
        "overlap": d["Overlap"].astype(str),
        "n_overlap": d["Overlap"].astype(str).str.split("/").str[0].astype(int),
        "p": pd.to_numeric(d["P-value"], errors="coerce"),
        "q_bh": pd.to_numeric(d["Adjusted P-value"], errors="coerce"),
        "odds_ratio": pd.to_numeric(d["Odds Ratio"], errors="coerce"),
        "combined_score": pd.to_numeric(d["Combined Score"], errors="coerce"),
        "genes": d["Genes"].astype(str),
    })
    return out.sort_values(["p", "n_overlap"], ascending=[True, False], kind="mergesort").reset_index(drop=True)


def top_regulators(influence: pd.Series, k: int) -> list[str]:
    """The ``k`` genes with the largest influence scores (ties by gene order); zero scores are never chosen."""
    s = influence[influence > 0]
    return list(s.sort_values(ascending=False, kind="mergesort").index[:k])


def top_targets(effect: np.ndarray, genes: list[str], k: int) -> list[str]:
    """The targets of the strongest edges of a learned network.

    Off-diagonal edges are taken by decreasing ``|E[i, j]|`` (row = regulator,
    column = target) and their targets collected until ``k`` distinct genes are
    found; strong edges leave strong regulators, so these are the main targets of
    the network's dominant regulators. Edges with E = 0 are never used.
    """
    a = np.abs(np.asarray(effect, dtype=float)).copy()
    np.fill_diagonal(a, 0.0)
    flat = np.argsort(-a, axis=None, kind="stable")
    out: list[str] = []
    seen: set[int] = set()
    for f in flat:
        i, j = divmod(int(f), a.shape[1])
        if a[i, j] <= 0 or len(out) >= k:
            break
        if j not in seen:
            seen.add(j)
            out.append(genes[j])
    return out


# ----------------------------------------------------------------------------- pipeline
@dataclass
class PathwayResult:
    """Everything :func:`analyze_model` produces.

    Attributes
    ----------
    influence
        :class:`InfluenceResult`.
    pathways
        Permutation-test table (:data:`PATHWAY_COLUMNS`).
    modules
        Module-coherence table (:func:`module_test`).
    gsea_prerank, enrich_regulators, enrich_targets
        gseapy tables (empty when gseapy was not run).
    coverage
        :func:`dash_core.io.gmt.gene_set_coverage` of the gene sets on the model's genes.
    regulators, targets
        The top-k lists used for over-representation.
    config
        The settings used.
    report
        Notes and warnings.
    timings
        Seconds per stage.
    """

    influence: InfluenceResult
    pathways: pd.DataFrame
    modules: pd.DataFrame
    gsea_prerank: pd.DataFrame
    enrich_regulators: pd.DataFrame
    enrich_targets: pd.DataFrame
    coverage: pd.DataFrame
    regulators: list[str]
    targets: list[str]
    config: PathwayConfig
    report: ValidationReport = field(default_factory=ValidationReport)
    timings: dict[str, float] = field(default_factory=dict)


def analyze_model(model: GRNModel, genes: list[str], gene_sets: Mapping[str, Iterable[str]],
                  config: PathwayConfig = PathwayConfig(), *, progress: ProgressFn | None = None,
                  should_stop: Callable[[], bool] | None = None) -> PathwayResult:
    """Influence scores, permutation test and (optionally) gseapy for one trained model.

    Progress: influence 0-85 %, permutation test 90 %, gseapy 95 %, done 100 %.
    """
    report = ValidationReport()
    timings: dict[str, float] = {}

    def emit(f: float, msg: str) -> None:
        if progress is not None:
            progress(min(1.0, max(0.0, f)), msg)

    coverage = gene_set_coverage(gene_sets, genes)
    n_covered = int((coverage["n_in_data"] > 0).sum())
    if n_covered < len(coverage):
        report.info(f"{len(coverage) - n_covered} of {len(coverage)} gene sets share no gene with the model.")
    infl = influence_scores(model, genes, config.influence, progress=lambda f, m: emit(0.85 * f, m),
                            should_stop=should_stop)
    timings["influence"] = infl.seconds
    if should_stop is not None and should_stop():
        raise AnalysisCancelled("pathway analysis cancelled")
    emit(0.87, "permutation test")
    t = time.perf_counter()
    table = permutation_test(infl.scores, gene_sets, n_permutations=config.n_permutations, seed=config.seed,
                             alpha=config.alpha, min_set_size=config.min_set_size, report=report)
    timings["permutation_test"] = time.perf_counter() - t
    t = time.perf_counter()
    modules = module_test(infl.matrix, genes, gene_sets, n_permutations=config.n_permutations, seed=config.seed,
                          alpha=config.alpha, min_set_size=config.min_set_size, report=report)
    timings["module_test"] = time.perf_counter() - t
    m = len(table)
    if config.n_permutations < 20 * m:
        report.info(f"B = {config.n_permutations} permutations for m = {m} pathways: empirical p-values cannot "
                    f"pass Bonferroni; the headline uses the normal approximation (use B >= {20 * m} for exact "
                    "empirical tests).")
    with torch.no_grad():
        effect = model.effect_matrix().detach().double().cpu().numpy()
    regulators = top_regulators(infl.scores, config.top_k)
    targets = top_targets(effect, genes, config.top_k)
    empty = pd.DataFrame(columns=GSEA_COLUMNS)
    gsea = empty
    enr_reg = enr_tgt = pd.DataFrame(columns=ENRICH_COLUMNS)
    if config.run_gsea:
        if should_stop is not None and should_stop():
            raise AnalysisCancelled("pathway analysis cancelled")
        emit(0.92, "gseapy: preranked GSEA")
        t = time.perf_counter()
        gsea = gsea_prerank(infl.scores, gene_sets, config.gsea, report=report)
        emit(0.96, "gseapy: over-representation")
        enr_reg = enrich_genes(regulators, gene_sets, genes, report=report)
        enr_tgt = enrich_genes(targets, gene_sets, genes, report=report)
        timings["gseapy"] = time.perf_counter() - t
    emit(1.0, "done")
    return PathwayResult(infl, table, modules, gsea, enr_reg, enr_tgt, coverage, regulators, targets, config, report, timings)


def load_run_model(run_dir, device: str = "cpu"):
    """Load ``model.pt`` of a run folder written by ``python -m dash_core train`` (or :func:`save_run`).

    Returns ``(model, run_config, genes)``.
    """
    run = Path(run_dir)
    ckpt = run / "model.pt" if run.is_dir() else run
    if not ckpt.exists():
        raise DashInputError("No model checkpoint (model.pt) found; give the output folder of "
                             "`python -m dash_core train`.", source=str(run_dir))
    return load_checkpoint(ckpt, device=device)


def analyze_run(run_dir, gene_sets: Mapping[str, Iterable[str]] | str | Path, config: PathwayConfig = PathwayConfig(),
                *, progress: ProgressFn | None = None,
                should_stop: Callable[[], bool] | None = None) -> PathwayResult:
    """:func:`analyze_model` on a saved run folder; the solver defaults to the run's training solver."""
    model, run_cfg, genes = load_run_model(run_dir)
    sets = _local_sets(gene_sets) if isinstance(gene_sets, (str, Path)) else dict(gene_sets)
    if config.influence.solver is None:
        config = replace(config, influence=replace(config.influence, solver=run_cfg.train.solver))
    return analyze_model(model, genes, sets, config, progress=progress, should_stop=should_stop)


def write_pathway_results(result: PathwayResult, out_dir) -> dict[str, Path]:
    """Write ``pathways.csv``, ``modules.csv``, ``influence.csv``, ``gsea_prerank.csv``, ``enrich_regulators.csv``,
    ``enrich_targets.csv``, ``gene_set_coverage.csv`` and ``pathway_config.json`` to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / f"{k}.csv" for k in ("pathways", "modules", "influence", "gsea_prerank",
                                           "enrich_regulators", "enrich_targets", "gene_set_coverage")}
    result.pathways.to_csv(paths["pathways"], index=False)
    result.modules.to_csv(paths["modules"], index=False)
    result.influence.scores.rename("influence").rename_axis("gene").reset_index().to_csv(paths["influence"],
                                                                                        index=False)
    result.gsea_prerank.to_csv(paths["gsea_prerank"], index=False)
    result.enrich_regulators.to_csv(paths["enrich_regulators"], index=False)
    result.enrich_targets.to_csv(paths["enrich_targets"], index=False)
    result.coverage.to_csv(paths["gene_set_coverage"], index=False)
    paths["pathway_config"] = out / "pathway_config.json"
    meta = {"config": result.config.to_dict(), "timings": result.timings, "device": result.influence.device,
            "regulators": result.regulators, "targets": result.targets,
            "report": [str(i) for i in result.report.issues]}
    paths["pathway_config"].write_text(json.dumps(meta, indent=2))
    return paths


def read_pathway_results(out_dir) -> dict[str, pd.DataFrame]:
    """Read the CSV files of :func:`write_pathway_results` back (missing files are skipped)."""
    out = Path(out_dir)
    tables: dict[str, pd.DataFrame] = {}
    for key in ("pathways", "modules", "influence", "gsea_prerank", "enrich_regulators", "enrich_targets", "gene_set_coverage"):
        p = out / f"{key}.csv"
        if p.exists():
            try:
                tables[key] = pd.read_csv(p, keep_default_na=False, na_values=[""])
            except pd.errors.EmptyDataError:
                tables[key] = pd.DataFrame()
    return tables


# ----------------------------------------------------------------------------- background job
def run_pathways_job(params: dict[str, Any], run_dir: Path, reporter) -> dict[str, Any]:
    """Background-job entry point (job kind ``pathways``): one analysis of one or more trained runs.

    Parameters
    ----------
    params
        ``runs``: list of ``{"run_id", "label", "path"}`` (``path`` = a folder with
        ``model.pt``), or ``source_run`` (one folder); ``gene_sets``: path of a local
        .gmt file (copied to ``run_dir/gene_sets.gmt``); ``config``: a
        :meth:`PathwayConfig.to_dict` (optional).
    run_dir
        The job's folder. Each analysed run's files
        (:func:`write_pathway_results`) go to ``run_dir/<run_id>/``;
        ``run_dir/pathway_runs.json`` lists ``run_id, label, folder`` per run.
    reporter
        Has ``progress(fraction, message="", **values)`` and ``should_stop()``.

    Returns
    -------
    dict
        Per run: number of pathways, Bonferroni-significant ones, the top pathway of
        each test and the influence time; ``cancelled`` when stopped early.
    """
    run_dir = Path(run_dir)
    entries = [dict(e) for e in params.get("runs") or []]
    if not entries and params.get("source_run"):
        src = Path(params["source_run"])
        entries = [{"run_id": src.name, "label": src.name, "path": str(src)}]
    if not entries:
        raise DashInputError("The pathway job names no trained run (params['runs'] or params['source_run']).")
    gmt = params.get("gene_sets")
    if not gmt:
        raise DashInputError("The pathway job needs a gene-set file (params['gene_sets']).")
    config = PathwayConfig.from_dict(params.get("config") or {})
    sets, gmt_report = read_gmt(gmt)
    run_dir.mkdir(parents=True, exist_ok=True)
    local_gmt = run_dir / "gene_sets.gmt"
    if Path(gmt).resolve() != local_gmt.resolve():
        shutil.copyfile(gmt, local_gmt)
    done: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"n_gene_sets": len(sets), "runs": {}}
    k = len(entries)
    for i, e in enumerate(entries):
        if reporter.should_stop():
            summary["cancelled"] = True
            break
        run_id = str(e.get("run_id") or Path(e["path"]).name)
        label = str(e.get("label") or run_id)
        safe = "".join(c if c.isalnum() or c in "_.-" else "_" for c in run_id) or f"run{i}"
        out_dir = run_dir / safe

        def progress(f: float, msg: str, _i: int = i, _label: str = label) -> None:
            reporter.progress((_i + f) / k, f"{_label}: {msg}" if k > 1 else msg)

        try:
            result = analyze_run(e["path"], sets, config, progress=progress, should_stop=reporter.should_stop)
        except AnalysisCancelled:
            summary["cancelled"] = True
            break
        result.report.extend(gmt_report)
        write_pathway_results(result, out_dir)
        done.append({"run_id": run_id, "label": label, "folder": str(out_dir)})
        (run_dir / "pathway_runs.json").write_text(json.dumps(done, indent=2))
        t, mods = result.pathways, result.modules
        summary["runs"][run_id] = {
            "label": label, "n_pathways": int(len(t)), "n_significant": int(t["significant"].sum()),
            "top_pathway": str(t.iloc[0]["pathway"]) if len(t) else None,
            "top_z": float(t.iloc[0]["z"]) if len(t) else None,
            "n_significant_modules": int(mods["significant"].sum()),
            "top_module": str(mods.iloc[0]["pathway"]) if len(mods) else None,
            "influence_seconds": round(result.influence.seconds, 3), "device": result.influence.device}
    if not (run_dir / "pathway_runs.json").exists():
        (run_dir / "pathway_runs.json").write_text(json.dumps(done, indent=2))
    summary["n_runs"] = len(done)
    reporter.progress(1.0, "done" if not summary.get("cancelled") else "stopped")
    return summary


__all__ = ["InfluenceConfig", "GseaConfig", "PathwayConfig", "InfluenceResult", "PathwayResult", "AnalysisCancelled",
           "influence_scores", "expand_gene_scores", "membership_matrix", "bonferroni", "benjamini_hochberg",
           "permutation_statistics", "permutation_test",
           "expand_gene_matrix", "module_test", "ranking_metric", "gsea_prerank", "enrich_genes",
           "top_regulators", "top_targets", "analyze_model", "analyze_run", "load_run_model",
           "write_pathway_results", "read_pathway_results", "run_pathways_job", "PATHWAY_COLUMNS", "GSEA_COLUMNS",
           "ENRICH_COLUMNS"]
