"""Gene-set tests on influence scores (methods G.1): the permutation test, the module test, corrections."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.stats import false_discovery_control, norm

from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.io.gmt import split_symbols


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
    """Benjamini-Hochberg q-values (step-up FDR), in the input order.

    :func:`scipy.stats.false_discovery_control` (``method="bh"``) on the finite p-values; a NaN p-value
    (an untestable set) keeps a NaN q-value and does not count as a test.
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        q[finite] = false_discovery_control(np.clip(p[finite], 0.0, 1.0), method="bh")
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
