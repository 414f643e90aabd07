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
``python -m dash_core pathways``; :func:`run_pathways_job` is the background-job
kind ``pathways`` (declared in :data:`dash_core.runs.jobs.BUILTIN_JOB_KINDS`).

Modules
-------
=============  ==========================================================================
``config``     :class:`InfluenceConfig`, :class:`GseaConfig`, :class:`PathwayConfig`, table columns
``influence``  influence scores (A.6)
``set_tests``  permutation test (G.1), module test, Bonferroni / Benjamini-Hochberg
``gsea``       gseapy preranked GSEA and over-representation, offline (G.2)
``analysis``   the chained analysis, its files, the background job
=============  ==========================================================================

The public names of all modules are importable from ``dash_core.pathways``.
"""

from __future__ import annotations

from dash_core.pathways.analysis import (
    PathwayResult,
    analyze_model,
    analyze_run,
    load_run_model,
    read_pathway_results,
    run_pathways_job,
    write_pathway_results,
)
from dash_core.pathways.config import (
    ENRICH_COLUMNS,
    GSEA_COLUMNS,
    PATHWAY_COLUMNS,
    AnalysisCancelled,
    GseaConfig,
    InfluenceConfig,
    PathwayConfig,
)
from dash_core.pathways.gsea import enrich_genes, gsea_prerank, ranking_metric, top_regulators, top_targets
from dash_core.pathways.influence import InfluenceResult, influence_scores
from dash_core.pathways.set_tests import (
    benjamini_hochberg,
    bonferroni,
    expand_gene_matrix,
    expand_gene_scores,
    membership_matrix,
    module_test,
    permutation_statistics,
    permutation_test,
)

__all__ = ["InfluenceConfig", "GseaConfig", "PathwayConfig", "InfluenceResult", "PathwayResult", "AnalysisCancelled",
           "influence_scores", "expand_gene_scores", "membership_matrix", "bonferroni", "benjamini_hochberg",
           "permutation_statistics", "permutation_test",
           "expand_gene_matrix", "module_test", "ranking_metric", "gsea_prerank", "enrich_genes",
           "top_regulators", "top_targets", "analyze_model", "analyze_run", "load_run_model",
           "write_pathway_results", "read_pathway_results", "run_pathways_job", "PATHWAY_COLUMNS", "GSEA_COLUMNS",
           "ENRICH_COLUMNS"]
