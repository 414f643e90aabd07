"""Plain-language names of result columns and readouts, for tables and figures read by biologists.

Files keep their short machine names (``p_bonferroni``, ``share_pkn_below_median_ckpt_mean``);
what people read goes through :func:`plain` (one table here, used by the app and the figures).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

__all__ = ["PLAIN", "plain", "plain_columns"]

#: Machine name -> plain name.
PLAIN: dict[str, str] = {
    # gene-set tests (pathways)
    "pathway": "gene set", "size": "genes in set", "n_in_data": "genes in the data", "score": "set score",
    "z": "z-score", "p_perm": "p (permutations)", "p_corrected": "p (permutations, corrected)",
    "p_norm": "p (normal approximation)", "p_bonferroni": "p (Bonferroni-corrected)",
    "q_bh": "q (false discovery rate)", "significant": "significant", "genes": "genes",
    "p_perm_bonferroni": "p (permutations, Bonferroni)", "p_corrected_bonferroni": "p (corrected perm., Bonferroni)",
    "null_mean": "random sets: mean", "null_sd": "random sets: sd",
    "es": "enrichment score", "nes": "normalised enrichment score", "p_nominal": "p (nominal)",
    "q_fdr": "q (false discovery rate)", "p_fwer": "p (family-wise)", "tag_fraction": "leading-edge share of set",
    "gene_fraction": "leading-edge share of genes", "lead_genes": "leading-edge genes", "positive": "enriched at top",
    "overlap": "overlap", "n_overlap": "genes in overlap", "p": "p", "odds_ratio": "odds ratio",
    "combined_score": "combined score", "influence": "influence", "gene": "gene",
    # self-pruning readouts (signaling)
    "l2": "L2 strength", "seed": "seed", "n_models": "models", "n_pkn_edges": "PKN edges",
    "n_spurious": "injected edges", "n_zeroed": "edges at zero",
    "share_spurious_below_median": "injected edges below the median |W|",
    "share_pkn_below_median": "PKN edges below the median |W|",
    "share_pkn_known_below_median": "PKN edges of known sign below the median |W|",
    "share_pkn_unknown_below_median": "PKN edges of unknown sign below the median |W|",
    "share_spurious_below_median_signed": "injected edges below the median W (signed)",
    "share_pkn_below_median_signed": "PKN edges below the median W (signed)",
    "share_spurious_below_median_ckpt_mean": "injected edges below the median |W|, averaged over training",
    "share_pkn_below_median_ckpt_mean": "PKN edges below the median |W|, averaged over training",
    "share_pkn_unknown_below_median_ckpt_mean": "PKN edges of unknown sign below the median |W|, averaged over training",
    "share_spurious_below_median_signed_ckpt_mean": "injected edges below the median W (signed), averaged over training",
    "share_pkn_below_median_signed_ckpt_mean": "PKN edges below the median W (signed), averaged over training",
    "share_spurious_below_p5": "injected edges below the 5th percentile of |W|",
    "share_pkn_below_p5": "PKN edges below the 5th percentile of |W|",
    "mean_abs_w_pkn": "mean |W| of PKN edges", "mean_abs_w_spurious": "mean |W| of injected edges",
    "ks_statistic": "KS distance, injected vs PKN |W|", "ks_pvalue": "KS p-value",
    "ks_statistic_final": "KS distance at the end", "ks_pvalue_final": "KS p-value at the end",
    "ks_statistic_unknown": "KS distance, injected vs PKN of unknown sign", "ks_pvalue_unknown":
    "KS p-value (unknown sign)", "ks_epoch": "KS test epoch", "mae": "test error (MAE)",
    "fraction_zeroed": "share of edges at zero",
    # sweep points and run comparisons (gene regulatory networks)
    "strategy": "strategy", "lambda_ppi": "λ_PPI", "lambda_motif": "λ_motif", "sparsity": "sparsity",
    "balanced_accuracy": "balanced accuracy", "auroc": "AUROC", "auprc": "AUPRC",
    "val_mse": "validation error (MSE)", "test_mse": "test error (MSE)", "epochs": "epochs trained",
    "status": "status", "label": "run", "run_id": "run id", "level": "pruning level",
}


def plain(name: str) -> str:
    """Plain name of a column or readout (a readable fallback: underscores to spaces)."""
    name = str(name)
    if name in PLAIN:
        return PLAIN[name]
    out = name.replace("_ckpt_mean", ", averaged over training").replace("_", " ")
    return out.replace("pkn", "PKN")


def plain_columns(frame: pd.DataFrame, keep: Iterable[str] = ()) -> pd.DataFrame:
    """A copy of ``frame`` with plain column names (columns in ``keep`` unchanged), for display only."""
    keep = set(keep)
    return frame.rename(columns={c: plain(c) for c in frame.columns if c not in keep})
