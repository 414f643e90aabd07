"""gseapy, offline with local gene sets only (methods G.2): preranked GSEA and over-representation."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.io.gmt import read_gmt, split_symbols
from dash_core.pathways.config import ENRICH_COLUMNS, GSEA_COLUMNS, GseaConfig
from dash_core.pathways.set_tests import expand_gene_scores


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


def local_gene_sets(gene_sets: Mapping[str, Iterable[str]] | str | Path) -> dict[str, list[str]]:
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
    sets = local_gene_sets(gene_sets)
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
    sets = local_gene_sets(gene_sets)
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
